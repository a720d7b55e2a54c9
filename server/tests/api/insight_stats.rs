//! Statistics from the rollups, checked against sums over the log rows they came from.

use std::sync::Arc;

use amp_pool::{
    entity::api_request_log,
    recorder::{AttemptRecord, AttemptStatus},
    usage::Usage,
};
use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{Value, json};

use crate::helpers::{TestApp, data, error_code};

const FIGURES: &str = "requests successes errors successRate inputTokens outputTokens cacheReadTokens \
    cacheCreationTokens totalTokens cost costNanos avgLatencyMs minLatencyMs maxLatencyMs";

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

fn record(
    key_id: i32,
    model: &str,
    provider: &'static str,
    started_at: DateTime<Utc>,
    n: i64,
) -> AttemptRecord {
    AttemptRecord {
        request_id: Arc::from(format!("req-{key_id}-{}-{n}", started_at.timestamp())),
        attempt: 1,
        key_id: Some(key_id),
        key_name: None,
        access_token_id: None,
        provider,
        endpoint: "chat_completions",
        model: Arc::from(model),
        is_stream: n % 2 == 0,
        usage: Usage {
            input: 10 * n,
            output: 3 * n,
            cache_read: n,
            cache_creation: 2 * n,
            ..Default::default()
        },
        cost: 1_000 * n,
        cost_unknown: false,
        latency_ms: i32::try_from(100 + 7 * n).unwrap(),
        first_byte_ms: Some(5),
        status: if n % 5 == 0 {
            AttemptStatus::Error
        } else {
            AttemptStatus::Success
        },
        http_status_code: Some(200),
        error_type: None,
        error_message: None,
        usage_source: Default::default(),
        response_id: None,
        route: None,
        started_at,
    }
}

/// Seeds attempts every 50 minutes over three days, for two keys and models, through the
/// writer (which makes the rollups), and returns the stored log rows.
async fn seed(app: &TestApp) -> Vec<api_request_log::Model> {
    app.add_key("OPENAI", "sk-ok-stats-1", json!({})).await;
    app.add_key("ANTHROPIC", "sk-ok-stats-2", json!({})).await;
    let start = at("2026-03-01T00:10:00Z");
    for n in 0..90 {
        let when = start + Duration::minutes(50 * n);
        let (key, model, provider) = if n % 3 == 0 {
            (2, "claude-sonnet-4-5", "anthropic")
        } else {
            (1, "gpt-4o", "openai")
        };
        app.state
            .recorder
            .record(record(key, model, provider, when, n));
    }
    app.log_rows().await
}

/// The figures summing `rows` would give, as GraphQL shows them.
fn expected(rows: &[&api_request_log::Model]) -> Value {
    let sum = |f: fn(&api_request_log::Model) -> i64| rows.iter().map(|r| f(r)).sum::<i64>();
    let requests = rows.len() as i64;
    let successes = rows.iter().filter(|r| r.status == "success").count() as i64;
    let latency: i64 = sum(|r| i64::from(r.latency_ms));
    json!({
        "requests": requests,
        "successes": successes,
        "errors": requests - successes,
        "successRate": if requests > 0 { json!(successes as f64 / requests as f64) } else { json!(null) },
        "inputTokens": sum(|r| r.input_tokens),
        "outputTokens": sum(|r| r.output_tokens),
        "cacheReadTokens": sum(|r| r.cache_read_tokens),
        "cacheCreationTokens": sum(|r| r.cache_creation_tokens),
        "totalTokens": sum(|r| r.total_tokens),
        "cost": sum(|r| r.cost) as f64 / 1e9,
        "costNanos": sum(|r| r.cost),
        "avgLatencyMs": if requests > 0 { json!(latency as f64 / requests as f64) } else { json!(null) },
        "minLatencyMs": rows.iter().map(|r| r.latency_ms).min(),
        "maxLatencyMs": rows.iter().map(|r| r.latency_ms).max(),
    })
}

fn within<'a>(
    rows: &'a [api_request_log::Model],
    from: &str,
    to: &str,
) -> Vec<&'a api_request_log::Model> {
    let (from, to) = (at(from), at(to));
    rows.iter()
        .filter(|r| r.create_time >= from && r.create_time < to)
        .collect()
}

#[tokio::test]
async fn the_overview_equals_the_sum_of_the_log_rows_in_the_range() {
    let app = TestApp::spawn().await;
    let rows = seed(&app).await;
    assert_eq!(rows.len(), 90);

    // Starts mid-day (hourly rows), spans a whole day (daily row), ends mid-day (hourly rows).
    let response = app
        .graphql(
            &format!("{{ statsOverview(range: {{from: \"2026-03-01T10:30:00Z\", to: \"2026-03-03T05:00:00Z\"}}) {{ {FIGURES} }} }}"),
            json!({}),
        )
        .await;

    // The range is widened to whole hours: from 10:00.
    let expected = expected(&within(
        &rows,
        "2026-03-01T10:00:00Z",
        "2026-03-03T05:00:00Z",
    ));
    assert_eq!(data(&response)["statsOverview"], expected);
    assert!(expected["requests"].as_i64().unwrap() > 40);
}

#[tokio::test]
async fn grouped_statistics_equal_their_own_rows_and_sort() {
    let app = TestApp::spawn().await;
    let rows = seed(&app).await;
    // Every seeded row falls inside (the last is at 2026-03-04T02:20).
    let range = "{from: \"2026-03-01T00:00:00Z\", to: \"2026-03-05T00:00:00Z\"}";

    let by_key = app
        .graphql(&format!("{{ statsByKey(range: {range}, sortBy: COST) {{ keyId key {{ name }} stats {{ {FIGURES} }} }} }}"), json!({}))
        .await;
    let by_model = app
        .graphql(&format!("{{ statsByModel(range: {range}, sortBy: REQUESTS, descending: false) {{ name stats {{ {FIGURES} }} }} }}"), json!({}))
        .await;
    let by_provider = app
        .graphql(
            &format!(
                "{{ statsByProvider(range: {range}) {{ name stats {{ requests costNanos }} }} }}"
            ),
            json!({}),
        )
        .await;

    let all: Vec<_> = rows.iter().collect();
    let of_key = |id: i32| -> Vec<&api_request_log::Model> {
        all.iter()
            .copied()
            .filter(|r| r.key_id == Some(id))
            .collect()
    };
    let keys = data(&by_key)["statsByKey"].as_array().unwrap();
    assert_eq!(keys.len(), 2);
    for entry in keys {
        let id = entry["keyId"].as_i64().unwrap() as i32;
        assert_eq!(entry["stats"], expected(&of_key(id)));
    }
    assert!(
        keys[0]["stats"]["costNanos"].as_i64() >= keys[1]["stats"]["costNanos"].as_i64(),
        "sorted by cost, descending"
    );
    assert_eq!(
        keys.iter().find(|k| k["keyId"] == 1).unwrap()["key"]["name"],
        "sk-ok-stats-1"
    );
    let models = data(&by_model)["statsByModel"].as_array().unwrap();
    assert_eq!(
        models[0]["name"], "claude-sonnet-4-5",
        "fewest requests first"
    );
    assert_eq!(models[0]["stats"], expected(&of_key(2)));
    assert_eq!(models[1]["stats"], expected(&of_key(1)));
    assert_eq!(
        data(&by_provider)["statsByProvider"],
        json!([
            {"name": "openai", "stats": {"requests": 60, "costNanos": expected(&of_key(1))["costNanos"]}},
            {"name": "anthropic", "stats": {"requests": 30, "costNanos": expected(&of_key(2))["costNanos"]}},
        ])
    );
}

#[tokio::test]
async fn an_hourly_timeline_has_every_bucket_and_filters_by_key() {
    let app = TestApp::spawn().await;
    let rows = seed(&app).await;

    let response = app
        .graphql(
            &format!("{{ statsTimeline(range: {{from: \"2026-03-02T00:00:00Z\", to: \"2026-03-02T06:00:00Z\"}}, granularity: HOUR, keyId: 1) {{ start stats {{ {FIGURES} }} }} }}"),
            json!({}),
        )
        .await;

    let points = data(&response)["statsTimeline"].as_array().unwrap();
    assert_eq!(points.len(), 6, "one point per hour, empty ones included");
    for (hour, point) in points.iter().enumerate() {
        let start = at("2026-03-02T00:00:00Z") + Duration::hours(hour as i64);
        assert_eq!(
            point["start"]
                .as_str()
                .unwrap()
                .parse::<DateTime<Utc>>()
                .unwrap(),
            start
        );
        let own: Vec<_> = rows
            .iter()
            .filter(|r| {
                r.key_id == Some(1)
                    && r.create_time >= start
                    && r.create_time < start + Duration::hours(1)
            })
            .collect();
        assert_eq!(point["stats"], expected(&own), "hour {hour}");
    }
    assert!(
        points.iter().any(|p| p["stats"]["requests"] == 0),
        "some hour is empty"
    );
}

#[tokio::test]
async fn a_daily_timeline_counts_days_in_the_callers_time_zone() {
    let app = TestApp::spawn().await;
    let rows = seed(&app).await;
    let tokyo = chrono_tz::Asia::Tokyo;

    let response = app
        .graphql(
            "{ statsTimeline(range: {from: \"2026-02-28T15:00:00Z\", to: \"2026-03-03T15:00:00Z\", timeZone: \"Asia/Tokyo\"}, granularity: DAY) { start stats { requests costNanos } } }",
            json!({}),
        )
        .await;

    let points = data(&response)["statsTimeline"].as_array().unwrap();
    assert_eq!(points.len(), 3);
    for point in points {
        let start: DateTime<Utc> = point["start"].as_str().unwrap().parse().unwrap();
        let local = start.with_timezone(&tokyo);
        assert_eq!(
            local.format("%H:%M").to_string(),
            "00:00",
            "days start at Tokyo midnight"
        );
        let own: Vec<_> = rows
            .iter()
            .filter(|r| r.create_time.with_timezone(&tokyo).date_naive() == local.date_naive())
            .collect();
        assert_eq!(point["stats"]["requests"], own.len());
        assert_eq!(
            point["stats"]["costNanos"],
            own.iter().map(|r| r.cost).sum::<i64>()
        );
    }
    let inside = within(&rows, "2026-02-28T15:00:00Z", "2026-03-03T15:00:00Z").len() as i64;
    assert_eq!(
        points
            .iter()
            .map(|p| p["stats"]["requests"].as_i64().unwrap())
            .sum::<i64>(),
        inside
    );
    let _ = tokyo.timestamp_opt(0, 0);
}

#[tokio::test]
async fn presets_end_now() {
    let app = TestApp::spawn().await;
    app.add_key("OPENAI", "sk-ok-stats-1", json!({})).await;
    let now = Utc::now();
    for (n, hours_ago) in [(1, 1), (2, 30), (3, 24 * 6), (4, 24 * 20)] {
        app.state.recorder.record(record(
            1,
            "gpt-4o",
            "openai",
            now - Duration::hours(hours_ago),
            n,
        ));
    }
    app.log_rows().await;

    let response = app
        .graphql(
            "{ day: statsOverview(range: {preset: LAST_24_HOURS}) { requests } week: statsOverview(range: {preset: LAST_7_DAYS}) { requests } month: statsOverview(range: {preset: LAST_30_DAYS}) { requests } }",
            json!({}),
        )
        .await;

    assert_eq!(
        data(&response),
        &json!({"day": {"requests": 1}, "week": {"requests": 3}, "month": {"requests": 4}})
    );
}

#[tokio::test]
async fn bad_ranges_and_time_zones_name_the_field() {
    let app = TestApp::spawn().await;

    let zone = app
        .graphql(
            "{ statsOverview(range: {preset: TODAY, timeZone: \"Mars/Olympus\"}) { requests } }",
            json!({}),
        )
        .await;
    let backwards = app
        .graphql("{ statsOverview(range: {from: \"2026-03-02T00:00:00Z\", to: \"2026-03-01T00:00:00Z\"}) { requests } }", json!({}))
        .await;
    let open = app
        .graphql(
            "{ statsOverview(range: {from: \"2026-03-02T00:00:00Z\"}) { requests } }",
            json!({}),
        )
        .await;

    for (response, field) in [(&zone, "timeZone"), (&backwards, "to"), (&open, "to")] {
        assert_eq!(error_code(response), "BAD_USER_INPUT");
        assert_eq!(response["errors"][0]["extensions"]["field"], field);
    }
}
