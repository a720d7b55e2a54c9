//! A key's live health: cooldowns after rate limits and errors, and disables after auth
//! failures, exhausted credit or too many failures in a window.

use std::{
    collections::VecDeque,
    sync::{
        Mutex,
        atomic::{AtomicBool, AtomicI64, Ordering},
    },
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
    /// 402, `insufficient_quota`, "credit balance is too low".
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
    /// Times (Unix ms) of recent transient failures, oldest first.
    failures: Mutex<VecDeque<i64>>,
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

    /// Clears cooldown, disable and failure history.
    pub fn reset(&self) {
        self.cooldown_until_ms.store(0, Ordering::Relaxed);
        self.auto_disabled.store(false, Ordering::Relaxed);
        if let Ok(mut failures) = self.failures.lock() {
            failures.clear();
        }
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
            Failure::RateLimited { retry_after } => cool_for(
                retry_after.unwrap_or(Duration::from_secs(tuning.rate_limit_cooldown_secs)),
            ),
            Failure::Transient => {
                let window_ms = i64::try_from(tuning.failure_window_secs.saturating_mul(1000))
                    .unwrap_or(i64::MAX);
                let count = match self.failures.lock() {
                    Ok(mut failures) => {
                        failures.push_back(now_ms);
                        while failures
                            .front()
                            .is_some_and(|at| *at <= now_ms.saturating_sub(window_ms))
                        {
                            failures.pop_front();
                        }
                        failures.len()
                    }
                    Err(_) => 1,
                };
                if tuning.failure_threshold > 0 && count >= tuning.failure_threshold as usize {
                    self.disable();
                    Verdict::Disable {
                        reason: format!(
                            "{count} upstream failures within {} s",
                            tuning.failure_window_secs
                        ),
                    }
                } else {
                    cool_for(Duration::from_secs(tuning.error_cooldown_secs))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tuning() -> HealthTuning {
        HealthTuning {
            rate_limit_cooldown_secs: 60,
            error_cooldown_secs: 10,
            failure_threshold: 3,
            failure_window_secs: 100,
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
        let verdict = health.record_failure(
            &Failure::RateLimited { retry_after: None },
            1_000,
            &tuning(),
        );
        assert_eq!(verdict, Verdict::CoolDown { until_ms: 61_000 });
        assert_eq!(health.cooldown_until_ms(), 61_000);
    }

    #[test]
    fn repeated_failures_inside_the_window_disable_the_key() {
        let health = KeyHealth::default();
        assert!(matches!(
            health.record_failure(&Failure::Transient, 0, &tuning()),
            Verdict::CoolDown { .. }
        ));
        // The first failure has left the 100 s window by now.
        assert!(matches!(
            health.record_failure(&Failure::Transient, 150_000, &tuning()),
            Verdict::CoolDown { .. }
        ));
        assert!(matches!(
            health.record_failure(&Failure::Transient, 160_000, &tuning()),
            Verdict::CoolDown { .. }
        ));
        assert_eq!(
            health.record_failure(&Failure::Transient, 170_000, &tuning()),
            Verdict::Disable {
                reason: "3 upstream failures within 100 s".into()
            }
        );
        assert!(health.is_auto_disabled());
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
