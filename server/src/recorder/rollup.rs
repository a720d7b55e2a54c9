//! Rollups: a batch of attempts folded into hourly and daily buckets, then added to
//! `api_request_stats` with atomic upserts, so any number of writers stay exact.
//!
//! Each attempt counts in four rows: (hour, key, model, provider), (day, key, model, provider),
//! and the same two with every dimension NULL ("all").

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Timelike, Utc};
use sea_orm::{
    ConnectionTrait, DbErr,
    sea_query::{Expr, OnConflict, Query},
};

use super::{AttemptRecord, AttemptStatus, chunks::power_of_two_chunks};
use crate::entity::api_request_stats::{Column, Entity as Stats};

/// Most rows per upsert statement, a power of two (each row binds 20 values; SQLite allows
/// 32,766).
const UPSERT_CHUNK: usize = 256;

/// What one attempt adds to its buckets: read from a record as it is written, or from its log
/// row when the rollups are checked, so both go through the same [`fold`].
pub(super) struct Sample<'a> {
    pub at: DateTime<Utc>,
    pub key_id: Option<i32>,
    pub model: &'a str,
    pub provider: &'a str,
    pub success: bool,
    pub input: i64,
    pub output: i64,
    pub total: i64,
    pub cache_read: i64,
    pub cache_creation: i64,
    pub cost: i64,
    pub latency_ms: i32,
}

impl<'a> From<&'a AttemptRecord> for Sample<'a> {
    fn from(record: &'a AttemptRecord) -> Self {
        Self {
            at: record.started_at,
            key_id: record.key_id,
            model: &record.model,
            provider: record.provider,
            success: record.status == AttemptStatus::Success,
            input: record.usage.input,
            output: record.usage.output,
            total: record.usage.total(),
            cache_read: record.usage.cache_read,
            cache_creation: record.usage.cache_creation,
            cost: record.cost,
            latency_ms: record.latency_ms,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) struct Bucket {
    pub date: NaiveDate,
    pub hour: Option<i32>,
    pub key_id: Option<i32>,
    pub model: Option<String>,
    pub provider: Option<String>,
}

impl Bucket {
    /// The buckets an attempt counts in: its hour and its day (`hour` None), each once by its
    /// dimensions and once in the "all" row.
    pub fn of(
        date: NaiveDate,
        hour: i32,
        key_id: Option<i32>,
        model: &str,
        provider: &str,
    ) -> [Bucket; 4] {
        let full = |hour| Bucket {
            date,
            hour,
            key_id,
            model: Some(model.to_string()),
            provider: Some(provider.to_string()),
        };
        let all = |hour| Bucket {
            date,
            hour,
            key_id: None,
            model: None,
            provider: None,
        };
        [full(Some(hour)), all(Some(hour)), full(None), all(None)]
    }

    /// The canonical text form that the unique index is on; NULL dimensions are JSON nulls.
    pub fn key(&self) -> String {
        serde_json::json!([
            self.date.to_string(),
            self.hour,
            self.key_id,
            self.model,
            self.provider
        ])
        .to_string()
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Counters {
    pub requests: i64,
    pub successes: i64,
    pub errors: i64,
    pub input: i64,
    pub output: i64,
    pub total: i64,
    pub cache_read: i64,
    pub cache_creation: i64,
    pub cost: i64,
    pub latency_sum: i64,
    pub latency_min: Option<i32>,
    pub latency_max: Option<i32>,
}

impl Counters {
    /// Adds another bucket's counters to these.
    pub fn merge(&mut self, other: &Counters) {
        self.requests += other.requests;
        self.successes += other.successes;
        self.errors += other.errors;
        self.input += other.input;
        self.output += other.output;
        self.total += other.total;
        self.cache_read += other.cache_read;
        self.cache_creation += other.cache_creation;
        self.cost += other.cost;
        self.latency_sum += other.latency_sum;
        self.latency_min = match (self.latency_min, other.latency_min) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.latency_max = match (self.latency_max, other.latency_max) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
    }

    fn add(&mut self, record: &Sample<'_>) {
        self.requests += 1;
        if record.success {
            self.successes += 1;
        } else {
            self.errors += 1;
        }
        self.input += record.input;
        self.output += record.output;
        self.total += record.total;
        self.cache_read += record.cache_read;
        self.cache_creation += record.cache_creation;
        self.cost += record.cost;
        self.latency_sum += i64::from(record.latency_ms);
        self.latency_min = Some(
            self.latency_min
                .map_or(record.latency_ms, |m| m.min(record.latency_ms)),
        );
        self.latency_max = Some(
            self.latency_max
                .map_or(record.latency_ms, |m| m.max(record.latency_ms)),
        );
    }
}

/// Folds `records` into buckets.
fn fold<'a>(records: impl Iterator<Item = &'a AttemptRecord>) -> HashMap<Bucket, Counters> {
    let mut buckets = HashMap::new();
    for record in records {
        fold_into(&mut buckets, &Sample::from(record));
    }
    buckets
}

/// Adds one attempt to the buckets it counts in.
pub(super) fn fold_into(buckets: &mut HashMap<Bucket, Counters>, record: &Sample<'_>) {
    let hour = i32::try_from(record.at.hour()).unwrap_or_default();
    let date = record.at.date_naive();
    for bucket in Bucket::of(date, hour, record.key_id, record.model, record.provider) {
        buckets.entry(bucket).or_default().add(record);
    }
}

/// `current + incoming` for a counter column.
fn add(column: &str) -> Expr {
    Expr::cust(format!("api_request_stats.{column} + excluded.{column}"))
}

/// The smaller (`<`) or larger (`>`) of the stored and incoming value, NULL-safe and portable
/// (SQLite's MIN/MAX and PostgreSQL's LEAST/GREATEST differ).
fn extreme(column: &str, op: &str) -> Expr {
    Expr::cust(format!(
        "CASE WHEN api_request_stats.{column} IS NULL OR excluded.{column} {op} api_request_stats.{column} \
         THEN excluded.{column} ELSE api_request_stats.{column} END"
    ))
}

/// Adds the batch's rollups to `api_request_stats`.
pub async fn apply<'a>(
    db: &impl ConnectionTrait,
    records: impl Iterator<Item = &'a AttemptRecord>,
) -> Result<(), DbErr> {
    let buckets: Vec<(Bucket, Counters)> = fold(records).into_iter().collect();
    upsert(db, &buckets, Merge::Add).await
}

/// How an upsert treats a bucket that exists already.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Merge {
    /// The writer: add a batch's counters to the bucket's.
    Add,
    /// A rebuild: replace the bucket's counters with the exact sums.
    Replace,
}

/// Writes `buckets` to `api_request_stats`, adding to or replacing what a bucket holds.
pub(super) async fn upsert(
    db: &impl ConnectionTrait,
    buckets: &[(Bucket, Counters)],
    merge: Merge,
) -> Result<(), DbErr> {
    let now = Utc::now();
    for chunk in power_of_two_chunks(buckets, UPSERT_CHUNK) {
        let mut insert = Query::insert();
        insert.into_table(Stats).columns([
            Column::BucketKey,
            Column::StatDate,
            Column::StatHour,
            Column::KeyId,
            Column::Model,
            Column::Provider,
            Column::RequestCount,
            Column::SuccessCount,
            Column::ErrorCount,
            Column::InputTokens,
            Column::OutputTokens,
            Column::TotalTokens,
            Column::CacheReadTokens,
            Column::CacheCreationTokens,
            Column::Cost,
            Column::LatencyMsSum,
            Column::LatencyMsMin,
            Column::LatencyMsMax,
            Column::CreateTime,
            Column::UpdateTime,
        ]);
        for (bucket, counters) in chunk {
            insert
                .values([
                    bucket.key().into(),
                    bucket.date.into(),
                    bucket.hour.into(),
                    bucket.key_id.into(),
                    bucket.model.clone().into(),
                    bucket.provider.clone().into(),
                    counters.requests.into(),
                    counters.successes.into(),
                    counters.errors.into(),
                    counters.input.into(),
                    counters.output.into(),
                    counters.total.into(),
                    counters.cache_read.into(),
                    counters.cache_creation.into(),
                    counters.cost.into(),
                    counters.latency_sum.into(),
                    counters.latency_min.into(),
                    counters.latency_max.into(),
                    now.into(),
                    now.into(),
                ])
                .map_err(|error| DbErr::Custom(error.to_string()))?;
        }
        let mut on_conflict = OnConflict::column(Column::BucketKey);
        if merge == Merge::Replace {
            on_conflict.update_columns([
                Column::RequestCount,
                Column::SuccessCount,
                Column::ErrorCount,
                Column::InputTokens,
                Column::OutputTokens,
                Column::TotalTokens,
                Column::CacheReadTokens,
                Column::CacheCreationTokens,
                Column::Cost,
                Column::LatencyMsSum,
                Column::LatencyMsMin,
                Column::LatencyMsMax,
                Column::UpdateTime,
            ]);
            insert.on_conflict(on_conflict);
            db.execute(&insert).await?;
            continue;
        }
        on_conflict.values([
            (Column::RequestCount, add("request_count")),
            (Column::SuccessCount, add("success_count")),
            (Column::ErrorCount, add("error_count")),
            (Column::InputTokens, add("input_tokens")),
            (Column::OutputTokens, add("output_tokens")),
            (Column::TotalTokens, add("total_tokens")),
            (Column::CacheReadTokens, add("cache_read_tokens")),
            (Column::CacheCreationTokens, add("cache_creation_tokens")),
            (Column::Cost, add("cost")),
            (Column::LatencyMsSum, add("latency_ms_sum")),
            (Column::LatencyMsMin, extreme("latency_ms_min", "<")),
            (Column::LatencyMsMax, extreme("latency_ms_max", ">")),
            (Column::UpdateTime, Expr::cust("excluded.update_time")),
        ]);
        insert.on_conflict(on_conflict);
        db.execute(&insert).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::TimeZone;

    use super::*;
    use crate::usage::Usage;

    fn record(
        key_id: i32,
        model: &str,
        hour: u32,
        status: AttemptStatus,
        latency: i32,
    ) -> AttemptRecord {
        AttemptRecord {
            request_id: Arc::from("r"),
            attempt: 1,
            key_id: Some(key_id),
            key_name: None,
            access_token_id: None,
            provider: "openai",
            endpoint: "chat_completions",
            model: Arc::from(model),
            is_stream: false,
            usage: Usage {
                input: 10,
                output: 5,
                cache_read: 2,
                cache_creation: 0,
                ..Default::default()
            },
            cost: 100,
            cost_unknown: false,
            latency_ms: latency,
            first_byte_ms: None,
            status,
            http_status_code: Some(200),
            error_type: None,
            error_message: None,
            usage_source: Default::default(),
            response_id: None,
            route: None,
            started_at: Utc
                .with_ymd_and_hms(2026, 11, 26, hour, 30, 0)
                .single()
                .expect("valid"),
        }
    }

    #[test]
    fn each_attempt_lands_in_its_hour_its_day_and_the_all_rows() {
        let records = [
            record(1, "gpt-4o", 9, AttemptStatus::Success, 100),
            record(1, "gpt-4o", 9, AttemptStatus::Error, 40),
            record(2, "gpt-4o", 10, AttemptStatus::Success, 70),
        ];
        let buckets = fold(records.iter());
        let date = NaiveDate::from_ymd_opt(2026, 11, 26).expect("valid");
        let all_day = &buckets[&Bucket {
            date,
            hour: None,
            key_id: None,
            model: None,
            provider: None,
        }];
        assert_eq!(
            (all_day.requests, all_day.successes, all_day.errors),
            (3, 2, 1)
        );
        assert_eq!(
            (all_day.total, all_day.cost, all_day.latency_sum),
            (51, 300, 210)
        );
        assert_eq!(
            (all_day.latency_min, all_day.latency_max),
            (Some(40), Some(100))
        );
        let key1_hour9 = &buckets[&Bucket {
            date,
            hour: Some(9),
            key_id: Some(1),
            model: Some("gpt-4o".into()),
            provider: Some("openai".into()),
        }];
        assert_eq!(key1_hour9.requests, 2);
        // 2 hours × (key rows) + hour/day "all" rows: (9,k1) (10,k2) (day,k1) (day,k2) + 3 all.
        assert_eq!(buckets.len(), 7);
    }

    #[test]
    fn bucket_keys_tell_null_from_text() {
        let date = NaiveDate::from_ymd_opt(2026, 1, 2).expect("valid");
        let all = Bucket {
            date,
            hour: None,
            key_id: None,
            model: None,
            provider: None,
        };
        let named = Bucket {
            model: Some("null".into()),
            ..all.clone()
        };
        assert_eq!(all.key(), r#"["2026-01-02",null,null,null,null]"#);
        assert_ne!(all.key(), named.key());
    }
}
