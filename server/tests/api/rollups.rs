//! Rollups stay exact: a bucket corrupted in the database is rebuilt from the log rows, at
//! start and by the `verifyRollups` mutation.

use std::collections::BTreeMap;

use amp_pool::entity::{api_request_log, api_request_stats};
use sea_orm::{ConnectionTrait, EntityTrait};
use serde_json::{Value, json};

use crate::{
    helpers::{TestApp, data, error_code},
    mock::MockUpstream,
};

const VERIFY: &str = "mutation($d: Int) { verifyRollups(days: $d) { from days logRows bucketsChecked bucketsRebuilt } }";

/// Every bucket's counters by bucket key.
async fn rollups(app: &TestApp) -> BTreeMap<String, [i64; 12]> {
    api_request_stats::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap()
        .into_iter()
        .map(|row| {
            (
                row.bucket_key,
                [
                    row.request_count,
                    row.success_count,
                    row.error_count,
                    row.input_tokens,
                    row.output_tokens,
                    row.total_tokens,
                    row.cache_read_tokens,
                    row.cache_creation_tokens,
                    row.cost,
                    row.latency_ms_sum,
                    i64::from(row.latency_ms_min.unwrap_or(-1)),
                    i64::from(row.latency_ms_max.unwrap_or(-1)),
                ],
            )
        })
        .collect()
}

/// The whole-day "all" bucket of today.
fn all_day(rollups: &BTreeMap<String, [i64; 12]>) -> [i64; 12] {
    let today = chrono::Utc::now().date_naive();
    rollups[&format!(r#"["{today}",null,null,null,null]"#)]
}

/// A server with traffic: successes and an upstream error on two models, all logged.
async fn app_with_traffic(upstream: &MockUpstream) -> (TestApp, Vec<api_request_log::Model>) {
    let app = TestApp::spawn().await;
    app.add_key(
        "OPENAI",
        "sk-ok-rollup-0001",
        json!({"baseUrl": upstream.url}),
    )
    .await;
    let token = app.client_token(json!({})).await;
    for model in ["gpt-4o", "gpt-4o", "gpt-4o-mini"] {
        let body = json!({"model": model, "messages": [{"role": "user", "content": "hi"}]});
        assert_eq!(
            app.v1("/v1/chat/completions", &token, body).await.status(),
            200
        );
    }
    let rows = app.log_rows().await;
    assert_eq!(rows.len(), 3);
    (app, rows)
}

/// Adds 5 requests and a cost to today's "all" bucket, deletes one per-model hourly bucket,
/// and adds a bucket for a model nothing was sent to.
async fn corrupt(app: &TestApp) {
    let db = &app.state.db;
    let today = chrono::Utc::now().date_naive();
    db.execute_unprepared(&format!(
        r#"UPDATE api_request_stats SET request_count = request_count + 5, cost = 1 WHERE bucket_key = '["{today}",null,null,null,null]'"#
    ))
    .await
    .unwrap();
    let deleted = db
        .execute_unprepared(
            "DELETE FROM api_request_stats WHERE model = 'gpt-4o-mini' AND stat_hour IS NOT NULL",
        )
        .await
        .unwrap();
    assert_eq!(deleted.rows_affected(), 1);
    db.execute_unprepared(&format!(
        r#"INSERT INTO api_request_stats (bucket_key, stat_date, model, provider, request_count) VALUES ('["{today}",null,null,"ghost","openai"]', '{today}', 'ghost', 'openai', 9)"#
    ))
    .await
    .unwrap();
}

#[tokio::test]
async fn a_corrupted_rollup_is_rebuilt_at_start_to_the_sums_of_the_rows() {
    let upstream = MockUpstream::start().await;
    let (app, rows) = app_with_traffic(&upstream).await;
    let exact = rollups(&app).await;
    corrupt(&app).await;
    assert_ne!(rollups(&app).await, exact);
    let database = app.stop_keeping_database().await;

    let app = TestApp::restart_on(database, |_| {}).await;

    // The check runs beside the start, not before it.
    let mut rebuilt = rollups(&app).await;
    for _ in 0..100 {
        if rebuilt == exact {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        rebuilt = rollups(&app).await;
    }
    assert_eq!(rebuilt, exact);
    let day = all_day(&rebuilt);
    assert_eq!(day[0], rows.len() as i64);
    assert_eq!(day[5], rows.iter().map(|r| r.total_tokens).sum::<i64>());
    assert_eq!(day[8], rows.iter().map(|r| r.cost).sum::<i64>());
}

#[tokio::test]
async fn verify_rollups_rebuilds_what_differs_and_then_finds_nothing() {
    let upstream = MockUpstream::start().await;
    let (app, rows) = app_with_traffic(&upstream).await;
    let exact = rollups(&app).await;
    corrupt(&app).await;

    let first = app.graphql(VERIFY, json!({"d": 1})).await;
    let second = app.graphql(VERIFY, json!({"d": 1})).await;

    let first = &data(&first)["verifyRollups"];
    assert_eq!(first["days"], 1);
    assert_eq!(first["from"], chrono::Utc::now().date_naive().to_string());
    assert_eq!(first["logRows"], rows.len());
    // all-day changed, one hourly bucket missing, one bucket without rows.
    assert_eq!(first["bucketsRebuilt"], 3);
    assert_eq!(first["bucketsChecked"], exact.len() + 1);
    assert_eq!(rollups(&app).await, exact);
    assert_eq!(data(&second)["verifyRollups"]["bucketsRebuilt"], 0);
    assert_eq!(
        data(&second)["verifyRollups"]["bucketsChecked"],
        exact.len()
    );
}

#[tokio::test]
async fn verify_rollups_refuses_a_range_out_of_bounds() {
    let app = TestApp::spawn().await;

    let refused: Value = app.graphql(VERIFY, json!({"d": 0})).await;

    assert_eq!(error_code(&refused), "BAD_USER_INPUT");
}
