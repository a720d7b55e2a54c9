//! How fast the batching writer stores log rows with their rollups, token spend and key
//! spend: rows per second and CPU time per row, through the real recorder (journal included).
//!
//! `cargo run --release -p amp-pool --example writer_bench [-- ROWS]` (default 200,000).
//! Uses a temporary SQLite file, or `DATABASE_URL` when it is a `postgres://` URL. The CPU
//! figure is the whole process (the loop that hands records over, the writer task, the
//! journal, the database driver's thread; an embedded SQLite's own work too).

use std::{sync::Arc, time::Instant};

use amp_pool::{
    app,
    config::Settings,
    entity::{api_request_log, api_request_stats},
    recorder::{AttemptRecord, AttemptStatus},
    usage::Usage,
};
use chrono::{Duration, Utc};
use sea_orm::{EntityTrait, PaginatorTrait};
use tokio_util::sync::CancellationToken;

// The allocator of the server binary, so the CPU figure is the server's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const MODELS: [(&str, &str); 4] = [
    ("gpt-4o", "openai"),
    ("gpt-4o-mini", "openai"),
    ("claude-sonnet-4-5", "anthropic"),
    ("claude-haiku-4-5", "anthropic"),
];

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Request ids as the proxy makes them (time-ordered), or `BENCH_IDS=v4` for random ones.
    let random_ids = std::env::var("BENCH_IDS").is_ok_and(|ids| ids == "v4");
    let request_id = || {
        if random_ids {
            uuid::Uuid::new_v4()
        } else {
            uuid::Uuid::now_v7()
        }
    };
    let rows: u32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200_000);
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
        journal_dir: Some(folder.path().join("journal")),
        ..Settings::default()
    };
    let state = app::build_state(settings, CancellationToken::new())
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;

    // Traffic of the last hour: 20 keys, 4 models, 50 client tokens (the ids need no rows:
    // spend updates of an unknown id touch nothing but cost the same statement).
    let start = Utc::now() - Duration::hours(1);
    let (cpu_before, started) = (cpu_seconds(), Instant::now());
    for n in 0..rows {
        let (model, provider) = MODELS[n as usize % MODELS.len()];
        state.recorder.record(AttemptRecord {
            request_id: Arc::from(request_id().simple().to_string()),
            attempt: 1,
            key_id: Some(1 + (n % 20) as i32),
            key_name: None,
            access_token_id: Some(1 + (n % 50) as i32),
            provider,
            endpoint: "chat_completions",
            model: Arc::from(model),
            is_stream: n % 3 == 0,
            usage: Usage {
                input: 1_000 + i64::from(n % 700),
                output: 200 + i64::from(n % 90),
                cache_read: i64::from(n % 400),
                ..Usage::default()
            },
            cost: 12_345,
            cost_unknown: false,
            latency_ms: 300 + (n % 500) as i32,
            first_byte_ms: Some(80),
            status: if n % 50 == 0 {
                AttemptStatus::Error
            } else {
                AttemptStatus::Success
            },
            http_status_code: Some(if n % 50 == 0 { 429 } else { 200 }),
            error_type: None,
            error_message: None,
            usage_source: Default::default(),
            response_id: None,
            route: None,
            started_at: start + Duration::milliseconds(i64::from(n) * 10),
        });
        if n % 1_000 == 999 {
            // Let the writer run between bursts, as requests arriving over time would.
            tokio::task::yield_now().await;
        }
    }
    state.recorder.flush().await;
    let (seconds, cpu) = (started.elapsed().as_secs_f64(), cpu_seconds() - cpu_before);

    let stored = api_request_log::Entity::find().count(&state.db).await?;
    let buckets = api_request_stats::Entity::find().count(&state.db).await?;
    println!("{stored} log rows stored ({buckets} rollup rows)");
    println!(
        "{rows} rows in {seconds:.2} s: {:.0} rows/s, {:.1} µs of CPU per row",
        f64::from(rows) / seconds,
        cpu * 1e6 / f64::from(rows)
    );
    anyhow::ensure!(stored == u64::from(rows), "rows were lost");
    Ok(())
}

/// User and system CPU time of this process so far, from `/proc/self/stat`.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    (ticks(11) + ticks(12)) / 100.0
}
