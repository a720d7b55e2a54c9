//! Keeping the rollups exact: the recent buckets of `api_request_stats` are compared with the
//! log rows they sum, and a bucket that differs (a crash between writes, a restore, a hand
//! edit) is rebuilt from the rows. Runs at start and on the `verifyRollups` mutation.
//!
//! The check holds the rollup table's write lock for its whole transaction, so a batch the
//! writer commits meanwhile either is counted in the sums or adds to the rebuilt bucket after
//! it, never both and never neither.

use std::collections::HashMap;

use chrono::{Duration, NaiveDate, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, TransactionTrait,
};

use super::rollup::{self, Bucket, Counters, Merge};
use crate::{
    entity::{api_request_log, api_request_stats},
    error::ServiceError,
    live_config::RetentionSettings,
};

/// Days checked at start: cheap, and enough to cover a crash just before it.
pub const STARTUP_DAYS: u32 = 2;
/// Most days one check may cover.
pub const MAX_DAYS: u32 = 366;
/// Log rows read per query.
const PAGE: u64 = 5_000;

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
    let mut expected: HashMap<Bucket, Counters> = HashMap::new();
    let mut log_rows = 0;
    let mut after = 0_i64;
    loop {
        let page = api_request_log::Entity::find()
            .filter(api_request_log::Column::CreateTime.gte(start))
            .filter(api_request_log::Column::Id.gt(after))
            .order_by_asc(api_request_log::Column::Id)
            .limit(PAGE)
            .all(&txn)
            .await?;
        for row in &page {
            rollup::fold_into(&mut expected, &row.into());
            after = row.id;
        }
        log_rows += page.len() as u64;
        if (page.len() as u64) < PAGE {
            break;
        }
    }
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
