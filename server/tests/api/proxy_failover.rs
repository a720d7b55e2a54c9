//! Failover before the first byte, key health (cooldowns, automatic disables) and the answer
//! when no key is left.

use std::time::Duration;

use serde_json::{Value, json};

use crate::{
    helpers::{TestApp, data},
    mock::MockUpstream,
};

fn chat() -> Value {
    json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]})
}

async fn key_state(app: &TestApp, id: i64) -> Value {
    let response = app
        .graphql(
            "query($id: Int!) { key(id: $id) { enabled disabledBy disabledReason } }",
            json!({"id": id}),
        )
        .await;
    data(&response)["key"].clone()
}

#[tokio::test]
async fn a_failing_key_is_skipped_and_both_attempts_are_logged() {
    let app = TestApp::spawn().await;
    let upstream = MockUpstream::start().await;
    let bad = app
        .add_key(
            "OPENAI",
            "sk-e500-first",
            json!({"baseUrl": upstream.url, "priority": 0}),
        )
        .await;
    let good = app
        .add_key(
            "OPENAI",
            "sk-ok-second",
            json!({"baseUrl": upstream.url, "priority": 1}),
        )
        .await;
    let token = app.client_token(json!({})).await;

    let response = app.v1("/v1/chat/completions", &token, chat()).await;

    assert_eq!(response.status(), 200);
    let rows = app.log_rows().await;
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].request_id, rows[1].request_id);
    assert_eq!(
        (rows[0].attempt, rows[0].key_id, rows[0].status.as_str()),
        (1, Some(bad as i32), "error")
    );
    assert_eq!(rows[0].http_status_code, Some(500));
    assert_eq!(rows[0].error_type.as_deref(), Some("server_error"));
    assert_eq!(
        rows[0].error_message.as_deref(),
        Some("mock upstream exploded")
    );
    assert_eq!(
        (rows[1].attempt, rows[1].key_id, rows[1].status.as_str()),
        (2, Some(good as i32), "success")
    );
}

#[tokio::test]
async fn a_rejected_key_is_disabled_at_once_with_a_reason() {
    let app = TestApp::spawn().await;
    let upstream = MockUpstream::start().await;
    let rejected = app
        .add_key(
            "OPENAI",
            "sk-e401-first",
            json!({"baseUrl": upstream.url, "priority": 0}),
        )
        .await;
    app.add_key(
        "OPENAI",
        "sk-ok-second",
        json!({"baseUrl": upstream.url, "priority": 1}),
    )
    .await;
    let token = app.client_token(json!({})).await;

    assert_eq!(
        app.v1("/v1/chat/completions", &token, chat())
            .await
            .status(),
        200
    );
    assert_eq!(
        app.v1("/v1/chat/completions", &token, chat())
            .await
            .status(),
        200
    );

    let rows = app.log_rows().await;
    assert_eq!(rows.len(), 3, "the rejected key is not tried a second time");
    assert_eq!(rows[0].error_type.as_deref(), Some("auth_failed"));
    assert_eq!(
        key_state(&app, rejected).await,
        json!({"enabled": false, "disabledBy": "AUTO", "disabledReason": "upstream rejected the key (HTTP 401)"})
    );
}

#[tokio::test]
async fn keys_out_of_credit_are_disabled_with_the_upstreams_words() {
    let app = TestApp::spawn().await;
    let upstream = MockUpstream::start().await;
    let quota = app
        .add_key("OPENAI", "sk-quota-1", json!({"baseUrl": upstream.url}))
        .await;
    let credit = app
        .add_key("ANTHROPIC", "sk-credit-1", json!({"baseUrl": upstream.url}))
        .await;
    let token = app.client_token(json!({})).await;

    app.v1("/v1/chat/completions", &token, chat()).await;
    app.v1(
        "/v1/messages",
        &token,
        json!({"model": "claude-sonnet-4-5", "max_tokens": 5, "messages": []}),
    )
    .await;
    app.log_rows().await;

    assert_eq!(
        key_state(&app, quota).await["disabledReason"],
        "out of credit: You exceeded your current quota"
    );
    assert_eq!(
        key_state(&app, credit).await["disabledReason"],
        "out of credit: Your credit balance is too low to access the Anthropic API."
    );
}

#[tokio::test]
async fn an_admins_disable_is_never_undone_or_overwritten_by_the_pool() {
    let app = TestApp::spawn().await;
    let upstream = MockUpstream::start().await;
    let id = app
        .add_key(
            "OPENAI",
            "sk-ok-key-1",
            json!({"baseUrl": upstream.url, "enabled": false}),
        )
        .await;
    let token = app.client_token(json!({})).await;

    let response = app.v1("/v1/chat/completions", &token, chat()).await;

    assert_eq!(response.status(), 503);
    assert_eq!(
        key_state(&app, id).await,
        json!({"enabled": false, "disabledBy": "ADMIN", "disabledReason": "disabled by admin"})
    );
}

#[tokio::test]
async fn a_rate_limited_key_cools_down_and_comes_back_by_itself() {
    let app = TestApp::spawn().await;
    let upstream = MockUpstream::start().await;
    // Retry-after 0.3 s on the preferred key; the backup answers meanwhile.
    let limited = app
        .add_key(
            "OPENAI",
            "sk-r429-first",
            json!({"baseUrl": upstream.url, "priority": 0}),
        )
        .await;
    let backup = app
        .add_key(
            "OPENAI",
            "sk-ok-backup",
            json!({"baseUrl": upstream.url, "priority": 1}),
        )
        .await;
    let token = app.client_token(json!({})).await;

    assert_eq!(
        app.v1("/v1/chat/completions", &token, chat())
            .await
            .status(),
        200
    );
    assert_eq!(
        app.v1("/v1/chat/completions", &token, chat())
            .await
            .status(),
        200
    );
    let rows = app.log_rows().await;
    let keys: Vec<_> = rows.iter().map(|r| r.key_id.unwrap() as i64).collect();
    assert_eq!(
        keys,
        [limited, backup, backup],
        "skipped while cooling down"
    );
    assert_eq!(rows[0].error_type.as_deref(), Some("rate_limited"));

    // The cooldown ends by itself: within a bounded wait, the preferred key is tried again.
    let mut came_back = false;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        app.v1("/v1/chat/completions", &token, chat()).await;
        let rows = app.log_rows().await;
        if rows[3..].iter().any(|r| r.key_id == Some(limited as i32)) {
            came_back = true;
            break;
        }
    }
    assert!(came_back, "the rate-limited key was never tried again");
    assert_eq!(
        key_state(&app, limited).await["enabled"],
        true,
        "a cooldown is not a disable"
    );
}

#[tokio::test]
async fn repeated_server_errors_only_cool_a_key_down_and_never_disable_it() {
    let app = TestApp::spawn().await;
    let upstream = MockUpstream::start().await;
    // An old setting that used to disable after two failures is still accepted, and ignored.
    app.graphql(
        "mutation { setConfig(key: \"health\", value: {failure_threshold: 2, error_cooldown_secs: 0}) { key } }",
        json!({}),
    )
    .await;
    let failing = app
        .add_key("OPENAI", "sk-e500-1", json!({"baseUrl": upstream.url}))
        .await;
    let token = app.client_token(json!({})).await;

    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(
            app.v1("/v1/chat/completions", &token, chat())
                .await
                .status()
                .as_u16(),
        );
    }

    assert_eq!(
        statuses, [500; 6],
        "the upstream's own error is passed on every time"
    );
    app.log_rows().await;
    assert_eq!(
        key_state(&app, failing).await,
        json!({"enabled": true, "disabledBy": null, "disabledReason": null})
    );
}

#[tokio::test]
async fn a_client_error_is_passed_on_without_failover() {
    let app = TestApp::spawn().await;
    let upstream = MockUpstream::start().await;
    app.add_key(
        "OPENAI",
        "sk-bad400-first",
        json!({"baseUrl": upstream.url, "priority": 0}),
    )
    .await;
    app.add_key(
        "OPENAI",
        "sk-ok-second",
        json!({"baseUrl": upstream.url, "priority": 1}),
    )
    .await;
    let token = app.client_token(json!({})).await;

    let response = app.v1("/v1/chat/completions", &token, chat()).await;

    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["message"], "messages: field required");
    assert_eq!(app.log_rows().await.len(), 1);
}

#[tokio::test]
async fn an_unreachable_or_silent_upstream_fails_over() {
    let app = TestApp::spawn().await;
    let upstream = MockUpstream::start().await;
    app.graphql(
        "mutation { setConfig(key: \"proxy\", value: {first_byte_timeout_ms: 300}) { key } }",
        json!({}),
    )
    .await;
    app.add_key(
        "OPENAI",
        "sk-ok-refused",
        json!({"baseUrl": "http://127.0.0.1:9", "priority": 0}),
    )
    .await;
    app.add_key(
        "OPENAI",
        "sk-hang-silent",
        json!({"baseUrl": upstream.url, "priority": 1}),
    )
    .await;
    app.add_key(
        "OPENAI",
        "sk-ok-last",
        json!({"baseUrl": upstream.url, "priority": 2}),
    )
    .await;
    let token = app.client_token(json!({})).await;

    let response = app.v1("/v1/chat/completions", &token, chat()).await;

    assert_eq!(response.status(), 200);
    let statuses: Vec<_> = app
        .log_rows()
        .await
        .iter()
        .map(|r| (r.status.clone(), r.error_type.clone()))
        .collect();
    assert_eq!(
        statuses,
        [
            (
                "network_error".to_string(),
                Some("connect_failed".to_string())
            ),
            ("timeout".to_string(), Some("timeout".to_string())),
            ("success".to_string(), None),
        ]
    );
}

#[tokio::test]
async fn with_every_key_cooling_down_the_answer_says_until_when() {
    let app = TestApp::spawn().await;
    let upstream = MockUpstream::start().await;
    app.add_key(
        "ANTHROPIC",
        "sk-r429long-1",
        json!({"baseUrl": upstream.url}),
    )
    .await;
    let token = app.client_token(json!({})).await;
    let request = json!({"model": "claude-sonnet-4-5", "max_tokens": 5, "messages": []});

    let first = app.v1("/v1/messages", &token, request.clone()).await;
    let second = app.v1("/v1/messages", &token, request).await;

    assert_eq!(
        first.status(),
        429,
        "the upstream's 429 is passed on when no other key exists"
    );
    assert_eq!(second.status(), 503);
    let body: Value = second.json().await.unwrap();
    assert_eq!(body["type"], "error");
    assert_eq!(body["error"]["type"], "overloaded_error");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("every upstream key for the Anthropic format is cooling down until 20"),
        "{message}"
    );
    let listed = app
        .graphql("{ keys { available cooldownUntil } }", json!({}))
        .await;
    let key = &data(&listed)["keys"][0];
    assert_eq!(key["available"], false);
    let until: chrono::DateTime<chrono::Utc> =
        key["cooldownUntil"].as_str().unwrap().parse().unwrap();
    let seconds = (until - chrono::Utc::now()).num_seconds();
    assert!(
        (100..=120).contains(&seconds),
        "retry-after 120 s honoured: {seconds}"
    );
}

#[tokio::test]
async fn with_no_key_for_the_format_the_answer_says_so() {
    let app = TestApp::spawn().await;
    let upstream = MockUpstream::start().await;
    app.add_key("ANTHROPIC", "sk-ok-key-1", json!({"baseUrl": upstream.url}))
        .await;
    let token = app.client_token(json!({})).await;

    let response = app.v1("/v1/chat/completions", &token, chat()).await;

    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({"error": {"message": "no upstream key is configured for the OpenAI format",
                         "type": "api_error", "param": null, "code": "no_available_key"}})
    );
}

#[tokio::test]
async fn re_enabling_an_auto_disabled_key_puts_it_back_in_rotation() {
    let app = TestApp::spawn().await;
    let upstream = MockUpstream::start().await;
    let id = app
        .add_key("OPENAI", "sk-e401-1", json!({"baseUrl": upstream.url}))
        .await;
    let token = app.client_token(json!({})).await;
    app.v1("/v1/chat/completions", &token, chat()).await;
    app.log_rows().await;
    assert_eq!(
        app.v1("/v1/chat/completions", &token, chat())
            .await
            .status(),
        503
    );

    app.graphql(
        "mutation($id: Int!) { setKeyEnabled(id: $id, enabled: true) { enabled } }",
        json!({"id": id}),
    )
    .await;
    let response = app.v1("/v1/chat/completions", &token, chat()).await;

    assert_eq!(response.status(), 502, "tried again, and refused again");
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["error"]["message"],
        "the upstream refused the pool's key (HTTP 401, auth_failed)"
    );
}
