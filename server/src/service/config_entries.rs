//! Storage of configuration entries: JSON values under unique keys. What a key means and which
//! values it accepts is decided by `live_config::registry`, which calls [`set`]. Secret parts
//! (webhook URLs) are sealed on the way in and opened on the way out.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};
use serde_json::Value;

use super::validate;
use crate::{
    entity::config_entry::{ActiveModel, Column, Entity as ConfigEntries, Model},
    error::ServiceError,
    vault::{Vault, rows},
};

/// Largest JSON value one entry may hold, in bytes of its text form.
pub const MAX_VALUE_BYTES: usize = 1 << 20;

/// Every entry, by key.
pub async fn list(db: &impl ConnectionTrait, vault: &Vault) -> Result<Vec<Model>, ServiceError> {
    ConfigEntries::find()
        .order_by_asc(Column::Key)
        .all(db)
        .await?
        .into_iter()
        .map(|entry| open(vault, entry))
        .collect()
}

/// The entry under `key`, if any.
pub async fn get(
    db: &impl ConnectionTrait,
    vault: &Vault,
    key: &str,
) -> Result<Option<Model>, ServiceError> {
    ConfigEntries::find()
        .filter(Column::Key.eq(key))
        .one(db)
        .await?
        .map(|entry| open(vault, entry))
        .transpose()
}

fn open(vault: &Vault, mut entry: Model) -> Result<Model, ServiceError> {
    entry.value =
        rows::open_setting(vault, &entry.key, entry.value).map_err(ServiceError::internal)?;
    Ok(entry)
}

/// Creates or replaces the entry under `key`. A `None` memo keeps the existing memo. The value
/// is stored as given: check it with `live_config::registry::check` first.
pub async fn set(
    db: &impl ConnectionTrait,
    vault: &Vault,
    key: &str,
    value: &Value,
    memo: Option<&str>,
) -> Result<Model, ServiceError> {
    let key = config_key(key)?;
    let sealed = rows::seal_setting(vault, &key, value.clone());
    let text = serde_json::to_string(&sealed).map_err(ServiceError::internal)?;
    if text.len() > MAX_VALUE_BYTES {
        return Err(ServiceError::invalid(
            "value",
            format!("must be at most {MAX_VALUE_BYTES} bytes of JSON"),
        ));
    }
    let memo = memo
        .map(|memo| validate::optional_text("memo", memo, 2000))
        .transpose()?;
    let now = Utc::now();
    let stored = match ConfigEntries::find()
        .filter(Column::Key.eq(&key))
        .one(db)
        .await?
    {
        Some(existing) => {
            let mut row: ActiveModel = existing.into();
            row.value = Set(text);
            if let Some(memo) = memo {
                row.memo = Set(memo);
            }
            row.update_time = Set(now);
            row.update(db).await?
        }
        None => {
            ActiveModel {
                key: Set(key),
                value: Set(text),
                memo: Set(memo.unwrap_or_default()),
                create_time: Set(now),
                update_time: Set(now),
                ..Default::default()
            }
            .insert(db)
            .await?
        }
    };
    open(vault, stored)
}

/// Deletes the entry under `key`; false when there was none.
pub async fn delete(db: &impl ConnectionTrait, key: &str) -> Result<bool, ServiceError> {
    let result = ConfigEntries::delete_many()
        .filter(Column::Key.eq(key))
        .exec(db)
        .await?;
    Ok(result.rows_affected > 0)
}

/// The parsed JSON value of an entry.
pub fn value_of(entry: &Model) -> Value {
    serde_json::from_str(&entry.value).unwrap_or(Value::Null)
}

/// Keys are 1–128 characters of lowercase letters, digits, `_`, `.` and `-`.
fn config_key(key: &str) -> Result<String, ServiceError> {
    let key = validate::required_text("key", key, 128)?;
    if !key
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '.' | '-'))
    {
        return Err(ServiceError::invalid(
            "key",
            "may hold only lowercase letters, digits, '_', '.' and '-'",
        ));
    }
    Ok(key)
}
