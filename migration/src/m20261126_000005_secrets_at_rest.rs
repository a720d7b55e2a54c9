//! Secrets at rest: `api_keys.key_hash`, a keyed hash (HMAC-SHA256 under a key derived from the
//! master key) of provider and secret, replaces the unique index on the secret itself, which is
//! now stored encrypted with a random nonce and so can no longer be compared.
//!
//! The column starts empty: the server fills it and encrypts existing rows at start-up, since
//! only it holds the master key. Empty hashes are distinct in a unique index on both databases.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("api_keys")
                    .add_column(text_null("key_hash"))
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("ux_api_keys_provider_key")
                    .table("api_keys")
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_api_keys_key_hash")
                    .table("api_keys")
                    .col("key_hash")
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("ux_api_keys_key_hash")
                    .table("api_keys")
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("api_keys")
                    .drop_column("key_hash")
                    .to_owned(),
            )
            .await?;
        // Only meaningful once the secrets are plain text again; the server cannot do that here.
        manager
            .create_index(
                Index::create()
                    .name("ux_api_keys_provider_key")
                    .table("api_keys")
                    .col("provider")
                    .col("api_key")
                    .unique()
                    .to_owned(),
            )
            .await
    }
}
