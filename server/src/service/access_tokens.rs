//! Client access tokens for `/v1`. The secret is shown once at creation; only its SHA-256 and a
//! short display prefix are stored.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};
use sha2::{Digest, Sha256};

use super::{secrets::random_token, validate};
use crate::{
    entity::access_token::{ActiveModel, Column, Entity as AccessTokens, Model},
    error::ServiceError,
};

/// Every client token starts with this, so it is recognisable in configs and leak scanners.
pub const TOKEN_PREFIX: &str = "ap-";
/// How many characters of a token are kept for display.
const DISPLAY_PREFIX_LEN: usize = 10;
/// Nano-USD per USD.
pub const NANOS_PER_USD: f64 = 1e9;
/// Largest budget, in USD.
const MAX_BUDGET_USD: f64 = 1e9;

/// A token to create.
#[derive(Clone, Debug, Default)]
pub struct NewToken {
    pub name: String,
    pub expires_at: Option<DateTime<Utc>>,
    /// Allowed models; `None` allows all.
    pub models: Option<Vec<String>>,
    /// Budget in USD; `None` is unlimited.
    pub budget_usd: Option<f64>,
    pub rpm_limit: Option<i32>,
    pub memo: Option<String>,
}

/// Changes to a token. The outer `Option` is "change or leave"; the inner one for nullable
/// fields is "set or clear".
#[derive(Clone, Debug, Default)]
pub struct TokenChanges {
    pub name: Option<String>,
    pub enabled: Option<bool>,
    pub expires_at: Option<Option<DateTime<Utc>>>,
    pub models: Option<Option<Vec<String>>>,
    pub budget_usd: Option<Option<f64>>,
    pub rpm_limit: Option<Option<i32>>,
    pub memo: Option<String>,
}

/// The SHA-256 of a token secret, hex; what the database stores and looks up by.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Creates a token; returns the secret (shown once) and the stored row.
pub async fn create(
    db: &impl ConnectionTrait,
    input: NewToken,
) -> Result<(String, Model), ServiceError> {
    let name = validate::required_text("name", &input.name, 128)?;
    let secret = format!("{TOKEN_PREFIX}{}", random_token(32));
    let now = Utc::now();
    let row = ActiveModel {
        name: Set(name),
        token_prefix: Set(secret.chars().take(DISPLAY_PREFIX_LEN).collect()),
        token_hash: Set(hash_secret(&secret)),
        enabled: Set(true),
        expires_at: Set(expiry(input.expires_at)?),
        models: Set(models_json(input.models)?),
        budget: Set(budget_nanos(input.budget_usd)?),
        spend: Set(0),
        rpm_limit: Set(rpm_limit(input.rpm_limit)?),
        memo: Set(validate::optional_text(
            "memo",
            input.memo.as_deref().unwrap_or_default(),
            2000,
        )?),
        create_time: Set(now),
        update_time: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok((secret, row))
}

/// Every token, newest first.
pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<Model>, ServiceError> {
    Ok(AccessTokens::find()
        .order_by_desc(Column::Id)
        .all(db)
        .await?)
}

/// One token by id.
pub async fn get(db: &impl ConnectionTrait, id: i32) -> Result<Model, ServiceError> {
    AccessTokens::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("access token {id}")))
}

/// The token whose secret this is, enabled or not.
pub async fn find_by_secret(
    db: &impl ConnectionTrait,
    secret: &str,
) -> Result<Option<Model>, ServiceError> {
    Ok(AccessTokens::find()
        .filter(Column::TokenHash.eq(hash_secret(secret)))
        .one(db)
        .await?)
}

/// Applies `changes` to token `id`.
pub async fn update(
    db: &impl ConnectionTrait,
    id: i32,
    changes: TokenChanges,
) -> Result<Model, ServiceError> {
    let mut row: ActiveModel = get(db, id).await?.into();
    if let Some(name) = changes.name {
        row.name = Set(validate::required_text("name", &name, 128)?);
    }
    if let Some(enabled) = changes.enabled {
        row.enabled = Set(enabled);
    }
    if let Some(expires_at) = changes.expires_at {
        row.expires_at = Set(expiry(expires_at)?);
    }
    if let Some(models) = changes.models {
        row.models = Set(models_json(models)?);
    }
    if let Some(budget) = changes.budget_usd {
        row.budget = Set(budget_nanos(budget)?);
    }
    if let Some(limit) = changes.rpm_limit {
        row.rpm_limit = Set(rpm_limit(limit)?);
    }
    if let Some(memo) = changes.memo {
        row.memo = Set(validate::optional_text("memo", &memo, 2000)?);
    }
    row.update_time = Set(Utc::now());
    Ok(row.update(db).await?)
}

/// Revokes token `id`: it stops working at once, and its row stays for the request log.
pub async fn revoke(db: &impl ConnectionTrait, id: i32) -> Result<Model, ServiceError> {
    update(
        db,
        id,
        TokenChanges {
            enabled: Some(false),
            ..TokenChanges::default()
        },
    )
    .await
}

/// The allowed models of a stored token; `None` allows all.
pub fn models_of(token: &Model) -> Option<Vec<String>> {
    token
        .models
        .as_deref()
        .and_then(|text| serde_json::from_str(text).ok())
}

fn expiry(expires_at: Option<DateTime<Utc>>) -> Result<Option<DateTime<Utc>>, ServiceError> {
    match expires_at {
        Some(at) if at <= Utc::now() => {
            Err(ServiceError::invalid("expiresAt", "must be in the future"))
        }
        other => Ok(other),
    }
}

fn models_json(models: Option<Vec<String>>) -> Result<Option<String>, ServiceError> {
    let Some(models) = models else {
        return Ok(None);
    };
    let mut cleaned = Vec::with_capacity(models.len());
    for model in models {
        let model = validate::required_text("models", &model, 128)?;
        if !cleaned.contains(&model) {
            cleaned.push(model);
        }
    }
    if cleaned.len() > 500 {
        return Err(ServiceError::invalid(
            "models",
            "may list at most 500 models",
        ));
    }
    serde_json::to_string(&cleaned)
        .map(Some)
        .map_err(ServiceError::internal)
}

fn budget_nanos(budget_usd: Option<f64>) -> Result<Option<i64>, ServiceError> {
    let Some(usd) = budget_usd else {
        return Ok(None);
    };
    let usd = validate::dollars("budget", usd)?;
    if usd > MAX_BUDGET_USD {
        return Err(ServiceError::invalid("budget", "must be at most 1e9 USD"));
    }
    // In range by the check above, so the cast cannot saturate.
    Ok(Some((usd * NANOS_PER_USD).round() as i64))
}

fn rpm_limit(limit: Option<i32>) -> Result<Option<i32>, ServiceError> {
    limit
        .map(|limit| validate::in_range("rpmLimit", limit, 1, 1_000_000))
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_hash_to_64_hex_characters() {
        let hash = hash_secret("ap-example");
        assert_eq!(hash.len(), 64);
        assert_ne!(hash, hash_secret("ap-exampleX"));
    }

    #[test]
    fn budgets_are_stored_in_nano_usd() {
        assert_eq!(
            budget_nanos(Some(12.5)).expect("valid"),
            Some(12_500_000_000)
        );
        assert!(budget_nanos(Some(-1.0)).is_err());
        assert!(budget_nanos(Some(f64::NAN)).is_err());
    }
}
