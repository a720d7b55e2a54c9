//! Accounting under load and at the edges: rollups equal to the log, streams cut by either
//! side, hundreds of concurrent streams, and a shutdown in the middle of a burst.

use std::collections::HashSet;

use futures::{StreamExt, future::join_all};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use amp_pool::entity::{api_request_log, api_request_stats};

use crate::{
    helpers::{TestApp, burst},
    mock::{ANTHROPIC_USAGE, MockUpstream},
};

fn chat(model: &str, stream: bool) -> Value {
    json!({"model": model, "messages": [{"role": "user", "content": "hi"}], "stream": stream})
}

#[tokio::test]
async fn rollups_equal_the_sum_of_the_log_rows() {
    let app = TestApp::spawn().await;
    let upstream = MockUpstream::start().await;
    app.add_key(
        "OPENAI",
        "sk-e500-a",
        json!({"baseUrl": upstream.url, "priority": 0}),
    )
    .await;
    app.add_key(
        "AMP",
        "sk-ok-key-b",
        json!({"baseUrl": upstream.url, "priority": 1}),
    )
    .await;
    app.add_key("ANTHROPIC", "sk-ok-key-c", json!({"baseUrl": upstream.url}))
        .await;
    let token = app.client_token(json!({})).await;
    for (path, model, stream) in [
        ("/v1/chat/completions", "gpt-4o", false),
        ("/v1/chat/completions", "gpt-4o-mini", true),
        ("/v1/messages", "claude-sonnet-4-5", false),
        ("/v1/messages", "claude-sonnet-4-5", true),
        ("/v1/chat/completions", "gpt-4o", true),
    ] {
        let body = app
            .v1(path, &token, chat(model, stream))
            .await
            .text()
            .await
            .unwrap();
        assert!(!body.is_empty());
    }

    let rows = app.log_rows().await;
    let stats = api_request_stats::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap();

    assert!(rows.len() >= 6, "failovers add attempts: {}", rows.len());
    let all_day = stats
        .iter()
        .find(|s| s.stat_hour.is_none() && s.key_id.is_none() && s.model.is_none())
        .expect("the all-day row");
    let sum = |f: fn(&api_request_log::Model) -> i64| rows.iter().map(f).sum::<i64>();
    assert_eq!(all_day.request_count, rows.len() as i64);
    assert_eq!(
        all_day.success_count,
        rows.iter().filter(|r| r.status == "success").count() as i64
    );
    assert_eq!(
        all_day.error_count,
        rows.iter().filter(|r| r.status != "success").count() as i64
    );
    assert_eq!(all_day.input_tokens, sum(|r| r.input_tokens));
    assert_eq!(all_day.output_tokens, sum(|r| r.output_tokens));
    assert_eq!(all_day.cache_read_tokens, sum(|r| r.cache_read_tokens));
    assert_eq!(
        all_day.cache_creation_tokens,
        sum(|r| r.cache_creation_tokens)
    );
    assert_eq!(all_day.total_tokens, sum(|r| r.total_tokens));
    assert_eq!(all_day.cost, sum(|r| r.cost));
    assert_eq!(all_day.latency_ms_sum, sum(|r| i64::from(r.latency_ms)));
    assert_eq!(
        all_day.latency_ms_min,
        rows.iter().map(|r| r.latency_ms).min()
    );
    assert_eq!(
        all_day.latency_ms_max,
        rows.iter().map(|r| r.latency_ms).max()
    );
    // Per (key, model, provider) day rows add up to the same, and each matches its own rows.
    let detailed: Vec<_> = stats
        .iter()
        .filter(|s| s.stat_hour.is_none() && s.key_id.is_some())
        .collect();
    assert_eq!(
        detailed.iter().map(|s| s.request_count).sum::<i64>(),
        rows.len() as i64
    );
    for stat in detailed {
        let own: Vec<_> = rows
            .iter()
            .filter(|r| r.key_id == stat.key_id && Some(&r.model) == stat.model.as_ref())
            .collect();
        assert_eq!(stat.request_count, own.len() as i64);
        assert_eq!(stat.cost, own.iter().map(|r| r.cost).sum::<i64>());
    }
    let hourly_all: i64 = stats
        .iter()
        .filter(|s| s.stat_hour.is_some() && s.key_id.is_none())
        .map(|s| s.request_count)
        .sum();
    assert_eq!(hourly_all, rows.len() as i64);
}

#[tokio::test]
async fn a_stream_the_upstream_cuts_is_logged_with_the_tokens_so_far() {
    let app = TestApp::spawn().await;
    let upstream = MockUpstream::start().await;
    app.add_key("ANTHROPIC", "sk-cut-1", json!({"baseUrl": upstream.url}))
        .await;
    let token = app.client_token(json!({})).await;

    let body = app
        .v1(
            "/v1/messages",
            &token,
            json!({"model": "claude-sonnet-4-5", "max_tokens": 9, "messages": [], "stream": true}),
        )
        .await
        .text()
        .await
        .unwrap();

    assert!(
        body.contains("event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\""),
        "{body}"
    );
    let row = &app.log_rows().await[0];
    let (input, _, cache_creation, cache_read) = ANTHROPIC_USAGE;
    assert_eq!(row.status, "interrupted");
    assert_eq!((row.input_tokens, row.output_tokens), (input, 7));
    assert_eq!(
        (row.cache_creation_tokens, row.cache_read_tokens),
        (cache_creation, cache_read)
    );
    assert!(row.cost > 0);
}

#[tokio::test]
async fn a_stream_the_client_abandons_is_logged_as_cancelled() {
    let app = TestApp::spawn().await;
    let upstream = MockUpstream::start().await;
    app.add_key("ANTHROPIC", "sk-gate-1", json!({"baseUrl": upstream.url}))
        .await;
    let token = app.client_token(json!({})).await;

    let response = app
        .v1(
            "/v1/messages",
            &token,
            json!({"model": "claude-sonnet-4-5", "max_tokens": 9, "messages": [], "stream": true}),
        )
        .await;
    let mut body = response.bytes_stream();
    body.next().await.unwrap().unwrap();
    drop(body);

    // The proxy notices when its next write fails; bounded wait for the row.
    let mut rows = Vec::new();
    for _ in 0..100 {
        upstream.open_gate();
        rows = app.log_rows().await;
        if !rows.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].status, "cancelled");
    assert_eq!(
        rows[0].input_tokens, ANTHROPIC_USAGE.0,
        "message_start had arrived"
    );
}

#[tokio::test]
async fn five_hundred_concurrent_streams_are_all_logged() {
    let app = TestApp::spawn().await;
    let upstream = MockUpstream::start().await;
    for i in 0..4 {
        app.add_key(
            "OPENAI",
            &format!("sk-ok-key-{i}"),
            json!({"baseUrl": upstream.url}),
        )
        .await;
    }
    let token = app.client_token(json!({})).await;
    let client = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();

    let bodies = join_all((0..500).map(|_| {
        let client = client.clone();
        let url = app.url("/v1/chat/completions");
        let token = token.clone();
        async move {
            let response = client
                .post(url)
                .bearer_auth(token)
                .json(&chat("gpt-4o", true))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
            response.text().await.unwrap()
        }
    }))
    .await;

    assert!(bodies.iter().all(|b| b.ends_with("data: [DONE]\n\n")));
    let rows = app.log_rows().await;
    assert_eq!(rows.len(), 500);
    assert!(
        rows.iter()
            .all(|r| r.status == "success" && r.output_tokens == 30)
    );
    let ids: HashSet<_> = rows.iter().map(|r| r.request_id.clone()).collect();
    assert_eq!(ids.len(), 500);
}

#[tokio::test]
async fn a_shutdown_in_the_middle_of_a_burst_loses_no_row() {
    let mut app = TestApp::spawn().await;
    let upstream = MockUpstream::start().await;
    // Every answer takes 300 ms, so the burst is in flight when shutdown begins.
    app.add_key("OPENAI", "sk-slow-1", json!({"baseUrl": upstream.url}))
        .await;
    let token = app.client_token(json!({})).await;
    let burst = burst(&app.url(""), &token, 200);
    // Wait (bounded) until requests are reaching the upstream, then stop as SIGTERM would.
    for _ in 0..200 {
        if upstream.seen().len() >= 50 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }

    app.stop().await;

    let answered: HashSet<String> = join_all(burst)
        .await
        .into_iter()
        .filter_map(|r| r.unwrap())
        .collect();
    assert!(!answered.is_empty());
    let rows = api_request_log::Entity::find()
        .filter(api_request_log::Column::Status.eq("success"))
        .all(&app.state.db)
        .await
        .unwrap();
    let logged: HashSet<String> = rows.iter().map(|r| r.request_id.clone()).collect();
    assert_eq!(
        logged, answered,
        "every answered request has its row, and no other"
    );
}
