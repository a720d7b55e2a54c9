//! OpenAI's Responses API, embeddings and legacy completions through the pool: exact usage,
//! failover, and stateful calls that reach the key holding the response.

use serde_json::{Value, json};

use crate::{
    helpers::{TestApp, data},
    mock::{MockUpstream, PIECES},
    mock_openai::{COMPLETION_USAGE, EMBEDDING_TOKENS, RESPONSES_USAGE},
};

fn ask(stream: bool) -> Value {
    json!({"model": "gpt-5", "input": "say hi", "instructions": "be brief", "stream": stream})
}

/// The `data:` payloads of an SSE body, with their event names.
fn events(body: &str) -> Vec<(String, Value)> {
    body.split("\n\n")
        .filter(|event| !event.trim().is_empty())
        .map(|event| {
            let name = event
                .lines()
                .find_map(|l| l.strip_prefix("event: "))
                .unwrap_or_default()
                .to_string();
            let data = event
                .lines()
                .find_map(|l| l.strip_prefix("data: "))
                .map(|d| serde_json::from_str(d).unwrap_or(Value::Null))
                .unwrap_or(Value::Null);
            (name, data)
        })
        .collect()
}

/// gpt-5 at $1.25 / $10 / $0.125 per million: 100 fresh input, 50 output, 200 cached.
const RESPONSE_COST_NANOS: i64 = 100 * 1250 + 50 * 10_000 + 200 * 125;

#[tokio::test]
async fn responses_stream_and_not_through_openai_and_amp_keys_with_exact_usage() {
    let app = TestApp::spawn().await;
    let upstream = MockUpstream::start().await;
    let openai = app
        .add_key(
            "OPENAI",
            "sk-ok-resp-openai",
            json!({"baseUrl": upstream.url, "priority": 0}),
        )
        .await;
    let token = app.client_token(json!({})).await;

    let answer: Value = app
        .v1("/v1/responses", &token, ask(false))
        .await
        .json()
        .await
        .unwrap();
    let streamed = app
        .v1("/v1/responses", &token, ask(true))
        .await
        .text()
        .await
        .unwrap();
    // The OPENAI key goes; an AMP key takes over at Amp's route.
    app.graphql(
        "mutation($id: Int!) { setKeyEnabled(id: $id, enabled: false) { enabled } }",
        json!({"id": openai}),
    )
    .await;
    app.add_key("AMP", "sk-ok-resp-amp", json!({"baseUrl": upstream.url}))
        .await;
    let through_amp = app.v1("/v1/responses", &token, ask(true)).await;
    assert_eq!(through_amp.status(), 200);
    let through_amp = through_amp.text().await.unwrap();

    assert_eq!(answer["object"], "response");
    assert_eq!(answer["output"][0]["content"][0]["text"], PIECES.concat());
    let streamed = events(&streamed);
    let text: String = streamed
        .iter()
        .filter(|(name, _)| name == "response.output_text.delta")
        .map(|(_, data)| data["delta"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(text, PIECES.concat());
    assert_eq!(streamed.last().unwrap().0, "response.completed");
    assert!(through_amp.contains("response.completed"));
    let paths: Vec<String> = upstream.seen().into_iter().map(|s| s.path).collect();
    assert_eq!(
        paths,
        [
            "/v1/responses",
            "/v1/responses",
            "/api/provider/openai/v1/responses"
        ]
    );

    let rows = app.log_rows().await;
    assert_eq!(rows.len(), 3);
    let (input, cached, output, reasoning) = RESPONSES_USAGE;
    for row in &rows {
        assert_eq!(row.endpoint, "responses");
        assert_eq!(row.status, "success");
        assert_eq!(row.input_tokens, input - cached);
        assert_eq!(row.cache_read_tokens, cached);
        assert_eq!(row.output_tokens, output);
        assert_eq!(row.reasoning_tokens, reasoning);
        assert_eq!(row.total_tokens, input + output);
        assert_eq!(row.cost, RESPONSE_COST_NANOS);
        assert!(!row.cost_unknown);
        assert!(row.response_id.as_deref().unwrap().starts_with("resp_mock"));
    }
    assert_eq!(rows[0].response_id.as_deref(), answer["id"].as_str());
    assert!(!rows[0].is_stream && rows[1].is_stream);
    assert_eq!(rows[2].provider, "amp");
}

#[tokio::test]
async fn a_responses_call_fails_over_before_the_first_byte() {
    let app = TestApp::spawn().await;
    let upstream = MockUpstream::start().await;
    app.add_keys_in_order(
        "OPENAI",
        &["sk-r429-first", "sk-e500-second", "sk-ok-third"],
        &upstream.url,
    )
    .await;
    let token = app.client_token(json!({})).await;

    let streamed = app.v1("/v1/responses", &token, ask(true)).await;

    assert_eq!(streamed.status(), 200);
    assert!(
        streamed
            .text()
            .await
            .unwrap()
            .contains("response.completed")
    );
    let rows = app.log_rows().await;
    let statuses: Vec<(i32, &str, Option<i32>)> = rows
        .iter()
        .map(|r| (r.attempt, r.status.as_str(), r.http_status_code))
        .collect();
    assert_eq!(
        statuses,
        [
            (1, "error", Some(429)),
            (2, "error", Some(500)),
            (3, "success", Some(200))
        ]
    );
    assert_eq!(rows[2].output_tokens, RESPONSES_USAGE.2);
}

#[tokio::test]
async fn a_follow_up_reaches_the_key_that_holds_the_previous_response() {
    let app = TestApp::spawn().await;
    let upstream = MockUpstream::start().await;
    // Round robin starts with the first key; the second has a hundred times its weight, so
    // without routing by response almost every follow-up would land there and fail.
    let first = app
        .add_key(
            "OPENAI",
            "sk-ok-holder",
            json!({"baseUrl": upstream.url, "weight": 1}),
        )
        .await;
    app.add_key(
        "OPENAI",
        "sk-ok-heavy",
        json!({"baseUrl": upstream.url, "weight": 100}),
    )
    .await;
    let token = app.client_token(json!({})).await;
    let created: Value = app
        .v1("/v1/responses", &token, ask(false))
        .await
        .json()
        .await
        .unwrap();
    let mut previous = created["id"].as_str().unwrap().to_string();

    for turn in 0..5 {
        let follow_up = json!({"model": "gpt-5", "input": format!("turn {turn}"),
                               "previous_response_id": previous, "stream": turn % 2 == 0});
        let answer = app.v1("/v1/responses", &token, follow_up).await;
        assert_eq!(answer.status(), 200, "turn {turn}");
        let body = answer.text().await.unwrap();
        previous = match turn % 2 {
            0 => events(&body)
                .into_iter()
                .find(|(name, _)| name == "response.created")
                .map(|(_, data)| data["response"]["id"].as_str().unwrap().to_string())
                .unwrap(),
            _ => serde_json::from_str::<Value>(&body).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_string(),
        };
    }

    let rows = app.log_rows().await;
    assert_eq!(rows.len(), 6);
    assert!(rows.iter().all(|r| r.status == "success"));
    assert!(
        rows.iter().all(|r| r.key_id == Some(first as i32)),
        "{:?}",
        rows.iter().map(|r| r.key_id).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn calls_on_a_stored_response_go_to_its_key_and_only_for_its_token() {
    let app = TestApp::spawn().await;
    let upstream = MockUpstream::start().await;
    let holder = app
        .add_key("OPENAI", "sk-ok-holder", json!({"baseUrl": upstream.url}))
        .await;
    let token = app.client_token(json!({})).await;
    let created: Value = app
        .v1("/v1/responses", &token, ask(false))
        .await
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap().to_string();
    app.add_key(
        "OPENAI",
        "sk-ok-other",
        json!({"baseUrl": upstream.url, "weight": 50}),
    )
    .await;
    let other_token = app.client_token(json!({"name": "someone else"})).await;
    let http = &app.http;
    let url = |suffix: &str| app.url(&format!("/v1/responses/{id}{suffix}"));

    let retrieved = http.get(url("")).bearer_auth(&token).send().await.unwrap();
    let items = http
        .get(url("/input_items?limit=5&order=asc"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let cancelled = http
        .post(url("/cancel"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let foreign = http
        .get(url(""))
        .bearer_auth(&other_token)
        .send()
        .await
        .unwrap();
    let unknown = http
        .get(app.url("/v1/responses/resp_never_made"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let deleted = http
        .delete(url(""))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();

    assert_eq!(retrieved.status(), 200);
    assert_eq!(retrieved.json::<Value>().await.unwrap()["id"], id);
    assert_eq!(items.status(), 200);
    assert_eq!(items.json::<Value>().await.unwrap()["object"], "list");
    assert_eq!(
        cancelled.json::<Value>().await.unwrap()["status"],
        "cancelled"
    );
    assert_eq!(foreign.status(), 404);
    let foreign: Value = foreign.json().await.unwrap();
    assert_eq!(foreign["error"]["code"], "response_not_found");
    assert_eq!(unknown.status(), 404);
    assert_eq!(deleted.json::<Value>().await.unwrap()["deleted"], true);
    let calls: Vec<(String, String, Option<String>)> = upstream
        .seen()
        .into_iter()
        .skip(1)
        .map(|s| {
            let key = s.headers["authorization"].to_str().unwrap().to_string();
            (format!("{} {}", s.method, s.path), key, s.query)
        })
        .collect();
    let on = |call: &str| format!("{call}{id}");
    assert_eq!(
        calls,
        [
            (on("GET /v1/responses/"), "Bearer sk-ok-holder".into(), None),
            (
                format!("GET /v1/responses/{id}/input_items"),
                "Bearer sk-ok-holder".into(),
                Some("limit=5&order=asc".into())
            ),
            (
                format!("POST /v1/responses/{id}/cancel"),
                "Bearer sk-ok-holder".into(),
                None
            ),
            (
                on("DELETE /v1/responses/"),
                "Bearer sk-ok-holder".into(),
                None
            ),
        ]
    );
    let rows = app.log_rows().await;
    let endpoints: Vec<&str> = rows.iter().skip(1).map(|r| r.endpoint.as_str()).collect();
    assert_eq!(
        endpoints,
        [
            "responses_retrieve",
            "responses_input_items",
            "responses_cancel",
            "responses_delete"
        ]
    );
    assert!(
        rows.iter()
            .skip(1)
            .all(|r| r.key_id == Some(holder as i32) && r.total_tokens == 0 && r.cost == 0)
    );
}

#[tokio::test]
async fn a_response_whose_key_is_gone_is_a_404_that_says_why() {
    let app = TestApp::spawn().await;
    let upstream = MockUpstream::start().await;
    let holder = app
        .add_key("OPENAI", "sk-ok-holder", json!({"baseUrl": upstream.url}))
        .await;
    app.add_key("OPENAI", "sk-ok-spare", json!({"baseUrl": upstream.url}))
        .await;
    let token = app.client_token(json!({})).await;
    let created: Value = app
        .v1("/v1/responses", &token, ask(false))
        .await
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap();
    app.graphql(
        "mutation($id: Int!) { deleteKey(id: $id) }",
        json!({"id": holder}),
    )
    .await;

    let follow_up = app
        .v1(
            "/v1/responses",
            &token,
            json!({"model": "gpt-5", "input": "more", "previous_response_id": id}),
        )
        .await;
    let retrieve = app
        .http
        .get(app.url(&format!("/v1/responses/{id}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();

    assert_eq!(follow_up.status(), 404);
    let body: Value = follow_up.json().await.unwrap();
    assert_eq!(body["error"]["code"], "previous_response_not_found");
    assert_eq!(body["error"]["param"], "previous_response_id");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("removed from the pool"),
        "{body}"
    );
    assert_eq!(retrieve.status(), 404);
    // Nothing was sent to the spare key, which could not have answered.
    assert_eq!(upstream.seen().len(), 1);
}

#[tokio::test]
async fn which_key_holds_a_response_survives_a_restart() {
    let app = TestApp::spawn().await;
    let upstream = MockUpstream::start().await;
    let holder = app
        .add_key("OPENAI", "sk-ok-holder", json!({"baseUrl": upstream.url}))
        .await;
    let token = app.client_token(json!({})).await;
    let created: Value = app
        .v1("/v1/responses", &token, ask(true))
        .await
        .text()
        .await
        .map(|body| {
            events(&body)
                .into_iter()
                .find(|(name, _)| name == "response.completed")
                .unwrap()
                .1["response"]
                .clone()
        })
        .unwrap();
    app.log_rows().await;

    // What a fresh process loads from the log at start.
    let fresh = amp_pool::pool::Affinity::default();
    let loaded = fresh.warm(&app.state.db).await.unwrap();

    assert_eq!(loaded, 1);
    let owner = fresh
        .response_owner(created["id"].as_str().unwrap())
        .unwrap();
    assert_eq!(owner.key_id, holder as i32);
    assert_eq!(&*owner.model, "gpt-5");
}

#[tokio::test]
async fn embeddings_and_legacy_completions_use_openai_keys_with_exact_usage() {
    let app = TestApp::spawn().await;
    let upstream = MockUpstream::start().await;
    // AMP keys serve neither; the OPENAI key does, even in a worse tier.
    app.add_key(
        "AMP",
        "sk-ok-amp",
        json!({"baseUrl": upstream.url, "priority": 0}),
    )
    .await;
    let token = app.client_token(json!({})).await;
    let without_openai = app
        .v1(
            "/v1/embeddings",
            &token,
            json!({"model": "text-embedding-3-small", "input": "hello"}),
        )
        .await;
    assert_eq!(without_openai.status(), 503);
    let refusal: Value = without_openai.json().await.unwrap();
    assert!(
        refusal["error"]["message"]
            .as_str()
            .unwrap()
            .contains("OPENAI keys only"),
        "{refusal}"
    );
    app.add_key(
        "OPENAI",
        "sk-ok-openai",
        json!({"baseUrl": upstream.url, "priority": 5}),
    )
    .await;

    let embedded: Value = app
        .v1(
            "/v1/embeddings",
            &token,
            json!({"model": "text-embedding-3-small", "input": ["hello"], "encoding_format": "float"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let completed: Value = app
        .v1(
            "/v1/completions",
            &token,
            json!({"model": "gpt-3.5-turbo-instruct", "prompt": "Say hi"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let streamed = app
        .v1(
            "/v1/completions",
            &token,
            json!({"model": "gpt-3.5-turbo-instruct", "prompt": "Say hi", "stream": true}),
        )
        .await
        .text()
        .await
        .unwrap();

    assert_eq!(embedded["data"][0]["embedding"], json!([0.25, -0.5, 1.0]));
    assert_eq!(completed["choices"][0]["text"], PIECES.concat());
    let text: String = events(&streamed)
        .iter()
        .filter_map(|(_, data)| data["choices"][0]["text"].as_str().map(str::to_string))
        .collect();
    assert_eq!(text, PIECES.concat());
    // The client did not ask for the usage chunk, so it does not see it.
    assert!(!streamed.contains("\"usage\""), "{streamed}");
    assert!(streamed.ends_with("data: [DONE]\n\n"));
    let rows = app.log_rows().await;
    let facts: Vec<(&str, &str, i64, i64, i64)> = rows
        .iter()
        .map(|r| {
            (
                r.endpoint.as_str(),
                r.provider.as_str(),
                r.input_tokens,
                r.output_tokens,
                r.cost,
            )
        })
        .collect();
    let (prompt, completion) = COMPLETION_USAGE;
    // $0.02 per million embedding tokens; $1.50 / $2.00 for the instruct model.
    let completion_cost = prompt * 1500 + completion * 2000;
    assert_eq!(
        facts,
        [
            (
                "embeddings",
                "openai",
                EMBEDDING_TOKENS,
                0,
                EMBEDDING_TOKENS * 20
            ),
            ("completions", "openai", prompt, completion, completion_cost),
            ("completions", "openai", prompt, completion, completion_cost),
        ]
    );
}

#[tokio::test]
async fn the_query_string_and_anthropic_beta_reach_the_upstream() {
    let app = TestApp::spawn().await;
    let upstream = MockUpstream::start().await;
    app.add_key(
        "ANTHROPIC",
        "sk-ok-claude",
        json!({"baseUrl": upstream.url}),
    )
    .await;
    let token = app.client_token(json!({})).await;

    // As Claude Code calls it.
    let answer = app
        .http
        .post(app.url("/v1/messages?beta=true"))
        .header("x-api-key", &token)
        .header("anthropic-version", "2023-06-01")
        .header(
            "anthropic-beta",
            "claude-code-20250219,interleaved-thinking-2025-05-14",
        )
        .json(&json!({"model": "claude-sonnet-4-5", "max_tokens": 10,
                      "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();

    assert_eq!(answer.status(), 200);
    let seen = upstream.seen();
    assert_eq!(seen[0].path, "/v1/messages");
    assert_eq!(seen[0].query.as_deref(), Some("beta=true"));
    assert_eq!(
        seen[0].headers["anthropic-beta"],
        "claude-code-20250219,interleaved-thinking-2025-05-14"
    );
}

#[tokio::test]
async fn cache_reads_by_key_are_in_the_stats() {
    let app = TestApp::spawn().await;
    let upstream = MockUpstream::start().await;
    let key = app
        .add_key("OPENAI", "sk-ok-stats", json!({"baseUrl": upstream.url}))
        .await;
    let token = app.client_token(json!({})).await;
    for stream in [false, true] {
        app.v1("/v1/responses", &token, ask(stream))
            .await
            .text()
            .await
            .unwrap();
    }
    app.log_rows().await;

    let stats = app
        .graphql(
            "{ statsByKey(range: {preset: LAST_24_HOURS}) { keyId stats { cacheReadTokens inputTokens } } }",
            json!({}),
        )
        .await;

    let groups = data(&stats)["statsByKey"].as_array().unwrap().clone();
    assert_eq!(groups.len(), 1, "{stats}");
    assert_eq!(groups[0]["keyId"], key);
    let (input, cached, _, _) = RESPONSES_USAGE;
    assert_eq!(groups[0]["stats"]["cacheReadTokens"], 2 * cached);
    assert_eq!(groups[0]["stats"]["inputTokens"], 2 * (input - cached));
}
