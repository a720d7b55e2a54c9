//! `api_keys`: the upstream keys the pool hands out.

use sea_orm::entity::prelude::*;

/// One upstream key with its identity (UA, outbound proxy), routing weight and health.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "api_keys")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub name: String,
    /// `openai`, `anthropic` or `amp`.
    pub provider: String,
    /// The upstream secret, sealed (`enc:v1:…`, see `vault`). Never leaves the server in full.
    pub api_key: String,
    /// Keyed hash of provider and secret: what makes a secret unique in the pool.
    pub key_hash: Option<String>,
    /// User-Agent sent upstream; empty means the pool's default.
    pub ua: String,
    /// Outbound proxy URL; empty means direct. Sealed when it carries credentials.
    pub proxy_ip: String,
    /// Overrides the provider's default upstream base URL.
    pub base_url: Option<String>,
    pub enabled: bool,
    pub priority: i32,
    pub weight: i32,
    pub balance: Option<f64>,
    pub total_balance: Option<f64>,
    pub balance_last_update: Option<DateTimeUtc>,
    /// The parsed balance breakdown, JSON.
    pub balance_detail: Option<String>,
    /// Why the last balance refresh failed; the balance shown is stale while this is set.
    pub balance_error: Option<String>,
    /// Spend recorded by the pool, nano-USD.
    pub spend: i64,
    /// `spend` when `total_balance` was last set.
    pub balance_spend_mark: i64,
    pub memo: String,
    pub disabled_reason: Option<String>,
    pub disabled_at: Option<DateTimeUtc>,
    /// `admin` or `auto`.
    pub disabled_by: Option<String>,
    pub create_time: DateTimeUtc,
    pub update_time: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
