//! The request log: a Relay connection (newest first) with filters, and one row by id.

use async_graphql::{
    Context, InputObject, Object, SimpleObject,
    connection::{Connection, CursorType, Edge, EmptyFields, query},
};
use chrono::{DateTime, SecondsFormat, Utc};
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
};

use super::{keys::ApiKey, loaders, state};
use crate::{
    entity::api_request_log::{Column, Entity as Logs, Model},
    error::{GqlError, GqlResult, ServiceError},
    provider::Provider,
    service::{
        access_tokens::NANOS_PER_USD,
        request_logs::{self, End, LogCursor},
    },
};

/// Largest page of `requestLogs`.
const MAX_PAGE: usize = 500;
/// Page size when neither `first` nor `last` is given.
const DEFAULT_PAGE: usize = 50;

/// One upstream attempt.
pub struct RequestLog(Model);

#[Object]
impl RequestLog {
    /// Row id (also the cursor).
    async fn id(&self) -> i64 {
        self.0.id
    }
    /// Shared by every attempt of one client request (`x-amp-pool-request-id`).
    async fn request_id(&self) -> &str {
        &self.0.request_id
    }
    /// 1 for the first attempt, more after failover.
    async fn attempt(&self) -> i32 {
        self.0.attempt
    }
    /// The key used.
    async fn key_id(&self) -> Option<i32> {
        self.0.key_id
    }
    /// The key used, or null when it was deleted (loaded in one batch per page).
    async fn key(&self, ctx: &Context<'_>) -> GqlResult<Option<ApiKey>> {
        let Some(id) = self.0.key_id else {
            return Ok(None);
        };
        Ok(loaders::keys(ctx)?.load_one(id).await?.map(ApiKey::from))
    }
    /// The client token that made the request.
    async fn access_token_id(&self) -> Option<i32> {
        self.0.access_token_id
    }
    /// The key's provider (`openai`, `anthropic`, `amp`).
    async fn provider(&self) -> &str {
        &self.0.provider
    }
    /// `chat_completions`, `messages` or `count_tokens`.
    async fn endpoint(&self) -> &str {
        &self.0.endpoint
    }
    /// The model sent upstream (the client's, unless a route renamed it; see `clientModel`).
    async fn model(&self) -> &str {
        &self.0.model
    }
    /// Whether the client asked for a stream.
    async fn is_stream(&self) -> bool {
        self.0.is_stream
    }
    /// Prompt tokens, without cache reads or writes.
    async fn input_tokens(&self) -> i64 {
        self.0.input_tokens
    }
    /// Completion tokens.
    async fn output_tokens(&self) -> i64 {
        self.0.output_tokens
    }
    /// Tokens read from the prompt cache.
    async fn cache_read_tokens(&self) -> i64 {
        self.0.cache_read_tokens
    }
    /// Tokens written to the prompt cache.
    async fn cache_creation_tokens(&self) -> i64 {
        self.0.cache_creation_tokens
    }
    /// Of the output tokens, those spent on reasoning (OpenAI models report them).
    async fn reasoning_tokens(&self) -> i64 {
        self.0.reasoning_tokens
    }
    /// For a request a route sent to another provider: the client's format (`openai`,
    /// `anthropic`); null when it was served as it came.
    async fn client_format(&self) -> Option<&str> {
        self.0.client_format.as_deref()
    }
    /// For a routed request: the format of the key that served it.
    async fn upstream_format(&self) -> Option<&str> {
        self.0.upstream_format.as_deref()
    }
    /// For a routed request: the model the client asked for (`model` is the upstream's).
    async fn client_model(&self) -> Option<&str> {
        self.0.client_model.as_deref()
    }
    /// The id of the response an OpenAI Responses call created (`resp_…`).
    async fn response_id(&self) -> Option<&str> {
        self.0.response_id.as_deref()
    }
    /// Every token of the attempt.
    async fn total_tokens(&self) -> i64 {
        self.0.total_tokens
    }
    /// Cost in USD.
    async fn cost(&self) -> f64 {
        self.0.cost as f64 / NANOS_PER_USD
    }
    /// Cost in nano-USD, exact.
    async fn cost_nanos(&self) -> i64 {
        self.0.cost
    }
    /// True when the model had no price (so the cost is 0).
    async fn cost_unknown(&self) -> bool {
        self.0.cost_unknown
    }
    /// Total time of the attempt in ms.
    async fn latency_ms(&self) -> i32 {
        self.0.latency_ms
    }
    /// Time until the upstream's answer began, in ms.
    async fn first_byte_ms(&self) -> Option<i32> {
        self.0.first_byte_ms
    }
    /// `success`, `error`, `timeout`, `network_error`, `interrupted` or `cancelled`.
    async fn status(&self) -> &str {
        &self.0.status
    }
    /// The upstream's HTTP status, when it answered.
    async fn http_status_code(&self) -> Option<i32> {
        self.0.http_status_code
    }
    /// The kind of failure (`rate_limited`, `auth_failed`, `timeout`, …).
    async fn error_type(&self) -> Option<&str> {
        self.0.error_type.as_deref()
    }
    /// The upstream's error message or the proxy's explanation.
    async fn error_message(&self) -> Option<&str> {
        self.0.error_message.as_deref()
    }
    /// Where the token counts come from: `reported` by the upstream, `estimated` by the pool
    /// (the client hung up before the upstream reported usage), or `clamped` (the upstream
    /// reported counts out of range, cut to 0..=1,000,000,000 each).
    async fn usage_source(&self) -> &str {
        &self.0.usage_source
    }
    /// When the attempt started.
    async fn create_time(&self) -> DateTime<Utc> {
        self.0.create_time
    }
}

/// Which log rows to list; every given field must match.
#[derive(InputObject, Default, Clone)]
pub struct RequestLogFilter {
    /// Only this key.
    key_id: Option<i32>,
    /// Only this model.
    model: Option<String>,
    /// Only this provider.
    provider: Option<Provider>,
    /// Only this status (`success`, `error`, …).
    status: Option<String>,
    /// Started at or after.
    from: Option<DateTime<Utc>>,
    /// Started before.
    to: Option<DateTime<Utc>>,
    /// Only the attempts of this request.
    request_id: Option<String>,
    /// Only this client token.
    access_token_id: Option<i32>,
    /// Only attempts at least this slow.
    min_latency_ms: Option<i32>,
}

impl RequestLogFilter {
    fn condition(&self) -> Condition {
        let mut condition = Condition::all();
        if let Some(v) = self.key_id {
            condition = condition.add(Column::KeyId.eq(v));
        }
        if let Some(v) = &self.model {
            condition = condition.add(Column::Model.eq(v.clone()));
        }
        if let Some(v) = self.provider {
            condition = condition.add(Column::Provider.eq(v.as_str()));
        }
        if let Some(v) = &self.status {
            condition = condition.add(Column::Status.eq(v.clone()));
        }
        if let Some(v) = self.from {
            condition = condition.add(Column::CreateTime.gte(v));
        }
        if let Some(v) = self.to {
            condition = condition.add(Column::CreateTime.lt(v));
        }
        if let Some(v) = &self.request_id {
            condition = condition.add(Column::RequestId.eq(v.clone()));
        }
        if let Some(v) = self.access_token_id {
            condition = condition.add(Column::AccessTokenId.eq(v));
        }
        if let Some(v) = self.min_latency_ms {
            condition = condition.add(Column::LatencyMs.gte(v));
        }
        condition
    }
}

/// A page boundary: the row's start time and id, since pages are ordered by both.
pub struct Cursor(LogCursor);

impl CursorType for Cursor {
    type Error = &'static str;

    fn decode_cursor(s: &str) -> Result<Self, Self::Error> {
        const INVALID: &str = "not a cursor of requestLogs";
        let (id, at) = s.split_once('_').ok_or(INVALID)?;
        Ok(Cursor(LogCursor {
            at: DateTime::parse_from_rfc3339(at)
                .map_err(|_| INVALID)?
                .with_timezone(&Utc),
            id: id.parse().map_err(|_| INVALID)?,
        }))
    }

    fn encode_cursor(&self) -> String {
        format!(
            "{}_{}",
            self.0.id,
            self.0.at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
        )
    }
}

/// Largest `limit` of `boundedCount`.
const MAX_COUNT: u64 = 1_000_000;

/// A count of log rows that stops at a limit.
#[derive(SimpleObject)]
pub struct BoundedCount {
    /// Rows matching the filter, at most the `limit` asked for.
    count: u64,
    /// False when more rows match than the `limit`.
    complete: bool,
}

/// The connection's extra fields, counted only when asked for.
pub struct LogTotal {
    db: DatabaseConnection,
    condition: Condition,
}

#[Object]
impl LogTotal {
    /// Rows matching the filter, over all pages.
    async fn total_count(&self) -> GqlResult<u64> {
        Ok(Logs::find()
            .filter(self.condition.clone())
            .count(&self.db)
            .await?)
    }

    /// Rows matching the filter, counted no further than `limit` (1–1,000,000; 10,000 by
    /// default). Stays fast on a log of millions of rows, where `totalCount` reads every
    /// matching row.
    async fn bounded_count(
        &self,
        #[graphql(default = 10000)] limit: i32,
    ) -> GqlResult<BoundedCount> {
        let Some(limit) = u64::try_from(limit)
            .ok()
            .filter(|limit| (1..=MAX_COUNT).contains(limit))
        else {
            return Err(ServiceError::invalid(
                "limit",
                format!("must be between 1 and {MAX_COUNT}"),
            )
            .into());
        };
        let (count, complete) =
            request_logs::count_up_to(&self.db, self.condition.clone(), limit).await?;
        Ok(BoundedCount { count, complete })
    }
}

/// Reading the log.
#[derive(Default)]
pub struct LogQuery;

#[Object]
impl LogQuery {
    /// Log rows, newest first (by start time), as a Relay connection (at most 500 per page, 50 by default).
    async fn request_logs(
        &self,
        ctx: &Context<'_>,
        after: Option<String>,
        before: Option<String>,
        first: Option<i32>,
        last: Option<i32>,
        filter: Option<RequestLogFilter>,
    ) -> async_graphql::Result<Connection<Cursor, RequestLog, LogTotal, EmptyFields>> {
        let db = state(ctx).map_err(GqlError::from)?.db.clone();
        let condition = filter.unwrap_or_default().condition();
        for (name, value) in [("first", first), ("last", last)] {
            if value.is_some_and(|v| v < 0 || v as usize > MAX_PAGE) {
                return Err(GqlError::from(ServiceError::invalid(
                    name,
                    format!("must be between 0 and {MAX_PAGE}"),
                ))
                .into());
            }
        }
        // Checked here too, so a cursor that is not one is refused like any bad argument.
        for (name, cursor) in [("after", &after), ("before", &before)] {
            if let Some(Err(message)) = cursor.as_deref().map(Cursor::decode_cursor) {
                return Err(GqlError::from(ServiceError::invalid(name, message)).into());
            }
        }
        query(
            after,
            before,
            first,
            last,
            |after: Option<Cursor>, before: Option<Cursor>, first, last| async move {
                let (after, before) = (after.map(|c| c.0), before.map(|c| c.0));
                // Newest first; `last` reads from the old end and is turned around.
                let (rows, has_previous, has_next) = if let Some(last) = last {
                    let mut rows = request_logs::read(
                        &db,
                        condition.clone(),
                        after,
                        before,
                        End::Oldest,
                        last as u64 + 1,
                    )
                    .await?;
                    let more = rows.len() > last;
                    rows.truncate(last);
                    rows.reverse();
                    (rows, more, before.is_some())
                } else {
                    let take = first.unwrap_or(DEFAULT_PAGE);
                    let mut rows = request_logs::read(
                        &db,
                        condition.clone(),
                        after,
                        before,
                        End::Newest,
                        take as u64 + 1,
                    )
                    .await?;
                    let more = rows.len() > take;
                    rows.truncate(take);
                    (rows, after.is_some(), more)
                };
                let mut connection = Connection::with_additional_fields(
                    has_previous,
                    has_next,
                    LogTotal { db, condition },
                );
                connection.edges.extend(
                    rows.into_iter()
                        .map(|row| Edge::new(Cursor(LogCursor::from(&row)), RequestLog(row))),
                );
                Ok::<_, GqlError>(connection)
            },
        )
        .await
    }

    /// One log row, or null.
    async fn request_log(&self, ctx: &Context<'_>, id: i64) -> GqlResult<Option<RequestLog>> {
        Ok(Logs::find_by_id(id)
            .one(&state(ctx)?.db)
            .await?
            .map(RequestLog))
    }
}
