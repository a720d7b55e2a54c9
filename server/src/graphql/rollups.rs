//! `verifyRollups`: compares the recent rollups with the log rows and rebuilds what differs.

use async_graphql::{Context, Object, SimpleObject};
use chrono::NaiveDate;

use super::state;
use crate::{
    error::{GqlResult, ServiceError},
    recorder::{self, MAX_VERIFY_DAYS, RollupCheck},
};

/// What a rollup check looked at and what it rebuilt.
#[derive(SimpleObject)]
pub struct RollupVerification {
    /// The first day checked (UTC); every day from it to today was.
    from: NaiveDate,
    /// Days checked: the days asked for, fewer when the retention clean-up has thinned the
    /// older ones.
    days: u32,
    /// Log rows summed.
    log_rows: u64,
    /// Buckets compared.
    buckets_checked: u64,
    /// Buckets rewritten with the sums of their rows, or deleted as they had none.
    buckets_rebuilt: u64,
}

impl From<RollupCheck> for RollupVerification {
    fn from(check: RollupCheck) -> Self {
        Self {
            from: check.from,
            days: check.days,
            log_rows: check.log_rows,
            buckets_checked: check.buckets_checked,
            buckets_rebuilt: check.buckets_rebuilt,
        }
    }
}

/// Rollup maintenance.
#[derive(Default)]
pub struct RollupMutation;

#[Object]
impl RollupMutation {
    /// Checks the rollups of the last `days` days (default 7, at most 366; today included, in
    /// UTC) against the log rows and rebuilds every bucket that differs. Days the retention
    /// clean-up has thinned are skipped. Writes of new rows wait while it runs.
    async fn verify_rollups(
        &self,
        ctx: &Context<'_>,
        days: Option<i32>,
    ) -> GqlResult<RollupVerification> {
        let app = state(ctx)?;
        let days = days.unwrap_or(7);
        let days = u32::try_from(days)
            .ok()
            .filter(|d| (1..=MAX_VERIFY_DAYS).contains(d))
            .ok_or_else(|| {
                ServiceError::invalid("days", format!("must be from 1 to {MAX_VERIFY_DAYS}"))
            })?;
        // Rows handed to the writer before this call are counted.
        app.recorder.flush().await;
        let check = recorder::verify_rollups(&app.db, days, &app.live.current().retention).await?;
        tracing::info!(
            from = %check.from,
            days = check.days,
            checked = check.buckets_checked,
            rebuilt = check.buckets_rebuilt,
            "rollups verified"
        );
        Ok(check.into())
    }
}
