//! Admin authentication: password hashing, JWT sessions and the login rate limit.

pub mod jwt;
pub mod password;

use std::num::NonZeroU32;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

pub use jwt::{AdminSession, Authentication, JwtKeys};

/// Login attempts allowed per username in a burst, refilled one every [`LOGIN_REFILL_SECS`].
const LOGIN_BURST: u32 = 5;
const LOGIN_REFILL_SECS: u64 = 12;

/// Limits login attempts per username so a password cannot be guessed at speed.
pub struct LoginLimiter {
    limiter: DefaultKeyedRateLimiter<String>,
}

impl Default for LoginLimiter {
    fn default() -> Self {
        let burst = NonZeroU32::new(LOGIN_BURST).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::with_period(std::time::Duration::from_secs(LOGIN_REFILL_SECS))
            .unwrap_or_else(|| Quota::per_minute(burst))
            .allow_burst(burst);
        Self {
            limiter: RateLimiter::keyed(quota),
        }
    }
}

impl LoginLimiter {
    /// Takes one attempt for `username`; false when its attempts are used up for now.
    pub fn allow(&self, username: &str) -> bool {
        let allowed = self.limiter.check_key(&username.to_lowercase()).is_ok();
        // Forget idle usernames so the map cannot grow without bound.
        if self.limiter.len() > 10_000 {
            self.limiter.retain_recent();
        }
        allowed
    }
}
