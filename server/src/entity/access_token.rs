//! `access_tokens`: the client tokens that may call `/v1`.

use sea_orm::entity::prelude::*;

/// A client token. The secret itself is never stored: only its SHA-256 and a short prefix to
/// recognise it by.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "access_tokens")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub name: String,
    pub token_prefix: String,
    #[sea_orm(unique)]
    pub token_hash: String,
    pub enabled: bool,
    pub expires_at: Option<DateTimeUtc>,
    /// JSON array of allowed model names; `None` allows all.
    pub models: Option<String>,
    /// Budget in nano-USD; `None` is unlimited.
    pub budget: Option<i64>,
    /// Spend so far in nano-USD.
    pub spend: i64,
    pub rpm_limit: Option<i32>,
    pub last_used_at: Option<DateTimeUtc>,
    pub memo: String,
    pub create_time: DateTimeUtc,
    pub update_time: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
