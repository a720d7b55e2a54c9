//! Admin authentication: password hashing, JWT sessions and the login rate limit.

pub mod jwt;
pub mod password;

use std::{
    net::{IpAddr, Ipv6Addr},
    num::NonZeroU32,
};

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

pub use jwt::{AdminSession, Authentication, JwtKeys};

/// Login attempts allowed per username in a burst, refilled one every [`USER_REFILL_SECS`].
const USER_BURST: u32 = 5;
const USER_REFILL_SECS: u64 = 12;
/// Login attempts allowed per client address in a burst, refilled one every
/// [`CLIENT_REFILL_SECS`]: a few admins behind one address fit, a username sweep does not.
const CLIENT_BURST: u32 = 10;
const CLIENT_REFILL_SECS: u64 = 6;
/// Keys remembered before idle ones are forgotten, so the maps cannot grow without bound.
const MAX_KEYS: usize = 10_000;

/// The address a request came from (the TCP peer; no proxy header is trusted).
#[derive(Clone, Copy, Debug)]
pub struct ClientIp(pub IpAddr);

/// Limits login attempts per client address and per username, so neither fresh usernames
/// nor many addresses against one username make guessing cheap.
pub struct LoginLimiter {
    by_client: DefaultKeyedRateLimiter<IpAddr>,
    by_user: DefaultKeyedRateLimiter<String>,
}

fn quota(burst: u32, refill_secs: u64) -> Quota {
    let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
    Quota::with_period(std::time::Duration::from_secs(refill_secs))
        .unwrap_or_else(|| Quota::per_minute(burst))
        .allow_burst(burst)
}

impl Default for LoginLimiter {
    fn default() -> Self {
        Self {
            by_client: RateLimiter::keyed(quota(CLIENT_BURST, CLIENT_REFILL_SECS)),
            by_user: RateLimiter::keyed(quota(USER_BURST, USER_REFILL_SECS)),
        }
    }
}

/// A username as the limiter counts it: the lookup ignores surrounding spaces, and so must
/// the limit.
pub fn normalise_username(username: &str) -> String {
    username.trim().to_lowercase()
}

/// The key of an address: IPv6 clients usually hold a whole /64, so it counts as one.
fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => {
            let [a, b, c, d, ..] = v6.segments();
            IpAddr::V6(Ipv6Addr::new(a, b, c, d, 0, 0, 0, 0))
        }
    }
}

impl LoginLimiter {
    /// Takes one attempt for `client` and `username`; says why when either is used up.
    pub fn allow(&self, client: Option<IpAddr>, username: &str) -> Result<(), &'static str> {
        if let Some(ip) = client
            && self.by_client.check_key(&client_key(ip)).is_err()
        {
            return Err("too many login attempts from your address; wait a minute and try again");
        }
        let allowed = self
            .by_user
            .check_key(&normalise_username(username))
            .is_ok();
        if self.by_user.len() > MAX_KEYS {
            self.by_user.retain_recent();
        }
        if self.by_client.len() > MAX_KEYS {
            self.by_client.retain_recent();
        }
        if allowed {
            Ok(())
        } else {
            Err("too many login attempts for this user; wait a minute and try again")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spaces_and_case_do_not_make_a_new_username() {
        let limiter = LoginLimiter::default();
        for name in ["admin", " admin", "ADMIN ", "\tAdmin", "admin  "] {
            assert!(limiter.allow(None, name).is_ok(), "{name:?}");
        }
        assert!(limiter.allow(None, "  admin").is_err());
    }

    #[test]
    fn one_address_cannot_sweep_fresh_usernames() {
        let limiter = LoginLimiter::default();
        let ip: IpAddr = "203.0.113.7".parse().expect("ip");
        for i in 0..CLIENT_BURST {
            assert!(limiter.allow(Some(ip), &format!("user{i}")).is_ok());
        }
        assert_eq!(
            limiter.allow(Some(ip), "yet-another"),
            Err("too many login attempts from your address; wait a minute and try again")
        );
        let other: IpAddr = "203.0.113.8".parse().expect("ip");
        assert!(limiter.allow(Some(other), "yet-another").is_ok());
    }

    #[test]
    fn an_ipv6_slash_64_counts_as_one_address() {
        let limiter = LoginLimiter::default();
        for i in 0..CLIENT_BURST {
            let ip: IpAddr = format!("2001:db8:1:2::{i:x}").parse().expect("ip");
            assert!(limiter.allow(Some(ip), &format!("user{i}")).is_ok());
        }
        let next: IpAddr = "2001:db8:1:2:ffff::1".parse().expect("ip");
        assert!(limiter.allow(Some(next), "fresh").is_err());
    }
}
