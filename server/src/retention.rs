//! Retention: raw request log rows older than `retention.days` are deleted in small batches,
//! so no delete holds the table for long. The rollups are never touched.

use std::time::Duration;

use chrono::Utc;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::{
    entity::api_request_log::{Column, Entity as Logs},
    error::ServiceError,
    live_config::RetentionSettings,
    state::AppState,
};

/// Deletes every row older than the retention period; returns how many.
pub async fn purge(
    db: &impl ConnectionTrait,
    settings: &RetentionSettings,
) -> Result<u64, ServiceError> {
    if settings.days == 0 {
        return Ok(0);
    }
    let cutoff = Utc::now() - chrono::Duration::days(i64::from(settings.days));
    let batch = u64::from(settings.batch_size.max(1));
    let mut deleted = 0;
    loop {
        let ids: Vec<i64> = Logs::find()
            .select_only()
            .column(Column::Id)
            .filter(Column::CreateTime.lt(cutoff))
            .order_by_asc(Column::Id)
            .limit(batch)
            .into_tuple()
            .all(db)
            .await?;
        if ids.is_empty() {
            return Ok(deleted);
        }
        let count = ids.len() as u64;
        deleted += Logs::delete_many()
            .filter(Column::Id.is_in(ids))
            .exec(db)
            .await?
            .rows_affected;
        if count < batch {
            return Ok(deleted);
        }
    }
}

/// Purges every `retention.interval_secs` until shutdown.
pub async fn run(state: AppState) {
    loop {
        let interval = state.live.current().retention.interval_secs.max(60);
        let period = state
            .settings
            .job_period_override
            .unwrap_or(Duration::from_secs(interval));
        tokio::select! {
            () = tokio::time::sleep(period) => {}
            () = state.shutdown.cancelled() => return,
        }
        // Once per cluster: another instance purges.
        if !state.cluster.leads_jobs() {
            continue;
        }
        state.metrics.job_ran("retention");
        let settings = state.live.current().retention.clone();
        match purge(&state.db, &settings).await {
            Ok(0) => {}
            Ok(deleted) => tracing::info!(
                deleted,
                days = settings.days,
                "old request log rows deleted"
            ),
            Err(error) => tracing::warn!(error = %error, "request log retention failed"),
        }
    }
}
