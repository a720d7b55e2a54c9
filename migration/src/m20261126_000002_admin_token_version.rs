//! `admin_users.token_version`: a counter inside every admin JWT. Changing a password (or
//! revoking sessions) bumps it, and tokens that carry an older version stop working.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("admin_users")
                    .add_column(big_integer("token_version").default(0))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("admin_users")
                    .drop_column("token_version")
                    .to_owned(),
            )
            .await
    }
}
