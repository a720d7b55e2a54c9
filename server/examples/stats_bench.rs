//! Shows that statistics queries do not depend on the size of the request log: they read only
//! the rollups. Seeds a realistic month through the real writer, times the queries, grows the
//! raw log by a million rows (or `EXTRA_ROWS`), and times them again, beside the queries of the
//! console's log page (pages newest first, filtered, by cursor, and their total count).
//!
//! `EXTRA_ROWS=10000000 cargo run --release -p amp-pool --example stats_bench`
//! Uses a temporary SQLite file, or `DATABASE_URL` (`postgres://…`, or `sqlite://…` to keep the
//! file for a look with `EXPLAIN QUERY PLAN`).

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
        .or_else(|| std::env::var("EXTRA_ROWS").ok())
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let folder = tempfile::tempdir()?;
    let database_url = match std::env::var("DATABASE_URL") {
        Ok(url) if url.starts_with("postgres") || url.starts_with("sqlite") => url,
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

    let mut small = time_queries(&state, now).await?;
    small.extend(time_log_page(db, now).await?);
    grow_log(db, extra, start).await?;
    let log_rows = amp_pool::entity::api_request_log::Entity::find()
        .count(db)
        .await?;
    let mut big = time_queries(&state, now).await?;
    big.extend(time_log_page(db, now).await?);

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

/// Median of `runs` timings of `query`, in ms.
async fn median<F, Fut>(runs: usize, mut query: F) -> anyhow::Result<f64>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<usize>>,
{
    let mut times = Vec::new();
    for _ in 0..runs {
        let started = Instant::now();
        std::hint::black_box(query().await?);
        times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}

/// The statements `requestLogs` runs for the console's log page, in ms: a page of 50 newest
/// first (51 rows read), the next page by cursor, the console's `boundedCount` (up to 10,000)
/// and the exact `totalCount`. Median of 7 runs each, 3 for the exact counts.
async fn time_log_page(
    db: &sea_orm::DatabaseConnection,
    now: chrono::DateTime<Utc>,
) -> anyhow::Result<Vec<(String, f64)>> {
    use amp_pool::{
        entity::api_request_log::{Column as Log, Entity as Logs},
        service::request_logs::{self, End, LogCursor},
    };
    use sea_orm::{ColumnTrait, Condition, QueryFilter};

    let day = (now - Duration::days(12), now - Duration::days(11));
    let one_day = || {
        Condition::all()
            .add(Log::CreateTime.gte(day.0))
            .add(Log::CreateTime.lt(day.1))
    };
    let filters = [
        ("all rows", Condition::all()),
        ("key 3 (10 %)", Condition::all().add(Log::KeyId.eq(3))),
        ("key 30 (0.025 %)", Condition::all().add(Log::KeyId.eq(30))),
        (
            "model gpt-4o (14 %)",
            Condition::all().add(Log::Model.eq("gpt-4o")),
        ),
        (
            "model gpt-4o-2024-05-13 (0.1 %)",
            Condition::all().add(Log::Model.eq("gpt-4o-2024-05-13")),
        ),
        (
            "status error (2.5 %)",
            Condition::all().add(Log::Status.eq("error")),
        ),
        ("one day, 12 days ago", one_day()),
        ("key 3, one day", one_day().add(Log::KeyId.eq(3))),
    ];
    let page = |condition: Condition, after: Option<LogCursor>| async move {
        request_logs::read(db, condition, after, None, End::Newest, 51).await
    };
    let mut results = Vec::new();
    for (label, condition) in &filters {
        let took = median(7, || async {
            anyhow::Ok(page(condition.clone(), None).await?.len())
        })
        .await?;
        results.push((format!("logs page: {label}"), took));
    }
    // The next page, from the cursor the first page ended on.
    for (label, condition) in &filters[..2] {
        let cursor = page(condition.clone(), None)
            .await?
            .get(49)
            .map(LogCursor::from);
        let took = median(7, || async {
            anyhow::Ok(page(condition.clone(), cursor).await?.len())
        })
        .await?;
        results.push((format!("logs next page: {label}"), took));
    }
    for (label, condition) in &filters {
        let took = median(7, || async {
            let (count, _) = request_logs::count_up_to(db, condition.clone(), 10_000).await?;
            anyhow::Ok(usize::try_from(count)?)
        })
        .await?;
        results.push((format!("logs boundedCount: {label}"), took));
    }
    for (label, condition) in &filters {
        let took = median(3, || async {
            anyhow::Ok(usize::try_from(
                Logs::find().filter(condition.clone()).count(db).await?,
            )?)
        })
        .await?;
        results.push((format!("logs totalCount: {label}"), took));
    }
    Ok(results)
}

/// Median of 15 runs of each query, in ms.
async fn time_queries(
    state: &amp_pool::state::AppState,
    now: chrono::DateTime<Utc>,
) -> anyhow::Result<Vec<(String, f64)>> {
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
        results.push((name.to_string(), times[times.len() / 2]));
    }
    Ok(results)
}

/// The log rows the bulk insert adds, as SQL over `n` (1..=count, in time order like real ids):
/// spread evenly over the month; 10 busy keys and 40 rare ones; 6 models and a rare one; about
/// 96 % successes and the usual failures; varied tokens, costs and latencies. `time` is the
/// engine's expression for `start` plus `n`'s share of the month.
fn bulk_values(time: &str, stream: (&str, &str)) -> String {
    // A multiplicative hash, so status, model and key do not move in step with each other.
    let h = "((n * 2654435761) % 1000)";
    format!(
        "printf('bulk-%010d', n), 1, \
         CASE WHEN n % 100 = 7 THEN 11 + (n / 100) % 40 ELSE 1 + n % 10 END, \
         CASE WHEN n % 4 = 0 THEN NULL ELSE 1 + n % 5 END, \
         CASE WHEN (n / 7) % 7 < 3 OR (n / 7) % 7 = 6 THEN 'openai' ELSE 'anthropic' END, \
         CASE WHEN (n / 7) % 7 < 3 OR (n / 7) % 7 = 6 THEN 'chat_completions' ELSE 'messages' END, \
         CASE WHEN n % 1000 = 3 THEN 'gpt-4o-2024-05-13' ELSE \
           CASE (n / 7) % 7 WHEN 0 THEN 'gpt-4o' WHEN 1 THEN 'gpt-4o-mini' WHEN 2 THEN 'gpt-4.1' \
           WHEN 3 THEN 'claude-sonnet-4-5' WHEN 4 THEN 'claude-haiku-4-5' WHEN 5 THEN 'claude-opus-4-1' \
           ELSE 'o3' END END, \
         CASE WHEN n % 3 = 0 THEN {yes} ELSE {no} END, \
         50 + (n * 37) % 4000, 5 + (n * 13) % 800, 55 + (n * 37) % 4000 + 5 + (n * 13) % 800 + (n * 11) % 500, \
         (n * 11) % 500, 0, 1000 + (n * 7919) % 90000, {no}, 80 + (n * 17) % 3000, 40 + (n * 17) % 700, \
         CASE WHEN {h} < 960 THEN 'success' WHEN {h} < 985 THEN 'error' WHEN {h} < 993 THEN 'timeout' \
           WHEN {h} < 997 THEN 'network_error' ELSE 'interrupted' END, \
         CASE WHEN {h} < 960 THEN 200 WHEN {h} < 975 THEN 429 WHEN {h} < 985 THEN 500 ELSE NULL END, \
         CASE WHEN {h} < 960 THEN NULL WHEN {h} < 975 THEN 'rate_limited' WHEN {h} < 985 THEN 'upstream_error' \
           WHEN {h} < 993 THEN 'timeout' ELSE 'network' END, \
         CASE WHEN {h} < 960 THEN NULL ELSE 'upstream answered ' || {h} END, \
         {time}, {time}",
        yes = stream.0,
        no = stream.1,
    )
}

/// Adds `count` raw log rows in bulk (as months of traffic would), without touching rollups,
/// in statements of a million rows so the progress shows.
async fn grow_log(
    db: &sea_orm::DatabaseConnection,
    count: i64,
    start: chrono::DateTime<Utc>,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let columns = "request_id, attempt, key_id, access_token_id, provider, endpoint, model, is_stream, \
                   input_tokens, output_tokens, total_tokens, cache_read_tokens, cache_creation_tokens, cost, \
                   cost_unknown, latency_ms, first_byte_ms, status, http_status_code, error_type, error_message, \
                   create_time, update_time";
    const CHUNK: i64 = 1_000_000;
    let month_seconds = 30 * 24 * 3600;
    let mut low = 1;
    while low <= count {
        let high = (low + CHUNK - 1).min(count);
        let sql = match db.get_database_backend() {
            DbBackend::Postgres => format!(
                "INSERT INTO api_request_log ({columns}) SELECT {values} \
                 FROM generate_series({low}::bigint, {high}::bigint) AS n",
                values = bulk_values(
                    &format!(
                        "TIMESTAMPTZ '{}' + (n * {month_seconds}.0 / {count}) * INTERVAL '1 second'",
                        start.to_rfc3339()
                    ),
                    ("true", "false")
                )
                .replace("printf('bulk-%010d', n)", "'bulk-' || lpad(n::text, 10, '0')"),
            ),
            // The text form of a time the SQLite driver writes (RFC 3339), so ranges compare right.
            _ => format!(
                "WITH RECURSIVE seq(n) AS (SELECT {low} UNION ALL SELECT n + 1 FROM seq WHERE n < {high}) \
                 INSERT INTO api_request_log ({columns}) SELECT {values} FROM seq",
                values = bulk_values(
                    &format!(
                        "strftime('%Y-%m-%dT%H:%M:%f+00:00', '{}', '+' || (n * {month_seconds}.0 / {count}) || ' seconds')",
                        start.format("%Y-%m-%d %H:%M:%S")
                    ),
                    ("1", "0")
                ),
            ),
        };
        db.execute_unprepared(&sql).await?;
        println!(
            "  {high} rows after {:.1} s",
            started.elapsed().as_secs_f64()
        );
        low = high + 1;
    }
    println!(
        "added {count} raw log rows in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    if db.get_database_backend() == DbBackend::Postgres {
        // What autovacuum does soon after a bulk of inserts: planner statistics and the
        // visibility map (index-only scans). SQLite has neither to refresh.
        db.execute_unprepared("VACUUM ANALYZE api_request_log")
            .await?;
    }
    Ok(())
}
