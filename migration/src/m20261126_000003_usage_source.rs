//! Where a log row's token counts come from: `reported` by the upstream, `estimated` by the
//! proxy (a client hung up before the upstream reported usage), or `clamped` (the upstream
//! reported counts out of any sane range, and they were cut to it).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("api_request_log")
                    .add_column(string_len("usage_source", 16).default("reported"))
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("api_request_log")
                    .drop_column("usage_source")
                    .take(),
            )
            .await
    }
}
