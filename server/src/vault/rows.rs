//! Sealing the rows: at start-up every plain-text secret left from before encryption is sealed
//! (idempotent: rows already sealed under the loaded key stay as they are), and `amp-pool
//! secrets rotate` re-seals every row under a new master key in one transaction.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait,
    QueryFilter, Set, TransactionTrait,
};
use serde_json::Value;

use super::{Vault, VaultError, carries_credentials};
use crate::{
    entity::{api_key, config_entry},
    error::ServiceError,
    live_config::ALERTS_KEY,
};

/// How many rows a sealing pass rewrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Resealed {
    pub keys: usize,
    pub settings: usize,
}

/// Why rows could not be sealed.
#[derive(Debug, thiserror::Error)]
pub enum ResealError {
    #[error("key {id}: {source}")]
    Key { id: i32, source: VaultError },
    #[error("setting {key}: {source}")]
    Setting { key: String, source: VaultError },
    #[error(transparent)]
    Database(#[from] ServiceError),
}

impl From<sea_orm::DbErr> for ResealError {
    fn from(error: sea_orm::DbErr) -> Self {
        Self::Database(error.into())
    }
}

/// Seals what start-up finds in plain text under `vault`, after checking that every sealed
/// value opens with it (a wrong master key stops here, before anything is served).
pub async fn seal_existing(
    db: &DatabaseConnection,
    vault: &Vault,
) -> Result<Resealed, ResealError> {
    reseal(db, vault, vault).await
}

/// Re-seals every secret under `new`, reading them with `old` (or `new`, for values it already
/// sealed), in one transaction: either every row moves to the new key or none does.
pub async fn reseal(
    db: &DatabaseConnection,
    old: &Vault,
    new: &Vault,
) -> Result<Resealed, ResealError> {
    let open = |stored: &str| {
        if new.sealed_here(stored) {
            new.open(stored)
        } else {
            old.open(stored)
        }
    };
    let txn = db.begin().await?;
    let mut done = Resealed::default();
    for row in api_key::Entity::find().all(&txn).await? {
        let id = row.id;
        let fail = |source| ResealError::Key { id, source };
        let secret = open(&row.api_key).map_err(fail)?;
        let proxy = open(&row.proxy_ip).map_err(fail)?;
        let base = row
            .base_url
            .as_deref()
            .map(open)
            .transpose()
            .map_err(fail)?;
        let next_secret = keep_or_seal(new, &row.api_key, &secret, true);
        let next_proxy = keep_or_seal(new, &row.proxy_ip, &proxy, carries_credentials(&proxy));
        let next_base = row
            .base_url
            .as_deref()
            .zip(base.as_deref())
            .map(|(stored, plain)| keep_or_seal(new, stored, plain, carries_credentials(plain)));
        let hash = new.key_hash(&row.provider, &secret);
        if next_secret == row.api_key
            && next_proxy == row.proxy_ip
            && next_base == row.base_url
            && row.key_hash.as_deref() == Some(hash.as_str())
        {
            continue;
        }
        let mut active: api_key::ActiveModel = row.into();
        active.api_key = Set(next_secret);
        active.proxy_ip = Set(next_proxy);
        active.base_url = Set(next_base);
        active.key_hash = Set(Some(hash));
        active.update(&txn).await?;
        done.keys += 1;
    }
    if let Some(entry) = config_entry::Entity::find()
        .filter(config_entry::Column::Key.eq(ALERTS_KEY))
        .one(&txn)
        .await?
    {
        let fail = |source| ResealError::Setting {
            key: ALERTS_KEY.into(),
            source,
        };
        let mut value: Value = serde_json::from_str(&entry.value).unwrap_or(Value::Null);
        let mut changed = false;
        for url in webhooks_mut(&mut value) {
            let plain = open(url).map_err(fail)?;
            let next = keep_or_seal(new, url, &plain, true);
            if next != *url {
                *url = next;
                changed = true;
            }
        }
        if changed {
            let text = serde_json::to_string(&value).map_err(ServiceError::internal)?;
            let mut active: config_entry::ActiveModel = entry.into();
            active.value = Set(text);
            active.update(&txn).await?;
            done.settings += 1;
        }
    }
    txn.commit().await?;
    Ok(done)
}

/// On SQLite, rewrites the file and empties the write-ahead log, so the plain text that sealing
/// replaced does not linger in free pages. PostgreSQL reuses dead tuples on its own schedule
/// (VACUUM FULL would do the same there; it locks tables, so it is left to the operator).
pub async fn forget_plain_pages(db: &DatabaseConnection) -> Result<(), sea_orm::DbErr> {
    if db.get_database_backend() == DbBackend::Sqlite {
        db.execute_unprepared("VACUUM").await?;
        db.execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)")
            .await?;
    }
    Ok(())
}

/// What to store for a value whose plain text is `plain`: the stored value when it is already
/// sealed under `vault` (or is plain text that should stay so), else a fresh seal.
fn keep_or_seal(vault: &Vault, stored: &str, plain: &str, secret: bool) -> String {
    if !secret || plain.is_empty() {
        plain.to_string()
    } else if vault.sealed_here(stored) {
        stored.to_string()
    } else {
        vault.seal(plain)
    }
}

/// The webhook URLs of an `alerts` value.
fn webhooks_mut(value: &mut Value) -> impl Iterator<Item = &mut String> {
    value
        .get_mut("webhooks")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
        .filter_map(|url| match url {
            Value::String(text) => Some(text),
            _ => None,
        })
}

/// A setting's value as stored: the webhook URLs of `alerts` sealed.
pub fn seal_setting(vault: &Vault, key: &str, mut value: Value) -> Value {
    if key == ALERTS_KEY {
        for url in webhooks_mut(&mut value) {
            if !url.is_empty() && !vault.sealed_here(url) {
                *url = vault.seal(url);
            }
        }
    }
    value
}

/// A stored setting's text with its sealed parts opened, for use in memory only.
pub fn open_setting(vault: &Vault, key: &str, text: String) -> Result<String, VaultError> {
    if key != ALERTS_KEY || !text.contains(super::SEALED_PREFIX) {
        return Ok(text);
    }
    let Ok(mut value) = serde_json::from_str::<Value>(&text) else {
        return Ok(text);
    };
    for url in webhooks_mut(&mut value) {
        *url = vault.open(url)?;
    }
    Ok(serde_json::to_string(&value).unwrap_or(text))
}
