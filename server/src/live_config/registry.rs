//! The one registry of run-time settings: every known key with its default, how its value is
//! parsed and range-checked, and where it lands in [`LiveSettings`]. `setConfig`, the start-up
//! seed and the live reload all go through this table; `service::config_entries` only stores.

use sea_orm::ConnectionTrait;
use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;

use super::{
    ALERTS_KEY, BALANCE_KEY, HEALTH_KEY, LiveSettings, METRICS_KEY, MODELS_KEY, NETWORK_KEY,
    PRICES_KEY, PROXY_KEY, PriceTable, RETENTION_KEY, ROUTING_KEY, ranges::Validate,
};
use crate::{entity::config_entry, error::ServiceError, service::config_entries, vault::Vault};

/// Keys under this prefix hold free-form JSON for the admin console; the server never reads
/// them.
pub const FREE_FORM_PREFIX: &str = "ui.";

/// One known setting.
pub struct Setting {
    /// The config key.
    pub key: &'static str,
    /// What the setting shapes, for admins.
    pub description: &'static str,
    /// Stored at first start so admins edit real values rather than an empty table.
    seeded: bool,
    default: fn() -> Value,
    /// Parses and range-checks `value`, then puts it in place.
    load: fn(&Value, &mut LiveSettings) -> Result<(), ServiceError>,
    current: fn(&LiveSettings) -> Value,
}

impl Setting {
    /// The value in force when nothing is stored.
    pub fn default_value(&self) -> Value {
        (self.default)()
    }

    /// The value in force in `live`, every field filled in.
    pub fn current_value(&self, live: &LiveSettings) -> Value {
        (self.current)(live)
    }
}

fn json_of(value: &impl Serialize) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// Parses `value` as the setting under `key` and checks its ranges; errors name the field as
/// `key.path` (`proxy.first_byte_timeout_ms`).
fn checked<T: DeserializeOwned + Validate>(key: &str, value: &Value) -> Result<T, ServiceError> {
    let parsed: T = serde_path_to_error::deserialize(value).map_err(|error| {
        let path = error.path().to_string();
        let field = if path == "." {
            key.to_string()
        } else {
            format!("{key}.{path}")
        };
        ServiceError::invalid(field, error.into_inner().to_string())
    })?;
    parsed
        .validate()
        .map_err(|error| ServiceError::invalid(format!("{key}.{}", error.field), error.message))?;
    Ok(parsed)
}

macro_rules! setting {
    ($key:expr, $field:ident: $ty:ty = $default:expr, seeded: $seeded:expr, $description:expr) => {
        Setting {
            key: $key,
            description: $description,
            seeded: $seeded,
            default: || json_of(&$default),
            load: |value, live| {
                live.$field = checked::<$ty>($key, value)?;
                Ok(())
            },
            current: |live| json_of(&live.$field),
        }
    };
}

/// Every known setting, by key.
static SETTINGS: [Setting; 10] = [
    setting!(ALERTS_KEY, alerts: super::AlertSettings = super::AlertSettings::default(), seeded: false,
        "Webhook alerts: URLs, which events, low-balance thresholds, delivery attempts."),
    setting!(BALANCE_KEY, balance: super::BalanceSettings = super::BalanceSettings::default(), seeded: false,
        "How often balances are refreshed."),
    setting!(HEALTH_KEY, health: super::HealthTuning = super::HealthTuning::default(), seeded: false,
        "When keys cool down or are disabled automatically."),
    setting!(METRICS_KEY, metrics: super::MetricsSettings = super::MetricsSettings::default(), seeded: false,
        "The bearer token /metrics asks for, if any."),
    setting!(PRICES_KEY, prices: PriceTable = PriceTable::seed(), seeded: true,
        "USD per million tokens"),
    setting!(MODELS_KEY, models: super::ModelCatalog = super::ModelCatalog::default(), seeded: false,
        "The models listed at /v1/models, by provider."),
    setting!(NETWORK_KEY, network: super::NetworkSettings = super::NetworkSettings::default(), seeded: false,
        "Whether keys and webhooks may point at link-local and cloud metadata addresses."),
    setting!(PROXY_KEY, proxy: super::ProxyTuning = super::ProxyTuning::default(), seeded: false,
        "How the proxy forwards requests: attempts, timeouts, User-Agent, body size."),
    setting!(RETENTION_KEY, retention: super::RetentionSettings = super::RetentionSettings::default(), seeded: false,
        "How long raw request log rows are kept."),
    setting!(ROUTING_KEY, routing: super::Routing = super::Routing::default(), seeded: false,
        "Client models served by another provider's keys (translated between OpenAI and Anthropic formats): {\"routes\": [{\"match\": \"gpt-4o*\", \"provider\": \"anthropic\", \"model\": \"claude-sonnet-4-5\"}]}, first match wins."),
];

/// Every known setting, by key.
pub fn known() -> &'static [Setting] {
    &SETTINGS
}

/// The known setting under `key`.
pub fn find(key: &str) -> Option<&'static Setting> {
    SETTINGS.iter().find(|setting| setting.key == key)
}

/// Whether `key` holds free-form console data the server does not read.
pub fn is_free_form(key: &str) -> bool {
    key.starts_with(FREE_FORM_PREFIX)
}

/// Refuses an unknown key, and a known key's value that does not parse, is out of range, or
/// (webhooks) points where `current.network` does not allow.
pub fn check(key: &str, value: &Value, current: &LiveSettings) -> Result<(), ServiceError> {
    match find(key) {
        Some(setting) => {
            let mut next = current.clone();
            (setting.load)(value, &mut next)?;
            if key == ALERTS_KEY {
                for (i, url) in next.alerts.webhooks.iter().enumerate() {
                    crate::service::validate::outbound_destination(
                        &format!("{ALERTS_KEY}.webhooks[{i}]"),
                        url,
                        next.network.allow_link_local_upstreams,
                    )?;
                }
            }
            Ok(())
        }
        None if is_free_form(key) => Ok(()),
        None => Err(ServiceError::invalid(
            "key",
            format!(
                "{key:?} is not a setting; the settings are {}, and keys under \"{FREE_FORM_PREFIX}\" hold free-form JSON",
                SETTINGS
                    .iter()
                    .map(|s| s.key)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
    }
}

/// Checks (against the settings in force, `current`), then stores the entry under `key`.
pub async fn store(
    db: &impl ConnectionTrait,
    vault: &Vault,
    key: &str,
    value: &Value,
    memo: Option<&str>,
    current: &LiveSettings,
) -> Result<config_entry::Model, ServiceError> {
    let value = match secret_field(key) {
        Some(_) => {
            let stored = config_entries::get(db, vault, key)
                .await?
                .map(|entry| config_entries::value_of(&entry));
            keep_masked_secrets(key, value, stored.as_ref())
        }
        None => value.clone(),
    };
    check(key, &value, current)?;
    config_entries::set(db, vault, key, &value, memo).await
}

/// The secret field of a setting, if it has one: `metrics.token`.
fn secret_field(key: &str) -> Option<&'static str> {
    (key == METRICS_KEY).then_some("token")
}

/// `value` as it may be shown: a secret field (`metrics.token`) masked with
/// [`crate::secret::mask`], so no answer ever carries it in clear.
pub fn redacted(key: &str, mut value: Value) -> Value {
    if let Some(field) = secret_field(key)
        && let Some(secret) = value.get_mut(field)
        && let Some(text) = secret.as_str()
    {
        *secret = Value::String(crate::secret::mask(text));
    }
    value
}

/// `value` with a secret field that equals the masked form of the `stored` one replaced by the
/// stored secret: a form that sends back what it was shown keeps the secret.
fn keep_masked_secrets(key: &str, value: &Value, stored: Option<&Value>) -> Value {
    let mut value = value.clone();
    if let Some(field) = secret_field(key)
        && let Some(stored_secret) = stored.and_then(|stored| stored.get(field))
        && let Some(stored_text) = stored_secret.as_str()
        && let Some(sent) = value.get_mut(field)
        && sent.as_str() == Some(crate::secret::mask(stored_text).as_str())
    {
        *sent = stored_secret.clone();
    }
    value
}

/// The settings the stored `entries` amount to: a known key that is not stored, or whose stored
/// value no longer parses or is out of range (it is logged), takes its default.
pub fn settings_from(entries: &[config_entry::Model]) -> LiveSettings {
    let mut live = LiveSettings::default();
    for setting in &SETTINGS {
        let stored = entries.iter().find(|entry| entry.key == setting.key);
        if let Some(entry) = stored {
            match (setting.load)(&config_entries::value_of(entry), &mut live) {
                Ok(()) => continue,
                Err(error) => {
                    tracing::warn!(key = setting.key, error = ?error.to_string(), "a stored setting is unreadable or out of range; using its default");
                }
            }
        }
        if let Err(error) = (setting.load)(&setting.default_value(), &mut live) {
            tracing::error!(key = setting.key, error = %error, "a setting's default is out of range");
        }
    }
    live
}

/// Stores the default of every seeded setting that is not stored yet.
pub async fn seed(db: &impl ConnectionTrait, vault: &Vault) -> Result<(), ServiceError> {
    for setting in SETTINGS.iter().filter(|s| s.seeded) {
        if config_entries::get(db, vault, setting.key).await?.is_none() {
            config_entries::set(
                db,
                vault,
                setting.key,
                &setting.default_value(),
                Some(setting.description),
            )
            .await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_registry_is_sorted_and_every_default_loads() {
        let keys: Vec<&str> = known().iter().map(|s| s.key).collect();
        let mut sorted = keys.clone();
        sorted.sort_unstable();
        assert_eq!(keys, sorted);
        for setting in known() {
            assert_eq!(
                check(
                    setting.key,
                    &setting.default_value(),
                    &LiveSettings::default()
                )
                .ok(),
                Some(()),
                "{}",
                setting.key
            );
        }
    }

    #[test]
    fn known_keys_are_checked_and_unknown_keys_refused() {
        let live = LiveSettings::default();
        assert!(check(PROXY_KEY, &json!({"max_attempts": 2}), &live).is_ok());
        assert!(check("ui.preferences", &json!([1, 2]), &live).is_ok());
        let field = |key, value| match check(key, &value, &LiveSettings::default()) {
            Err(ServiceError::InvalidInput { field, .. }) => field,
            other => format!("{other:?}"),
        };
        assert_eq!(
            field(PROXY_KEY, json!({"max_attempts": 0})),
            "proxy.max_attempts"
        );
        assert_eq!(
            field(PROXY_KEY, json!({"max_attempts": "2"})),
            "proxy.max_attempts"
        );
        assert_eq!(
            field(PRICES_KEY, json!({"m": {"input": -1}})),
            "model_prices.m.input"
        );
        assert_eq!(field("retention_days", json!(30)), "key");
        assert_eq!(
            field(
                ALERTS_KEY,
                json!({"webhooks": ["http://169.254.169.254/x"]})
            ),
            "alerts.webhooks[0]"
        );
    }

    #[test]
    fn routing_takes_the_issue_shape_and_names_a_bad_glob_or_provider() {
        let live = LiveSettings::default();
        let routing = json!({"routes": [
            {"match": "gpt-4o*", "provider": "anthropic", "model": "claude-sonnet-4-5"},
            {"match": "claude-*", "provider": "openai"}]});
        assert!(check(ROUTING_KEY, &routing, &live).is_ok());
        let field = |value| match check(ROUTING_KEY, &value, &live) {
            Err(ServiceError::InvalidInput { field, .. }) => field,
            other => format!("{other:?}"),
        };
        assert_eq!(
            field(json!({"routes": [{"match": "gpt-[", "provider": "openai"}]})),
            "routing.routes[0].match"
        );
        assert_eq!(
            field(json!({"routes": [{"match": "x", "provider": "openai"},
                {"match": "gpt-*", "provider": "google"}]})),
            "routing.routes[1].provider"
        );
        assert_eq!(
            field(json!({"routes": [{"glob": "x", "provider": "openai"}]})),
            "routing.routes[0].glob"
        );
    }

    #[test]
    fn the_first_matching_route_wins() {
        let routing: super::super::Routing = serde_json::from_value(json!({"routes": [
            {"match": "gpt-4o*", "provider": "anthropic", "model": "claude-sonnet-4-5"},
            {"match": "gpt-*", "provider": "amp"}]}))
        .expect("routing");
        let (provider, route) = routing.route("gpt-4o-mini").expect("a route");
        assert_eq!(provider, crate::provider::Provider::Anthropic);
        assert_eq!(route.model.as_deref(), Some("claude-sonnet-4-5"));
        let (provider, route) = routing.route("gpt-5").expect("a route");
        assert_eq!(provider, crate::provider::Provider::Amp);
        assert_eq!(route.model, None);
        assert!(routing.route("claude-opus-4-5").is_none());
    }

    #[test]
    fn an_out_of_range_stored_value_falls_back_to_the_default() {
        let entry = config_entry::Model {
            id: 1,
            key: PROXY_KEY.into(),
            value: r#"{"first_byte_timeout_ms": 0, "max_attempts": 2}"#.into(),
            memo: String::new(),
            create_time: chrono::Utc::now(),
            update_time: chrono::Utc::now(),
        };
        let live = settings_from(&[entry]);
        assert_eq!(live.proxy, super::super::ProxyTuning::default());
        assert_eq!(live.prices, PriceTable::seed());
    }
}
