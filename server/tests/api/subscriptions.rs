//! Live request events over both WebSocket protocols.

use std::time::Duration;

use amp_pool::events::{RequestEvent, RequestPhase};
use chrono::Utc;
use serde_json::{Value, json};

use crate::helpers::{TestApp, WsClient};

const SUBSCRIPTION: &str = "subscription($f: RequestEventFilter) { requestEvents(filter: $f) { phase requestId keyId model provider status inputTokens cost } }";

fn event(key_id: i32, model: &str) -> RequestEvent {
    RequestEvent {
        phase: RequestPhase::Finished,
        request_id: format!("req-{key_id}"),
        attempt: 1,
        log_id: Some(1),
        key_id: Some(key_id),
        key_name: Some("k".into()),
        provider: "openai".into(),
        endpoint: "chat_completions".into(),
        model: model.into(),
        is_stream: false,
        status: Some("success".into()),
        http_status_code: Some(200),
        error_type: None,
        input_tokens: 12,
        output_tokens: 3,
        cache_read_tokens: 0,
        cache_creation_tokens: 0,
        cost: 2_500_000,
        latency_ms: Some(40),
        first_byte_ms: Some(30),
        at: Utc::now(),
    }
}

/// Waits (bounded) until `count` subscriptions listen on the bus, so nothing published after
/// this can be missed.
async fn until_subscribed(app: &TestApp, count: usize) {
    for _ in 0..1000 {
        if app.state.events.request_subscribers() >= count {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("the subscription never reached the event bus");
}

async fn authorized_socket(app: &TestApp, protocol: &str) -> WsClient {
    let mut socket = app
        .websocket(
            protocol,
            json!({"Authorization": format!("Bearer {}", app.token)}),
        )
        .await;
    assert_eq!(socket.next_json().await.unwrap()["type"], "connection_ack");
    socket
}

#[tokio::test]
async fn a_subscription_without_a_token_is_refused() {
    let app = TestApp::spawn().await;
    let mut socket = app.websocket("graphql-transport-ws", json!({})).await;
    assert_eq!(socket.next_json().await.unwrap()["type"], "connection_ack");

    socket
        .send(json!({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIPTION}}))
        .await;

    let answer = socket.next_json().await.unwrap();
    assert_eq!(answer["type"], "next");
    assert_eq!(
        answer["payload"]["errors"][0]["extensions"]["code"],
        "UNAUTHENTICATED"
    );
    assert_eq!(socket.next_json().await.unwrap()["type"], "complete");
    assert_eq!(app.state.events.request_subscribers(), 0);
}

#[tokio::test]
async fn a_subscription_with_a_bad_token_is_refused() {
    let app = TestApp::spawn().await;
    let mut socket = app
        .websocket(
            "graphql-transport-ws",
            json!({"Authorization": "Bearer forged.token.here"}),
        )
        .await;
    assert_eq!(socket.next_json().await.unwrap()["type"], "connection_ack");

    socket
        .send(json!({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIPTION}}))
        .await;

    let answer = socket.next_json().await.unwrap();
    assert_eq!(
        answer["payload"]["errors"][0]["extensions"]["code"],
        "UNAUTHENTICATED"
    );
}

#[tokio::test]
async fn a_subscriber_receives_matching_events_only() {
    let app = TestApp::spawn().await;
    let mut socket = authorized_socket(&app, "graphql-transport-ws").await;
    socket
        .send(json!({"id": "1", "type": "subscribe",
            "payload": {"query": SUBSCRIPTION, "variables": {"f": {"keyId": 7}}}}))
        .await;
    until_subscribed(&app, 1).await;

    app.state.events.publish_request(event(3, "gpt-4o"));
    app.state.events.publish_request(event(7, "gpt-4o-mini"));

    let answer = socket.next_json().await.unwrap();
    assert_eq!(answer["type"], "next");
    assert_eq!(
        answer["payload"]["data"]["requestEvents"],
        json!({"phase": "FINISHED", "requestId": "req-7", "keyId": 7, "model": "gpt-4o-mini",
               "provider": "openai", "status": "success", "inputTokens": 12, "cost": 0.0025})
    );
}

#[tokio::test]
async fn the_legacy_graphql_ws_protocol_works_too() {
    let app = TestApp::spawn().await;
    let mut socket = authorized_socket(&app, "graphql-ws").await;
    socket
        .send(json!({"id": "9", "type": "start", "payload": {"query": SUBSCRIPTION}}))
        .await;
    until_subscribed(&app, 1).await;

    app.state
        .events
        .publish_request(event(1, "claude-sonnet-4-5"));

    let answer: Value = socket.next_json().await.unwrap();
    assert_eq!(answer["type"], "data");
    assert_eq!(answer["id"], "9");
    assert_eq!(
        answer["payload"]["data"]["requestEvents"]["model"],
        "claude-sonnet-4-5"
    );
}

#[tokio::test]
async fn subscriptions_end_when_the_server_shuts_down() {
    let app = TestApp::spawn().await;
    let mut socket = authorized_socket(&app, "graphql-transport-ws").await;
    socket
        .send(json!({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIPTION}}))
        .await;
    until_subscribed(&app, 1).await;

    app.state.shutdown.cancel();

    let answer = socket.next_json().await.unwrap();
    assert_eq!(answer, json!({"type": "complete", "id": "1"}));
}
