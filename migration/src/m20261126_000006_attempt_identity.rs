//! One log row per upstream attempt: a unique index on (request_id, attempt), so the writer can
//! replay its journal after a crash with insert-or-ignore and never count an attempt twice.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const INDEX: &str = "ux_log_attempt";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Request ids are server-made UUIDs, so no existing rows collide.
        manager
            .create_index(
                Index::create()
                    .name(INDEX)
                    .table("api_request_log")
                    .col("request_id")
                    .col("attempt")
                    .unique()
                    .if_not_exists()
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name(INDEX)
                    .table("api_request_log")
                    .to_owned(),
            )
            .await
    }
}
