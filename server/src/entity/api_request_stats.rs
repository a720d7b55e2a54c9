//! `api_request_stats`: hourly and daily rollups of the request log.

use sea_orm::entity::prelude::*;

/// Counters for one bucket. `stat_hour` NULL is the whole day; `key_id`, `model` or `provider`
/// NULL means "all". `bucket_key` is the unique text form of the dimensions used for upserts.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "api_request_stats")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub bucket_key: String,
    pub stat_date: Date,
    pub stat_hour: Option<i32>,
    pub key_id: Option<i32>,
    pub model: Option<String>,
    pub provider: Option<String>,
    pub request_count: i64,
    pub success_count: i64,
    pub error_count: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub total_tokens: i64,
    pub cache_read_tokens: i64,
    pub cache_creation_tokens: i64,
    /// Nano-USD.
    pub cost: i64,
    pub latency_ms_sum: i64,
    pub latency_ms_min: Option<i32>,
    pub latency_ms_max: Option<i32>,
    pub create_time: DateTimeUtc,
    pub update_time: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
