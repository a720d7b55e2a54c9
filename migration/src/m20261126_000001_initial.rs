//! The initial schema: keys, request log, hourly/daily rollups, config, admins, client tokens and
//! instance secrets.
//!
//! Money is stored as integer nano-USD (1e-9 USD) wherever it is summed (request cost, token spend
//! and budget), so rollups equal the sum of the log rows exactly on both databases. Upstream
//! balances are informational figures read from providers and stay floating point USD.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Adds `create_time` and `update_time` to a table, as every table has them.
fn with_times(mut table: TableCreateStatement) -> TableCreateStatement {
    table
        .col(timestamp_with_time_zone("create_time").default(Expr::current_timestamp()))
        .col(timestamp_with_time_zone("update_time").default(Expr::current_timestamp()));
    table
}

fn index(name: &str, table: &'static str, columns: &[&'static str]) -> IndexCreateStatement {
    let mut index = Index::create();
    index.name(name).table(table).if_not_exists();
    for column in columns {
        index.col(*column);
    }
    index.take()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(with_times(
                Table::create()
                    .table("api_keys")
                    .if_not_exists()
                    .col(pk_auto("id"))
                    .col(string_len("name", 128))
                    .col(string_len("provider", 16))
                    .col(text("api_key"))
                    .col(string_len("ua", 512).default(""))
                    .col(string_len("proxy_ip", 512).default(""))
                    .col(string_len_null("base_url", 512))
                    .col(boolean("enabled").default(true))
                    .col(integer("priority").default(0))
                    .col(integer("weight").default(1))
                    .col(double_null("balance"))
                    .col(double_null("total_balance"))
                    .col(timestamp_with_time_zone_null("balance_last_update"))
                    // The parsed balance breakdown (JSON) and why the last refresh failed.
                    .col(text_null("balance_detail"))
                    .col(text_null("balance_error"))
                    // Spend recorded by the pool (nano-USD), and its value when
                    // `total_balance` was last set: balance = total - (spend - mark).
                    .col(big_integer("spend").default(0))
                    .col(big_integer("balance_spend_mark").default(0))
                    .col(text("memo").default(""))
                    .col(text_null("disabled_reason"))
                    .col(timestamp_with_time_zone_null("disabled_at"))
                    // "admin" or "auto": an admin's disable is never undone automatically.
                    .col(string_len_null("disabled_by", 16))
                    .take(),
            ))
            .await?;
        manager
            .create_index(
                index(
                    "ux_api_keys_provider_key",
                    "api_keys",
                    &["provider", "api_key"],
                )
                .unique()
                .take(),
            )
            .await?;

        manager
            .create_table(with_times(
                Table::create()
                    .table("api_request_log")
                    .if_not_exists()
                    .col(big_pk_auto("id"))
                    .col(string_len("request_id", 64))
                    .col(integer("attempt").default(1))
                    .col(integer_null("key_id"))
                    .col(integer_null("access_token_id"))
                    .col(string_len("provider", 16))
                    .col(string_len("endpoint", 32))
                    .col(string_len("model", 128))
                    .col(boolean("is_stream").default(false))
                    .col(big_integer("input_tokens").default(0))
                    .col(big_integer("output_tokens").default(0))
                    .col(big_integer("total_tokens").default(0))
                    .col(big_integer("cache_read_tokens").default(0))
                    .col(big_integer("cache_creation_tokens").default(0))
                    .col(big_integer("cost").default(0))
                    .col(boolean("cost_unknown").default(false))
                    .col(integer("latency_ms").default(0))
                    .col(integer_null("first_byte_ms"))
                    .col(string_len("status", 32))
                    .col(integer_null("http_status_code"))
                    .col(string_len_null("error_type", 64))
                    .col(text_null("error_message"))
                    .take(),
            ))
            .await?;
        for (name, columns) in [
            ("ix_log_create_time", &["create_time"][..]),
            ("ix_log_key_time", &["key_id", "create_time"][..]),
            ("ix_log_model_time", &["model", "create_time"][..]),
            ("ix_log_provider_time", &["provider", "create_time"][..]),
            ("ix_log_status_time", &["status", "create_time"][..]),
            ("ix_log_token_time", &["access_token_id", "create_time"][..]),
            ("ix_log_request_id", &["request_id"][..]),
        ] {
            manager
                .create_index(index(name, "api_request_log", columns))
                .await?;
        }

        // One row per (bucket, key, model, provider); NULL in a dimension means "all". NULLs are
        // distinct in unique indexes, so uniqueness and upserts go through `bucket_key`, a
        // canonical text form of the dimensions, the same on SQLite and PostgreSQL.
        manager
            .create_table(with_times(
                Table::create()
                    .table("api_request_stats")
                    .if_not_exists()
                    .col(big_pk_auto("id"))
                    .col(string_len("bucket_key", 300))
                    .col(date("stat_date"))
                    .col(integer_null("stat_hour"))
                    .col(integer_null("key_id"))
                    .col(string_len_null("model", 128))
                    .col(string_len_null("provider", 16))
                    .col(big_integer("request_count").default(0))
                    .col(big_integer("success_count").default(0))
                    .col(big_integer("error_count").default(0))
                    .col(big_integer("input_tokens").default(0))
                    .col(big_integer("output_tokens").default(0))
                    .col(big_integer("total_tokens").default(0))
                    .col(big_integer("cache_read_tokens").default(0))
                    .col(big_integer("cache_creation_tokens").default(0))
                    .col(big_integer("cost").default(0))
                    .col(big_integer("latency_ms_sum").default(0))
                    .col(integer_null("latency_ms_min"))
                    .col(integer_null("latency_ms_max"))
                    .take(),
            ))
            .await?;
        manager
            .create_index(
                index("ux_stats_bucket", "api_request_stats", &["bucket_key"])
                    .unique()
                    .take(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_stats_date_hour",
                "api_request_stats",
                &["stat_date", "stat_hour"],
            ))
            .await?;

        manager
            .create_table(with_times(
                Table::create()
                    .table("config")
                    .if_not_exists()
                    .col(pk_auto("id"))
                    .col(string_len_uniq("key", 128))
                    .col(text("value"))
                    .col(text("memo").default(""))
                    .take(),
            ))
            .await?;

        manager
            .create_table(with_times(
                Table::create()
                    .table("admin_users")
                    .if_not_exists()
                    .col(pk_auto("id"))
                    .col(string_len_uniq("username", 64))
                    .col(string_len("password_hash", 256))
                    .take(),
            ))
            .await?;

        manager
            .create_table(with_times(
                Table::create()
                    .table("access_tokens")
                    .if_not_exists()
                    .col(pk_auto("id"))
                    .col(string_len("name", 128))
                    .col(string_len("token_prefix", 32))
                    .col(string_len_uniq("token_hash", 64))
                    .col(boolean("enabled").default(true))
                    .col(timestamp_with_time_zone_null("expires_at"))
                    // JSON array of model names; NULL allows every model.
                    .col(text_null("models"))
                    .col(big_integer_null("budget"))
                    .col(big_integer("spend").default(0))
                    .col(integer_null("rpm_limit"))
                    .col(timestamp_with_time_zone_null("last_used_at"))
                    .col(text("memo").default(""))
                    .take(),
            ))
            .await?;

        // Values the instance generates for itself (the JWT signing secret), kept out of the
        // admin-editable `config` table so no query can read them.
        manager
            .create_table(with_times(
                Table::create()
                    .table("instance_secrets")
                    .if_not_exists()
                    .col(pk_auto("id"))
                    .col(string_len_uniq("name", 64))
                    .col(text("value"))
                    .take(),
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "instance_secrets",
            "access_tokens",
            "admin_users",
            "config",
            "api_request_stats",
            "api_request_log",
            "api_keys",
        ] {
            manager
                .drop_table(Table::drop().table(table).if_exists().take())
                .await?;
        }
        Ok(())
    }
}
