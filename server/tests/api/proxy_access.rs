//! Client tokens and bad input on `/v1`, each refusal in the route's own error format — the
//! shapes the official SDKs parse: OpenAI `{"error":{"message","type","param","code"}}`,
//! Anthropic `{"type":"error","error":{"type","message"}}`.

use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait};
use serde_json::{Value, json};

use crate::{helpers::TestApp, mock::MockUpstream};

fn chat(model: &str) -> Value {
    json!({"model": model, "messages": [{"role": "user", "content": "hi"}]})
}

/// Asserts an OpenAI error body as the `openai` SDK's `APIError` reads it.
async fn openai_error(response: reqwest::Response, status: u16, kind: &str, code: &str) -> String {
    assert_eq!(response.status(), status);
    assert_eq!(response.headers()["content-type"], "application/json");
    let body: Value = response.json().await.unwrap();
    let error = body["error"]
        .as_object()
        .unwrap_or_else(|| panic!("no error object: {body}"));
    assert_eq!(error.len(), 4, "exactly message, type, param, code: {body}");
    assert_eq!(error["type"], kind, "{body}");
    assert_eq!(error["code"], code, "{body}");
    assert!(error["param"].is_null() || error["param"].is_string());
    error["message"].as_str().unwrap().to_string()
}

/// Asserts an Anthropic error body as the `anthropic` SDK reads it.
async fn anthropic_error(response: reqwest::Response, status: u16, kind: &str) -> String {
    assert_eq!(response.status(), status);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["type"], "error", "{body}");
    assert_eq!(body["error"]["type"], kind, "{body}");
    assert_eq!(body.as_object().unwrap().len(), 2);
    body["error"]["message"].as_str().unwrap().to_string()
}

async fn setup() -> (TestApp, MockUpstream) {
    let app = TestApp::spawn().await;
    let upstream = MockUpstream::start().await;
    app.add_key("AMP", "sk-ok-amp-1", json!({"baseUrl": upstream.url}))
        .await;
    (app, upstream)
}

#[tokio::test]
async fn a_request_without_a_token_is_refused_in_each_format() {
    let (app, upstream) = setup().await;

    let openai = app
        .http
        .post(app.url("/v1/chat/completions"))
        .json(&chat("gpt-4o"))
        .send()
        .await
        .unwrap();
    let anthropic = app
        .http
        .post(app.url("/v1/messages"))
        .json(&chat("claude-sonnet-4-5"))
        .send()
        .await
        .unwrap();

    let message = openai_error(openai, 401, "authentication_error", "invalid_api_key").await;
    assert!(message.starts_with("missing access token"), "{message}");
    anthropic_error(anthropic, 401, "authentication_error").await;
    assert!(upstream.seen().is_empty());
}

#[tokio::test]
async fn unknown_revoked_and_expired_tokens_are_refused() {
    let (app, upstream) = setup().await;
    let revoked = app.client_token(json!({"name": "revoked"})).await;
    let expired = app.client_token(json!({"name": "expired"})).await;
    app.graphql("mutation { revokeAccessToken(id: 1) { id } }", json!({}))
        .await;
    // Expiry in the past cannot be set through the API; age the stored row instead.
    let row = amp_pool::entity::access_token::Entity::find_by_id(2)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    let mut row: amp_pool::entity::access_token::ActiveModel = row.into();
    row.expires_at = Set(Some(chrono::Utc::now() - chrono::Duration::minutes(1)));
    row.update(&app.state.db).await.unwrap();
    app.state.reload_tokens().await;

    let unknown = app
        .v1(
            "/v1/chat/completions",
            "ap-not-a-real-token",
            chat("gpt-4o"),
        )
        .await;
    let revoked = app
        .v1("/v1/chat/completions", &revoked, chat("gpt-4o"))
        .await;
    let expired = app
        .v1("/v1/chat/completions", &expired, chat("gpt-4o"))
        .await;

    assert_eq!(
        openai_error(unknown, 401, "authentication_error", "invalid_api_key").await,
        "invalid access token"
    );
    assert_eq!(
        openai_error(revoked, 401, "authentication_error", "invalid_api_key").await,
        "this access token has been revoked"
    );
    assert_eq!(
        openai_error(expired, 401, "authentication_error", "invalid_api_key").await,
        "this access token has expired"
    );
    assert!(upstream.seen().is_empty());
}

#[tokio::test]
async fn a_model_outside_the_allowlist_is_forbidden() {
    let (app, _upstream) = setup().await;
    let token = app.client_token(json!({"models": ["gpt-4o-mini"]})).await;

    let allowed = app
        .v1("/v1/chat/completions", &token, chat("gpt-4o-mini"))
        .await;
    let refused = app
        .v1("/v1/messages", &token, chat("claude-opus-4-1"))
        .await;

    assert_eq!(allowed.status(), 200);
    let message = anthropic_error(refused, 403, "permission_error").await;
    assert_eq!(
        message,
        "this access token may not use the model \"claude-opus-4-1\""
    );
}

#[tokio::test]
async fn a_token_over_its_rate_gets_429() {
    let (app, _upstream) = setup().await;
    let token = app.client_token(json!({"rpmLimit": 2})).await;

    let first = app.v1("/v1/chat/completions", &token, chat("gpt-4o")).await;
    let second = app.v1("/v1/chat/completions", &token, chat("gpt-4o")).await;
    let third = app.v1("/v1/chat/completions", &token, chat("gpt-4o")).await;

    assert_eq!(
        (first.status().as_u16(), second.status().as_u16()),
        (200, 200)
    );
    let message = openai_error(third, 429, "rate_limit_error", "rate_limit_exceeded").await;
    assert_eq!(
        message,
        "this access token is limited to 2 requests per minute"
    );
}

#[tokio::test]
async fn a_token_that_spent_its_budget_is_refused_and_its_spend_is_stored() {
    let (app, _upstream) = setup().await;
    // One gpt-4o answer from the mock costs $0.000475; the budget allows one.
    let token = app.client_token(json!({"budget": 0.0004})).await;

    let first = app.v1("/v1/chat/completions", &token, chat("gpt-4o")).await;
    let second = app.v1("/v1/chat/completions", &token, chat("gpt-4o")).await;

    assert_eq!(first.status(), 200);
    let message = openai_error(second, 402, "insufficient_quota", "budget_exceeded").await;
    assert_eq!(message, "this access token has spent its budget");
    app.log_rows().await;
    let listed = app
        .graphql("{ accessTokens { spend lastUsedAt } }", json!({}))
        .await;
    assert_eq!(listed["data"]["accessTokens"][0]["spend"], 0.000475);
    assert!(listed["data"]["accessTokens"][0]["lastUsedAt"].is_string());
}

#[tokio::test]
async fn bad_bodies_get_400_in_the_routes_format() {
    let (app, upstream) = setup().await;
    let token = app.client_token(json!({})).await;
    let post = |path: &'static str, body: &'static str| {
        app.http
            .post(app.url(path))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };

    let not_json = post("/v1/chat/completions", "{not json").await.unwrap();
    let no_model = post("/v1/chat/completions", "{\"messages\":[]}")
        .await
        .unwrap();
    let wrong_type = post("/v1/messages", "{\"model\":7}").await.unwrap();
    let array = post("/v1/messages", "[]").await.unwrap();

    assert!(
        openai_error(not_json, 400, "invalid_request_error", "invalid_json")
            .await
            .starts_with("request body is not valid JSON")
    );
    assert_eq!(
        openai_error(no_model, 400, "invalid_request_error", "missing_model").await,
        "`model` is required"
    );
    assert_eq!(
        anthropic_error(wrong_type, 400, "invalid_request_error").await,
        "`model` must be a non-empty string"
    );
    assert_eq!(
        anthropic_error(array, 400, "invalid_request_error").await,
        "request body must be a JSON object"
    );
    assert!(upstream.seen().is_empty());
    assert!(
        app.log_rows().await.is_empty(),
        "nothing was sent upstream, so nothing is logged"
    );
}

#[tokio::test]
async fn an_oversized_body_gets_413() {
    let (app, _upstream) = setup().await;
    let token = app.client_token(json!({})).await;
    app.graphql(
        "mutation { setConfig(key: \"proxy\", value: {max_body_bytes: 1024}) { key } }",
        json!({}),
    )
    .await;
    let big = json!({"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "x".repeat(2000)}]});

    let response = app.v1("/v1/messages", &token, big).await;

    assert_eq!(
        anthropic_error(response, 413, "request_too_large").await,
        "request body is larger than 1024 bytes"
    );
}

#[tokio::test]
async fn unknown_paths_and_wrong_methods_answer_in_the_routes_format() {
    let (app, _upstream) = setup().await;

    let unknown = app
        .http
        .post(app.url("/v1/audio/speech"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    let wrong = app
        .http
        .get(app.url("/v1/chat/completions"))
        .send()
        .await
        .unwrap();
    let wrong_anthropic = app.http.get(app.url("/v1/messages")).send().await.unwrap();

    assert!(
        openai_error(unknown, 404, "not_found_error", "unknown_url")
            .await
            .starts_with("POST /v1/audio/speech is not served")
    );
    assert_eq!(wrong.headers()["allow"], "POST");
    assert_eq!(
        openai_error(wrong, 405, "invalid_request_error", "method_not_allowed").await,
        "/v1/chat/completions takes POST, not GET"
    );
    anthropic_error(wrong_anthropic, 405, "invalid_request_error").await;
    let wrong_response_call = app
        .http
        .post(app.url("/v1/responses/resp_1"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_response_call.headers()["allow"], "GET, DELETE");
    openai_error(
        wrong_response_call,
        405,
        "invalid_request_error",
        "method_not_allowed",
    )
    .await;
}
