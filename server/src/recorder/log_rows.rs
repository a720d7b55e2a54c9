//! The log's multi-row insert, with its SQL text made once per row count and backend.
//!
//! Batches are cut into power-of-two chunks, so only a handful of statements exist; building
//! each one again with the query builder for every batch (29 columns × 128 rows of
//! placeholders, then every value through an active model) cost the writer about a quarter of
//! its CPU. Now a batch only binds its values.

use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use sea_orm::{DbBackend, Statement, Value};

use super::AttemptRecord;

/// Most rows per insert statement, a power of two (each row binds 29 values; SQLite allows
/// 32,766).
pub(super) const MAX_ROWS: usize = 128;

/// The columns written, in the order [`push_row`] binds them.
const COLUMNS: [&str; 29] = [
    "request_id",
    "attempt",
    "key_id",
    "access_token_id",
    "provider",
    "endpoint",
    "model",
    "is_stream",
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "cache_read_tokens",
    "cache_creation_tokens",
    "reasoning_tokens",
    "cost",
    "cost_unknown",
    "latency_ms",
    "first_byte_ms",
    "status",
    "http_status_code",
    "error_type",
    "error_message",
    "usage_source",
    "response_id",
    "client_format",
    "upstream_format",
    "client_model",
    "create_time",
    "update_time",
];

/// One statement text per power of two up to [`MAX_ROWS`].
const SIZES: usize = MAX_ROWS.ilog2() as usize + 1;
type Texts = [OnceLock<String>; SIZES];
static SQLITE: Texts = [const { OnceLock::new() }; SIZES];
static POSTGRES: Texts = [const { OnceLock::new() }; SIZES];

/// The insert of `rows`, skipping attempts already stored and returning what identifies each
/// inserted row (returning whole rows costs the database and the driver a copy of every
/// column).
pub(super) fn insert(backend: DbBackend, rows: &[AttemptRecord], now: DateTime<Utc>) -> Statement {
    let mut values = Vec::with_capacity(rows.len() * COLUMNS.len());
    for record in rows {
        push_row(&mut values, record, now);
    }
    Statement::from_sql_and_values(backend, text(backend, rows.len()), values)
}

/// The statement text for `rows` rows: made once for power-of-two counts, else each time.
fn text(backend: DbBackend, rows: usize) -> String {
    let cache = match backend {
        DbBackend::Postgres => &POSTGRES,
        _ => &SQLITE,
    };
    let cached = rows
        .is_power_of_two()
        .then(|| cache.get(rows.ilog2() as usize))
        .flatten();
    match cached {
        Some(cell) => cell.get_or_init(|| make(backend, rows)).clone(),
        None => make(backend, rows),
    }
}

fn make(backend: DbBackend, rows: usize) -> String {
    let columns = COLUMNS
        .iter()
        .map(|column| format!("\"{column}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let mut sql = format!("INSERT INTO \"api_request_log\" ({columns}) VALUES ");
    let mut number = 0;
    for row in 0..rows {
        if row > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for column in 0..COLUMNS.len() {
            if column > 0 {
                sql.push_str(", ");
            }
            number += 1;
            match backend {
                DbBackend::Postgres => sql.push_str(&format!("${number}")),
                _ => sql.push('?'),
            }
        }
        sql.push(')');
    }
    sql.push_str(
        " ON CONFLICT (\"request_id\", \"attempt\") DO NOTHING \
         RETURNING \"id\", \"request_id\", \"attempt\"",
    );
    sql
}

/// `record`'s values in [`COLUMNS`] order.
fn push_row(values: &mut Vec<Value>, record: &AttemptRecord, now: DateTime<Utc>) {
    let route = record.route.as_ref();
    values.extend([
        Value::from(&*record.request_id),
        record.attempt.into(),
        record.key_id.into(),
        record.access_token_id.into(),
        record.provider.into(),
        record.endpoint.into(),
        Value::from(&*record.model),
        record.is_stream.into(),
        record.usage.input.into(),
        record.usage.output.into(),
        record.usage.total().into(),
        record.usage.cache_read.into(),
        record.usage.cache_creation.into(),
        record.usage.reasoning.into(),
        record.cost.into(),
        record.cost_unknown.into(),
        record.latency_ms.into(),
        record.first_byte_ms.into(),
        record.status.as_str().into(),
        record.http_status_code.into(),
        record.error_type.clone().into(),
        record.error_message.clone().into(),
        record.usage_source.as_str().into(),
        record.response_id.clone().into(),
        route.map(|r| r.client_format).into(),
        route.map(|r| r.upstream_format).into(),
        route.map(|r| r.client_model.to_string()).into(),
        record.started_at.into(),
        now.into(),
    ]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_statement_binds_every_column_of_every_row() {
        for backend in [DbBackend::Sqlite, DbBackend::Postgres] {
            for rows in [1, 3, 4, MAX_ROWS] {
                let sql = text(backend, rows);
                let placeholders = match backend {
                    DbBackend::Postgres => sql.matches('$').count(),
                    _ => sql.matches('?').count(),
                };
                assert_eq!(placeholders, rows * COLUMNS.len(), "{backend:?} {rows}");
            }
        }
        assert!(text(DbBackend::Postgres, 2).contains("$58)"));
        assert_eq!(text(DbBackend::Sqlite, 64), make(DbBackend::Sqlite, 64));
    }
}
