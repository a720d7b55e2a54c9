//! The allowed range of every run-time setting. A value is checked before it is stored and again
//! when it is loaded, so a value that would break the proxy (a zero timeout, zero attempts)
//! never takes effect.

use std::fmt::Display;

use super::{
    AlertSettings, BalanceSettings, HealthTuning, MetricsSettings, ModelCatalog, NetworkSettings,
    PriceTable, ProxyTuning, RetentionSettings, Routing,
};

/// A setting field outside its allowed range; `field` is the path inside the setting's value.
#[derive(Debug, PartialEq)]
pub struct OutOfRange {
    /// E.g. `first_byte_timeout_ms`, `webhooks[0]`, `gpt-4o.input`.
    pub field: String,
    /// A sentence naming the allowed range.
    pub message: String,
}

/// A setting value that can say whether it is within range.
pub trait Validate {
    /// The first field out of range, if any.
    fn validate(&self) -> Result<(), OutOfRange>;
}

/// One hour, the longest timeout.
const HOUR_MS: u64 = 3_600_000;
/// One day, the longest cooldown or window.
const DAY_SECS: u64 = 86_400;

fn out_of_range(field: impl Into<String>, message: impl Into<String>) -> OutOfRange {
    OutOfRange {
        field: field.into(),
        message: message.into(),
    }
}

/// `value` must lie in `min..=max`; `what` says the range in words (units).
fn within<T: PartialOrd + Display>(
    field: &str,
    value: T,
    min: T,
    max: T,
    what: &str,
) -> Result<(), OutOfRange> {
    if value < min || value > max {
        return Err(out_of_range(
            field,
            format!("must be from {min} to {max} ({what}), got {value}"),
        ));
    }
    Ok(())
}

fn timeout_ms(field: &str, value: u64) -> Result<(), OutOfRange> {
    within(field, value, 100, HOUR_MS, "milliseconds: 100 ms to 1 hour")
}

/// A finite, non-negative amount of at most `max`.
fn amount(field: &str, value: f64, max: f64) -> Result<(), OutOfRange> {
    if !value.is_finite() || !(0.0..=max).contains(&value) {
        return Err(out_of_range(
            field,
            format!("must be a number from 0 to {max}, got {value}"),
        ));
    }
    Ok(())
}

/// A name of 1 to 200 characters without control characters.
fn name(field: &str, value: &str) -> Result<(), OutOfRange> {
    if value.is_empty() || value.chars().count() > 200 || value.chars().any(char::is_control) {
        return Err(out_of_range(
            field,
            "must be 1 to 200 characters without control characters",
        ));
    }
    Ok(())
}

impl Validate for ProxyTuning {
    fn validate(&self) -> Result<(), OutOfRange> {
        within("max_attempts", self.max_attempts, 1, 10, "attempts")?;
        timeout_ms("connect_timeout_ms", self.connect_timeout_ms)?;
        timeout_ms("first_byte_timeout_ms", self.first_byte_timeout_ms)?;
        timeout_ms("stream_idle_timeout_ms", self.stream_idle_timeout_ms)?;
        let agent = &self.default_user_agent;
        if agent.is_empty() || agent.len() > 512 || agent.chars().any(|c| !(' '..='~').contains(&c))
        {
            return Err(out_of_range(
                "default_user_agent",
                "must be 1 to 512 printable ASCII characters (it is sent as an HTTP header)",
            ));
        }
        within(
            "max_body_bytes",
            self.max_body_bytes,
            1024,
            256 * 1024 * 1024,
            "bytes: 1 KiB to 256 MiB",
        )?;
        within(
            "max_sse_event_bytes",
            self.max_sse_event_bytes,
            64 * 1024,
            64 * 1024 * 1024,
            "bytes: 64 KiB to 64 MiB",
        )?;
        within(
            "drain_after_disconnect_ms",
            self.drain_after_disconnect_ms,
            0,
            HOUR_MS / 6,
            "milliseconds: up to 10 minutes; 0 records an estimate at once",
        )?;
        within(
            "session_ttl_secs",
            self.session_ttl_secs,
            0,
            7 * DAY_SECS,
            "seconds: up to 7 days; 0 turns session affinity off",
        )
    }
}

impl Validate for HealthTuning {
    fn validate(&self) -> Result<(), OutOfRange> {
        within(
            "rate_limit_cooldown_secs",
            self.rate_limit_cooldown_secs,
            1,
            DAY_SECS,
            "seconds: 1 s to 1 day",
        )?;
        within(
            "error_cooldown_secs",
            self.error_cooldown_secs,
            0,
            DAY_SECS,
            "seconds: up to 1 day; 0 keeps a failing key in rotation",
        )?;
        within(
            "max_cooldown_secs",
            self.max_cooldown_secs,
            1,
            DAY_SECS,
            "seconds: 1 s to 1 day",
        )
    }
}

impl Validate for PriceTable {
    fn validate(&self) -> Result<(), OutOfRange> {
        for (model, price) in &self.0 {
            name(model, model)?;
            for (kind, value) in [
                ("input", price.input),
                ("output", price.output),
                ("cache_read", price.cache_read),
                ("cache_write", price.cache_write),
                ("cache_write_1h", price.cache_write_1h()),
            ] {
                amount(&format!("{model}.{kind}"), value, 100_000.0)?;
            }
        }
        Ok(())
    }
}

impl Validate for ModelCatalog {
    fn validate(&self) -> Result<(), OutOfRange> {
        for (provider, names) in [("openai", &self.openai), ("anthropic", &self.anthropic)] {
            within(provider, names.len(), 0, 1000, "models per provider")?;
            for (i, model) in names.iter().enumerate() {
                name(&format!("{provider}[{i}]"), model)?;
            }
        }
        Ok(())
    }
}

impl Validate for Routing {
    fn validate(&self) -> Result<(), OutOfRange> {
        within("routes", self.routes.len(), 0, 200, "routes")?;
        for (i, route) in self.routes.iter().enumerate() {
            name(&format!("routes[{i}].match"), &route.pattern.text)?;
            if let Err(error) = glob::Pattern::new(&route.pattern.text) {
                return Err(out_of_range(
                    format!("routes[{i}].match"),
                    format!("is not a valid glob ({error}); use * for any characters, ? for one"),
                ));
            }
            if route.provider.parse::<crate::provider::Provider>().is_err() {
                return Err(out_of_range(
                    format!("routes[{i}].provider"),
                    "must be openai, anthropic or amp",
                ));
            }
            if let Some(model) = &route.model {
                name(&format!("routes[{i}].model"), model)?;
            }
        }
        Ok(())
    }
}

impl Validate for RetentionSettings {
    fn validate(&self) -> Result<(), OutOfRange> {
        within("days", self.days, 0, 3650, "days: 0 keeps rows forever")?;
        within("batch_size", self.batch_size, 1, 100_000, "rows per delete")?;
        within(
            "interval_secs",
            self.interval_secs,
            60,
            DAY_SECS,
            "seconds: 1 minute to 1 day",
        )
    }
}

impl Validate for BalanceSettings {
    fn validate(&self) -> Result<(), OutOfRange> {
        if self.refresh_interval_secs == 0 {
            return Ok(());
        }
        within(
            "refresh_interval_secs",
            self.refresh_interval_secs,
            60,
            7 * DAY_SECS,
            "seconds: 1 minute to 7 days, or 0 to turn the refresher off",
        )
    }
}

/// The alert kinds a webhook may ask for.
pub const ALERT_EVENTS: [&str; 4] = [
    "key_disabled",
    "balance_low",
    "provider_unavailable",
    "recovered",
];

impl Validate for AlertSettings {
    fn validate(&self) -> Result<(), OutOfRange> {
        within("webhooks", self.webhooks.len(), 0, 20, "webhooks")?;
        for (i, url) in self.webhooks.iter().enumerate() {
            crate::config::parse_http_url(url)
                .map_err(|why| out_of_range(format!("webhooks[{i}]"), why))?;
        }
        for (i, event) in self.events.iter().enumerate() {
            if !ALERT_EVENTS.contains(&event.as_str()) {
                return Err(out_of_range(
                    format!("events[{i}]"),
                    format!("must be one of {}", ALERT_EVENTS.join(", ")),
                ));
            }
        }
        if let Some(usd) = self.low_balance_usd {
            amount("low_balance_usd", usd, 1e9)?;
        }
        for (id, usd) in &self.key_thresholds {
            let field = format!("key_thresholds.{id}");
            if id.parse::<i32>().is_err() {
                return Err(out_of_range(
                    field,
                    "must be keyed by a key id such as \"3\"",
                ));
            }
            amount(&field, *usd, 1e9)?;
        }
        within("max_attempts", self.max_attempts, 1, 10, "attempts")
    }
}

impl Validate for MetricsSettings {
    fn validate(&self) -> Result<(), OutOfRange> {
        match &self.token {
            Some(token)
                if token.len() < 8
                    || token.len() > 256
                    || !token.chars().all(|c| c.is_ascii_graphic()) =>
            {
                Err(out_of_range(
                    "token",
                    "must be 8 to 256 printable ASCII characters without spaces, or null",
                ))
            }
            _ => Ok(()),
        }
    }
}

impl Validate for NetworkSettings {
    fn validate(&self) -> Result<(), OutOfRange> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_is_within_range() {
        assert_eq!(ProxyTuning::default().validate(), Ok(()));
        assert_eq!(HealthTuning::default().validate(), Ok(()));
        assert_eq!(PriceTable::seed().validate(), Ok(()));
        assert_eq!(ModelCatalog::default().validate(), Ok(()));
        assert_eq!(RetentionSettings::default().validate(), Ok(()));
        assert_eq!(BalanceSettings::default().validate(), Ok(()));
        assert_eq!(AlertSettings::default().validate(), Ok(()));
        assert_eq!(MetricsSettings::default().validate(), Ok(()));
    }

    #[test]
    fn a_zero_timeout_names_its_field_and_the_range() {
        let proxy = ProxyTuning {
            first_byte_timeout_ms: 0,
            ..ProxyTuning::default()
        };
        let error = proxy.validate().expect_err("0 ms is too short");
        assert_eq!(error.field, "first_byte_timeout_ms");
        assert_eq!(
            error.message,
            "must be from 100 to 3600000 (milliseconds: 100 ms to 1 hour), got 0"
        );
    }
}
