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

use crate::{error::ServiceError, provider::Provider, service::config_entries, vault::Vault};

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
/// Config key of [`Routing`].
pub const ROUTING_KEY: &str = "routing";

/// Which provider serves a client model, first match wins. A request whose model matches no
/// route is served as without routing: by keys of its own format only.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Routing {
    pub routes: Vec<ModelRoute>,
}

/// One route: client models matching the glob `match` go to keys of `provider`, with the
/// model renamed to `model` when it is set.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelRoute {
    #[serde(rename = "match", deserialize_with = "compiled_glob")]
    pub pattern: Glob,
    pub provider: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
}

/// A route's glob as written, compiled once when the setting is read rather than per request;
/// `None` when it does not compile (the setting's check refuses such a glob when stored).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Glob {
    pub text: String,
    #[serde(skip)]
    compiled: Option<glob::Pattern>,
}

impl Glob {
    pub fn new(text: impl Into<String>) -> Self {
        let text = text.into();
        let compiled = glob::Pattern::new(&text).ok();
        Self { text, compiled }
    }
}

fn compiled_glob<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Glob, D::Error> {
    String::deserialize(deserializer).map(Glob::new)
}

impl Routing {
    /// The first route whose glob matches `model`, with its provider. Patterns and providers
    /// were checked when the setting was stored, so one that fails here is skipped.
    pub fn route(&self, model: &str) -> Option<(Provider, &ModelRoute)> {
        self.routes.iter().find_map(|route| {
            if !route.pattern.compiled.as_ref()?.matches(model) {
                return None;
            }
            Some((route.provider.parse().ok()?, route))
        })
    }
}

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
    /// Largest single server-sent event accepted from an upstream; a larger one ends the
    /// stream with an error event.
    pub max_sse_event_bytes: usize,
    /// After a client hangs up on a stream, read the upstream on for this long to learn the
    /// real usage; 0 records an estimate at once.
    pub drain_after_disconnect_ms: u64,
    /// Write one `info` line per `/v1` request to the `amp_pool::access` target.
    pub access_log: bool,
    /// How long a conversation stays on the key that served its last turn (session affinity,
    /// for the upstream's per-account prompt cache); 0 turns affinity off.
    pub session_ttl_secs: u64,
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
            max_sse_event_bytes: 4 * 1024 * 1024,
            drain_after_disconnect_ms: 30_000,
            access_log: true,
            session_ttl_secs: 3_600,
        }
    }
}

/// How long keys cool down after transient failures. Keys are disabled automatically only for
/// failures that belong to the key (auth refused, no credit), never after a count of failures.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HealthTuning {
    /// Cooldown after a 429 that names no reset time (doubled per consecutive failure).
    pub rate_limit_cooldown_secs: u64,
    /// Cooldown after a 5xx, 529, timeout or connection failure (doubled per consecutive
    /// failure).
    pub error_cooldown_secs: u64,
    /// The longest a backed-off cooldown lasts.
    pub max_cooldown_secs: u64,
    /// No longer used (transient failures never disable a key); accepted so that stored
    /// settings from older versions still load.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_threshold: Option<u32>,
    /// No longer used; accepted like `failure_threshold`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_window_secs: Option<u64>,
}

impl Default for HealthTuning {
    fn default() -> Self {
        Self {
            rate_limit_cooldown_secs: 60,
            error_cooldown_secs: 10,
            max_cooldown_secs: 600,
            failure_threshold: None,
            failure_window_secs: None,
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
    /// Writes to the five-minute cache (and to any cache, for providers with one kind).
    pub cache_write: f64,
    /// Writes to Anthropic's one-hour cache; when absent, twice `input` (Anthropic's rule).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_write_1h: Option<f64>,
}

impl ModelPrice {
    /// The one-hour cache-write price.
    pub fn cache_write_1h(&self) -> f64 {
        self.cache_write_1h.unwrap_or(self.input * 2.0)
    }
}

/// Prices by model name. A model matches its exact name, or a name followed by a date or
/// version suffix only (`-2025-08-07`, `-20250929`, `@20250929`, `-latest`):
/// `claude-sonnet-4-5-20250929` is priced as `claude-sonnet-4-5`, but `claude-opus-4-5` is not
/// `claude-opus-4` and `gpt-5-pro` is not `gpt-5` — a model without its own price is
/// `cost_unknown` rather than charged at another model's rate.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PriceTable(pub BTreeMap<String, ModelPrice>);

/// Whether `suffix` (what follows a priced name) is only a date or version.
fn is_version_suffix(suffix: &str) -> bool {
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    if suffix == "-latest" {
        return true;
    }
    if let Some(date) = suffix.strip_prefix('@') {
        return digits(date, 8);
    }
    let Some(date) = suffix.strip_prefix('-') else {
        return false;
    };
    if digits(date, 8) {
        return true;
    }
    let parts: Vec<&str> = date.split('-').collect();
    matches!(parts.as_slice(), [y, m, d] if digits(y, 4) && digits(m, 2) && digits(d, 2))
}

impl PriceTable {
    /// The price of `model`, if it has one.
    pub fn price_of(&self, model: &str) -> Option<&ModelPrice> {
        self.priced_name(model).map(|(_, price)| price)
    }

    /// The table's name for `model` and its price: the exact name, or the name `model` is
    /// followed by a date or version suffix of.
    pub fn priced_name(&self, model: &str) -> Option<(&str, &ModelPrice)> {
        if let Some((name, price)) = self.0.get_key_value(model) {
            return Some((name, price));
        }
        // The suffix starts at a '-' or '@'; try each such cut from the right.
        model
            .char_indices()
            .rev()
            .filter(|(_, c)| matches!(c, '-' | '@'))
            .find_map(|(at, _)| {
                let (name, suffix) = model.split_at(at);
                is_version_suffix(suffix)
                    .then(|| self.0.get_key_value(name))
                    .flatten()
            })
            .map(|(name, price)| (name.as_str(), price))
    }

    /// List prices of common OpenAI and Anthropic models, USD per million tokens, as published
    /// by OpenAI and Anthropic on 2026-11-26. Anthropic: cache reads 0.1×, five-minute writes
    /// 1.25×, one-hour writes 2× the input price. Seeded once, on first start.
    pub fn seed() -> Self {
        let openai = |input, output, cache_read| ModelPrice {
            input,
            output,
            cache_read,
            cache_write: 0.0,
            cache_write_1h: None,
        };
        // Written out rather than multiplied, so the stored figures read exactly.
        let anthropic = |input, output, cache_read, cache_write, cache_write_1h| ModelPrice {
            input,
            output,
            cache_read,
            cache_write,
            cache_write_1h: Some(cache_write_1h),
        };
        let entries = [
            ("gpt-5", openai(1.25, 10.0, 0.125)),
            ("gpt-5-mini", openai(0.25, 2.0, 0.025)),
            ("gpt-5-nano", openai(0.05, 0.4, 0.005)),
            ("gpt-5-codex", openai(1.25, 10.0, 0.125)),
            ("gpt-5.1", openai(1.25, 10.0, 0.125)),
            ("gpt-5.1-codex", openai(1.25, 10.0, 0.125)),
            ("gpt-5.1-codex-mini", openai(0.25, 2.0, 0.025)),
            // No cached-input discount on the pro models.
            ("gpt-5-pro", openai(15.0, 120.0, 15.0)),
            ("gpt-4.1", openai(2.0, 8.0, 0.5)),
            ("gpt-4.1-mini", openai(0.4, 1.6, 0.1)),
            ("gpt-4.1-nano", openai(0.1, 0.4, 0.025)),
            ("gpt-4o", openai(2.5, 10.0, 1.25)),
            ("gpt-4o-mini", openai(0.15, 0.6, 0.075)),
            ("o3", openai(2.0, 8.0, 0.5)),
            ("o3-pro", openai(20.0, 80.0, 20.0)),
            ("o3-mini", openai(1.1, 4.4, 0.55)),
            ("o4-mini", openai(1.1, 4.4, 0.275)),
            // Embeddings bill their input only; legacy completions, input and output.
            ("text-embedding-3-small", openai(0.02, 0.0, 0.0)),
            ("text-embedding-3-large", openai(0.13, 0.0, 0.0)),
            ("text-embedding-ada-002", openai(0.1, 0.0, 0.0)),
            ("gpt-3.5-turbo-instruct", openai(1.5, 2.0, 0.0)),
            ("claude-opus-4-5", anthropic(5.0, 25.0, 0.5, 6.25, 10.0)),
            ("claude-opus-4-1", anthropic(15.0, 75.0, 1.5, 18.75, 30.0)),
            ("claude-opus-4", anthropic(15.0, 75.0, 1.5, 18.75, 30.0)),
            ("claude-sonnet-4-5", anthropic(3.0, 15.0, 0.3, 3.75, 6.0)),
            ("claude-sonnet-4", anthropic(3.0, 15.0, 0.3, 3.75, 6.0)),
            ("claude-3-7-sonnet", anthropic(3.0, 15.0, 0.3, 3.75, 6.0)),
            ("claude-haiku-4-5", anthropic(1.0, 5.0, 0.1, 1.25, 2.0)),
            ("claude-3-5-haiku", anthropic(0.8, 4.0, 0.08, 1.0, 1.6)),
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
    pub routing: Routing,
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
    pub async fn reload(
        &self,
        db: &impl ConnectionTrait,
        vault: &Vault,
    ) -> Result<(), ServiceError> {
        let entries = config_entries::list(db, vault).await?;
        self.current
            .store(Arc::new(registry::settings_from(&entries)));
        Ok(())
    }

    /// Stores the seeded defaults (the price table) when absent, so admins edit real values;
    /// then loads everything.
    pub async fn seed(&self, db: &impl ConnectionTrait, vault: &Vault) -> Result<(), ServiceError> {
        registry::seed(db, vault).await?;
        self.reload(db, vault).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_matching_route_wins_and_its_glob_survives_a_round_trip() {
        let routing: Routing = serde_json::from_value(serde_json::json!({"routes": [
            {"match": "gpt-4o*", "provider": "anthropic", "model": "claude-sonnet-4-5"},
            {"match": "[", "provider": "openai"},
            {"match": "*", "provider": "openai"},
        ]}))
        .expect("the issue's shape");
        let to = |model: &str| {
            routing
                .route(model)
                .map(|(provider, r)| (provider, r.model.clone()))
        };
        assert_eq!(
            to("gpt-4o-mini"),
            Some((Provider::Anthropic, Some("claude-sonnet-4-5".into())))
        );
        // The glob that does not compile is skipped, not matched.
        assert_eq!(to("claude-haiku-4-5"), Some((Provider::OpenAi, None)));
        let stored = serde_json::to_value(&routing).expect("serialises");
        assert_eq!(stored["routes"][1]["match"], "[");
        assert_eq!(
            serde_json::from_value::<Routing>(stored).ok(),
            Some(routing)
        );
    }

    #[test]
    fn dated_model_names_take_their_models_price() {
        let prices = PriceTable::seed();
        let input = |model: &str| prices.price_of(model).map(|p| p.input);
        assert_eq!(input("gpt-4o-mini-2024-07-18"), Some(0.15));
        assert_eq!(input("gpt-4o-2024-08-06"), Some(2.5));
        assert_eq!(input("claude-sonnet-4-5-20250929"), Some(3.0));
        assert_eq!(input("claude-sonnet-4-5@20250929"), Some(3.0));
        assert_eq!(input("claude-3-7-sonnet-latest"), Some(3.0));
        assert_eq!(
            prices
                .price_of("claude-sonnet-4-5-20250929")
                .map(|p| (p.cache_write, p.cache_write_1h())),
            Some((3.75, 6.0))
        );
        assert!(prices.price_of("llama-3").is_none());
    }

    #[test]
    fn a_longer_model_name_is_not_priced_as_its_prefix() {
        let prices = PriceTable::seed();
        let input = |model: &str| prices.price_of(model).map(|p| p.input);
        assert_eq!(input("claude-opus-4-5"), Some(5.0));
        assert_eq!(input("claude-opus-4-5-20251101"), Some(5.0));
        assert_eq!(input("gpt-5-pro"), Some(15.0));
        assert_eq!(input("o3-pro-2025-06-10"), Some(20.0));
        assert_eq!(input("o3-mini"), Some(1.1));
        assert_eq!(input("gpt-5-codex"), Some(1.25));
        assert_eq!(input("gpt-5-search-api"), None);
        assert_eq!(input("claude-opus-4-7"), None);
        assert_eq!(input("gpt-4o-2024-08"), None);
        assert_eq!(input("gpt-4o-audio-preview"), None);
    }
}
