//! Upstream keys: validated create, update, enable/disable, delete and listing.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, Set,
};

use super::validate;
use crate::{
    entity::api_key::{self, ActiveModel, Column, Entity as ApiKeys, Model},
    error::ServiceError,
    provider::Provider,
    secret::mask_url_credentials,
    vault::Vault,
};

/// Who disabled a key: an admin's choice is never undone automatically.
pub const DISABLED_BY_ADMIN: &str = "admin";
/// Disabled by the pool's health checks.
pub const DISABLED_BY_AUTO: &str = "auto";

/// Highest weight a key may have.
pub const MAX_WEIGHT: i32 = 1000;

/// A key to create, as an admin typed it.
#[derive(Clone, Debug, Default)]
pub struct NewKey {
    pub name: String,
    pub provider: Option<Provider>,
    pub api_key: String,
    pub ua: Option<String>,
    pub proxy_ip: Option<String>,
    pub base_url: Option<String>,
    pub enabled: Option<bool>,
    pub priority: Option<i32>,
    pub weight: Option<i32>,
    pub total_balance: Option<f64>,
    pub memo: Option<String>,
}

/// Changes to a key; `None` leaves a field as it is. An empty `base_url` clears the override.
#[derive(Clone, Debug, Default)]
pub struct KeyChanges {
    pub name: Option<String>,
    pub api_key: Option<String>,
    pub ua: Option<String>,
    pub proxy_ip: Option<String>,
    pub base_url: Option<String>,
    pub enabled: Option<bool>,
    pub priority: Option<i32>,
    pub weight: Option<i32>,
    pub total_balance: Option<f64>,
    pub memo: Option<String>,
}

/// Which keys to list.
#[derive(Clone, Debug, Default)]
pub struct KeyFilter {
    pub provider: Option<Provider>,
    pub enabled: Option<bool>,
    /// Case-insensitive text found in the name or memo.
    pub search: Option<String>,
}

/// The identity and routing fields shared by single and bulk creation, already validated.
#[derive(Clone, Debug)]
pub(super) struct KeyDefaults {
    pub ua: String,
    pub proxy_ip: String,
    pub base_url: Option<String>,
    pub enabled: bool,
    pub priority: i32,
    pub weight: i32,
}

impl KeyDefaults {
    pub(super) fn validate(
        ua: Option<&str>,
        proxy_ip: Option<&str>,
        base_url: Option<&str>,
        enabled: Option<bool>,
        priority: Option<i32>,
        weight: Option<i32>,
    ) -> Result<Self, ServiceError> {
        Ok(Self {
            ua: validate::user_agent("ua", ua.unwrap_or_default())?,
            proxy_ip: validate::proxy_url("proxyIp", proxy_ip.unwrap_or_default())?,
            base_url: validate::base_url("baseUrl", base_url.unwrap_or_default())?,
            enabled: enabled.unwrap_or(true),
            priority: validate::in_range("priority", priority.unwrap_or(0), -1000, 1000)?,
            weight: validate::in_range("weight", weight.unwrap_or(1), 1, MAX_WEIGHT)?,
        })
    }

    /// A new row with these fields, its secrets sealed by `vault`.
    pub(super) fn row(
        &self,
        vault: &Vault,
        name: String,
        provider: Provider,
        secret: &str,
    ) -> ActiveModel {
        let now = Utc::now();
        ActiveModel {
            name: Set(name),
            provider: Set(provider.as_str().to_string()),
            api_key: Set(vault.seal(secret)),
            key_hash: Set(Some(vault.key_hash(provider.as_str(), secret))),
            ua: Set(self.ua.clone()),
            proxy_ip: Set(vault.seal_url(&self.proxy_ip)),
            base_url: Set(self.base_url.as_deref().map(|url| vault.seal_url(url))),
            enabled: Set(self.enabled),
            priority: Set(self.priority),
            weight: Set(self.weight),
            memo: Set(String::new()),
            disabled_by: Set((!self.enabled).then(|| DISABLED_BY_ADMIN.to_string())),
            disabled_reason: Set((!self.enabled).then(|| "disabled by admin".to_string())),
            disabled_at: Set((!self.enabled).then_some(now)),
            create_time: Set(now),
            update_time: Set(now),
            ..Default::default()
        }
    }
}

/// Lists keys by priority, then id, their secrets opened.
pub async fn list(
    db: &impl ConnectionTrait,
    vault: &Vault,
    filter: &KeyFilter,
) -> Result<Vec<Model>, ServiceError> {
    let mut condition = Condition::all();
    if let Some(provider) = filter.provider {
        condition = condition.add(Column::Provider.eq(provider.as_str()));
    }
    if let Some(enabled) = filter.enabled {
        condition = condition.add(Column::Enabled.eq(enabled));
    }
    let keys = ApiKeys::find()
        .filter(condition)
        .order_by_asc(Column::Priority)
        .order_by_asc(Column::Id)
        .all(db)
        .await?;
    let mut keys = open_all(vault, keys)?;
    // Case-insensitive search is done here rather than in SQL: LIKE differs between SQLite and
    // PostgreSQL, and the key list is small enough to keep in memory anyway.
    if let Some(search) = filter
        .search
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let needle = search.to_lowercase();
        keys.retain(|key| {
            key.name.to_lowercase().contains(&needle) || key.memo.to_lowercase().contains(&needle)
        });
    }
    Ok(keys)
}

/// One key by id, its secrets opened.
pub async fn get(db: &impl ConnectionTrait, vault: &Vault, id: i32) -> Result<Model, ServiceError> {
    let row = ApiKeys::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("key {id}")))?;
    open(vault, row)
}

/// A stored row with its secrets opened, for use in memory.
pub fn open(vault: &Vault, row: Model) -> Result<Model, ServiceError> {
    vault.open_key(row).map_err(ServiceError::internal)
}

/// Stored rows with their secrets opened.
pub fn open_all(vault: &Vault, rows: Vec<Model>) -> Result<Vec<Model>, ServiceError> {
    vault.open_keys(rows).map_err(ServiceError::internal)
}

/// Validates and stores a new key.
pub async fn create(
    db: &impl ConnectionTrait,
    vault: &Vault,
    input: NewKey,
) -> Result<Model, ServiceError> {
    let name = validate::required_text("name", &input.name, 128)?;
    let provider = input
        .provider
        .ok_or_else(|| ServiceError::invalid("provider", "is required"))?;
    let secret = validate::api_key("apiKey", &input.api_key)?;
    let defaults = KeyDefaults::validate(
        input.ua.as_deref(),
        input.proxy_ip.as_deref(),
        input.base_url.as_deref(),
        input.enabled,
        input.priority,
        input.weight,
    )?;
    let mut row = defaults.row(vault, name, provider, &secret);
    if let Some(total) = input.total_balance {
        row.total_balance = Set(Some(validate::dollars("totalBalance", total)?));
    }
    row.memo = Set(validate::optional_text(
        "memo",
        input.memo.as_deref().unwrap_or_default(),
        2000,
    )?);
    open(vault, row.insert(db).await.map_err(duplicate_key)?)
}

/// Applies `changes` to key `id`.
pub async fn update(
    db: &impl ConnectionTrait,
    vault: &Vault,
    id: i32,
    changes: KeyChanges,
) -> Result<Model, ServiceError> {
    let current = get(db, vault, id).await?;
    let mut row: ActiveModel = current.clone().into();
    if let Some(name) = changes.name {
        row.name = Set(validate::required_text("name", &name, 128)?);
    }
    if let Some(secret) = changes.api_key {
        let secret = validate::api_key("apiKey", &secret)?;
        row.key_hash = Set(Some(vault.key_hash(&current.provider, &secret)));
        row.api_key = Set(vault.seal(&secret));
    }
    if let Some(ua) = changes.ua {
        row.ua = Set(validate::user_agent("ua", &ua)?);
    }
    // A form sends back the masked URL it was shown: that keeps the stored one.
    if let Some(proxy) = changes.proxy_ip
        && proxy != mask_url_credentials(&current.proxy_ip)
    {
        row.proxy_ip = Set(vault.seal_url(&validate::proxy_url("proxyIp", &proxy)?));
    }
    if let Some(base) = changes.base_url
        && Some(base.as_str())
            != current
                .base_url
                .as_deref()
                .map(mask_url_credentials)
                .as_deref()
    {
        row.base_url = Set(validate::base_url("baseUrl", &base)?.map(|url| vault.seal_url(&url)));
    }
    if let Some(priority) = changes.priority {
        row.priority = Set(validate::in_range("priority", priority, -1000, 1000)?);
    }
    if let Some(weight) = changes.weight {
        row.weight = Set(validate::in_range("weight", weight, 1, MAX_WEIGHT)?);
    }
    if let Some(total) = changes.total_balance {
        row.total_balance = Set(Some(validate::dollars("totalBalance", total)?));
        // The balance counts down from here: spend before this moment is already in `total`.
        row.balance_spend_mark = Set(current.spend);
    }
    if let Some(memo) = changes.memo {
        row.memo = Set(validate::optional_text("memo", &memo, 2000)?);
    }
    if let Some(enabled) = changes.enabled {
        apply_enabled(&mut row, &current, enabled);
    }
    row.update_time = Set(Utc::now());
    open(vault, row.update(db).await.map_err(duplicate_key)?)
}

/// Enables or disables key `id` as an admin.
pub async fn set_enabled(
    db: &impl ConnectionTrait,
    vault: &Vault,
    id: i32,
    enabled: bool,
) -> Result<Model, ServiceError> {
    let current = get(db, vault, id).await?;
    let mut row: ActiveModel = current.clone().into();
    apply_enabled(&mut row, &current, enabled);
    row.update_time = Set(Utc::now());
    open(vault, row.update(db).await?)
}

/// Disables key `id` on the pool's behalf, unless it is already disabled (an admin's
/// disable and its reason stay).
pub async fn disable_automatically(
    db: &impl ConnectionTrait,
    vault: &Vault,
    id: i32,
    reason: &str,
) -> Result<Model, ServiceError> {
    let current = get(db, vault, id).await?;
    if !current.enabled {
        return Ok(current);
    }
    let now = Utc::now();
    let mut row: ActiveModel = current.into();
    row.enabled = Set(false);
    row.disabled_by = Set(Some(DISABLED_BY_AUTO.into()));
    row.disabled_reason = Set(Some(reason.to_string()));
    row.disabled_at = Set(Some(now));
    row.update_time = Set(now);
    open(vault, row.update(db).await?)
}

/// Deletes key `id`. Its log rows stay, pointing at an id that no longer resolves.
pub async fn delete(db: &impl ConnectionTrait, id: i32) -> Result<(), ServiceError> {
    let result = ApiKeys::delete_by_id(id).exec(db).await?;
    if result.rows_affected == 0 {
        return Err(ServiceError::NotFound(format!("key {id}")));
    }
    Ok(())
}

/// Whether any key of `provider` exists.
pub async fn any_of_provider(
    db: &impl ConnectionTrait,
    provider: Provider,
) -> Result<bool, ServiceError> {
    Ok(ApiKeys::find()
        .filter(api_key::Column::Provider.eq(provider.as_str()))
        .one(db)
        .await?
        .is_some())
}

/// An admin's enable clears any disable reason; an admin's disable records who did it.
fn apply_enabled(row: &mut ActiveModel, current: &Model, enabled: bool) {
    // An enable is written even when the key reads as enabled: the log writer may commit an
    // automatic disable between that read and this write, and the admin's word is the later.
    if !enabled && !current.enabled {
        return;
    }
    row.enabled = Set(enabled);
    if enabled {
        row.disabled_by = Set(None);
        row.disabled_reason = Set(None);
        row.disabled_at = Set(None);
    } else {
        row.disabled_by = Set(Some(DISABLED_BY_ADMIN.into()));
        row.disabled_reason = Set(Some("disabled by admin".into()));
        row.disabled_at = Set(Some(Utc::now()));
    }
}

/// A unique violation on the key hash (provider and secret) means the key is already in the pool.
fn duplicate_key(error: sea_orm::DbErr) -> ServiceError {
    match ServiceError::from(error) {
        ServiceError::Conflict(_) => {
            ServiceError::Conflict("this API key is already in the pool for that provider".into())
        }
        other => other,
    }
}
