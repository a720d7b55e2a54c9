//! Administrators: first-start bootstrap, login checks, password changes and session
//! revocation (token versions).

use std::collections::HashMap;

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QuerySelect, Set,
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

/// Name of the file that receives the first admin's random password.
pub const INITIAL_PASSWORD_FILE: &str = "initial-admin-password.txt";

/// Writes the first admin's random password to `folder`/[`INITIAL_PASSWORD_FILE`], readable by
/// the owner only, so it never goes through the log. Returns the file's path.
pub fn write_initial_password(
    folder: &std::path::Path,
    username: &str,
    password: &str,
) -> std::io::Result<std::path::PathBuf> {
    use std::io::Write;
    std::fs::create_dir_all(folder)?;
    let path = folder.join(INITIAL_PASSWORD_FILE);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&path)?;
    // An older file keeps its mode on open: narrow it too.
    #[cfg(unix)]
    file.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    writeln!(
        file,
        "username: {username}\npassword: {password}\n\nLog in, change the password, then delete this file."
    )?;
    Ok(path)
}

/// Sets `username`'s password, creating the admin when needed. An existing admin's token
/// version is bumped, so every session issued with the old password ends.
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
            let mut row: ActiveModel = admin.clone().into();
            row.token_version = Set(admin.token_version + 1);
            row.password_hash = Set(hash);
            row.update_time = Set(now);
            Ok(row.update(db).await?)
        }
        None => Ok(ActiveModel {
            username: Set(username),
            password_hash: Set(hash),
            token_version: Set(0),
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

/// Bumps admin `id`'s token version, which ends every session issued before; returns the admin
/// with the new version.
pub async fn revoke_sessions(db: &impl ConnectionTrait, id: i32) -> Result<Model, ServiceError> {
    let admin = get(db, id).await?;
    let version = admin.token_version + 1;
    let mut row: ActiveModel = admin.into();
    row.token_version = Set(version);
    row.update_time = Set(Utc::now());
    Ok(row.update(db).await?)
}

/// The token version of every admin, by id.
pub async fn token_versions(db: &impl ConnectionTrait) -> Result<HashMap<i32, i64>, ServiceError> {
    Ok(AdminUsers::find()
        .select_only()
        .column(Column::Id)
        .column(Column::TokenVersion)
        .into_tuple::<(i32, i64)>()
        .all(db)
        .await?
        .into_iter()
        .collect())
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
