//! Database migrations for AMP Pool.
//!
//! Every migration here is frozen once it has landed on `main`: change the schema by adding a new
//! migration, never by editing an old one. The same migrations run on SQLite and PostgreSQL.

pub use sea_orm_migration::prelude::*;

mod m20261126_000001_initial;
mod m20261126_000002_admin_token_version;
mod m20261126_000003_usage_source;
mod m20261126_000004_responses;
mod m20261126_000005_secrets_at_rest;
mod m20261126_000006_attempt_identity;
mod m20261126_000007_translation;
mod m20261126_000009_index_tuning;

/// Runs the AMP Pool migrations in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261126_000001_initial::Migration),
            Box::new(m20261126_000002_admin_token_version::Migration),
            Box::new(m20261126_000003_usage_source::Migration),
            Box::new(m20261126_000004_responses::Migration),
            Box::new(m20261126_000005_secrets_at_rest::Migration),
            Box::new(m20261126_000006_attempt_identity::Migration),
            Box::new(m20261126_000007_translation::Migration),
            Box::new(m20261126_000009_index_tuning::Migration),
        ]
    }
}
