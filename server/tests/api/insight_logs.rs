//! The request log over GraphQL: a newest-first Relay connection with filters, and key look-ups
//! batched once per page.

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
