//! Choosing a key: the lowest priority tier that has an available key, and inside it weighted
//! round robin.

use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};

use chrono::{DateTime, Utc};

use super::PoolKey;
use crate::provider::Provider;

/// What a pick must respect besides availability.
#[derive(Clone, Copy, Debug, Default)]
pub struct Criteria<'a> {
    /// Keys already tried for this request.
    pub tried: &'a [i32],
    pub now_ms: i64,
    /// Only keys of this provider (an endpoint only one provider serves).
    pub only: Option<Provider>,
    /// The key a conversation is stuck to: chosen when it is available and in the first tier
    /// that has an available key, so affinity never overrides priorities.
    pub prefer: Option<i32>,
}

impl Criteria<'_> {
    fn admits(&self, key: &PoolKey) -> bool {
        self.only.is_none_or(|only| key.provider == only)
    }

    fn eligible(&self, key: &PoolKey) -> bool {
        self.admits(key) && key.available(self.now_ms) && !self.tried.contains(&key.id)
    }
}

/// Keys of one priority, in id order, with the tier's round-robin cursor.
pub struct Tier {
    pub priority: i32,
    keys: Vec<Arc<PoolKey>>,
    cursor: AtomicU64,
}

/// Why no key could be picked.
#[derive(Clone, Debug, PartialEq)]
pub enum Unavailable {
    /// No key of a provider that serves this format exists.
    NoneConfigured,
    /// Every such key is disabled.
    AllDisabled,
    /// Every usable key is cooling down; the first is back at this time.
    AllCoolingDown(DateTime<Utc>),
    /// Every usable key was already tried for this request.
    AllTried,
}

impl Unavailable {
    /// A sentence for the client.
    pub fn message(&self, format_name: &str) -> String {
        match self {
            Unavailable::NoneConfigured => {
                format!("no upstream key is configured for the {format_name} format")
            }
            Unavailable::AllDisabled => {
                format!("every upstream key for the {format_name} format is disabled")
            }
            Unavailable::AllCoolingDown(until) => format!(
                "every upstream key for the {format_name} format is cooling down until {}",
                until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ),
            Unavailable::AllTried => {
                "every available upstream key failed for this request".to_string()
            }
        }
    }
}

/// Groups keys into tiers, lowest priority first.
pub fn tiers(keys: impl Iterator<Item = Arc<PoolKey>>) -> Vec<Tier> {
    let mut keys: Vec<Arc<PoolKey>> = keys.collect();
    keys.sort_by_key(|key| (key.priority, key.id));
    let mut tiers: Vec<Tier> = Vec::new();
    for key in keys {
        match tiers.last_mut() {
            Some(tier) if tier.priority == key.priority => tier.keys.push(key),
            _ => tiers.push(Tier {
                priority: key.priority,
                keys: vec![key],
                cursor: AtomicU64::new(0),
            }),
        }
    }
    tiers
}

/// Picks from the first tier with an available, untried key: the preferred key when it is
/// one of them, else by weighted round robin.
pub fn pick(tiers: &[Tier], criteria: &Criteria<'_>) -> Result<Arc<PoolKey>, Unavailable> {
    for tier in tiers {
        let total: u64 = tier
            .keys
            .iter()
            .filter(|key| criteria.eligible(key))
            .map(|key| u64::from(key.weight))
            .sum();
        if total == 0 {
            continue;
        }
        if let Some(preferred) = criteria.prefer.and_then(|id| {
            tier.keys
                .iter()
                .find(|key| key.id == id && criteria.eligible(key))
        }) {
            return Ok(preferred.clone());
        }
        let mut slot = tier.cursor.fetch_add(1, Ordering::Relaxed) % total;
        for key in &tier.keys {
            if !criteria.eligible(key) {
                continue;
            }
            let weight = u64::from(key.weight);
            if slot < weight {
                return Ok(key.clone());
            }
            slot -= weight;
        }
    }
    Err(why_none(tiers, criteria))
}

fn why_none(tiers: &[Tier], criteria: &Criteria<'_>) -> Unavailable {
    let Criteria { tried, now_ms, .. } = *criteria;
    let keys = || {
        tiers
            .iter()
            .flat_map(|tier| tier.keys.iter())
            .filter(|key| criteria.admits(key))
    };
    if keys().next().is_none() {
        return Unavailable::NoneConfigured;
    }
    let usable = || {
        keys().filter(|key| key.enabled && key.client.is_some() && !key.health.is_auto_disabled())
    };
    if usable().next().is_none() {
        return Unavailable::AllDisabled;
    }
    if usable().any(|key| tried.contains(&key.id)) {
        return Unavailable::AllTried;
    }
    let back = usable()
        .map(|key| key.health.cooldown_until_ms())
        .filter(|until| *until > now_ms)
        .min()
        .and_then(DateTime::from_timestamp_millis);
    match back {
        Some(until) => Unavailable::AllCoolingDown(until),
        None => Unavailable::AllTried,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pool::KeyHealth;

    fn key(id: i32, priority: i32, weight: u32) -> Arc<PoolKey> {
        Arc::new(PoolKey {
            id,
            name: format!("k{id}"),
            provider: Provider::OpenAi,
            secret: format!("sk-{id}"),
            base_url: "http://127.0.0.1:9".into(),
            priority,
            weight,
            enabled: true,
            client: Some(reqwest::Client::new()),
            health: Arc::new(KeyHealth::default()),
        })
    }

    fn at(tried: &[i32], now_ms: i64) -> Criteria<'_> {
        Criteria {
            tried,
            now_ms,
            ..Criteria::default()
        }
    }

    fn picks(tiers: &[Tier], n: usize) -> Vec<i32> {
        (0..n)
            .map(|_| pick(tiers, &at(&[], 0)).expect("a key").id)
            .collect()
    }

    #[test]
    fn a_preferred_key_is_chosen_while_available_in_the_best_tier() {
        let a = key(1, 0, 1);
        let b = key(2, 0, 1);
        let backup = key(3, 5, 1);
        let tiers = tiers([a.clone(), b, backup.clone()].into_iter());
        let prefer = |id| Criteria {
            prefer: Some(id),
            ..Criteria::default()
        };
        assert!((0..10).all(|_| pick(&tiers, &prefer(2)).expect("b").id == 2));
        // A backup preferred while the first tier is serving does not jump the queue.
        assert_ne!(pick(&tiers, &prefer(3)).expect("first tier").id, 3);
        a.health.disable();
        let unavailable_b = Criteria {
            tried: &[2],
            prefer: Some(2),
            ..Criteria::default()
        };
        assert_eq!(pick(&tiers, &unavailable_b).expect("backup").id, 3);
    }

    #[test]
    fn an_endpoint_of_one_provider_sees_only_its_keys() {
        let mut amp = key(2, 0, 1);
        if let Some(amp) = Arc::get_mut(&mut amp) {
            amp.provider = Provider::Amp;
        }
        let tiers = tiers([key(1, 5, 1), amp].into_iter());
        let only_openai = Criteria {
            only: Some(Provider::OpenAi),
            ..Criteria::default()
        };
        assert!((0..4).all(|_| pick(&tiers, &only_openai).expect("openai").id == 1));
        let only_anthropic = Criteria {
            only: Some(Provider::Anthropic),
            ..Criteria::default()
        };
        assert_eq!(
            pick(&tiers, &only_anthropic).err(),
            Some(Unavailable::NoneConfigured)
        );
    }

    #[test]
    fn weights_share_traffic_within_a_tier() {
        let tiers = tiers([key(1, 0, 3), key(2, 0, 1)].into_iter());
        let chosen = picks(&tiers, 400);
        assert_eq!(chosen.iter().filter(|id| **id == 1).count(), 300);
        assert_eq!(chosen.iter().filter(|id| **id == 2).count(), 100);
    }

    #[test]
    fn a_lower_priority_tier_is_used_only_when_the_first_is_unavailable() {
        let primary = key(1, 0, 1);
        let backup = key(2, 5, 1);
        let tiers = tiers([backup, primary.clone()].into_iter());
        assert_eq!(picks(&tiers, 3), [1, 1, 1]);
        primary.health.cool_down_until(10_000);
        assert_eq!(pick(&tiers, &at(&[], 5_000)).expect("backup").id, 2);
        assert_eq!(
            pick(&tiers, &at(&[], 10_000)).expect("primary is back").id,
            1
        );
    }

    #[test]
    fn tried_keys_are_skipped() {
        let tiers = tiers([key(1, 0, 1), key(2, 0, 1)].into_iter());
        assert_eq!(pick(&tiers, &at(&[1], 0)).expect("other").id, 2);
        assert_eq!(
            pick(&tiers, &at(&[1, 2], 0)).err(),
            Some(Unavailable::AllTried)
        );
    }

    #[test]
    fn the_reason_names_the_earliest_return() {
        let a = key(1, 0, 1);
        let b = key(2, 0, 1);
        a.health.cool_down_until(60_000);
        b.health.cool_down_until(30_000);
        let tiers = tiers([a, b].into_iter());
        let expected = DateTime::from_timestamp_millis(30_000).expect("valid");
        assert_eq!(
            pick(&tiers, &at(&[], 0)).err(),
            Some(Unavailable::AllCoolingDown(expected))
        );
        assert_eq!(
            pick(&[], &at(&[], 0)).err(),
            Some(Unavailable::NoneConfigured)
        );
    }

    #[test]
    fn auto_disabled_keys_are_reported_as_disabled() {
        let a = key(1, 0, 1);
        a.health.disable();
        let tiers = tiers([a].into_iter());
        assert_eq!(
            pick(&tiers, &at(&[], 0)).err(),
            Some(Unavailable::AllDisabled)
        );
    }
}
