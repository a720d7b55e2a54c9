//! The writer task: collects records into batches (by size or every `max_delay`), commits each
//! batch in one transaction, then publishes the finished events.
//!
//! One bad row must never cost the others: text is cut to its column's width before insert,
//! and a batch the database keeps refusing is written again row by row, so only a row that is
//! refused on its own is rewritten with a marker (and, failing that, logged and dropped).

use std::{collections::HashMap, time::Duration};

use backon::{ExponentialBuilder, Retryable};
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, TransactionTrait,
    sea_query::{Expr, ExprTrait},
};
use tokio::{sync::mpsc, time::Instant};

use super::{AttemptRecord, Message, rollup};
use crate::{
    entity::{access_token, api_key, api_request_log},
    events::{EventBus, RequestEvent, RequestPhase},
    metrics::Metrics,
    service::keys::DISABLED_BY_AUTO,
};

/// When a batch is written.
#[derive(Clone, Copy, Debug)]
pub struct BatchLimits {
    /// Most records per batch.
    pub max_records: usize,
    /// Longest a record waits for its batch to fill.
    pub max_delay: Duration,
    /// Records the queue holds before further ones wait in tasks of their own.
    pub queue_capacity: usize,
}

impl Default for BatchLimits {
    fn default() -> Self {
        Self {
            max_records: 500,
            max_delay: Duration::from_millis(50),
            queue_capacity: 65_536,
        }
    }
}

/// Retries of a whole batch before it is written row by row.
const BATCH_RETRIES: usize = 4;
/// Widths of the log's text columns (characters).
const MODEL_CHARS: usize = 128;
const ERROR_TYPE_CHARS: usize = 64;
const REQUEST_ID_CHARS: usize = 64;
/// Error messages are TEXT, but a log row has no use for more than this.
const ERROR_MESSAGE_CHARS: usize = 2000;
/// The model name stored for a row the database refused as it was.
const REFUSED_MODEL: &str = "(refused)";

pub async fn run(
    db: DatabaseConnection,
    events: EventBus,
    metrics: std::sync::Arc<Metrics>,
    limits: BatchLimits,
    mut receiver: mpsc::Receiver<Message>,
) {
    let mut batch = Vec::with_capacity(limits.max_records);
    while let Some(first) = receiver.recv().await {
        batch.push(first);
        let deadline = Instant::now() + limits.max_delay;
        while batch.len() < limits.max_records && !matches!(batch.last(), Some(Message::Flush(_))) {
            match tokio::time::timeout_at(deadline, receiver.recv()).await {
                Ok(Some(message)) => batch.push(message),
                Ok(None) | Err(_) => break,
            }
        }
        let started = std::time::Instant::now();
        write(&db, &events, std::mem::take(&mut batch)).await;
        metrics.flushed(started.elapsed().as_secs_f64());
    }
}

async fn write(db: &DatabaseConnection, events: &EventBus, batch: Vec<Message>) {
    let mut attempts: Vec<AttemptRecord> = Vec::new();
    let mut disables = Vec::new();
    let mut flushes = Vec::new();
    for message in batch {
        match message {
            Message::Attempt(record) => attempts.push(*record),
            Message::DisableKey { key_id, reason, at } => disables.push((key_id, reason, at)),
            Message::Flush(done) => flushes.push(done),
        }
    }
    for record in &mut attempts {
        fit_columns(record);
    }
    if !attempts.is_empty() || !disables.is_empty() {
        let backoff = ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(50))
            .with_max_delay(Duration::from_secs(2))
            .with_max_times(BATCH_RETRIES);
        let committed = (|| commit(db, &attempts, &disables))
            .retry(backoff)
            .notify(|error, wait| {
                tracing::warn!(records = attempts.len(), error = %error, ?wait, "log batch commit failed; retrying");
            })
            .await;
        let ids = match committed {
            Ok(ids) => ids,
            Err(error) => {
                tracing::error!(records = attempts.len(), error = %error, "a log batch keeps failing; writing it row by row");
                row_by_row(db, &mut attempts, &disables).await
            }
        };
        publish(events, attempts, &ids);
    }
    for done in flushes {
        let _ = done.send(());
    }
}

/// Writes a refused batch one record per transaction, so a row the database refuses costs
/// only itself; such a row is tried once more with its text replaced by a marker.
async fn row_by_row(
    db: &DatabaseConnection,
    attempts: &mut [AttemptRecord],
    disables: &[(i32, String, DateTime<Utc>)],
) -> HashMap<(String, i32), i64> {
    if !disables.is_empty()
        && let Err(error) = commit(db, &[], disables).await
    {
        tracing::error!(error = %error, "cannot persist automatic key disables");
    }
    let mut ids = HashMap::with_capacity(attempts.len());
    for record in attempts.iter_mut() {
        match commit(db, std::slice::from_ref(record), &[]).await {
            Ok(done) => ids.extend(done),
            Err(error) => {
                tracing::warn!(request_id = %record.request_id, error = %error, "the database refused a log row; storing it with a marker");
                mark_refused(record);
                match commit(db, std::slice::from_ref(record), &[]).await {
                    Ok(done) => ids.extend(done),
                    Err(error) => {
                        tracing::error!(request_id = %record.request_id, cost = record.cost, error = %error, "a log row was dropped");
                    }
                }
            }
        }
    }
    ids
}

/// The first `max` characters of `text`, without NUL and other control characters a
/// database may refuse (newlines and tabs stay).
fn fit(text: &str, max: usize) -> Option<String> {
    let clean = |c: &char| !c.is_control() || matches!(c, '\n' | '\t');
    if text.chars().count() <= max && text.chars().all(|c| clean(&c)) {
        return None;
    }
    Some(text.chars().filter(clean).take(max).collect())
}

/// Cuts every free-text field of `record` to its column's width.
fn fit_columns(record: &mut AttemptRecord) {
    if let Some(model) = fit(&record.model, MODEL_CHARS) {
        record.model = model.into();
    }
    if let Some(id) = fit(&record.request_id, REQUEST_ID_CHARS) {
        record.request_id = id.into();
    }
    for (field, max) in [
        (&mut record.error_type, ERROR_TYPE_CHARS),
        (&mut record.error_message, ERROR_MESSAGE_CHARS),
    ] {
        if let Some(text) = field.as_deref().and_then(|t| fit(t, max)) {
            *field = Some(text);
        }
    }
}

/// What is left of a refused row: its numbers (so spend still lands) under a marker model.
fn mark_refused(record: &mut AttemptRecord) {
    record.model = REFUSED_MODEL.into();
    record.error_type = Some("log_row_refused".into());
    record.error_message = None;
    record.key_name = None;
}

/// Log rows, rollups, token spend and key disables, in one transaction. Returns the new log
/// ids by (request id, attempt).
async fn commit(
    db: &DatabaseConnection,
    attempts: &[AttemptRecord],
    disables: &[(i32, String, DateTime<Utc>)],
) -> Result<HashMap<(String, i32), i64>, DbErr> {
    let txn = db.begin().await?;
    let mut ids = HashMap::with_capacity(attempts.len());
    for chunk in attempts.chunks(200) {
        let rows = chunk.iter().map(log_row);
        let inserted = api_request_log::Entity::insert_many(rows)
            .exec_with_returning(&txn)
            .await?;
        for row in inserted {
            ids.insert((row.request_id, row.attempt), row.id);
        }
    }
    rollup::apply(&txn, attempts.iter()).await?;

    let mut spend: HashMap<i32, (i64, DateTime<Utc>)> = HashMap::new();
    for record in attempts {
        if let Some(token) = record.access_token_id {
            let entry = spend.entry(token).or_insert((0, record.started_at));
            entry.0 += record.cost;
            entry.1 = Ord::max(entry.1, record.started_at);
        }
    }
    for (token, (cost, last_used)) in spend {
        access_token::Entity::update_many()
            .col_expr(
                access_token::Column::Spend,
                Expr::col(access_token::Column::Spend).add(Expr::val(cost)),
            )
            .col_expr(access_token::Column::LastUsedAt, Expr::value(last_used))
            .filter(access_token::Column::Id.eq(token))
            .exec(&txn)
            .await?;
    }

    let mut key_spend: HashMap<i32, i64> = HashMap::new();
    for record in attempts {
        if let Some(key) = record.key_id
            && record.cost > 0
        {
            *key_spend.entry(key).or_default() += record.cost;
        }
    }
    for (key, cost) in key_spend {
        api_key::Entity::update_many()
            .col_expr(
                api_key::Column::Spend,
                Expr::col(api_key::Column::Spend).add(Expr::val(cost)),
            )
            .filter(api_key::Column::Id.eq(key))
            .exec(&txn)
            .await?;
    }

    for (key_id, reason, at) in disables {
        // Only an enabled key: an admin's own disable (and its reason) stays as it is.
        api_key::Entity::update_many()
            .col_expr(api_key::Column::Enabled, Expr::value(false))
            .col_expr(api_key::Column::DisabledBy, Expr::value(DISABLED_BY_AUTO))
            .col_expr(api_key::Column::DisabledReason, Expr::value(reason.clone()))
            .col_expr(api_key::Column::DisabledAt, Expr::value(*at))
            .col_expr(api_key::Column::UpdateTime, Expr::value(*at))
            .filter(api_key::Column::Id.eq(*key_id))
            .filter(api_key::Column::Enabled.eq(true))
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(ids)
}

fn log_row(record: &AttemptRecord) -> api_request_log::ActiveModel {
    api_request_log::ActiveModel {
        request_id: Set(record.request_id.to_string()),
        attempt: Set(record.attempt),
        key_id: Set(record.key_id),
        access_token_id: Set(record.access_token_id),
        provider: Set(record.provider.to_string()),
        endpoint: Set(record.endpoint.to_string()),
        model: Set(record.model.to_string()),
        is_stream: Set(record.is_stream),
        input_tokens: Set(record.usage.input),
        output_tokens: Set(record.usage.output),
        total_tokens: Set(record.usage.total()),
        cache_read_tokens: Set(record.usage.cache_read),
        cache_creation_tokens: Set(record.usage.cache_creation),
        reasoning_tokens: Set(record.usage.reasoning),
        cost: Set(record.cost),
        cost_unknown: Set(record.cost_unknown),
        latency_ms: Set(record.latency_ms),
        first_byte_ms: Set(record.first_byte_ms),
        status: Set(record.status.as_str().to_string()),
        http_status_code: Set(record.http_status_code),
        error_type: Set(record.error_type.clone()),
        error_message: Set(record.error_message.clone()),
        usage_source: Set(record.usage_source.as_str().to_string()),
        response_id: Set(record.response_id.clone()),
        create_time: Set(record.started_at),
        update_time: Set(Utc::now()),
        ..Default::default()
    }
}

fn publish(events: &EventBus, attempts: Vec<AttemptRecord>, ids: &HashMap<(String, i32), i64>) {
    if events.request_subscribers() == 0 {
        return;
    }
    for record in attempts {
        let log_id = ids
            .get(&(record.request_id.to_string(), record.attempt))
            .copied();
        events.publish_request(RequestEvent {
            phase: RequestPhase::Finished,
            request_id: record.request_id.to_string(),
            attempt: record.attempt,
            log_id,
            key_id: record.key_id,
            key_name: record.key_name,
            provider: record.provider.to_string(),
            endpoint: record.endpoint.to_string(),
            model: record.model.to_string(),
            is_stream: record.is_stream,
            status: Some(record.status.as_str().to_string()),
            http_status_code: record.http_status_code,
            error_type: record.error_type,
            input_tokens: record.usage.input,
            output_tokens: record.usage.output,
            cache_read_tokens: record.usage.cache_read,
            cache_creation_tokens: record.usage.cache_creation,
            cost: record.cost,
            latency_ms: Some(record.latency_ms),
            first_byte_ms: record.first_byte_ms,
            at: record.started_at,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_cut_to_the_column_and_loses_control_characters() {
        assert_eq!(fit("gpt-4o", 128), None);
        assert_eq!(fit("a\0b\nc", 128).as_deref(), Some("ab\nc"));
        assert_eq!(fit(&"é".repeat(130), 128), Some("é".repeat(128)));
    }
}
