//! Settings that admins change at run time through `setConfig`, held in memory so the proxy
//! never reads the database for them.
//!
//! Each known config key has a typed shape and documented ranges ([`ranges`]); the one table of
//! known keys is [`registry`]. `setConfig` refuses an unknown key or a value that does not parse
//! or is out of range, and a key that is absent falls back to the defaults here.

pub mod ranges;
pub mod registry;

use std::{collections::BTreeMap, sync::Arc};

use arc_swap::ArcSwap;
use sea_orm::ConnectionTrait;
use serde::{Deserialize, Serialize};

use crate::{error::ServiceError, provider::Provider, service::config_entries};

/// Config key of [`ProxyTuning`].
pub const PROXY_KEY: &str = "proxy";
/// Config key of [`HealthTuning`].
pub const HEALTH_KEY: &str = "health";
/// Config key of the price table.
pub const PRICES_KEY: &str = "model_prices";
/// Config key of the model catalogue served at `/v1/models`.
pub const MODELS_KEY: &str = "models";
/// Config key of [`RetentionSettings`].
pub const RETENTION_KEY: &str = "retention";
/// Config key of [`BalanceSettings`].
pub const BALANCE_KEY: &str = "balance";
/// Config key of [`AlertSettings`].
pub const ALERTS_KEY: &str = "alerts";
/// Config key of [`MetricsSettings`].
pub const METRICS_KEY: &str = "metrics";
/// Config key of [`NetworkSettings`].
pub const NETWORK_KEY: &str = "network";

/// Which addresses keys (base URLs, proxies) and webhooks may point at.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NetworkSettings {
    /// Allows link-local and cloud metadata addresses (169.254.0.0/16, fe80::/10,
    /// `metadata.google.internal`, …). Loopback and private networks are always allowed.
    pub allow_link_local_upstreams: bool,
}

/// How long raw request log rows are kept (the rollups are kept forever).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetentionSettings {
    /// Rows older than this many days are deleted; 0 keeps them forever.
    pub days: u32,
    /// Rows deleted per statement, so no delete holds the table for long.
    pub batch_size: u32,
    /// How often the clean-up runs.
    pub interval_secs: u64,
}

impl Default for RetentionSettings {
    fn default() -> Self {
        Self {
            days: 90,
            batch_size: 1000,
            interval_secs: 3600,
        }
    }
}

/// How balances are refreshed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BalanceSettings {
    /// Seconds between refreshes of every key; 0 turns the refresher off.
    pub refresh_interval_secs: u64,
}

impl Default for BalanceSettings {
    fn default() -> Self {
        Self {
            refresh_interval_secs: 3600,
        }
    }
}

/// Webhook notifications.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlertSettings {
    /// URLs that receive a JSON POST per alert.
    pub webhooks: Vec<String>,
    /// Which alerts to send: `key_disabled`, `balance_low`, `provider_unavailable`,
    /// `recovered`.
    pub events: Vec<String>,
    /// A balance (USD) at or below this raises `balance_low`; per-key values override it.
    pub low_balance_usd: Option<f64>,
    /// Per-key thresholds in USD, by key id.
    pub key_thresholds: BTreeMap<String, f64>,
    /// Delivery attempts per alert, with backoff between them.
    pub max_attempts: u32,
}

impl Default for AlertSettings {
    fn default() -> Self {
        Self {
            webhooks: Vec::new(),
            events: [
                "key_disabled",
                "balance_low",
                "provider_unavailable",
                "recovered",
            ]
            .map(String::from)
            .to_vec(),
            low_balance_usd: None,
            key_thresholds: BTreeMap::new(),
            max_attempts: 4,
        }
    }
}

impl AlertSettings {
    /// The low-balance threshold of key `id`, if any.
    pub fn threshold_for(&self, id: i32) -> Option<f64> {
        self.key_thresholds
            .get(&id.to_string())
            .copied()
            .or(self.low_balance_usd)
    }
}

/// Who may read `/metrics`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsSettings {
    /// When set, `/metrics` needs `Authorization: Bearer <token>`.
    pub token: Option<String>,
}

/// How the proxy forwards requests.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProxyTuning {
    /// Upstream attempts per client request, failover included.
    pub max_attempts: u32,
    /// Connecting to the upstream (or its proxy) may take this long.
    pub connect_timeout_ms: u64,
    /// The upstream must answer with headers within this time.
    pub first_byte_timeout_ms: u64,
    /// A stream that sends nothing for this long is cut.
    pub stream_idle_timeout_ms: u64,
    /// User-Agent for keys without one of their own.
    pub default_user_agent: String,
    /// Largest request body accepted from a client, in bytes.
    pub max_body_bytes: usize,
}

impl Default for ProxyTuning {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            connect_timeout_ms: 10_000,
            first_byte_timeout_ms: 120_000,
            stream_idle_timeout_ms: 300_000,
            default_user_agent: concat!("amp-pool/", env!("CARGO_PKG_VERSION")).into(),
            max_body_bytes: 32 * 1024 * 1024,
        }
    }
}

/// When keys cool down or are disabled automatically.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HealthTuning {
    /// Cooldown after a 429 that names no reset time.
    pub rate_limit_cooldown_secs: u64,
    /// Cooldown after a 5xx, 529 or timeout.
    pub error_cooldown_secs: u64,
    /// This many failures inside `failure_window_secs` disable the key.
    pub failure_threshold: u32,
    /// The window for `failure_threshold`.
    pub failure_window_secs: u64,
}

impl Default for HealthTuning {
    fn default() -> Self {
        Self {
            rate_limit_cooldown_secs: 60,
            error_cooldown_secs: 10,
            failure_threshold: 5,
            failure_window_secs: 300,
        }
    }
}

/// USD per million tokens for one model.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelPrice {
    pub input: f64,
    pub output: f64,
    pub cache_read: f64,
    pub cache_write: f64,
}

/// Prices by model name; a model matches its exact name, else the longest name it starts with
/// (`claude-sonnet-4-5-20250929` is priced as `claude-sonnet-4-5`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PriceTable(pub BTreeMap<String, ModelPrice>);

impl PriceTable {
    /// The price of `model`, if it has one.
    pub fn price_of(&self, model: &str) -> Option<&ModelPrice> {
        if let Some(price) = self.0.get(model) {
            return Some(price);
        }
        self.0
            .iter()
            .filter(|(name, _)| model.starts_with(name.as_str()))
            .max_by_key(|(name, _)| name.len())
            .map(|(_, price)| price)
    }

    /// Current list prices of common OpenAI and Anthropic models (USD per million tokens).
    pub fn seed() -> Self {
        let price = |input, output, cache_read, cache_write| ModelPrice {
            input,
            output,
            cache_read,
            cache_write,
        };
        let entries = [
            ("gpt-5", price(1.25, 10.0, 0.125, 0.0)),
            ("gpt-5-mini", price(0.25, 2.0, 0.025, 0.0)),
            ("gpt-5-nano", price(0.05, 0.4, 0.005, 0.0)),
            ("gpt-4.1", price(2.0, 8.0, 0.5, 0.0)),
            ("gpt-4.1-mini", price(0.4, 1.6, 0.1, 0.0)),
            ("gpt-4.1-nano", price(0.1, 0.4, 0.025, 0.0)),
            ("gpt-4o", price(2.5, 10.0, 1.25, 0.0)),
            ("gpt-4o-mini", price(0.15, 0.6, 0.075, 0.0)),
            ("o3", price(2.0, 8.0, 0.5, 0.0)),
            ("o4-mini", price(1.1, 4.4, 0.275, 0.0)),
            ("claude-opus-4-1", price(15.0, 75.0, 1.5, 18.75)),
            ("claude-opus-4", price(15.0, 75.0, 1.5, 18.75)),
            ("claude-sonnet-4-5", price(3.0, 15.0, 0.3, 3.75)),
            ("claude-sonnet-4", price(3.0, 15.0, 0.3, 3.75)),
            ("claude-3-7-sonnet", price(3.0, 15.0, 0.3, 3.75)),
            ("claude-haiku-4-5", price(1.0, 5.0, 0.1, 1.25)),
            ("claude-3-5-haiku", price(0.8, 4.0, 0.08, 1.0)),
        ];
        Self(
            entries
                .into_iter()
                .map(|(name, price)| (name.to_string(), price))
                .collect(),
        )
    }
}

/// Models listed at `/v1/models`, by provider name (`openai`, `anthropic`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelCatalog {
    pub openai: Vec<String>,
    pub anthropic: Vec<String>,
}

impl Default for ModelCatalog {
    fn default() -> Self {
        let seed = PriceTable::seed();
        let names = |prefixes: &[&str]| {
            seed.0
                .keys()
                .filter(|name| prefixes.iter().any(|p| name.starts_with(p)))
                .cloned()
                .collect()
        };
        Self {
            openai: names(&["gpt-", "o3", "o4"]),
            anthropic: names(&["claude-"]),
        }
    }
}

impl ModelCatalog {
    /// The models a key of `provider` serves.
    pub fn for_provider(&self, provider: Provider) -> Vec<&str> {
        let list: Vec<&Vec<String>> = match provider {
            Provider::OpenAi => vec![&self.openai],
            Provider::Anthropic => vec![&self.anthropic],
            Provider::Amp => vec![&self.openai, &self.anthropic],
        };
        list.into_iter().flatten().map(String::as_str).collect()
    }
}

/// Everything run-time configurable, as one immutable value.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LiveSettings {
    pub proxy: ProxyTuning,
    pub health: HealthTuning,
    pub prices: PriceTable,
    pub models: ModelCatalog,
    pub retention: RetentionSettings,
    pub balance: BalanceSettings,
    pub alerts: AlertSettings,
    pub metrics: MetricsSettings,
    pub network: NetworkSettings,
}

/// The current [`LiveSettings`], swapped whole on every reload.
#[derive(Clone, Default)]
pub struct LiveConfig {
    current: Arc<ArcSwap<LiveSettings>>,
}

impl LiveConfig {
    /// The settings in force now.
    pub fn current(&self) -> Arc<LiveSettings> {
        self.current.load_full()
    }

    /// Re-reads every known key from the database. A stored value that no longer parses or is
    /// out of range keeps the default (and is logged) rather than stopping the server.
    pub async fn reload(&self, db: &impl ConnectionTrait) -> Result<(), ServiceError> {
        let entries = config_entries::list(db).await?;
        self.current
            .store(Arc::new(registry::settings_from(&entries)));
        Ok(())
    }

    /// Stores the seeded defaults (the price table) when absent, so admins edit real values;
    /// then loads everything.
    pub async fn seed(&self, db: &impl ConnectionTrait) -> Result<(), ServiceError> {
        registry::seed(db).await?;
        self.reload(db).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dated_model_names_take_the_longest_matching_price() {
        let prices = PriceTable::seed();
        assert_eq!(
            prices.price_of("gpt-4o-mini-2024-07-18").map(|p| p.input),
            Some(0.15)
        );
        assert_eq!(
            prices.price_of("gpt-4o-2024-08-06").map(|p| p.input),
            Some(2.5)
        );
        assert_eq!(
            prices
                .price_of("claude-sonnet-4-5-20250929")
                .map(|p| p.cache_write),
            Some(3.75)
        );
        assert!(prices.price_of("llama-3").is_none());
    }
}
