//! The gate in front of `/v1`: client tokens held in memory, with their model allowlist,
//! budget and requests-per-minute limit, so checking a request costs no database round trip.
//!
//! With several instances on one database, each enforces its share of a token's rpm limit:
//! `ceil(limit / instances)`. Behind a load balancer that spreads requests evenly, the cluster
//! admits the limit, at most `instances - 1` more per minute from the rounding; a client that
//! reaches only one instance gets that instance's share.

use std::{
    collections::{HashMap, HashSet},
    num::NonZeroU32,
    sync::{
        Arc,
        atomic::{AtomicI64, AtomicU32, Ordering},
    },
};

use arc_swap::ArcSwap;
use chrono::{DateTime, Utc};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use sea_orm::{ConnectionTrait, EntityTrait};

use crate::{
    entity::access_token,
    error::ServiceError,
    service::access_tokens::{self, hash_secret},
};

/// One client token as the proxy checks it.
pub struct ClientToken {
    pub id: i32,
    pub name: String,
    enabled: bool,
    expires_at: Option<DateTime<Utc>>,
    models: Option<HashSet<String>>,
    budget: Option<i64>,
    /// Spend in nano-USD: the stored figure plus what this instance recorded since.
    spend: Arc<AtomicI64>,
    rpm_limit: Option<i32>,
    /// This instance's share of `rpm_limit`.
    rpm_share: Option<u32>,
    limiter: Option<Arc<DefaultDirectRateLimiter>>,
}

impl ClientToken {
    /// Whether the token's allowlist (if any) has `model`.
    pub fn may_use(&self, model: &str) -> bool {
        self.models
            .as_ref()
            .is_none_or(|models| models.contains(model))
    }

    /// Adds spend (nano-USD) as soon as an attempt is accounted.
    pub fn add_spend(&self, nanos: i64) {
        self.spend.fetch_add(nanos, Ordering::Relaxed);
    }
}

/// Why a client is turned away.
#[derive(Clone, Debug, PartialEq)]
pub enum Denied {
    /// No token in `Authorization: Bearer` or `x-api-key`.
    Missing,
    /// A token the pool does not know.
    Unknown,
    /// Revoked or disabled by an admin.
    Revoked,
    /// Past its expiry.
    Expired,
    /// The model is not on the token's allowlist.
    ModelNotAllowed(String),
    /// Over its requests-per-minute limit.
    RateLimited(i32),
    /// Its budget is spent.
    BudgetExhausted,
}

impl Denied {
    /// HTTP status for this refusal.
    pub fn status(&self) -> u16 {
        match self {
            Denied::Missing | Denied::Unknown | Denied::Revoked | Denied::Expired => 401,
            Denied::ModelNotAllowed(_) => 403,
            Denied::RateLimited(_) => 429,
            Denied::BudgetExhausted => 402,
        }
    }

    /// A sentence for the client.
    pub fn message(&self) -> String {
        match self {
            Denied::Missing => {
                "missing access token: send it as Authorization: Bearer <token> or x-api-key".into()
            }
            Denied::Unknown => "invalid access token".into(),
            Denied::Revoked => "this access token has been revoked".into(),
            Denied::Expired => "this access token has expired".into(),
            Denied::ModelNotAllowed(model) => {
                format!("this access token may not use the model {model:?}")
            }
            Denied::RateLimited(limit) => {
                format!("this access token is limited to {limit} requests per minute")
            }
            Denied::BudgetExhausted => "this access token has spent its budget".into(),
        }
    }
}

/// Client tokens by the SHA-256 of their secret.
#[derive(Default)]
pub struct AccessGate {
    tokens: ArcSwap<HashMap<String, Arc<ClientToken>>>,
    /// Live instances sharing the rpm limits (0 counts as 1).
    instances: AtomicU32,
}

impl AccessGate {
    /// Splits rpm limits among `instances` from the next reload on; true when that changed.
    pub fn share_among(&self, instances: u32) -> bool {
        self.instances.swap(instances.max(1), Ordering::Relaxed) != instances.max(1)
    }

    /// The token whose secret this is, if it may be used now.
    pub fn authenticate(&self, secret: Option<&str>) -> Result<Arc<ClientToken>, Denied> {
        let secret = secret.filter(|s| !s.is_empty()).ok_or(Denied::Missing)?;
        let token = self
            .tokens
            .load()
            .get(&hash_secret(secret))
            .cloned()
            .ok_or(Denied::Unknown)?;
        if !token.enabled {
            return Err(Denied::Revoked);
        }
        if token.expires_at.is_some_and(|at| at <= Utc::now()) {
            return Err(Denied::Expired);
        }
        Ok(token)
    }

    /// Whether `token` may send a request for `model` now; takes one request of its rate.
    pub fn authorize(&self, token: &ClientToken, model: &str) -> Result<(), Denied> {
        if !token.may_use(model) {
            return Err(Denied::ModelNotAllowed(model.to_string()));
        }
        if let Some(budget) = token.budget
            && token.spend.load(Ordering::Relaxed) >= budget
        {
            return Err(Denied::BudgetExhausted);
        }
        if let (Some(limiter), Some(limit)) = (&token.limiter, token.rpm_limit)
            && limiter.check().is_err()
        {
            return Err(Denied::RateLimited(limit));
        }
        Ok(())
    }

    /// Rebuilds the table from the database. Spend never goes backwards (this instance may
    /// have recorded spend that is not committed yet), and a limiter survives when its limit
    /// is unchanged.
    pub async fn reload(&self, db: &impl ConnectionTrait) -> Result<(), ServiceError> {
        let rows = access_token::Entity::find().all(db).await?;
        let previous = self.tokens.load_full();
        let by_id: HashMap<i32, &Arc<ClientToken>> = previous.values().map(|t| (t.id, t)).collect();
        let mut tokens = HashMap::with_capacity(rows.len());
        for row in rows {
            let old = by_id.get(&row.id);
            let spend = match old {
                Some(old) => {
                    old.spend.fetch_max(row.spend, Ordering::Relaxed);
                    old.spend.clone()
                }
                None => Arc::new(AtomicI64::new(row.spend)),
            };
            let instances = self.instances.load(Ordering::Relaxed).max(1);
            let rpm_share = row.rpm_limit.and_then(|limit| share(limit, instances));
            let limiter = match (old, rpm_share) {
                (Some(old), Some(share)) if old.rpm_share == Some(share) => old.limiter.clone(),
                (_, Some(share)) => per_minute(share),
                (_, None) => None,
            };
            let token = ClientToken {
                id: row.id,
                name: row.name.clone(),
                enabled: row.enabled,
                expires_at: row.expires_at,
                models: access_tokens::models_of(&row).map(|m| m.into_iter().collect()),
                budget: row.budget,
                spend,
                rpm_limit: row.rpm_limit,
                rpm_share,
                limiter,
            };
            tokens.insert(row.token_hash, Arc::new(token));
        }
        self.tokens.store(Arc::new(tokens));
        Ok(())
    }
}

/// One instance's share of a limit: `ceil(limit / instances)`, never 0.
fn share(limit: i32, instances: u32) -> Option<u32> {
    let limit = u32::try_from(limit).ok().filter(|l| *l > 0)?;
    Some(limit.div_ceil(instances.max(1)))
}

fn per_minute(limit: u32) -> Option<Arc<DefaultDirectRateLimiter>> {
    let limit = NonZeroU32::new(limit)?;
    Some(Arc::new(RateLimiter::direct(Quota::per_minute(limit))))
}

#[cfg(test)]
mod tests {
    use super::share;

    #[test]
    fn an_rpm_limit_is_shared_rounding_up() {
        assert_eq!(share(60, 1), Some(60));
        assert_eq!(share(60, 3), Some(20));
        assert_eq!(share(61, 3), Some(21));
        assert_eq!(share(2, 3), Some(1));
        assert_eq!(share(0, 3), None);
        assert_eq!(share(-5, 1), None);
    }
}
