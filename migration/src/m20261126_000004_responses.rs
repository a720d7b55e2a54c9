//! The Responses API: a log row remembers the id of the response it created (so a follow-up
//! with `previous_response_id`, or a GET of that response, goes to the key that holds it, even
//! after a restart) and the reasoning tokens inside its output tokens.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

const INDEX: &str = "idx_api_request_log_response_id";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters a table one column at a time.
        manager
            .alter_table(
                Table::alter()
                    .table("api_request_log")
                    .add_column(string_len_null("response_id", 128))
                    .take(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("api_request_log")
                    .add_column(big_integer("reasoning_tokens").default(0))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(INDEX)
                    .table("api_request_log")
                    .col("response_id")
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
            .await?;
        for column in ["reasoning_tokens", "response_id"] {
            manager
                .alter_table(
                    Table::alter()
                        .table("api_request_log")
                        .drop_column(column)
                        .take(),
                )
                .await?;
        }
        Ok(())
    }
}
