//! Live events for real proxied requests, and Prometheus metrics.

use std::time::Duration;

use serde_json::json;

use crate::{helpers::TestApp, mock::MockUpstream};

async fn subscribe(app: &TestApp, query: &str) -> crate::helpers::WsClient {
    let mut socket = app
        .websocket(
            "graphql-transport-ws",
            json!({"Authorization": format!("Bearer {}", app.token)}),
        )
        .await;
    assert_eq!(socket.next_json().await.unwrap()["type"], "connection_ack");
    socket
        .send(json!({"id": "1", "type": "subscribe", "payload": {"query": query}}))
        .await;
    socket
}

async fn until(mut condition: impl FnMut() -> bool) {
    for _ in 0..1000 {
        if condition() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("condition never met");
}

#[tokio::test]
async fn a_subscriber_sees_a_request_start_and_finish() {
    let app = TestApp::spawn().await;
    let upstream = MockUpstream::start().await;
    let key = app
        .add_key("OPENAI", "sk-ok-live-1", json!({"baseUrl": upstream.url}))
        .await;
    let token = app.client_token(json!({})).await;
    let mut socket = subscribe(
        &app,
        "subscription { requestEvents { phase requestId keyId keyName model isStream status inputTokens outputTokens cacheReadTokens cost logId } }",
    )
    .await;
    until(|| app.state.events.request_subscribers() == 1).await;

    let response = app
        .v1(
            "/v1/chat/completions",
            &token,
            json!({"model": "gpt-4o", "messages": [], "stream": true}),
        )
        .await;
    let request_id = response.headers()["x-amp-pool-request-id"]
        .to_str()
        .unwrap()
        .to_string();
    response.text().await.unwrap();

    let started = socket.next_json().await.unwrap()["payload"]["data"]["requestEvents"].clone();
    let finished = socket.next_json().await.unwrap()["payload"]["data"]["requestEvents"].clone();
    assert_eq!(
        started,
        json!({"phase": "STARTED", "requestId": request_id, "keyId": key, "keyName": "sk-ok-live-1", "model": "gpt-4o",
               "isStream": true, "status": null, "inputTokens": 0, "outputTokens": 0, "cacheReadTokens": 0, "cost": 0.0, "logId": null})
    );
    let row = &app.log_rows().await[0];
    assert_eq!(
        finished,
        json!({"phase": "FINISHED", "requestId": request_id, "keyId": key, "keyName": "sk-ok-live-1", "model": "gpt-4o",
               "isStream": true, "status": "success", "inputTokens": 20, "outputTokens": 30, "cacheReadTokens": 100,
               "cost": 0.000475, "logId": row.id})
    );
}

#[tokio::test]
async fn key_events_report_an_automatic_disable() {
    let app = TestApp::spawn().await;
    let upstream = MockUpstream::start().await;
    let key = app
        .add_key("OPENAI", "sk-e401-live", json!({"baseUrl": upstream.url}))
        .await;
    let token = app.client_token(json!({})).await;
    let mut socket = subscribe(
        &app,
        "subscription { keyEvents { kind keyId keyName reason automatic } }",
    )
    .await;
    // The alert task is always one subscriber; the WebSocket is the second.
    until(|| app.state.events.key_subscribers() == 2).await;

    app.v1(
        "/v1/chat/completions",
        &token,
        json!({"model": "gpt-4o", "messages": []}),
    )
    .await;
    app.graphql(
        "mutation($id: Int!) { setKeyEnabled(id: $id, enabled: true) { id } }",
        json!({"id": key}),
    )
    .await;

    let disabled = socket.next_json().await.unwrap()["payload"]["data"]["keyEvents"].clone();
    let enabled = socket.next_json().await.unwrap()["payload"]["data"]["keyEvents"].clone();
    assert_eq!(
        disabled,
        json!({"kind": "DISABLED", "keyId": key, "keyName": "sk-e401-live", "reason": "upstream rejected the key (HTTP 401)", "automatic": true})
    );
    assert_eq!(enabled["kind"], "ENABLED");
    assert_eq!(enabled["automatic"], false);
}

#[tokio::test]
async fn metrics_count_requests_tokens_and_key_states() {
    let app = TestApp::spawn().await;
    let upstream = MockUpstream::start().await;
    app.add_key(
        "OPENAI",
        "sk-ok-metrics-1",
        json!({"baseUrl": upstream.url}),
    )
    .await;
    app.add_key(
        "OPENAI",
        "sk-ok-metrics-2",
        json!({"baseUrl": upstream.url, "enabled": false}),
    )
    .await;
    let token = app.client_token(json!({})).await;
    for _ in 0..2 {
        app.v1(
            "/v1/chat/completions",
            &token,
            json!({"model": "gpt-4o", "messages": []}),
        )
        .await;
    }
    app.v1(
        "/v1/chat/completions",
        &token,
        json!({"model": "unpriced-x", "messages": []}),
    )
    .await;
    app.log_rows().await;

    let text = app
        .http
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();

    for line in [
        "amp_pool_requests_total{instance_name=\"pool\",provider=\"openai\",model=\"gpt-4o\",status=\"success\"} 2",
        "amp_pool_requests_total{instance_name=\"pool\",provider=\"openai\",model=\"other\",status=\"success\"} 1",
        "amp_pool_tokens_total{instance_name=\"pool\",provider=\"openai\",model=\"gpt-4o\",kind=\"cache_read\"} 200",
        "amp_pool_cost_usd_total{instance_name=\"pool\",provider=\"openai\",model=\"gpt-4o\"} 0.00095",
        "amp_pool_keys{instance_name=\"pool\",state=\"available\"} 1",
        "amp_pool_keys{instance_name=\"pool\",state=\"disabled\"} 1",
        "amp_pool_active_streams{instance_name=\"pool\"} 0",
        "amp_pool_proxy_overhead_seconds_count{instance_name=\"pool\"} 3",
        "amp_pool_log_writer_queue_depth{instance_name=\"pool\"} 0",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in:\n{text}"
        );
    }
    assert!(
        text.contains("amp_pool_upstream_latency_seconds_bucket{instance_name=\"pool\",le="),
        "{text}"
    );
    assert!(
        text.contains("amp_pool_log_writer_flush_seconds_count"),
        "{text}"
    );
}

#[tokio::test]
async fn metrics_can_require_a_bearer_token() {
    let app = TestApp::spawn().await;
    app.graphql(
        "mutation { setConfig(key: \"metrics\", value: {token: \"scrape-secret\"}) { key } }",
        json!({}),
    )
    .await;

    let anonymous = app.http.get(app.url("/metrics")).send().await.unwrap();
    let scraper = app
        .http
        .get(app.url("/metrics"))
        .bearer_auth("scrape-secret")
        .send()
        .await
        .unwrap();

    assert_eq!(anonymous.status(), 401);
    assert_eq!(scraper.status(), 200);
}
