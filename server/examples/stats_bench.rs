//! Shows that statistics queries do not depend on the size of the request log: they read only
//! the rollups. Seeds a realistic month through the real writer, times the queries, grows the
//! raw log by a million rows, and times them again.
//!
//! `cargo run --release -p amp-pool --example stats_bench [-- EXTRA_ROWS]`
//! Uses a temporary SQLite file, or `DATABASE_URL` when it is a `postgres://` URL.

use std::{sync::Arc, time::Instant};

use amp_pool::{
    app,
    config::Settings,
    entity::api_request_stats::Column,
    recorder::{AttemptRecord, AttemptStatus},
    service::stats::{self, Dimensions, Granularity, TimeRange},
    usage::Usage,
};
use chrono::{Duration, Utc};
use sea_orm::{ConnectionTrait, DbBackend, EntityTrait, PaginatorTrait};
use tokio_util::sync::CancellationToken;

const KEYS: i32 = 10;
const MODELS: [(&str, &str); 3] = [
    ("gpt-4o", "openai"),
    ("gpt-4o-mini", "openai"),
    ("claude-sonnet-4-5", "anthropic"),
];

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let extra: i64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let folder = tempfile::tempdir()?;
    let database_url = match std::env::var("DATABASE_URL") {
        Ok(url) if url.starts_with("postgres") => url,
        _ => format!(
            "sqlite://{}?mode=rwc",
            folder.path().join("bench.db").display()
        ),
    };
    let settings = Settings {
        database_url,
        port: 0,
        admin_password: Some("bench-password".to_string().into()),
        ..Settings::default()
    };
    let state = app::build_state(settings, CancellationToken::new())
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let db = &state.db;

    // A month of traffic through the writer: every hour, each key × model once.
    let now = Utc::now();
    let start = now - Duration::days(30);
    let mut seeded = 0;
    for hour in 0..(30 * 24) {
        for key in 1..=KEYS {
            for (model, provider) in MODELS {
                state.recorder.record(AttemptRecord {
                    request_id: Arc::from(format!("seed-{hour}-{key}-{model}")),
                    attempt: 1,
                    key_id: Some(key),
                    key_name: None,
                    access_token_id: None,
                    provider,
                    endpoint: "chat_completions",
                    model: Arc::from(model),
                    is_stream: false,
                    usage: Usage {
                        input: 100,
                        output: 20,
                        cache_read: 10,
                        cache_creation: 0,
                        ..Usage::default()
                    },
                    cost: 12_345,
                    cost_unknown: false,
                    latency_ms: 200 + hour % 50,
                    first_byte_ms: Some(50),
                    status: AttemptStatus::Success,
                    http_status_code: Some(200),
                    error_type: None,
                    error_message: None,
                    usage_source: Default::default(),
                    response_id: None,
                    route: None,
                    started_at: start + Duration::hours(i64::from(hour)) + Duration::minutes(7),
                });
                seeded += 1;
            }
        }
    }
    state.recorder.flush().await;
    let stats_rows = amp_pool::entity::api_request_stats::Entity::find()
        .count(db)
        .await?;
    println!("seeded {seeded} attempts through the writer; {stats_rows} rollup rows");

    let small = time_queries(&state, now).await?;
    grow_log(db, extra, start).await?;
    let log_rows = amp_pool::entity::api_request_log::Entity::find()
        .count(db)
        .await?;
    let big = time_queries(&state, now).await?;

    println!(
        "\n| query (30 days) | {} log rows | {} log rows |",
        seeded, log_rows
    );
    println!("| --- | --- | --- |");
    for ((name, a), (_, b)) in small.iter().zip(big.iter()) {
        println!("| {name} | {a:.2} ms | {b:.2} ms |");
    }
    Ok(())
}

/// Median of 15 runs of each query, in ms.
async fn time_queries(
    state: &amp_pool::state::AppState,
    now: chrono::DateTime<Utc>,
) -> anyhow::Result<Vec<(&'static str, f64)>> {
    let range = TimeRange {
        from: now - Duration::days(30),
        to: now,
    };
    let db = &state.db;
    let mut results = Vec::new();
    for name in [
        "statsOverview",
        "statsByKey",
        "statsByModel",
        "statsTimeline (day)",
    ] {
        let mut times = Vec::new();
        for _ in 0..15 {
            let started = Instant::now();
            let found = match name {
                "statsOverview" => usize::from(
                    stats::overview(db, range, &Dimensions::default())
                        .await?
                        .requests
                        > 0,
                ),
                "statsByKey" => stats::by_key(db, range).await?.len(),
                "statsByModel" => stats::by_text(db, range, Column::Model).await?.len(),
                _ => {
                    let zone = chrono_tz::UTC;
                    stats::timeline(db, range, Granularity::Day, &Dimensions::default(), &zone)
                        .await?
                        .len()
                }
            };
            std::hint::black_box(found);
            times.push(started.elapsed().as_secs_f64() * 1000.0);
        }
        times.sort_by(f64::total_cmp);
        results.push((name, times[times.len() / 2]));
    }
    Ok(results)
}

/// Adds `count` raw log rows in bulk (as months of traffic would), without touching rollups.
async fn grow_log(
    db: &sea_orm::DatabaseConnection,
    count: i64,
    start: chrono::DateTime<Utc>,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let columns = "request_id, attempt, key_id, provider, endpoint, model, is_stream, input_tokens, output_tokens, \
                   total_tokens, cache_read_tokens, cache_creation_tokens, cost, cost_unknown, latency_ms, status, \
                   http_status_code, create_time, update_time";
    let sql = match db.get_database_backend() {
        DbBackend::Postgres => format!(
            "INSERT INTO api_request_log ({columns}) SELECT 'bulk-' || n, 1, 1 + n % 10, 'openai', 'chat_completions', \
             'gpt-4o', false, 100, 20, 130, 10, 0, 12345, false, 200, 'success', 200, \
             TIMESTAMPTZ '{start}' + (n % 43200) * INTERVAL '1 minute', now() FROM generate_series(1, {count}) AS n",
            start = start.to_rfc3339()
        ),
        _ => format!(
            "WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < {count}) \
             INSERT INTO api_request_log ({columns}) SELECT 'bulk-' || n, 1, 1 + n % 10, 'openai', 'chat_completions', \
             'gpt-4o', 0, 100, 20, 130, 10, 0, 12345, 0, 200, 'success', 200, \
             strftime('%Y-%m-%dT%H:%M:%f+00:00', '{start}', '+' || (n % 43200) || ' minutes'), '{start}' FROM seq",
            start = start.format("%Y-%m-%d %H:%M:%S")
        ),
    };
    db.execute_unprepared(&sql).await?;
    println!(
        "added {count} raw log rows in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
