//! Statistics from the rollup table only — never by scanning the request log — so their cost
//! depends on the number of keys, models and hours, not on the number of requests.
//!
//! Ranges are whole UTC hours (`from` rounded down, `to` up). Whole days inside a range are
//! read from the daily rows, the partial days at its edges from the hourly rows.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, DurationRound, NaiveDate, TimeZone, Timelike, Utc};
use sea_orm::{
    ConnectionTrait, FromQueryResult, StatementBuilder,
    sea_query::{Alias, Condition, Expr, ExprTrait, Query, SelectStatement},
};

use crate::{
    entity::api_request_stats::{Column, Entity as Stats},
    error::ServiceError,
};

/// A half-open time range `[from, to)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TimeRange {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

impl TimeRange {
    /// The range widened to whole hours.
    pub fn whole_hours(self) -> Self {
        let floor = |t: DateTime<Utc>| t.duration_trunc(Duration::hours(1)).unwrap_or(t);
        let to = floor(self.to);
        Self {
            from: floor(self.from),
            to: if to < self.to {
                to + Duration::hours(1)
            } else {
                to
            },
        }
    }
}

/// Summed figures of a set of rollup rows.
#[derive(Clone, Debug, Default, PartialEq, FromQueryResult)]
pub struct Figures {
    pub requests: i64,
    pub successes: i64,
    pub errors: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub total_tokens: i64,
    pub cache_read_tokens: i64,
    pub cache_creation_tokens: i64,
    /// Nano-USD.
    pub cost: i64,
    pub latency_sum: i64,
    pub latency_min: Option<i32>,
    pub latency_max: Option<i32>,
}

impl Figures {
    /// Mean latency in ms; `None` without requests.
    pub fn average_latency(&self) -> Option<f64> {
        (self.requests > 0).then(|| self.latency_sum as f64 / self.requests as f64)
    }

    /// Share of successful attempts, 0–1; `None` without requests.
    pub fn success_rate(&self) -> Option<f64> {
        (self.requests > 0).then(|| self.successes as f64 / self.requests as f64)
    }

    fn add(&mut self, other: &Figures) {
        self.requests += other.requests;
        self.successes += other.successes;
        self.errors += other.errors;
        self.input_tokens += other.input_tokens;
        self.output_tokens += other.output_tokens;
        self.total_tokens += other.total_tokens;
        self.cache_read_tokens += other.cache_read_tokens;
        self.cache_creation_tokens += other.cache_creation_tokens;
        self.cost += other.cost;
        self.latency_sum += other.latency_sum;
        self.latency_min = match (self.latency_min, other.latency_min) {
            (Some(a), Some(b)) => Some(Ord::min(a, b)),
            (a, b) => a.or(b),
        };
        self.latency_max = match (self.latency_max, other.latency_max) {
            (Some(a), Some(b)) => Some(Ord::max(a, b)),
            (a, b) => a.or(b),
        };
    }
}

/// Which rows to read, besides the time range.
#[derive(Clone, Debug, Default)]
pub struct Dimensions {
    pub key_id: Option<i32>,
    pub model: Option<String>,
    pub provider: Option<String>,
}

impl Dimensions {
    fn is_empty(&self) -> bool {
        self.key_id.is_none() && self.model.is_none() && self.provider.is_none()
    }

    /// The "all" rows when nothing is filtered, else the detailed rows that match.
    fn condition(&self) -> Condition {
        if self.is_empty() {
            return Condition::all()
                .add(Expr::col(Column::KeyId).is_null())
                .add(Expr::col(Column::Model).is_null())
                .add(Expr::col(Column::Provider).is_null());
        }
        let mut condition = Condition::all().add(Expr::col(Column::Model).is_not_null());
        if let Some(key) = self.key_id {
            condition = condition.add(Expr::col(Column::KeyId).eq(key));
        }
        if let Some(model) = &self.model {
            condition = condition.add(Expr::col(Column::Model).eq(model.clone()));
        }
        if let Some(provider) = &self.provider {
            condition = condition.add(Expr::col(Column::Provider).eq(provider.clone()));
        }
        condition
    }
}

/// The rows covering `range` exactly: daily rows for whole days, hourly rows at the edges.
fn range_condition(range: TimeRange) -> Condition {
    let range = range.whole_hours();
    let mut any = Condition::any();
    if range.from >= range.to {
        // An empty range matches nothing.
        return Condition::all().add(Expr::val(1).eq(0));
    }
    let (first_day, first_hour) = (range.from.date_naive(), hour(range.from));
    let (last_day, last_hour) = (range.to.date_naive(), hour(range.to));
    let hours = |day: NaiveDate, from: i32, to: i32| {
        Condition::all()
            .add(Expr::col(Column::StatDate).eq(day))
            .add(Expr::col(Column::StatHour).gte(from))
            .add(Expr::col(Column::StatHour).lt(to))
    };
    if first_day == last_day {
        return any.add(hours(first_day, first_hour, last_hour));
    }
    let mut full_from = first_day;
    if first_hour > 0 {
        any = any.add(hours(first_day, first_hour, 24));
        full_from = first_day.succ_opt().unwrap_or(first_day);
    }
    if last_hour > 0 {
        any = any.add(hours(last_day, 0, last_hour));
    }
    let full_to = last_day.pred_opt().unwrap_or(last_day);
    if full_from <= full_to {
        any = any.add(
            Condition::all()
                .add(Expr::col(Column::StatHour).is_null())
                .add(Expr::col(Column::StatDate).gte(full_from))
                .add(Expr::col(Column::StatDate).lte(full_to)),
        );
    }
    any
}

fn hour(t: DateTime<Utc>) -> i32 {
    i32::try_from(t.hour()).unwrap_or(0)
}

/// SELECT of the summed figures; the caller adds grouping columns.
fn figures_select() -> SelectStatement {
    let sum = |column: &str| Expr::cust(format!("CAST(COALESCE(SUM({column}), 0) AS BIGINT)"));
    let mut select = Query::select();
    select
        .from(Stats)
        .expr_as(sum("request_count"), Alias::new("requests"))
        .expr_as(sum("success_count"), Alias::new("successes"))
        .expr_as(sum("error_count"), Alias::new("errors"))
        .expr_as(sum("input_tokens"), Alias::new("input_tokens"))
        .expr_as(sum("output_tokens"), Alias::new("output_tokens"))
        .expr_as(sum("total_tokens"), Alias::new("total_tokens"))
        .expr_as(sum("cache_read_tokens"), Alias::new("cache_read_tokens"))
        .expr_as(
            sum("cache_creation_tokens"),
            Alias::new("cache_creation_tokens"),
        )
        .expr_as(sum("cost"), Alias::new("cost"))
        .expr_as(sum("latency_ms_sum"), Alias::new("latency_sum"))
        .expr_as(Expr::cust("MIN(latency_ms_min)"), Alias::new("latency_min"))
        .expr_as(Expr::cust("MAX(latency_ms_max)"), Alias::new("latency_max"));
    select
}

async fn fetch<T: FromQueryResult>(
    db: &impl ConnectionTrait,
    select: &SelectStatement,
) -> Result<Vec<T>, ServiceError> {
    let statement = StatementBuilder::build(select, &db.get_database_backend());
    let rows = db.query_all_raw(statement).await?;
    rows.iter()
        .map(|row| T::from_query_result(row, "").map_err(ServiceError::from))
        .collect()
}

/// Totals over `range`, optionally for one key, model or provider.
pub async fn overview(
    db: &impl ConnectionTrait,
    range: TimeRange,
    dimensions: &Dimensions,
) -> Result<Figures, ServiceError> {
    let mut select = figures_select();
    select
        .cond_where(range_condition(range))
        .cond_where(dimensions.condition());
    Ok(fetch::<Figures>(db, &select)
        .await?
        .pop()
        .unwrap_or_default())
}

/// One group's figures.
#[derive(Clone, Debug, PartialEq)]
pub struct Group<K> {
    pub key: K,
    pub figures: Figures,
}

#[derive(FromQueryResult)]
struct KeyRow {
    key_id: Option<i32>,
    #[sea_orm(nested)]
    figures: Figures,
}

#[derive(FromQueryResult)]
struct TextRow {
    label: Option<String>,
    #[sea_orm(nested)]
    figures: Figures,
}

/// Figures per key over `range`.
pub async fn by_key(
    db: &impl ConnectionTrait,
    range: TimeRange,
) -> Result<Vec<Group<i32>>, ServiceError> {
    let mut select = figures_select();
    select
        .column(Column::KeyId)
        .cond_where(range_condition(range))
        .cond_where(Condition::all().add(Expr::col(Column::Model).is_not_null()))
        .group_by_col(Column::KeyId);
    let rows: Vec<KeyRow> = fetch(db, &select).await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            row.key_id.map(|key| Group {
                key,
                figures: row.figures,
            })
        })
        .collect())
}

/// Figures per model (`column` = `model`) or per provider (`column` = `provider`).
pub async fn by_text(
    db: &impl ConnectionTrait,
    range: TimeRange,
    column: Column,
) -> Result<Vec<Group<String>>, ServiceError> {
    let mut select = figures_select();
    select
        .expr_as(Expr::col(column), Alias::new("label"))
        .cond_where(range_condition(range))
        .cond_where(Condition::all().add(Expr::col(Column::Model).is_not_null()))
        .group_by_col(column);
    let rows: Vec<TextRow> = fetch(db, &select).await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            row.label.map(|key| Group {
                key,
                figures: row.figures,
            })
        })
        .collect())
}

/// Bucket size of a timeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Granularity {
    Hour,
    Day,
}

#[derive(FromQueryResult)]
struct HourRow {
    stat_date: NaiveDate,
    stat_hour: Option<i32>,
    #[sea_orm(nested)]
    figures: Figures,
}

/// One point per bucket of `range` in `zone`, empty buckets included. Hours are grouped in SQL;
/// only the (at most 24 per day) hourly sums are mapped to local buckets here.
pub async fn timeline<Z: TimeZone>(
    db: &impl ConnectionTrait,
    range: TimeRange,
    granularity: Granularity,
    dimensions: &Dimensions,
    zone: &Z,
) -> Result<Vec<(DateTime<Utc>, Figures)>, ServiceError> {
    let range = range.whole_hours();
    let mut select = figures_select();
    select
        .column(Column::StatDate)
        .column(Column::StatHour)
        .cond_where(Expr::col(Column::StatHour).is_not_null())
        .cond_where(
            Condition::all()
                .add(Expr::col(Column::StatDate).gte(range.from.date_naive()))
                .add(Expr::col(Column::StatDate).lte(range.to.date_naive())),
        )
        .cond_where(dimensions.condition())
        .group_by_col(Column::StatDate)
        .group_by_col(Column::StatHour);
    let rows: Vec<HourRow> = fetch(db, &select).await?;

    let bucket_of = |at: DateTime<Utc>| -> DateTime<Utc> {
        match granularity {
            Granularity::Hour => at,
            Granularity::Day => {
                let local = at.with_timezone(zone).date_naive();
                local
                    .and_hms_opt(0, 0, 0)
                    .and_then(|midnight| zone.from_local_datetime(&midnight).earliest())
                    .map(|m| m.with_timezone(&Utc))
                    .unwrap_or(at)
            }
        }
    };
    let mut points: BTreeMap<DateTime<Utc>, Figures> = BTreeMap::new();
    let mut cursor = bucket_of(range.from);
    while cursor < range.to {
        points.entry(cursor).or_default();
        cursor = match granularity {
            Granularity::Hour => cursor + Duration::hours(1),
            // Day lengths vary with daylight saving; step past the day, then snap to midnight.
            Granularity::Day => bucket_of(cursor + Duration::hours(30)),
        };
    }
    for row in rows {
        let Some(hour) = row.stat_hour.and_then(|h| u32::try_from(h).ok()) else {
            continue;
        };
        let Some(at) = row.stat_date.and_hms_opt(hour, 0, 0).map(|t| t.and_utc()) else {
            continue;
        };
        if at < range.from || at >= range.to {
            continue;
        }
        points.entry(bucket_of(at)).or_default().add(&row.figures);
    }
    Ok(points.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("valid")
            .with_timezone(&Utc)
    }

    #[test]
    fn ranges_widen_to_whole_hours() {
        let range = TimeRange {
            from: at("2026-01-01T10:20:00Z"),
            to: at("2026-01-01T12:00:01Z"),
        }
        .whole_hours();
        assert_eq!(
            (range.from, range.to),
            (at("2026-01-01T10:00:00Z"), at("2026-01-01T13:00:00Z"))
        );
    }

    #[test]
    fn figures_add_up_with_optional_extremes() {
        let mut total = Figures::default();
        total.add(&Figures {
            requests: 2,
            latency_sum: 30,
            latency_min: Some(10),
            latency_max: Some(20),
            ..Figures::default()
        });
        total.add(&Figures {
            requests: 1,
            latency_sum: 5,
            latency_min: Some(5),
            latency_max: Some(5),
            ..Figures::default()
        });
        assert_eq!(
            (total.requests, total.latency_min, total.latency_max),
            (3, Some(5), Some(20))
        );
        assert_eq!(total.average_latency(), Some(35.0 / 3.0));
    }
}
