//! Keeping the rollups exact: the recent buckets of `api_request_stats` are compared with the
//! log rows they sum, and a bucket that differs (a crash between writes, a restore, a hand
//! edit) is rebuilt from the rows. Runs at start and on the `verifyRollups` mutation.
//!
//! The check holds the rollup table's write lock for its whole transaction, so a batch the
//! writer commits meanwhile either is counted in the sums or adds to the rebuilt bucket after
//! it, never both and never neither.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, FromQueryResult,
    QueryFilter, Statement, TransactionTrait,
};

use super::{
    AttemptStatus,
    rollup::{self, Bucket, Counters, Merge},
};
use crate::{entity::api_request_stats, error::ServiceError, live_config::RetentionSettings};

/// Days checked at start: cheap, and enough to cover a crash just before it.
pub const STARTUP_DAYS: u32 = 2;
/// Most days one check may cover.
pub const MAX_DAYS: u32 = 366;

/// What a check looked at and what it rebuilt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RollupCheck {
    /// The first day checked (UTC); every day from it to today was.
    pub from: NaiveDate,
    pub days: u32,
    /// Log rows summed.
    pub log_rows: u64,
    /// Buckets compared: those the rows make plus any stored without rows.
    pub buckets_checked: u64,
    /// Buckets rewritten with the rows' sums, or deleted because no row is in them.
    pub buckets_rebuilt: u64,
}

/// Checks the last `days` days (today included, in UTC), but never a day the retention
/// clean-up may have thinned: its rollups rightly count rows that are gone.
pub async fn verify(
    db: &DatabaseConnection,
    days: u32,
    retention: &RetentionSettings,
) -> Result<RollupCheck, ServiceError> {
    let today = Utc::now().date_naive();
    let mut from = today - Duration::days(i64::from(days.clamp(1, MAX_DAYS)) - 1);
    if retention.days > 0 {
        let thinned = (Utc::now() - Duration::days(i64::from(retention.days))).date_naive();
        from = from.max(thinned + Duration::days(1));
    }
    let days = u32::try_from((today - from).num_days() + 1).unwrap_or(0);
    let start = from.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();

    let txn = db.begin().await?;
    lock_rollups(&txn).await?;
    let (expected, log_rows) = sums_of_rows(&txn, start).await?;
    let mut stored: HashMap<String, api_request_stats::Model> = api_request_stats::Entity::find()
        .filter(api_request_stats::Column::StatDate.gte(from))
        .all(&txn)
        .await?
        .into_iter()
        .map(|row| (row.bucket_key.clone(), row))
        .collect();

    let made_by_rows = expected.len();
    let mut rebuild = Vec::new();
    for (bucket, counters) in expected {
        let same = stored
            .remove(&bucket.key())
            .is_some_and(|row| counters_of(&row) == counters);
        if !same {
            rebuild.push((bucket, counters));
        }
    }
    // What is left is stored without a row in it.
    let orphans: Vec<i64> = stored.into_values().map(|row| row.id).collect();
    let checked = (made_by_rows + orphans.len()) as u64;
    let rebuilt = (rebuild.len() + orphans.len()) as u64;
    rollup::upsert(&txn, &rebuild, Merge::Replace).await?;
    if !orphans.is_empty() {
        api_request_stats::Entity::delete_many()
            .filter(api_request_stats::Column::Id.is_in(orphans))
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(RollupCheck {
        from,
        days,
        log_rows,
        buckets_checked: checked,
        buckets_rebuilt: rebuilt,
    })
}

/// One (UTC hour, key, model, provider) group of log rows, summed by the database.
#[derive(FromQueryResult)]
struct HourGroup {
    day: String,
    hour: i32,
    key_id: Option<i32>,
    model: String,
    provider: String,
    requests: i64,
    successes: i64,
    input: i64,
    output: i64,
    total: i64,
    cache_read: i64,
    cache_creation: i64,
    cost: i64,
    latency_sum: i64,
    latency_min: Option<i32>,
    latency_max: Option<i32>,
}

/// The buckets the log rows from `start` on make, and how many rows there are: the database
/// sums each hour per key, model and provider (`GROUP BY`); the day and "all" buckets are
/// added up from those here, as the writer's `fold` does for a batch.
async fn sums_of_rows(
    txn: &impl ConnectionTrait,
    start: DateTime<Utc>,
) -> Result<(HashMap<Bucket, Counters>, u64), ServiceError> {
    let backend = txn.get_database_backend();
    // Timestamps are UTC: SQLite holds them as text (`2026-11-26 09:30:00…+00:00`),
    // PostgreSQL as timestamptz.
    let (day, hour, since) = match backend {
        DbBackend::Postgres => (
            "to_char(create_time AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
            "CAST(EXTRACT(HOUR FROM create_time AT TIME ZONE 'UTC') AS INTEGER)",
            "$1",
        ),
        _ => (
            "substr(create_time, 1, 10)",
            "CAST(substr(create_time, 12, 2) AS INTEGER)",
            "?",
        ),
    };
    let sql = format!(
        "SELECT {day} AS day, {hour} AS hour, key_id, model, provider, \
         CAST(COUNT(*) AS BIGINT) AS requests, \
         CAST(SUM(CASE WHEN status = '{success}' THEN 1 ELSE 0 END) AS BIGINT) AS successes, \
         CAST(SUM(input_tokens) AS BIGINT) AS input, CAST(SUM(output_tokens) AS BIGINT) AS output, \
         CAST(SUM(total_tokens) AS BIGINT) AS total, \
         CAST(SUM(cache_read_tokens) AS BIGINT) AS cache_read, \
         CAST(SUM(cache_creation_tokens) AS BIGINT) AS cache_creation, \
         CAST(SUM(cost) AS BIGINT) AS cost, CAST(SUM(latency_ms) AS BIGINT) AS latency_sum, \
         MIN(latency_ms) AS latency_min, MAX(latency_ms) AS latency_max \
         FROM api_request_log WHERE create_time >= {since} \
         GROUP BY {day}, {hour}, key_id, model, provider",
        success = AttemptStatus::Success.as_str(),
    );
    let groups =
        HourGroup::find_by_statement(Statement::from_sql_and_values(backend, sql, [start.into()]))
            .all(txn)
            .await?;
    let mut buckets: HashMap<Bucket, Counters> = HashMap::new();
    let mut rows = 0;
    for group in groups {
        let date =
            NaiveDate::parse_from_str(&group.day, "%Y-%m-%d").map_err(ServiceError::internal)?;
        rows += group.requests as u64;
        let counters = Counters {
            requests: group.requests,
            successes: group.successes,
            errors: group.requests - group.successes,
            input: group.input,
            output: group.output,
            total: group.total,
            cache_read: group.cache_read,
            cache_creation: group.cache_creation,
            cost: group.cost,
            latency_sum: group.latency_sum,
            latency_min: group.latency_min,
            latency_max: group.latency_max,
        };
        for bucket in Bucket::of(
            date,
            group.hour,
            group.key_id,
            &group.model,
            &group.provider,
        ) {
            buckets.entry(bucket).or_default().merge(&counters);
        }
    }
    Ok((buckets, rows))
}

/// Takes the rollup table's write lock (waiting for a writer's batch to commit), so nothing
/// changes the rollups until this transaction ends.
async fn lock_rollups(txn: &impl ConnectionTrait) -> Result<(), sea_orm::DbErr> {
    let sql = match txn.get_database_backend() {
        DbBackend::Postgres => "LOCK TABLE api_request_stats IN SHARE ROW EXCLUSIVE MODE",
        // A write statement makes SQLite take its one write lock for the transaction.
        _ => "UPDATE api_request_stats SET id = id WHERE id < 0",
    };
    txn.execute_unprepared(sql).await?;
    Ok(())
}

fn counters_of(row: &api_request_stats::Model) -> Counters {
    Counters {
        requests: row.request_count,
        successes: row.success_count,
        errors: row.error_count,
        input: row.input_tokens,
        output: row.output_tokens,
        total: row.total_tokens,
        cache_read: row.cache_read_tokens,
        cache_creation: row.cache_creation_tokens,
        cost: row.cost,
        latency_sum: row.latency_ms_sum,
        latency_min: row.latency_ms_min,
        latency_max: row.latency_ms_max,
    }
}
