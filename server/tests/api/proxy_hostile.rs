//! Trust boundaries of the proxy: no client request and no hostile upstream can disable keys,
//! leak the pool's secrets, crash a request or corrupt the accounting.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::{
    helpers::{TestApp, data},
    mock::MockUpstream,
};

fn chat() -> Value {
    json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]})
}

async fn keys(app: &TestApp) -> Vec<Value> {
    let response = app
        .graphql(
            "{ keys { id enabled disabledBy available cooldownUntil } }",
            json!({}),
        )
        .await;
    let mut keys = data(&response)["keys"].as_array().unwrap().clone();
    keys.sort_by_key(|k| k["id"].as_i64());
    keys
}

#[tokio::test]
async fn billing_words_in_an_error_message_never_disable_a_key() {
    let app = TestApp::spawn().await;
    let upstream = MockUpstream::start().await;
    app.add_keys_in_order("OPENAI", &["sk-echo400-1", "sk-echo500-2"], &upstream.url)
        .await;
    let token = app.client_token(json!({})).await;

    for _ in 0..3 {
        let response = app.v1("/v1/chat/completions", &token, chat()).await;
        assert_eq!(
            response.status(),
            400,
            "a request error is passed on as it is"
        );
    }

    let rows = app.log_rows().await;
    assert_eq!(
        rows.len(),
        3,
        "a request error is never retried on another key"
    );
    assert!(
        rows.iter()
            .all(|r| r.error_type.as_deref() == Some("client_error"))
    );
    for key in keys(&app).await {
        assert_eq!(
            (key["enabled"].clone(), key["available"].clone()),
            (json!(true), json!(true))
        );
    }
}

#[tokio::test]
async fn the_same_failure_on_two_keys_is_answered_without_blaming_the_second_key() {
    let app = TestApp::spawn().await;
    let upstream = MockUpstream::start().await;
    let ids = app
        .add_keys_in_order(
            "OPENAI",
            &["sk-e500-1", "sk-e500-2", "sk-ok-key-3"],
            &upstream.url,
        )
        .await;
    let (first, second) = (ids[0], ids[1]);
    let token = app.client_token(json!({})).await;

    let response = app.v1("/v1/chat/completions", &token, chat()).await;

    assert_eq!(response.status(), 500);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["message"], "mock upstream exploded");
    let rows = app.log_rows().await;
    let tried: Vec<_> = rows.iter().map(|r| r.key_id.unwrap() as i64).collect();
    assert_eq!(tried, [first, second], "no third key is tried");
    let keys = keys(&app).await;
    assert_eq!(keys[0]["available"], false, "the first key cools down");
    assert_eq!(
        (
            keys[1]["available"].clone(),
            keys[1]["cooldownUntil"].clone()
        ),
        (json!(true), Value::Null),
        "the second key is not blamed"
    );
}

#[tokio::test]
async fn a_request_that_times_out_on_two_keys_is_answered_504_and_the_second_key_stays() {
    let app = TestApp::spawn().await;
    let upstream = MockUpstream::start().await;
    app.graphql(
        "mutation { setConfig(key: \"proxy\", value: {first_byte_timeout_ms: 300}) { key } }",
        json!({}),
    )
    .await;
    app.add_keys_in_order(
        "OPENAI",
        &["sk-hang-1", "sk-hang-2", "sk-hang-3"],
        &upstream.url,
    )
    .await;
    let token = app.client_token(json!({})).await;

    let response = app.v1("/v1/chat/completions", &token, chat()).await;

    assert_eq!(response.status(), 504);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "upstream_timeout");
    assert_eq!(app.log_rows().await.len(), 2);
    let keys = keys(&app).await;
    assert_eq!(
        [
            &keys[0]["available"],
            &keys[1]["available"],
            &keys[2]["available"]
        ],
        [&json!(false), &json!(true), &json!(true)]
    );
}

#[tokio::test]
async fn absurd_rate_limit_headers_cool_the_key_for_at_most_a_day() {
    let app = TestApp::spawn().await;
    let upstream = MockUpstream::start().await;
    app.add_keys_in_order(
        "OPENAI",
        &["sk-retryinf-1", "sk-resetinf-2", "sk-ok-key-3"],
        &upstream.url,
    )
    .await;
    let token = app.client_token(json!({})).await;

    let response = app.v1("/v1/chat/completions", &token, chat()).await;

    assert_eq!(
        response.status(),
        200,
        "the client is served by the third key"
    );
    let keys = keys(&app).await;
    for key in &keys[..2] {
        let until: chrono::DateTime<chrono::Utc> =
            key["cooldownUntil"].as_str().unwrap().parse().unwrap();
        let hours = (until - chrono::Utc::now()).num_minutes() as f64 / 60.0;
        assert!((23.9..=24.0).contains(&hours), "cooled for {hours} h");
        assert_eq!(key["enabled"], true);
    }
}

#[tokio::test]
async fn account_headers_of_the_upstream_never_reach_the_client() {
    let app = TestApp::spawn().await;
    let upstream = MockUpstream::start().await;
    app.add_key("OPENAI", "sk-leaky-1", json!({"baseUrl": upstream.url}))
        .await;
    let token = app.client_token(json!({})).await;

    let response = app.v1("/v1/chat/completions", &token, chat()).await;

    assert_eq!(response.status(), 200);
    let headers = response.headers();
    for hidden in [
        "openai-organization",
        "openai-project",
        "anthropic-organization-id",
        "set-cookie",
    ] {
        assert!(headers.get(hidden).is_none(), "{hidden} was passed on");
    }
    assert_eq!(headers["openai-processing-ms"], "42");
    assert_eq!(headers["x-request-id"], "req_mock_1");
    assert_eq!(headers["x-ratelimit-remaining-requests"], "99");
}

#[tokio::test]
async fn an_error_body_that_echoes_the_key_reaches_the_client_and_log_masked() {
    let app = TestApp::spawn().await;
    let upstream = MockUpstream::start().await;
    let secret = "sk-echokey-0123456789abcdef";
    app.add_key("OPENAI", secret, json!({"baseUrl": upstream.url}))
        .await;
    let token = app.client_token(json!({})).await;

    let response = app.v1("/v1/chat/completions", &token, chat()).await;

    assert_eq!(response.status(), 500);
    let text = response.text().await.unwrap();
    assert!(!text.contains(secret), "{text}");
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["error"]["message"], "internal error for key sk-e…cdef");
    assert_eq!(body["error"]["key"], "sk-e…cdef");
    let rows = app.log_rows().await;
    assert_eq!(
        rows[0].error_message.as_deref(),
        Some("internal error for key sk-e…cdef")
    );
}

#[tokio::test]
async fn a_redirect_is_not_followed_and_answers_502_without_blaming_the_key() {
    let app = TestApp::spawn().await;
    let upstream = MockUpstream::start().await;
    app.add_key(
        "ANTHROPIC",
        "sk-redirect-1",
        json!({"baseUrl": upstream.url}),
    )
    .await;
    let token = app.client_token(json!({})).await;

    let response = app
        .v1(
            "/v1/messages",
            &token,
            json!({"model": "claude-sonnet-4-5", "max_tokens": 5, "messages": []}),
        )
        .await;

    assert_eq!(response.status(), 502);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({"type": "error", "error": {"type": "api_error",
            "message": "the upstream answered with a redirect (HTTP 307), which the pool does not follow"}})
    );
    assert!(
        upstream.seen().iter().all(|s| s.path != "/v1/redirected"),
        "the key was sent to the redirect's target"
    );
    let keys = keys(&app).await;
    assert_eq!(
        (keys[0]["enabled"].clone(), keys[0]["available"].clone()),
        (json!(true), json!(true))
    );
}

/// Sends a raw HTTP/1.1 request and returns the status code and body of the answer.
async fn raw_request(app: &TestApp, head_and_body: String) -> (u16, Value) {
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    stream.write_all(head_and_body.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let read = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buffer))
            .await
            .expect("an answer within 10 s")
            .unwrap();
        if read == 0 {
            break;
        }
        answer.extend_from_slice(&buffer[..read]);
        let text = String::from_utf8_lossy(&answer);
        if let Some((head, body)) = text.split_once("\r\n\r\n")
            && let Some(length) = head.lines().find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-length: ")
                    .map(str::to_string)
            })
            && body.len() >= length.trim().parse::<usize>().unwrap()
        {
            break;
        }
    }
    let text = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_broken_chunked_body_is_a_400_and_only_a_large_one_a_413() {
    let app = TestApp::spawn().await;
    let token = app.client_token(json!({})).await;
    let set = app
        .graphql(
            "mutation { setConfig(key: \"proxy\", value: {max_body_bytes: 1024}) { key } }",
            json!({}),
        )
        .await;
    assert!(set.get("errors").is_none(), "{set}");
    let head = |extra: &str| {
        format!(
            "POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\n{extra}\r\n"
        )
    };

    let (status, body) = raw_request(
        &app,
        format!(
            "{}5\r\n{{\"mod\r\nzz\r\n",
            head("Transfer-Encoding: chunked\r\n")
        ),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "invalid_body");
    assert_eq!(body["error"]["type"], "invalid_request_error");

    let large = "x".repeat(2000);
    let (status, body) = raw_request(
        &app,
        format!(
            "{}{:x}\r\n{large}\r\n0\r\n\r\n",
            head("Transfer-Encoding: chunked\r\n"),
            large.len()
        ),
    )
    .await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["error"]["code"], "request_too_large");
}

#[tokio::test]
async fn a_model_name_longer_than_its_column_or_with_control_characters_is_refused() {
    let app = TestApp::spawn().await;
    let upstream = MockUpstream::start().await;
    app.add_key("OPENAI", "sk-ok-key-1", json!({"baseUrl": upstream.url}))
        .await;
    app.add_key("ANTHROPIC", "sk-ok-key-2", json!({"baseUrl": upstream.url}))
        .await;
    let token = app.client_token(json!({})).await;

    let long = "m".repeat(129);
    let response = app
        .v1(
            "/v1/chat/completions",
            &token,
            json!({"model": long, "messages": []}),
        )
        .await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({"error": {"message": "`model` must be at most 128 characters",
            "type": "invalid_request_error", "param": "model", "code": "invalid_model"}})
    );
    let response = app
        .v1(
            "/v1/messages",
            &token,
            json!({"model": "claude\u{0}", "max_tokens": 5, "messages": []}),
        )
        .await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({"type": "error", "error": {"type": "invalid_request_error",
            "message": "`model` must not contain control characters"}})
    );
    assert!(upstream.seen().is_empty(), "nothing reached the upstream");
    assert!(app.log_rows().await.is_empty());
}

#[tokio::test]
async fn a_record_with_oversized_text_is_cut_to_its_columns_and_the_batch_lands() {
    use amp_pool::{
        recorder::{AttemptRecord, AttemptStatus},
        usage::Usage,
    };
    let app = TestApp::spawn().await;
    let token_id = {
        app.client_token(json!({"name": "writer"})).await;
        let response = app.graphql("{ accessTokens { id } }", json!({})).await;
        data(&response)["accessTokens"][0]["id"].as_i64().unwrap() as i32
    };
    let record = |model: String, message: &str, cost: i64| AttemptRecord {
        request_id: uuid::Uuid::new_v4().simple().to_string().into(),
        attempt: 1,
        key_id: None,
        key_name: None,
        access_token_id: Some(token_id),
        provider: "openai",
        endpoint: "chat_completions",
        model: model.into(),
        is_stream: false,
        usage: Usage {
            input: 10,
            ..Usage::default()
        },
        cost,
        cost_unknown: false,
        latency_ms: 1,
        first_byte_ms: None,
        status: AttemptStatus::Error,
        http_status_code: Some(500),
        error_type: Some("e".repeat(100)),
        error_message: Some(message.to_string()),
        usage_source: Default::default(),
        response_id: None,
        route: None,
        started_at: chrono::Utc::now(),
    };

    app.state
        .recorder
        .record(record("gpt-4o".into(), "fine", 1_000));
    app.state
        .recorder
        .record(record("x".repeat(300), "nul \u{0} inside", 2_000));
    app.state
        .recorder
        .record(record("gpt-4o".into(), &"long ".repeat(1000), 4_000));

    let rows = app.log_rows().await;
    assert_eq!(rows.len(), 3, "no row is lost");
    assert_eq!(rows[1].model, "x".repeat(128));
    assert_eq!(rows[1].error_message.as_deref(), Some("nul  inside"));
    assert_eq!(rows[1].error_type.as_deref().map(str::len), Some(64));
    assert_eq!(
        rows[2].error_message.as_deref().map(|m| m.chars().count()),
        Some(2000)
    );
    let response = app.graphql("{ accessTokens { spend } }", json!({})).await;
    assert_eq!(
        data(&response)["accessTokens"][0]["spend"].as_f64(),
        Some(0.000_007),
        "every row's spend landed"
    );
}

#[tokio::test]
async fn an_endless_event_ends_the_stream_with_an_error_event() {
    let app = TestApp::spawn().await;
    let upstream = MockUpstream::start().await;
    app.graphql(
        "mutation { setConfig(key: \"proxy\", value: {max_sse_event_bytes: 100000}) { key } }",
        json!({}),
    )
    .await;
    app.add_key("OPENAI", "sk-bigevent-1", json!({"baseUrl": upstream.url}))
        .await;
    let token = app.client_token(json!({})).await;

    let response = app
        .v1(
            "/v1/chat/completions",
            &token,
            json!({"model": "gpt-4o", "messages": [], "stream": true}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let text = tokio::time::timeout(Duration::from_secs(20), response.text())
        .await
        .expect("the stream ends")
        .unwrap();

    assert!(
        text.len() < 1_000_000,
        "the stream was cut early: {} bytes",
        text.len()
    );
    let last = text.trim_end().rsplit("\n\n").next().unwrap();
    let error: Value = serde_json::from_str(last.strip_prefix("data: ").unwrap()).unwrap();
    assert_eq!(
        error["error"]["message"],
        "the upstream sent an event larger than 100000 bytes"
    );
    let rows = app.log_rows().await;
    assert_eq!(
        (rows[0].status.as_str(), rows[0].error_type.as_deref()),
        ("interrupted", Some("event_too_large"))
    );
}

#[tokio::test]
async fn overflowing_usage_is_clamped_flagged_and_keeps_the_totals_exact() {
    let app = TestApp::spawn().await;
    let upstream = MockUpstream::start().await;
    app.add_key(
        "OPENAI",
        "sk-overflow-1",
        json!({"baseUrl": upstream.url, "priority": 0}),
    )
    .await;
    let token = app.client_token(json!({})).await;

    for _ in 0..3 {
        let response = app.v1("/v1/chat/completions", &token, chat()).await;
        assert_eq!(response.status(), 200);
    }

    let rows = app.log_rows().await;
    assert!(rows.iter().all(|r| r.usage_source == "clamped"));
    assert_eq!(
        (
            rows[0].input_tokens,
            rows[0].cache_read_tokens,
            rows[0].output_tokens
        ),
        (1_000_000_000, 0, 10)
    );
    let response = app
        .graphql(
            "{ statsOverview(range: {preset: LAST_24_HOURS}) { inputTokens outputTokens cacheReadTokens } }",
            json!({}),
        )
        .await;
    assert_eq!(
        data(&response)["statsOverview"],
        json!({"inputTokens": 3_000_000_000i64, "outputTokens": 30, "cacheReadTokens": 0})
    );
    let logs = app
        .graphql(
            "{ requestLogs(first: 1) { nodes { usageSource } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        data(&logs)["requestLogs"]["nodes"][0]["usageSource"],
        "clamped"
    );
}

/// Reads the first chunk of a stream, hangs up, and waits (bounded) for its log row.
async fn abandon_stream(
    app: &TestApp,
    upstream: &MockUpstream,
    token: &str,
    path: &str,
    body: Value,
) -> amp_pool::entity::api_request_log::Model {
    use futures::StreamExt;
    let response = app.v1(path, token, body).await;
    let mut stream = response.bytes_stream();
    stream.next().await.unwrap().unwrap();
    drop(stream);
    for _ in 0..200 {
        upstream.open_gate();
        let rows = app.log_rows().await;
        if let Some(row) = rows.into_iter().next() {
            return row;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no log row for the abandoned stream");
}

#[tokio::test]
async fn a_stream_the_client_abandons_is_drained_for_its_real_usage() {
    let app = TestApp::spawn().await;
    let upstream = MockUpstream::start().await;
    app.add_key("OPENAI", "sk-gate-1", json!({"baseUrl": upstream.url}))
        .await;
    let token = app.client_token(json!({})).await;

    let row = abandon_stream(
        &app,
        &upstream,
        &token,
        "/v1/chat/completions",
        json!({"model": "gpt-4o", "messages": [], "stream": true}),
    )
    .await;

    let (prompt, completion, cached) = crate::mock::OPENAI_USAGE;
    assert_eq!(row.status, "cancelled");
    assert_eq!(row.usage_source, "reported");
    assert_eq!(
        (row.input_tokens, row.output_tokens, row.cache_read_tokens),
        (prompt - cached, completion, cached)
    );
    assert!(row.cost > 0);
}

#[tokio::test]
async fn without_draining_an_abandoned_stream_is_charged_an_estimate() {
    let app = TestApp::spawn().await;
    let upstream = MockUpstream::start().await;
    app.graphql(
        "mutation { setConfig(key: \"proxy\", value: {drain_after_disconnect_ms: 0}) { key } }",
        json!({}),
    )
    .await;
    app.add_key("OPENAI", "sk-gate-1", json!({"baseUrl": upstream.url}))
        .await;
    let token = app.client_token(json!({})).await;
    let request = json!({"model": "gpt-4o", "stream": true,
        "messages": [{"role": "user", "content": "x".repeat(4000)}]});

    let row = abandon_stream(&app, &upstream, &token, "/v1/chat/completions", request).await;

    assert_eq!(
        (row.status.as_str(), row.usage_source.as_str()),
        ("cancelled", "estimated")
    );
    // About four bytes a token: the 4 KB prompt is some 1,000 tokens.
    assert!(
        (1000..1100).contains(&row.input_tokens),
        "{}",
        row.input_tokens
    );
    assert_eq!(row.output_tokens, 1, "\"Hello\" was relayed: 5 characters");
    assert!(row.cost > 0, "the estimate is charged");
}
