//! A key's live health: cooldowns with exponential backoff after rate limits and transient
//! failures, and disables only for failures that belong to the key (auth refused, no credit).
//!
//! A transient failure (429, 5xx, 529, a timeout, a connection failure) never disables a key:
//! any client can provoke one, so it only cools the key down. Each consecutive transient
//! failure doubles the cooldown up to a cap; a success resets the streak.

use std::{
    sync::atomic::{AtomicBool, AtomicI64, AtomicU32, Ordering},
    time::Duration,
};

use crate::live_config::HealthTuning;

/// What went wrong with an upstream attempt, as far as the key's health is concerned.
#[derive(Clone, Debug, PartialEq)]
pub enum Failure {
    /// 429; the upstream may say when to come back.
    RateLimited { retry_after: Option<Duration> },
    /// 5xx, 529, a timeout or a connection failure.
    Transient,
    /// 401 or 403: the key is not accepted.
    Rejected { status: u16 },
    /// 402, or an `insufficient_quota` / `billing_error` error type or code.
    NoCredit { detail: String },
}

/// What the pool should do about a failure.
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    /// Skip the key until this time (Unix ms).
    CoolDown { until_ms: i64 },
    /// Disable the key, with this reason for admins.
    Disable { reason: String },
}

/// Live health of one key, shared across snapshot rebuilds.
#[derive(Debug, Default)]
pub struct KeyHealth {
    cooldown_until_ms: AtomicI64,
    auto_disabled: AtomicBool,
    /// Transient failures since the last success.
    streak: AtomicU32,
    /// Spend recorded by this instance since start, nano-USD.
    spend: AtomicI64,
}

impl KeyHealth {
    /// Until when the key cools down (Unix ms; 0 or past means available).
    pub fn cooldown_until_ms(&self) -> i64 {
        self.cooldown_until_ms.load(Ordering::Relaxed)
    }

    /// Whether the pool disabled the key since the last snapshot.
    pub fn is_auto_disabled(&self) -> bool {
        self.auto_disabled.load(Ordering::Relaxed)
    }

    /// Keeps the key out of rotation until `until_ms` (a later cooldown wins).
    pub fn cool_down_until(&self, until_ms: i64) {
        self.cooldown_until_ms
            .fetch_max(until_ms, Ordering::Relaxed);
    }

    /// Takes the key out of rotation until an admin enables it again.
    pub fn disable(&self) {
        self.auto_disabled.store(true, Ordering::Relaxed);
    }

    /// Clears cooldown, disable and failure streak.
    pub fn reset(&self) {
        self.cooldown_until_ms.store(0, Ordering::Relaxed);
        self.auto_disabled.store(false, Ordering::Relaxed);
        self.streak.store(0, Ordering::Relaxed);
    }

    /// Notes a successful answer: the next transient failure starts the backoff afresh.
    pub fn record_success(&self) {
        // Read first: most successes follow successes, and a plain load keeps the cache line
        // shared between cores.
        if self.streak.load(Ordering::Relaxed) != 0 {
            self.streak.store(0, Ordering::Relaxed);
        }
    }

    /// Transient failures since the last success.
    pub fn streak(&self) -> u32 {
        self.streak.load(Ordering::Relaxed)
    }

    /// Adds spend (nano-USD) seen by this instance.
    pub fn add_spend(&self, nanos: i64) {
        self.spend.fetch_add(nanos, Ordering::Relaxed);
    }

    /// Spend (nano-USD) seen by this instance since it started.
    pub fn spend(&self) -> i64 {
        self.spend.load(Ordering::Relaxed)
    }

    /// Applies a failure at `now_ms` and says what it means for the key.
    pub fn record_failure(&self, failure: &Failure, now_ms: i64, tuning: &HealthTuning) -> Verdict {
        let cool_for = |duration: Duration| {
            let until_ms =
                now_ms.saturating_add(i64::try_from(duration.as_millis()).unwrap_or(i64::MAX));
            self.cool_down_until(until_ms);
            Verdict::CoolDown { until_ms }
        };
        match failure {
            Failure::Rejected { status } => {
                self.disable();
                Verdict::Disable {
                    reason: format!("upstream rejected the key (HTTP {status})"),
                }
            }
            Failure::NoCredit { detail } => {
                self.disable();
                Verdict::Disable {
                    reason: format!("out of credit: {detail}"),
                }
            }
            Failure::RateLimited { retry_after } => {
                let streak = self
                    .streak
                    .fetch_add(1, Ordering::Relaxed)
                    .saturating_add(1);
                // The upstream's own reset time is honoured as given (it is already clamped
                // when read); without one, the default backs off like any transient failure.
                cool_for(retry_after.unwrap_or_else(|| {
                    backoff(
                        tuning.rate_limit_cooldown_secs,
                        streak,
                        tuning.max_cooldown_secs,
                    )
                }))
            }
            Failure::Transient => {
                let streak = self
                    .streak
                    .fetch_add(1, Ordering::Relaxed)
                    .saturating_add(1);
                cool_for(backoff(
                    tuning.error_cooldown_secs,
                    streak,
                    tuning.max_cooldown_secs,
                ))
            }
        }
    }
}

/// `base × 2^(streak-1)` seconds, at most `cap` seconds (and never less than `base`).
fn backoff(base_secs: u64, streak: u32, cap_secs: u64) -> Duration {
    let factor = 1u64
        .checked_shl(streak.saturating_sub(1).min(32))
        .unwrap_or(u64::MAX);
    Duration::from_secs(
        base_secs
            .saturating_mul(factor)
            .min(cap_secs.max(base_secs)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tuning() -> HealthTuning {
        HealthTuning {
            rate_limit_cooldown_secs: 60,
            error_cooldown_secs: 10,
            max_cooldown_secs: 300,
            ..HealthTuning::default()
        }
    }

    #[test]
    fn a_rate_limit_honours_retry_after_else_the_default() {
        let health = KeyHealth::default();
        let verdict = health.record_failure(
            &Failure::RateLimited {
                retry_after: Some(Duration::from_secs(7)),
            },
            1_000,
            &tuning(),
        );
        assert_eq!(verdict, Verdict::CoolDown { until_ms: 8_000 });
        health.record_success();
        let verdict = health.record_failure(
            &Failure::RateLimited { retry_after: None },
            1_000,
            &tuning(),
        );
        assert_eq!(verdict, Verdict::CoolDown { until_ms: 61_000 });
        assert_eq!(health.cooldown_until_ms(), 61_000);
    }

    #[test]
    fn consecutive_transient_failures_back_off_up_to_the_cap_and_never_disable() {
        let health = KeyHealth::default();
        let untils: Vec<_> = (0..8)
            .map(|_| health.record_failure(&Failure::Transient, 0, &tuning()))
            .collect();
        let expected: Vec<_> = [10, 20, 40, 80, 160, 300, 300, 300]
            .iter()
            .map(|s| Verdict::CoolDown { until_ms: s * 1000 })
            .collect();
        assert_eq!(untils, expected);
        assert!(!health.is_auto_disabled());
    }

    #[test]
    fn a_success_resets_the_backoff() {
        let health = KeyHealth::default();
        health.record_failure(&Failure::Transient, 0, &tuning());
        health.record_failure(&Failure::Transient, 0, &tuning());
        health.record_success();
        assert_eq!(
            health.record_failure(&Failure::Transient, 100_000, &tuning()),
            Verdict::CoolDown { until_ms: 110_000 }
        );
    }

    #[test]
    fn an_auth_failure_disables_at_once() {
        let health = KeyHealth::default();
        let verdict = health.record_failure(&Failure::Rejected { status: 401 }, 0, &tuning());
        assert_eq!(
            verdict,
            Verdict::Disable {
                reason: "upstream rejected the key (HTTP 401)".into()
            }
        );
        health.reset();
        assert!(!health.is_auto_disabled());
    }
}
