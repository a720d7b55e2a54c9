//! Statistics queries, all from the rollup table: overview, by key, model and provider, and a
//! timeline in the caller's time zone.

use async_graphql::{Context, Enum, InputObject, Object, SimpleObject};
use chrono::{DateTime, Duration, TimeZone, Utc};
use chrono_tz::Tz;

use super::{keys::ApiKey, loaders, state};
use crate::{
    entity::api_request_stats::Column,
    error::{GqlResult, ServiceError},
    provider::Provider,
    service::{
        access_tokens::NANOS_PER_USD,
        stats::{self, Dimensions, Figures, Granularity as ServiceGranularity, Group, TimeRange},
    },
};

/// Longest range a statistics query may cover.
const MAX_RANGE_DAYS: i64 = 400;
/// Longest range of an hourly timeline (744 buckets); longer ones are asked for by day.
const MAX_HOURLY_RANGE_DAYS: i64 = 31;

/// Common ranges ending now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
pub enum StatsPreset {
    /// Since midnight in the range's time zone.
    Today,
    /// The last 24 hours.
    Last24Hours,
    /// The last 7 days.
    Last7Days,
    /// The last 30 days.
    Last30Days,
}

/// A time range: a preset, or `from` and `to`. Ranges are widened to whole hours.
#[derive(InputObject, Clone)]
pub struct StatsRange {
    /// A preset ending now; when given, `from` and `to` are ignored.
    preset: Option<StatsPreset>,
    /// Start (inclusive).
    from: Option<DateTime<Utc>>,
    /// End (exclusive).
    to: Option<DateTime<Utc>>,
    /// IANA time zone for `TODAY` and for timeline days, e.g. `Europe/Berlin` (default UTC).
    time_zone: Option<String>,
}

fn zone(name: Option<&str>) -> Result<Tz, ServiceError> {
    match name.map(str::trim).filter(|n| !n.is_empty()) {
        None => Ok(Tz::UTC),
        Some(name) => name.parse().map_err(|_| {
            ServiceError::invalid(
                "timeZone",
                format!("unknown time zone {name:?}; use an IANA name such as Europe/Berlin"),
            )
        }),
    }
}

impl StatsRange {
    fn resolve(&self) -> Result<(TimeRange, Tz), ServiceError> {
        let zone = zone(self.time_zone.as_deref())?;
        let now = Utc::now();
        let range = match self.preset {
            Some(StatsPreset::Today) => {
                let midnight = now
                    .with_timezone(&zone)
                    .date_naive()
                    .and_hms_opt(0, 0, 0)
                    .and_then(|m| zone.from_local_datetime(&m).earliest())
                    .map(|m| m.with_timezone(&Utc))
                    .unwrap_or(now);
                TimeRange {
                    from: midnight,
                    to: now,
                }
            }
            Some(StatsPreset::Last24Hours) => TimeRange {
                from: now - Duration::hours(24),
                to: now,
            },
            Some(StatsPreset::Last7Days) => TimeRange {
                from: now - Duration::days(7),
                to: now,
            },
            Some(StatsPreset::Last30Days) => TimeRange {
                from: now - Duration::days(30),
                to: now,
            },
            None => {
                let from = self
                    .from
                    .ok_or_else(|| ServiceError::invalid("from", "is required without a preset"))?;
                let to = self
                    .to
                    .ok_or_else(|| ServiceError::invalid("to", "is required without a preset"))?;
                if from >= to {
                    return Err(ServiceError::invalid("to", "must be after from"));
                }
                TimeRange { from, to }
            }
        };
        if range.to - range.from > Duration::days(MAX_RANGE_DAYS) {
            return Err(ServiceError::invalid(
                "to",
                format!("a range may span at most {MAX_RANGE_DAYS} days"),
            ));
        }
        Ok((range, zone))
    }
}

/// Summed figures over a set of requests.
pub struct StatsFigures(Figures);

#[Object]
impl StatsFigures {
    /// Upstream attempts.
    async fn requests(&self) -> i64 {
        self.0.requests
    }
    /// Successful attempts.
    async fn successes(&self) -> i64 {
        self.0.successes
    }
    /// Failed attempts (any status but success).
    async fn errors(&self) -> i64 {
        self.0.errors
    }
    /// Successes per attempt, 0–1; null without attempts.
    async fn success_rate(&self) -> Option<f64> {
        self.0.success_rate()
    }
    /// Prompt tokens, without cache reads or writes.
    async fn input_tokens(&self) -> i64 {
        self.0.input_tokens
    }
    /// Completion tokens.
    async fn output_tokens(&self) -> i64 {
        self.0.output_tokens
    }
    /// Tokens read from prompt caches.
    async fn cache_read_tokens(&self) -> i64 {
        self.0.cache_read_tokens
    }
    /// Tokens written to prompt caches.
    async fn cache_creation_tokens(&self) -> i64 {
        self.0.cache_creation_tokens
    }
    /// Every token: input + output + cache reads + cache writes.
    async fn total_tokens(&self) -> i64 {
        self.0.total_tokens
    }
    /// Cost in USD.
    async fn cost(&self) -> f64 {
        self.0.cost as f64 / NANOS_PER_USD
    }
    /// Cost in nano-USD (1e-9), exact.
    async fn cost_nanos(&self) -> i64 {
        self.0.cost
    }
    /// Mean latency in ms; null without attempts.
    async fn avg_latency_ms(&self) -> Option<f64> {
        self.0.average_latency()
    }
    /// Fastest attempt in ms.
    async fn min_latency_ms(&self) -> Option<i32> {
        self.0.latency_min
    }
    /// Slowest attempt in ms.
    async fn max_latency_ms(&self) -> Option<i32> {
        self.0.latency_max
    }
}

/// How to order grouped statistics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum, Default)]
pub enum StatsSort {
    /// By attempts.
    #[default]
    Requests,
    /// By failed attempts.
    Errors,
    /// By total tokens.
    Tokens,
    /// By cost.
    Cost,
    /// By mean latency.
    AvgLatency,
}

fn sort<K>(groups: &mut [Group<K>], by: StatsSort, descending: bool) {
    let measure = |f: &Figures| -> f64 {
        match by {
            StatsSort::Requests => f.requests as f64,
            StatsSort::Errors => f.errors as f64,
            StatsSort::Tokens => f.total_tokens as f64,
            StatsSort::Cost => f.cost as f64,
            StatsSort::AvgLatency => f.average_latency().unwrap_or(0.0),
        }
    };
    groups.sort_by(|a, b| {
        let order = measure(&a.figures).total_cmp(&measure(&b.figures));
        if descending { order.reverse() } else { order }
    });
}

/// Statistics of one key.
pub struct KeyStats(Group<i32>);

#[Object]
impl KeyStats {
    /// The key's id (it may have been deleted since).
    async fn key_id(&self) -> i32 {
        self.0.key
    }
    /// The key, or null when it was deleted.
    async fn key(&self, ctx: &Context<'_>) -> GqlResult<Option<ApiKey>> {
        Ok(loaders::keys(ctx)?
            .load_one(self.0.key)
            .await?
            .map(ApiKey::from))
    }
    /// Its figures.
    async fn stats(&self) -> StatsFigures {
        StatsFigures(self.0.figures.clone())
    }
}

/// Statistics of one model or provider.
#[derive(SimpleObject)]
pub struct NamedStats {
    /// The model or provider name.
    name: String,
    /// Its figures.
    stats: StatsFigures,
}

/// Bucket size of a timeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
pub enum Granularity {
    /// One point per hour.
    Hour,
    /// One point per day in the range's time zone.
    Day,
}

/// One bucket of a timeline.
#[derive(SimpleObject)]
pub struct TimelinePoint {
    /// The bucket's start.
    start: DateTime<Utc>,
    /// Its figures (zero for a bucket without requests).
    stats: StatsFigures,
}

/// Statistics queries.
#[derive(Default)]
pub struct StatsQuery;

#[Object]
impl StatsQuery {
    /// Totals over a range.
    async fn stats_overview(
        &self,
        ctx: &Context<'_>,
        range: StatsRange,
    ) -> GqlResult<StatsFigures> {
        let (range, _) = range.resolve()?;
        let figures = stats::overview(&state(ctx)?.db, range, &Dimensions::default()).await?;
        Ok(StatsFigures(figures))
    }

    /// Figures per key, sorted (by requests, descending, unless told otherwise).
    async fn stats_by_key(
        &self,
        ctx: &Context<'_>,
        range: StatsRange,
        #[graphql(default)] sort_by: StatsSort,
        #[graphql(default = true)] descending: bool,
    ) -> GqlResult<Vec<KeyStats>> {
        let (range, _) = range.resolve()?;
        let mut groups = stats::by_key(&state(ctx)?.db, range).await?;
        sort(&mut groups, sort_by, descending);
        Ok(groups.into_iter().map(KeyStats).collect())
    }

    /// Figures per model, sorted.
    async fn stats_by_model(
        &self,
        ctx: &Context<'_>,
        range: StatsRange,
        #[graphql(default)] sort_by: StatsSort,
        #[graphql(default = true)] descending: bool,
    ) -> GqlResult<Vec<NamedStats>> {
        named(ctx, range, Column::Model, sort_by, descending).await
    }

    /// Figures per provider, sorted.
    async fn stats_by_provider(
        &self,
        ctx: &Context<'_>,
        range: StatsRange,
        #[graphql(default)] sort_by: StatsSort,
        #[graphql(default = true)] descending: bool,
    ) -> GqlResult<Vec<NamedStats>> {
        named(ctx, range, Column::Provider, sort_by, descending).await
    }

    /// One point per hour or day of the range (empty buckets included), optionally for one
    /// key, model or provider. Days are days in the range's `timeZone`. An hourly timeline
    /// spans at most 31 days; each bucket counts 1 towards the query's complexity.
    #[graphql(complexity = "timeline_complexity(&range, granularity, child_complexity)")]
    async fn stats_timeline(
        &self,
        ctx: &Context<'_>,
        range: StatsRange,
        granularity: Granularity,
        key_id: Option<i32>,
        model: Option<String>,
        provider: Option<Provider>,
    ) -> GqlResult<Vec<TimelinePoint>> {
        let (range, zone) = range.resolve()?;
        if granularity == Granularity::Hour
            && range.to - range.from > Duration::days(MAX_HOURLY_RANGE_DAYS)
        {
            return Err(ServiceError::invalid(
                "range",
                format!(
                    "an hourly timeline may span at most {MAX_HOURLY_RANGE_DAYS} days; ask for DAY granularity over longer ranges"
                ),
            )
            .into());
        }
        let dimensions = Dimensions {
            key_id,
            model,
            provider: provider.map(|p| p.as_str().to_string()),
        };
        let granularity = match granularity {
            Granularity::Hour => ServiceGranularity::Hour,
            Granularity::Day => ServiceGranularity::Day,
        };
        let points =
            stats::timeline(&state(ctx)?.db, range, granularity, &dimensions, &zone).await?;
        Ok(points
            .into_iter()
            .map(|(start, figures)| TimelinePoint {
                start,
                stats: StatsFigures(figures),
            })
            .collect())
    }
}

/// A timeline's complexity: one point per bucket it would return, plus what each point asks
/// for, so many aliased timelines cannot make one request build millions of values.
fn timeline_complexity(range: &StatsRange, granularity: Granularity, child: usize) -> usize {
    let Ok((range, _)) = range.resolve() else {
        return child;
    };
    let span = range.to - range.from;
    let buckets = match granularity {
        Granularity::Hour => span.num_hours() + 1,
        Granularity::Day => span.num_days() + 1,
    };
    usize::try_from(buckets)
        .unwrap_or(usize::MAX)
        .saturating_add(child)
}

/// Figures grouped by a text column (`model` or `provider`), sorted.
async fn named(
    ctx: &Context<'_>,
    range: StatsRange,
    column: Column,
    sort_by: StatsSort,
    descending: bool,
) -> GqlResult<Vec<NamedStats>> {
    let (range, _) = range.resolve()?;
    let mut groups = stats::by_text(&state(ctx)?.db, range, column).await?;
    sort(&mut groups, sort_by, descending);
    Ok(groups
        .into_iter()
        .map(|group| NamedStats {
            name: group.key,
            stats: StatsFigures(group.figures),
        })
        .collect())
}
