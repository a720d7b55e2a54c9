//! Indexes that fit how the tables are read and written.
//!
//! Statistics: with only the date index, a month's timeline reads every (key, model) rollup
//! row of the month to keep the few "all" rows; partial indexes per shape of query let it read
//! just the rows it adds up. The request log: every index costs each inserted row, so the one
//! on `request_id` alone goes (the unique (request_id, attempt) index serves those lookups), and
//! the one on `response_id` gives way to one that holds only the rows with a response, in the
//! order start-up reads them.

use sea_orm_migration::prelude::*;

/// (name, table and definition): partial indexes, the same syntax on SQLite and PostgreSQL.
const CREATED: [(&str, &str); 4] = [
    // The totals: every dimension NULL (the dashboard's overview and timeline).
    (
        "ix_stats_totals",
        "api_request_stats (stat_date, stat_hour) WHERE key_id IS NULL AND model IS NULL AND provider IS NULL",
    ),
    // One key's rows, per model.
    (
        "ix_stats_key",
        "api_request_stats (key_id, stat_date, stat_hour) WHERE model IS NOT NULL",
    ),
    // One model's rows, per key.
    (
        "ix_stats_model",
        "api_request_stats (model, stat_date, stat_hour) WHERE model IS NOT NULL",
    ),
    // The rows that created a response, newest first: what start-up reads to route follow-ups.
    (
        "ix_log_responses",
        "api_request_log (id) WHERE response_id IS NOT NULL",
    ),
];

/// The indexes the ones above replace, with their definitions for `down`.
const DROPPED: [(&str, &str); 2] = [
    ("ix_log_request_id", "api_request_log (request_id)"),
    (
        "idx_api_request_log_response_id",
        "api_request_log (response_id)",
    ),
];

#[derive(DeriveMigrationName)]
pub struct Migration;

async fn create(manager: &SchemaManager<'_>, indexes: &[(&str, &str)]) -> Result<(), DbErr> {
    for (name, definition) in indexes {
        manager
            .get_connection()
            .execute_unprepared(&format!(
                "CREATE INDEX IF NOT EXISTS {name} ON {definition}"
            ))
            .await?;
    }
    Ok(())
}

async fn drop(manager: &SchemaManager<'_>, indexes: &[(&str, &str)]) -> Result<(), DbErr> {
    for (name, _) in indexes {
        manager
            .get_connection()
            .execute_unprepared(&format!("DROP INDEX IF EXISTS {name}"))
            .await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create(manager, &CREATED).await?;
        drop(manager, &DROPPED).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create(manager, &DROPPED).await?;
        drop(manager, &CREATED).await
    }
}
