//! Secrets the instance makes for itself (the JWT signing key), generated once and shared by
//! every instance on the same database.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::Utc;
use rand::Rng;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use crate::{
    entity::instance_secret::{ActiveModel, Column, Entity as InstanceSecrets},
    error::ServiceError,
};

/// Name of the JWT signing secret.
pub const JWT_SECRET: &str = "jwt_secret";

/// `bytes` random bytes, URL-safe base64.
pub fn random_token(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buffer);
    URL_SAFE_NO_PAD.encode(buffer)
}

/// The secret called `name`, created at random the first time.
pub async fn get_or_create(db: &impl ConnectionTrait, name: &str) -> Result<String, ServiceError> {
    if let Some(found) = find(db, name).await? {
        return Ok(found);
    }
    let now = Utc::now();
    let created = ActiveModel {
        name: Set(name.to_string()),
        value: Set(random_token(48)),
        create_time: Set(now),
        update_time: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await;
    match created {
        Ok(row) => Ok(row.value),
        // Another instance created it first: use theirs.
        Err(_) => find(db, name)
            .await?
            .ok_or_else(|| ServiceError::internal(anyhow::anyhow!("cannot store secret {name}"))),
    }
}

async fn find(db: &impl ConnectionTrait, name: &str) -> Result<Option<String>, ServiceError> {
    Ok(InstanceSecrets::find()
        .filter(Column::Name.eq(name))
        .one(db)
        .await?
        .map(|row| row.value))
}
