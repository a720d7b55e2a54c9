//! Configuration entries: `configs`, `config`, `setConfig`, `deleteConfig`.

use std::sync::Arc;

use async_graphql::{Context, Json, Object};
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::state;
use crate::error::GqlResult;
use crate::{
    cluster::Change,
    entity::config_entry,
    live_config::{
        LiveSettings,
        registry::{self, Setting},
    },
    service::config_entries,
};

/// One configuration entry: a known setting (stored or at its default) or a stored free-form
/// entry.
pub struct ConfigEntry {
    key: String,
    stored: Option<config_entry::Model>,
    setting: Option<&'static Setting>,
    live: Arc<LiveSettings>,
}

impl ConfigEntry {
    fn new(key: String, stored: Option<config_entry::Model>, live: Arc<LiveSettings>) -> Self {
        let setting = registry::find(&key);
        Self {
            key,
            stored,
            setting,
            live,
        }
    }
}

#[Object]
impl ConfigEntry {
    /// The entry's unique key.
    async fn key(&self) -> &str {
        &self.key
    }
    /// The stored value, any JSON; a known setting that was never set shows its default.
    /// Secrets (`metrics.token`) are masked (`scra…cret`); sending the masked form back to
    /// `setConfig` keeps the stored secret.
    async fn value(&self) -> Json<Value> {
        let value = match (&self.stored, self.setting) {
            (Some(stored), _) => config_entries::value_of(stored),
            (None, Some(setting)) => setting.default_value(),
            (None, None) => Value::Null,
        };
        Json(registry::redacted(&self.key, value))
    }
    /// The value in force now, every field filled in (defaults for fields not set); null for
    /// free-form entries, which the server does not read. Secrets are masked as in `value`.
    async fn effective_value(&self) -> Option<Json<Value>> {
        self.setting.map(|setting| {
            Json(registry::redacted(
                &self.key,
                setting.current_value(&self.live),
            ))
        })
    }
    /// The default of a known setting; null for free-form entries.
    async fn default_value(&self) -> Option<Json<Value>> {
        self.setting.map(|setting| Json(setting.default_value()))
    }
    /// What a known setting shapes; null for free-form entries.
    async fn description(&self) -> Option<&str> {
        self.setting.map(|setting| setting.description)
    }
    /// Whether a value is stored; false means the default is in force.
    async fn is_set(&self) -> bool {
        self.stored.is_some()
    }
    /// A note for other admins.
    async fn memo(&self) -> &str {
        self.stored
            .as_ref()
            .map_or("", |stored| stored.memo.as_str())
    }
    /// When the entry was created; null when it was never set.
    async fn create_time(&self) -> Option<DateTime<Utc>> {
        self.stored.as_ref().map(|stored| stored.create_time)
    }
    /// When the value last changed; null when it was never set.
    async fn update_time(&self) -> Option<DateTime<Utc>> {
        self.stored.as_ref().map(|stored| stored.update_time)
    }
}

/// Reading configuration.
#[derive(Default)]
pub struct ConfigQuery;

#[Object]
impl ConfigQuery {
    /// Every known setting (at its default when never set) and every stored entry, by key.
    async fn configs(&self, ctx: &Context<'_>) -> GqlResult<Vec<ConfigEntry>> {
        let app = state(ctx)?;
        let live = app.live.current();
        let mut entries: Vec<ConfigEntry> = config_entries::list(&app.db, &app.vault)
            .await?
            .into_iter()
            .map(|stored| ConfigEntry::new(stored.key.clone(), Some(stored), live.clone()))
            .collect();
        for setting in registry::known() {
            if !entries.iter().any(|entry| entry.key == setting.key) {
                entries.push(ConfigEntry::new(setting.key.into(), None, live.clone()));
            }
        }
        entries.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(entries)
    }

    /// The entry under `key`: a known setting (at its default when never set), a stored
    /// free-form entry, or null.
    async fn config(&self, ctx: &Context<'_>, key: String) -> GqlResult<Option<ConfigEntry>> {
        let app = state(ctx)?;
        let stored = config_entries::get(&app.db, &app.vault, &key).await?;
        if stored.is_none() && registry::find(&key).is_none() {
            return Ok(None);
        }
        Ok(Some(ConfigEntry::new(key, stored, app.live.current())))
    }
}

/// Changing configuration.
#[derive(Default)]
pub struct ConfigMutation;

#[Object]
impl ConfigMutation {
    /// Creates or replaces the entry under `key`; a null `memo` keeps the current memo. `key`
    /// must be a known setting (`alerts`, `balance`, `health`, `metrics`, `model_prices`,
    /// `models`, `network`, `proxy`, `retention`) whose value has the documented shape and
    /// ranges, or start with `ui.` (free-form JSON for the console). Anything else is
    /// `BAD_USER_INPUT` with `extensions.field` naming the offending field (`key`, or a path
    /// such as `proxy.first_byte_timeout_ms`). Settings take effect at once. A secret sent back
    /// in the masked form it is shown in (`metrics.token`) keeps the stored secret.
    async fn set_config(
        &self,
        ctx: &Context<'_>,
        key: String,
        value: Json<Value>,
        memo: Option<String>,
    ) -> GqlResult<ConfigEntry> {
        let app = state(ctx)?;
        let entry = registry::store(
            &app.db,
            &app.vault,
            &key,
            &value.0,
            memo.as_deref(),
            &app.live.current(),
        )
        .await?;
        app.changed(Change::Config).await;
        Ok(ConfigEntry::new(
            entry.key.clone(),
            Some(entry),
            app.live.current(),
        ))
    }

    /// Deletes the entry under `key` (a known setting returns to its default); false when there
    /// was none.
    async fn delete_config(&self, ctx: &Context<'_>, key: String) -> GqlResult<bool> {
        let app = state(ctx)?;
        let deleted = config_entries::delete(&app.db, &key).await?;
        app.changed(Change::Config).await;
        Ok(deleted)
    }
}
