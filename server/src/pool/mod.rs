//! The key pool: an in-memory snapshot of every key, with its HTTP client and live health, so
//! picking a key never touches the database.
//!
//! The snapshot is rebuilt from the database whenever keys change and swapped in whole; health
//! (cooldowns, automatic disables, local spend) lives in per-key `Arc`s carried across rebuilds.

mod affinity;
mod clients;
mod health;
mod selection;

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
};

use arc_swap::ArcSwap;
use sea_orm::{ConnectionTrait, EntityTrait};

pub use affinity::{Affinity, Learnt, Owner};
pub use clients::ClientCache;
pub use health::{Failure, KeyHealth, Verdict};
pub use selection::{Criteria, Tier, Unavailable};

use crate::{
    entity::api_key, error::ServiceError, live_config::ProxyTuning, provider::Provider,
    vault::Vault,
};

/// The two client-facing wire formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WireFormat {
    /// `/v1/chat/completions`.
    OpenAi,
    /// `/v1/messages`.
    Anthropic,
}

impl WireFormat {
    /// The format's name, as the log stores it.
    pub fn as_str(self) -> &'static str {
        match self {
            WireFormat::OpenAi => "openai",
            WireFormat::Anthropic => "anthropic",
        }
    }

    /// Whether a key of `provider` can serve this format without translation.
    pub fn served_by(self, provider: Provider) -> bool {
        matches!(
            (self, provider),
            (WireFormat::OpenAi, Provider::OpenAi | Provider::Amp)
                | (WireFormat::Anthropic, Provider::Anthropic | Provider::Amp)
        )
    }
}

/// One key as the proxy uses it.
pub struct PoolKey {
    pub id: i32,
    pub name: String,
    pub provider: Provider,
    /// The upstream secret.
    pub secret: String,
    /// Base URL without a trailing slash: the key's override or the provider default.
    pub base_url: String,
    pub priority: i32,
    pub weight: u32,
    /// Enabled in the database (an admin's or a persisted automatic disable clears it).
    pub enabled: bool,
    /// The shared client for this key's (proxy, User-Agent); `None` when it could not be built.
    pub client: Option<reqwest::Client>,
    pub health: Arc<KeyHealth>,
}

impl PoolKey {
    /// Whether the pool may hand this key out at `now_ms`.
    pub fn available(&self, now_ms: i64) -> bool {
        self.enabled
            && self.client.is_some()
            && !self.health.is_auto_disabled()
            && self.health.cooldown_until_ms() <= now_ms
    }
}

/// An immutable view of every key.
#[derive(Default)]
pub struct Snapshot {
    keys: HashMap<i32, Arc<PoolKey>>,
    tiers: HashMap<WireFormat, Vec<Tier>>,
}

impl Snapshot {
    /// The key with this id.
    pub fn key(&self, id: i32) -> Option<&Arc<PoolKey>> {
        self.keys.get(&id)
    }

    /// Every key.
    pub fn keys(&self) -> impl Iterator<Item = &Arc<PoolKey>> {
        self.keys.values()
    }

    /// Picks a key for `format` that is available and meets `criteria`.
    pub fn pick(
        &self,
        format: WireFormat,
        criteria: &Criteria<'_>,
    ) -> Result<Arc<PoolKey>, Unavailable> {
        selection::pick(
            self.tiers
                .get(&format)
                .map(Vec::as_slice)
                .unwrap_or_default(),
            criteria,
        )
    }
}

/// Default upstream base URLs per provider.
#[derive(Clone, Debug)]
pub struct ProviderUrls {
    pub openai: String,
    pub anthropic: String,
    pub amp: String,
}

impl ProviderUrls {
    fn base_for(&self, provider: Provider) -> &str {
        match provider {
            Provider::OpenAi => &self.openai,
            Provider::Anthropic => &self.anthropic,
            Provider::Amp => &self.amp,
        }
    }
}

/// The live pool: the current snapshot and what is needed to rebuild it.
pub struct KeyPool {
    snapshot: ArcSwap<Snapshot>,
    clients: ClientCache,
    urls: ProviderUrls,
    affinity: Affinity,
    /// Opens the sealed secrets of the rows the snapshot is built from.
    vault: Arc<Vault>,
}

impl KeyPool {
    /// An empty pool; call [`KeyPool::reload`] to fill it.
    pub fn new(urls: ProviderUrls, vault: Arc<Vault>) -> Self {
        Self {
            snapshot: ArcSwap::from_pointee(Snapshot::default()),
            clients: ClientCache::default(),
            urls,
            affinity: Affinity::default(),
            vault,
        }
    }

    /// What ties requests to keys: conversations and the responses keys created.
    pub fn affinity(&self) -> &Affinity {
        &self.affinity
    }

    /// The current snapshot.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot.load_full()
    }

    /// Rebuilds the snapshot from the database, keeping each key's health.
    pub async fn reload(
        &self,
        db: &impl ConnectionTrait,
        tuning: &ProxyTuning,
    ) -> Result<(), ServiceError> {
        let rows = api_key::Entity::find().all(db).await?;
        self.rebuild(rows, tuning);
        Ok(())
    }

    /// Forgets a key's automatic disable and cooldown, when an admin enables it again.
    pub fn reset_health(&self, id: i32) {
        if let Some(key) = self.snapshot().key(id) {
            key.health.reset();
        }
    }

    fn rebuild(&self, rows: Vec<api_key::Model>, tuning: &ProxyTuning) {
        let previous = self.snapshot();
        let mut keys = HashMap::with_capacity(rows.len());
        let mut identities = HashSet::new();
        for row in rows {
            let id = row.id;
            let row = match self.vault.open_key(row) {
                Ok(row) => row,
                Err(error) => {
                    tracing::error!(key_id = id, error = %error, "skipping a key whose secret cannot be decrypted");
                    continue;
                }
            };
            let Ok(provider) = row.provider.parse::<Provider>() else {
                tracing::warn!(key_id = row.id, provider = ?row.provider, "skipping a key of an unknown provider");
                continue;
            };
            let health = previous
                .key(row.id)
                .map(|key| key.health.clone())
                .unwrap_or_default();
            let ua = if row.ua.is_empty() {
                tuning.default_user_agent.as_str()
            } else {
                row.ua.as_str()
            };
            identities.insert((
                row.proxy_ip.clone(),
                ua.to_string(),
                tuning.connect_timeout_ms,
            ));
            let client = match self
                .clients
                .get(&row.proxy_ip, ua, tuning.connect_timeout_ms)
            {
                Ok(client) => Some(client),
                Err(error) => {
                    tracing::error!(key_id = row.id, error = %error.without_url(), "cannot build the HTTP client of a key; it stays unused");
                    None
                }
            };
            let base_url = row
                .base_url
                .clone()
                .unwrap_or_else(|| self.urls.base_for(provider).to_string())
                .trim_end_matches('/')
                .to_string();
            let key = PoolKey {
                id: row.id,
                name: row.name,
                provider,
                secret: row.api_key,
                base_url,
                priority: row.priority,
                weight: u32::try_from(row.weight.max(1)).unwrap_or(1),
                enabled: row.enabled,
                client,
                health,
            };
            keys.insert(key.id, Arc::new(key));
        }
        let tiers = [WireFormat::OpenAi, WireFormat::Anthropic]
            .into_iter()
            .map(|format| {
                let eligible = keys.values().filter(|key| format.served_by(key.provider));
                (format, selection::tiers(eligible.cloned()))
            })
            .collect();
        self.clients.retain(&identities);
        self.snapshot.store(Arc::new(Snapshot { keys, tiers }));
    }
}
