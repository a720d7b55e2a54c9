//! Administrators: first-start bootstrap, login checks and password changes.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Set,
};

use super::{secrets::random_token, validate};
use crate::{
    auth::password::{Hasher, MIN_PASSWORD_LEN},
    entity::admin_user::{ActiveModel, Column, Entity as AdminUsers, Model},
    error::ServiceError,
};

/// What the first start did about administrators.
#[derive(Debug, PartialEq)]
pub enum Bootstrap {
    /// Admins already existed.
    Existing,
    /// Created with the configured password.
    Created,
    /// Created with this random password, to be shown once.
    CreatedWithPassword(String),
}

/// Creates the first admin when there is none.
pub async fn bootstrap(
    db: &impl ConnectionTrait,
    hasher: &Hasher,
    username: &str,
    configured_password: Option<&str>,
) -> Result<Bootstrap, ServiceError> {
    if AdminUsers::find().count(db).await? > 0 {
        return Ok(Bootstrap::Existing);
    }
    let (password, outcome) = match configured_password {
        Some(password) => (password.to_string(), Bootstrap::Created),
        None => {
            let password = random_token(15);
            (password.clone(), Bootstrap::CreatedWithPassword(password))
        }
    };
    set_password(db, hasher, username, &password).await?;
    Ok(outcome)
}

/// Sets `username`'s password, creating the admin when needed.
pub async fn set_password(
    db: &impl ConnectionTrait,
    hasher: &Hasher,
    username: &str,
    password: &str,
) -> Result<Model, ServiceError> {
    let username = validate::required_text("username", username, 64)?;
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(ServiceError::invalid(
            "password",
            format!("must be at least {MIN_PASSWORD_LEN} characters"),
        ));
    }
    let hash = hasher.hash(password.to_string()).await?;
    let now = Utc::now();
    match find(db, &username).await? {
        Some(admin) => {
            let mut row: ActiveModel = admin.into();
            row.password_hash = Set(hash);
            row.update_time = Set(now);
            Ok(row.update(db).await?)
        }
        None => Ok(ActiveModel {
            username: Set(username),
            password_hash: Set(hash),
            create_time: Set(now),
            update_time: Set(now),
            ..Default::default()
        }
        .insert(db)
        .await?),
    }
}

/// The admin whose password this is, if any. A missing user costs the same hashing work as a
/// wrong password, so timing does not tell which usernames exist.
pub async fn authenticate(
    db: &impl ConnectionTrait,
    hasher: &Hasher,
    username: &str,
    password: &str,
) -> Result<Option<Model>, ServiceError> {
    let admin = find(db, username.trim()).await?;
    let stored = admin.as_ref().map(|admin| admin.password_hash.as_str());
    let matches = hasher.verify(stored, password.to_string()).await?;
    Ok(admin.filter(|_| matches))
}

/// One admin by id.
pub async fn get(db: &impl ConnectionTrait, id: i32) -> Result<Model, ServiceError> {
    AdminUsers::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| ServiceError::NotFound(format!("admin {id}")))
}

async fn find(db: &impl ConnectionTrait, username: &str) -> Result<Option<Model>, ServiceError> {
    Ok(AdminUsers::find()
        .filter(Column::Username.eq(username))
        .one(db)
        .await?)
}
