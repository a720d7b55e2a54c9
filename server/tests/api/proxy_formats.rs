//! The `/v1` routes forward each format through the right kind of key, exactly.

use futures::StreamExt;
use serde_json::{Value, json};

use crate::{
    helpers::TestApp,
    mock::{ANTHROPIC_USAGE, MockUpstream, OPENAI_USAGE, PIECES},
};

fn chat(model: &str, stream: bool) -> Value {
    json!({"model": model, "messages": [{"role": "user", "content": "hi"}], "stream": stream,
           "x_vendor_field": {"kept": [1, 2.50]}})
}

fn messages(model: &str, stream: bool) -> Value {
    json!({"model": model, "max_tokens": 64, "messages": [{"role": "user", "content": "hi"}], "stream": stream})
}

/// The text of a streamed answer, by concatenating its deltas.
fn streamed_text(body: &str) -> String {
    let mut text = String::new();
    for line in body.lines() {
        let Some(data) = line.strip_prefix("data: ") else {
            continue;
        };
        let Ok(value) = serde_json::from_str::<Value>(data) else {
            continue;
        };
        if let Some(piece) = value
            .pointer("/choices/0/delta/content")
            .and_then(Value::as_str)
        {
            text.push_str(piece);
        }
        if let Some(piece) = value.pointer("/delta/text").and_then(Value::as_str) {
            text.push_str(piece);
        }
    }
    text
}

#[tokio::test]
async fn an_openai_key_answers_chat_completions_and_the_attempt_is_logged_exactly() {
    let app = TestApp::spawn().await;
    let upstream = MockUpstream::start().await;
    let key_id = app
        .add_key("OPENAI", "sk-ok-openai-1", json!({"baseUrl": upstream.url}))
        .await;
    let token = app.client_token(json!({})).await;

    let response = app
        .v1("/v1/chat/completions", &token, chat("gpt-4o", false))
        .await;

    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-request-id"], "req_mock_1");
    let request_id = response.headers()["x-amp-pool-request-id"]
        .to_str()
        .unwrap()
        .to_string();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["choices"][0]["message"]["content"], PIECES.concat());
    let seen = upstream.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].path, "/v1/chat/completions");
    assert_eq!(seen[0].headers["authorization"], "Bearer sk-ok-openai-1");
    assert_eq!(
        seen[0].body,
        chat("gpt-4o", false),
        "the body passes through unchanged"
    );
    let rows = app.log_rows().await;
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    let (prompt, completion, cached) = OPENAI_USAGE;
    assert_eq!(row.request_id, request_id);
    assert_eq!(
        (row.key_id, row.attempt, row.status.as_str()),
        (Some(key_id as i32), 1, "success")
    );
    assert_eq!(
        (
            row.provider.as_str(),
            row.endpoint.as_str(),
            row.model.as_str()
        ),
        ("openai", "chat_completions", "gpt-4o")
    );
    assert_eq!(row.input_tokens, prompt - cached);
    assert_eq!(row.cache_read_tokens, cached);
    assert_eq!(row.output_tokens, completion);
    assert_eq!(row.total_tokens, prompt + completion);
    // gpt-4o: 20 × $2.50 + 30 × $10 + 100 × $1.25 per million = $0.000475.
    assert_eq!(row.cost, 475_000);
    assert!(!row.cost_unknown);
    assert_eq!(row.http_status_code, Some(200));
    assert!(row.first_byte_ms.is_some() && row.latency_ms >= row.first_byte_ms.unwrap());
}

#[tokio::test]
async fn an_anthropic_key_streams_messages_and_counts_cache_tokens_apart() {
    let app = TestApp::spawn().await;
    let upstream = MockUpstream::start().await;
    app.add_key(
        "ANTHROPIC",
        "sk-ok-anthropic-1",
        json!({"baseUrl": upstream.url}),
    )
    .await;
    let token = app.client_token(json!({})).await;

    let response = app
        .http
        .post(app.url("/v1/messages"))
        .header("x-api-key", &token)
        .header("anthropic-version", "2023-06-01")
        .header("anthropic-beta", "prompt-caching-2024-07-31")
        .json(&messages("claude-sonnet-4-5-20250929", true))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let body = response.text().await.unwrap();
    assert_eq!(streamed_text(&body), PIECES.concat());
    assert!(body.ends_with("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"));
    let seen = &upstream.seen()[0];
    assert_eq!(seen.path, "/v1/messages");
    assert_eq!(seen.headers["x-api-key"], "sk-ok-anthropic-1");
    assert_eq!(seen.headers["anthropic-version"], "2023-06-01");
    assert_eq!(seen.headers["anthropic-beta"], "prompt-caching-2024-07-31");
    assert!(seen.headers.get("authorization").is_none());
    let row = &app.log_rows().await[0];
    let (input, output, cache_creation, cache_read) = ANTHROPIC_USAGE;
    assert_eq!((row.status.as_str(), row.is_stream), ("success", true));
    assert_eq!((row.input_tokens, row.output_tokens), (input, output));
    assert_eq!(
        (row.cache_creation_tokens, row.cache_read_tokens),
        (cache_creation, cache_read)
    );
    assert_eq!(
        row.total_tokens,
        input + output + cache_creation + cache_read
    );
    // claude-sonnet-4-5: 50×3 + 20×15 + 200×3.75 + 1000×0.3 micro-USD = 1500 micro-USD.
    assert_eq!(row.cost, 1_500_000);
}

#[tokio::test]
async fn an_amp_key_serves_both_formats_on_amps_provider_routes() {
    let app = TestApp::spawn().await;
    let upstream = MockUpstream::start().await;
    app.add_key("AMP", "sk-ok-amp-1", json!({"baseUrl": upstream.url}))
        .await;
    let token = app.client_token(json!({})).await;

    let chat_answer = app
        .v1("/v1/chat/completions", &token, chat("gpt-4o", false))
        .await;
    let messages_answer = app
        .v1("/v1/messages", &token, messages("claude-sonnet-4-5", false))
        .await;

    assert_eq!(chat_answer.status(), 200);
    assert_eq!(messages_answer.status(), 200);
    let seen = upstream.seen();
    assert_eq!(seen[0].path, "/api/provider/openai/v1/chat/completions");
    assert_eq!(seen[1].path, "/api/provider/anthropic/v1/messages");
    for request in &seen {
        assert_eq!(request.headers["authorization"], "Bearer sk-ok-amp-1");
        assert_eq!(request.headers["x-api-key"], "sk-ok-amp-1");
    }
    assert_eq!(
        seen[1].headers["anthropic-version"], "2023-06-01",
        "the default version is sent"
    );
    let rows = app.log_rows().await;
    assert_eq!(
        rows.iter().map(|r| r.provider.as_str()).collect::<Vec<_>>(),
        ["amp", "amp"]
    );
    assert_eq!(rows[1].endpoint, "messages");
}

#[tokio::test]
async fn an_openai_stream_hides_the_usage_chunk_the_client_did_not_ask_for() {
    let app = TestApp::spawn().await;
    let upstream = MockUpstream::start().await;
    app.add_key("OPENAI", "sk-ok-openai-1", json!({"baseUrl": upstream.url}))
        .await;
    let token = app.client_token(json!({})).await;

    let body = app
        .v1("/v1/chat/completions", &token, chat("gpt-4o-mini", true))
        .await
        .text()
        .await
        .unwrap();

    assert_eq!(streamed_text(&body), PIECES.concat());
    assert!(
        !body.contains("\"prompt_tokens\""),
        "no usage chunk reaches the client: {body}"
    );
    assert!(body.ends_with("data: [DONE]\n\n"));
    assert_eq!(
        upstream.seen()[0].body["stream_options"],
        json!({"include_usage": true})
    );
    let row = &app.log_rows().await[0];
    assert_eq!(
        (row.input_tokens, row.cache_read_tokens, row.output_tokens),
        (20, 100, 30)
    );
    // gpt-4o-mini: 20×0.15 + 30×0.6 + 100×0.075 micro-USD = 28.5 micro-USD.
    assert_eq!(row.cost, 28_500);
}

#[tokio::test]
async fn an_openai_stream_passes_the_usage_chunk_when_the_client_asked() {
    let app = TestApp::spawn().await;
    let upstream = MockUpstream::start().await;
    app.add_key("OPENAI", "sk-ok-openai-1", json!({"baseUrl": upstream.url}))
        .await;
    let token = app.client_token(json!({})).await;
    let mut request = chat("gpt-4o", true);
    request["stream_options"] = json!({"include_usage": true});

    let body = app
        .v1("/v1/chat/completions", &token, request.clone())
        .await
        .text()
        .await
        .unwrap();

    assert!(
        body.contains("\"choices\":[],\"usage\":{\"prompt_tokens\":120"),
        "{body}"
    );
    assert_eq!(upstream.seen()[0].body, request);
    assert_eq!(app.log_rows().await[0].output_tokens, 30);
}

#[tokio::test]
async fn a_stream_reaches_the_client_chunk_by_chunk() {
    let app = TestApp::spawn().await;
    let upstream = MockUpstream::start().await;
    app.add_key(
        "OPENAI",
        "sk-gate-openai-1",
        json!({"baseUrl": upstream.url}),
    )
    .await;
    let token = app.client_token(json!({})).await;

    let response = app
        .v1("/v1/chat/completions", &token, chat("gpt-4o", true))
        .await;
    let mut body = response.bytes_stream();
    // The upstream holds everything after its first event until the gate opens, so this first
    // chunk can only arrive if the proxy passed it on without waiting for the rest.
    let first = tokio::time::timeout(std::time::Duration::from_secs(10), body.next())
        .await
        .expect("the first event arrives while the upstream still holds the rest")
        .unwrap()
        .unwrap();
    assert_eq!(
        streamed_text(std::str::from_utf8(&first).unwrap()),
        PIECES[0]
    );
    upstream.open_gate();
    let mut rest = Vec::new();
    while let Some(chunk) = body.next().await {
        rest.extend_from_slice(&chunk.unwrap());
    }
    assert_eq!(
        streamed_text(std::str::from_utf8(&rest).unwrap()),
        PIECES[1..].concat()
    );
    assert_eq!(app.log_rows().await[0].status, "success");
}

#[tokio::test]
async fn count_tokens_is_forwarded_and_logged_without_cost() {
    let app = TestApp::spawn().await;
    let upstream = MockUpstream::start().await;
    app.add_key(
        "ANTHROPIC",
        "sk-ok-anthropic-1",
        json!({"baseUrl": upstream.url}),
    )
    .await;
    let token = app.client_token(json!({})).await;

    let response = app
        .v1(
            "/v1/messages/count_tokens",
            &token,
            messages("claude-sonnet-4-5", false),
        )
        .await;

    assert_eq!(response.status(), 200);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"input_tokens": 42})
    );
    assert_eq!(upstream.seen()[0].path, "/v1/messages/count_tokens");
    let row = &app.log_rows().await[0];
    assert_eq!(
        (row.endpoint.as_str(), row.total_tokens, row.cost),
        ("count_tokens", 0, 0)
    );
}

#[tokio::test]
async fn a_model_without_a_price_costs_nothing_and_is_flagged() {
    let app = TestApp::spawn().await;
    let upstream = MockUpstream::start().await;
    app.add_key("OPENAI", "sk-ok-openai-1", json!({"baseUrl": upstream.url}))
        .await;
    let token = app.client_token(json!({})).await;

    app.v1(
        "/v1/chat/completions",
        &token,
        chat("mystery-model-1", false),
    )
    .await;

    let row = &app.log_rows().await[0];
    assert_eq!(
        (row.cost, row.cost_unknown, row.output_tokens),
        (0, true, 30)
    );
}

#[tokio::test]
async fn an_edited_price_table_applies_to_the_next_request() {
    let app = TestApp::spawn().await;
    let upstream = MockUpstream::start().await;
    app.add_key("OPENAI", "sk-ok-openai-1", json!({"baseUrl": upstream.url}))
        .await;
    let token = app.client_token(json!({})).await;
    app.graphql(
        "mutation($v: JSON!) { setConfig(key: \"model_prices\", value: $v) { key } }",
        json!({"v": {"house-model": {"input": 1.0, "output": 2.0, "cache_read": 0.5}}}),
    )
    .await;

    app.v1("/v1/chat/completions", &token, chat("house-model", false))
        .await;

    // 20×1 + 30×2 + 100×0.5 micro-USD.
    assert_eq!(app.log_rows().await[0].cost, 130_000);
}

#[tokio::test]
async fn the_model_list_shows_what_the_keys_can_serve() {
    let app = TestApp::spawn().await;
    let upstream = MockUpstream::start().await;
    app.add_key(
        "ANTHROPIC",
        "sk-ok-anthropic-1",
        json!({"baseUrl": upstream.url}),
    )
    .await;
    let token = app.client_token(json!({})).await;
    app.graphql(
        "mutation($v: JSON!) { setConfig(key: \"models\", value: $v) { key } }",
        json!({"v": {"openai": ["gpt-4o"], "anthropic": ["claude-sonnet-4-5", "claude-haiku-4-5"]}}),
    )
    .await;

    let openai: Value = app
        .http
        .get(app.url("/v1/models"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let anthropic: Value = app
        .http
        .get(app.url("/v1/models"))
        .header("x-api-key", &token)
        .header("anthropic-version", "2023-06-01")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    assert_eq!(openai["object"], "list");
    let ids: Vec<&str> = openai["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        ["claude-haiku-4-5", "claude-sonnet-4-5"],
        "only models a key can serve"
    );
    assert_eq!(openai["data"][0]["object"], "model");
    assert_eq!(anthropic["data"][0]["type"], "model");
    assert_eq!(anthropic["has_more"], false);
    assert_eq!(anthropic["first_id"], "claude-haiku-4-5");
}

#[tokio::test]
async fn a_json_answer_to_a_stream_request_is_passed_on_whole() {
    let app = TestApp::spawn().await;
    let upstream = MockUpstream::start().await;
    app.add_key("OPENAI", "sk-jsononly-1", json!({"baseUrl": upstream.url}))
        .await;
    let token = app.client_token(json!({})).await;

    let response = app
        .v1("/v1/chat/completions", &token, chat("gpt-4o", true))
        .await;

    assert_eq!(response.headers()["content-type"], "application/json");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["choices"][0]["message"]["content"], PIECES.concat());
    let row = &app.log_rows().await[0];
    assert_eq!((row.status.as_str(), row.output_tokens), ("success", 30));
}
