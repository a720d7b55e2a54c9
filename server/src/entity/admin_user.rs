//! `admin_users`: who may log in to the management API.

use sea_orm::entity::prelude::*;

/// An administrator; only the argon2 hash of the password is stored.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "admin_users")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(unique)]
    pub username: String,
    pub password_hash: String,
    /// Carried in every JWT; bumped on a password change or `revokeSessions`, which ends every
    /// session issued before.
    pub token_version: i64,
    pub create_time: DateTimeUtc,
    pub update_time: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
