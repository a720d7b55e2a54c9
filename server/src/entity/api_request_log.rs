//! `api_request_log`: one row per upstream attempt.

use sea_orm::entity::prelude::*;

/// One upstream attempt of a client request; the attempts of one request share `request_id`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "api_request_log")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub request_id: String,
    pub attempt: i32,
    pub key_id: Option<i32>,
    pub access_token_id: Option<i32>,
    pub provider: String,
    /// `chat_completions` or `messages`.
    pub endpoint: String,
    pub model: String,
    pub is_stream: bool,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub total_tokens: i64,
    pub cache_read_tokens: i64,
    pub cache_creation_tokens: i64,
    /// Of `output_tokens`, those spent on reasoning (OpenAI reports them; priced as output).
    pub reasoning_tokens: i64,
    /// Cost in nano-USD (1e-9 USD).
    pub cost: i64,
    /// True when the model had no price, so `cost` is 0 for want of a price.
    pub cost_unknown: bool,
    pub latency_ms: i32,
    pub first_byte_ms: Option<i32>,
    pub status: String,
    pub http_status_code: Option<i32>,
    pub error_type: Option<String>,
    pub error_message: Option<String>,
    /// `reported` (by the upstream), `estimated` (by the proxy, after the client hung up) or
    /// `clamped` (reported out of range and cut to it).
    pub usage_source: String,
    /// The id of the response an OpenAI Responses call created (`resp_…`), so stateful
    /// follow-ups reach the key that holds it.
    pub response_id: Option<String>,
    /// For a request a route sent to another provider: the client's format (`openai`,
    /// `anthropic`); null when it was served as it came.
    pub client_format: Option<String>,
    /// For a routed request: the format of the key that served it.
    pub upstream_format: Option<String>,
    /// For a routed request: the model the client asked for (`model` is the upstream's).
    pub client_model: Option<String>,
    pub create_time: DateTimeUtc,
    pub update_time: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
