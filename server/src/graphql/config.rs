//! Configuration entries: `configs`, `config`, `setConfig`, `deleteConfig`.

use async_graphql::{Context, Json, Object};
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::state;
use crate::error::GqlResult;
use crate::{entity::config_entry, service::config_entries};

/// One configuration entry.
pub struct ConfigEntry(config_entry::Model);

#[Object]
impl ConfigEntry {
    /// The entry's unique key.
    async fn key(&self) -> &str {
        &self.0.key
    }
    /// The value, any JSON.
    async fn value(&self) -> Json<Value> {
        Json(config_entries::value_of(&self.0))
    }
    /// A note for other admins.
    async fn memo(&self) -> &str {
        &self.0.memo
    }
    /// When the entry was created.
    async fn create_time(&self) -> DateTime<Utc> {
        self.0.create_time
    }
    /// When the value last changed.
    async fn update_time(&self) -> DateTime<Utc> {
        self.0.update_time
    }
}

/// Reading configuration.
#[derive(Default)]
pub struct ConfigQuery;

#[Object]
impl ConfigQuery {
    /// Every configuration entry, by key.
    async fn configs(&self, ctx: &Context<'_>) -> GqlResult<Vec<ConfigEntry>> {
        let entries = config_entries::list(&state(ctx)?.db).await?;
        Ok(entries.into_iter().map(ConfigEntry).collect())
    }

    /// The entry under `key`, or null.
    async fn config(&self, ctx: &Context<'_>, key: String) -> GqlResult<Option<ConfigEntry>> {
        let entry = config_entries::get(&state(ctx)?.db, &key).await?;
        Ok(entry.map(ConfigEntry))
    }
}

/// Changing configuration.
#[derive(Default)]
pub struct ConfigMutation;

#[Object]
impl ConfigMutation {
    /// Creates or replaces the entry under `key`. Keys are lowercase letters, digits, `_`, `.`
    /// and `-`; a null `memo` keeps the current memo. The known keys `proxy`, `health`,
    /// `model_prices` and `models` must have their documented shape (else `BAD_USER_INPUT`)
    /// and take effect at once.
    async fn set_config(
        &self,
        ctx: &Context<'_>,
        key: String,
        value: Json<Value>,
        memo: Option<String>,
    ) -> GqlResult<ConfigEntry> {
        let app = state(ctx)?;
        let entry = config_entries::set(&app.db, &key, &value.0, memo.as_deref()).await?;
        app.reload_config().await;
        Ok(ConfigEntry(entry))
    }

    /// Deletes the entry under `key`; false when there was none.
    async fn delete_config(&self, ctx: &Context<'_>, key: String) -> GqlResult<bool> {
        let app = state(ctx)?;
        let deleted = config_entries::delete(&app.db, &key).await?;
        app.reload_config().await;
        Ok(deleted)
    }
}
