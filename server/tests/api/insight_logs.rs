//! The request log over GraphQL: a newest-first Relay connection with filters, a count that stops
//! at a limit, and key look-ups batched once per page.

use std::sync::Arc;

use amp_pool::{
    recorder::{AttemptRecord, AttemptStatus},
    usage::Usage,
};
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use crate::{
    helpers::{TestApp, data, error_code},
    mock::MockUpstream,
};

async fn traffic(app: &TestApp, upstream: &MockUpstream) -> String {
    // Keep the failing key in rotation, so every request fails over once.
    app.graphql(
        "mutation { setConfig(key: \"health\", value: {error_cooldown_secs: 0, failure_threshold: 100}) { key } }",
        json!({}),
    )
    .await;
    app.add_key(
        "OPENAI",
        "sk-e500-logs-a",
        json!({"baseUrl": upstream.url, "priority": 0, "name": "alpha"}),
    )
    .await;
    app.add_key(
        "OPENAI",
        "sk-ok-logs-b",
        json!({"baseUrl": upstream.url, "priority": 1, "name": "beta"}),
    )
    .await;
    let token = app.client_token(json!({})).await;
    // Each request fails on alpha, then succeeds on beta: 2 rows per request.
    for _ in 0..6 {
        let response = app
            .v1(
                "/v1/chat/completions",
                &token,
                json!({"model": "gpt-4o", "messages": []}),
            )
            .await;
        assert_eq!(response.status(), 200);
    }
    app.log_rows().await;
    token
}

fn ids(response: &Value) -> Vec<i64> {
    data(response)["requestLogs"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["id"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn logs_page_newest_first_with_cursors_and_a_total() {
    let app = TestApp::spawn().await;
    let upstream = MockUpstream::start().await;
    traffic(&app, &upstream).await;
    let all = app.log_rows().await;
    let newest_first: Vec<i64> = all.iter().rev().map(|r| r.id).collect();

    let first = app
        .graphql("{ requestLogs(first: 5) { totalCount pageInfo { hasNextPage hasPreviousPage endCursor } edges { cursor node { id } } } }", json!({}))
        .await;
    let end = data(&first)["requestLogs"]["pageInfo"]["endCursor"]
        .as_str()
        .unwrap()
        .to_string();
    let second = app
        .graphql("query($after: String) { requestLogs(first: 5, after: $after) { pageInfo { hasNextPage } edges { node { id } } } }", json!({"after": end}))
        .await;
    let last = app
        .graphql(
            "{ requestLogs(last: 3) { pageInfo { hasPreviousPage } edges { node { id } } } }",
            json!({}),
        )
        .await;

    assert_eq!(data(&first)["requestLogs"]["totalCount"], 12);
    assert_eq!(ids(&first), newest_first[..5]);
    assert_eq!(data(&first)["requestLogs"]["pageInfo"]["hasNextPage"], true);
    assert_eq!(ids(&second), newest_first[5..10]);
    assert_eq!(
        ids(&last),
        newest_first[9..12],
        "the oldest three, still newest first"
    );
    assert_eq!(
        data(&last)["requestLogs"]["pageInfo"]["hasPreviousPage"],
        true
    );
}

#[tokio::test]
async fn logs_filter_by_key_status_latency_and_request() {
    let app = TestApp::spawn().await;
    let upstream = MockUpstream::start().await;
    traffic(&app, &upstream).await;
    let rows = app.log_rows().await;
    let request_id = rows[0].request_id.clone();

    let failed = app
        .graphql("{ requestLogs(first: 50, filter: {keyId: 1, status: \"error\", provider: OPENAI}) { totalCount edges { node { keyId status httpStatusCode errorType errorMessage } } } }", json!({}))
        .await;
    let one_request = app
        .graphql("query($r: String) { requestLogs(filter: {requestId: $r}) { totalCount edges { node { attempt status } } } }", json!({"r": request_id}))
        .await;
    let slow = app
        .graphql(
            "{ requestLogs(filter: {minLatencyMs: 100000}) { totalCount } }",
            json!({}),
        )
        .await;
    let detail = app
        .graphql("query($id: Int!) { requestLog(id: $id) { id model inputTokens cacheReadTokens cost costNanos } }", json!({"id": rows[1].id}))
        .await;

    let failed = &data(&failed)["requestLogs"];
    assert_eq!(failed["totalCount"], 6);
    assert_eq!(
        failed["edges"][0]["node"],
        json!({"keyId": 1, "status": "error", "httpStatusCode": 500, "errorType": "server_error", "errorMessage": "mock upstream exploded"})
    );
    assert_eq!(
        data(&one_request)["requestLogs"],
        json!({"totalCount": 2, "edges": [{"node": {"attempt": 2, "status": "success"}}, {"node": {"attempt": 1, "status": "error"}}]})
    );
    assert_eq!(data(&slow)["requestLogs"]["totalCount"], 0);
    assert_eq!(
        data(&detail)["requestLog"],
        json!({"id": rows[1].id, "model": "gpt-4o", "inputTokens": 20, "cacheReadTokens": 100, "cost": 0.000475, "costNanos": 475000})
    );
}

#[tokio::test]
async fn a_page_of_logs_loads_its_keys_in_one_batch() {
    let app = TestApp::spawn().await;
    let upstream = MockUpstream::start().await;
    traffic(&app, &upstream).await;
    let before = app.state.metrics.key_loads();

    let response = app
        .graphql(
            "{ requestLogs(first: 12) { edges { node { id key { name apiKeyMasked } } } } }",
            json!({}),
        )
        .await;

    let names: Vec<&str> = data(&response)["requestLogs"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["key"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 12);
    assert_eq!(names.iter().filter(|n| **n == "alpha").count(), 6);
    assert_eq!(
        app.state.metrics.key_loads() - before,
        1,
        "one key query for the whole page"
    );
}

#[tokio::test]
async fn a_page_larger_than_allowed_is_refused() {
    let app = TestApp::spawn().await;

    let response = app
        .graphql("{ requestLogs(first: 501) { totalCount } }", json!({}))
        .await;

    assert_eq!(error_code(&response), "BAD_USER_INPUT");
    assert_eq!(response["errors"][0]["extensions"]["field"], "first");
}

/// An attempt that started at `started_at`, recorded through the writer.
fn attempt(n: usize, started_at: DateTime<Utc>) -> AttemptRecord {
    AttemptRecord {
        request_id: Arc::from(format!("req-order-{n}")),
        attempt: 1,
        key_id: None,
        key_name: None,
        access_token_id: None,
        provider: "openai",
        endpoint: "chat_completions",
        model: Arc::from("gpt-4o"),
        is_stream: false,
        usage: Usage::default(),
        cost: 0,
        cost_unknown: false,
        latency_ms: 10,
        first_byte_ms: None,
        status: AttemptStatus::Success,
        http_status_code: Some(200),
        error_type: None,
        error_message: None,
        usage_source: Default::default(),
        response_id: None,
        route: None,
        started_at,
    }
}

#[tokio::test]
async fn pages_follow_start_times_and_walk_equal_times_by_id() {
    let app = TestApp::spawn().await;
    // Recorded (so numbered) out of start order, three starting in the same instant, with a
    // fraction of a second that a cursor must carry exactly.
    let t = DateTime::parse_from_rfc3339("2026-11-20T10:00:00.123456Z")
        .unwrap()
        .with_timezone(&Utc);
    for (n, seconds) in [3, 1, 1, 1, 2].into_iter().enumerate() {
        app.state
            .recorder
            .record(attempt(n, t + Duration::seconds(seconds)));
    }
    let recorded: Vec<i64> = app.log_rows().await.iter().map(|r| r.id).collect();
    let expected = vec![
        recorded[0],
        recorded[4],
        recorded[3],
        recorded[2],
        recorded[1],
    ];

    let mut walked = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..5 {
        let page = app
            .graphql("query($after: String) { requestLogs(first: 2, after: $after) { pageInfo { hasNextPage endCursor } edges { node { id } } } }", json!({"after": after}))
            .await;
        walked.extend(ids(&page));
        let info = &data(&page)["requestLogs"]["pageInfo"];
        if info["hasNextPage"] != true {
            break;
        }
        after = info["endCursor"].as_str().map(str::to_string);
    }
    let last = app
        .graphql(
            "{ requestLogs(last: 2) { pageInfo { hasPreviousPage startCursor } edges { node { id } } } }",
            json!({}),
        )
        .await;
    let start = data(&last)["requestLogs"]["pageInfo"]["startCursor"]
        .as_str()
        .unwrap()
        .to_string();
    let newer = app
        .graphql(
            "query($before: String) { requestLogs(last: 5, before: $before) { edges { node { id } } } }",
            json!({"before": start}),
        )
        .await;
    let forged = app
        .graphql("{ requestLogs(after: \"12\") { totalCount } }", json!({}))
        .await;

    assert_eq!(walked, expected, "newest start first, equal starts by id");
    assert_eq!(ids(&last), expected[3..]);
    assert_eq!(ids(&newer), expected[..3]);
    assert!(
        forged["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("not a cursor of requestLogs"),
        "{forged}"
    );
    assert_eq!(error_code(&forged), "BAD_USER_INPUT");
}

#[tokio::test]
async fn the_bounded_count_stops_at_its_limit() {
    let app = TestApp::spawn().await;
    let upstream = MockUpstream::start().await;
    traffic(&app, &upstream).await;
    let count = |limit: i64| {
        let app = &app;
        async move {
            app.graphql(
                "query($l: Int!) { requestLogs(filter: {status: \"error\"}) { boundedCount(limit: $l) { count complete } } }",
                json!({"l": limit}),
            )
            .await
        }
    };

    let below = count(5).await;
    let exact = count(6).await;
    let zero = count(0).await;
    let default = app
        .graphql(
            "{ requestLogs { boundedCount { count complete } } }",
            json!({}),
        )
        .await;

    assert_eq!(
        data(&below)["requestLogs"]["boundedCount"],
        json!({"count": 5, "complete": false})
    );
    assert_eq!(
        data(&exact)["requestLogs"]["boundedCount"],
        json!({"count": 6, "complete": true})
    );
    assert_eq!(
        data(&default)["requestLogs"]["boundedCount"],
        json!({"count": 12, "complete": true})
    );
    assert_eq!(error_code(&zero), "BAD_USER_INPUT");
}
