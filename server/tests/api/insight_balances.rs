//! Balances for all three providers, alerts to a local webhook receiver, and retention.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use amp_pool::{entity::api_request_log, live_config::RetentionSettings, retention};
use axum::{Json, Router, extract::State, http::StatusCode, routing::post};
use chrono::Utc;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait, PaginatorTrait};
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::{
    helpers::{TestApp, data, error_code},
    mock::MockUpstream,
};

const BALANCE: &str = "id enabled balance totalBalance balanceStale balanceError disabledBy disabledReason \
    balanceDetail { label remaining total percent text }";

async fn refresh(app: &TestApp, id: i64) -> Value {
    let response = app
        .graphql(
            &format!("mutation($id: Int!) {{ refreshBalance(id: $id) {{ {BALANCE} }} }}"),
            json!({"id": id}),
        )
        .await;
    data(&response)["refreshBalance"].clone()
}

#[tokio::test]
async fn an_amp_balance_is_read_from_its_text() {
    let app = TestApp::spawn().await;
    let upstream = MockUpstream::start().await;
    let id = app
        .add_key("AMP", "sk-ok-amp-balance", json!({"baseUrl": upstream.url}))
        .await;

    let key = refresh(&app, id).await;

    assert_eq!(key["balance"], 67.59);
    assert_eq!(key["totalBalance"], 70.0);
    assert_eq!(key["balanceStale"], false);
    assert_eq!(
        key["balanceDetail"],
        json!([
            {"label": "Amp Free", "remaining": 17.59, "total": 20.0, "percent": null,
             "text": "Amp Free: $17.59/$20 remaining (replenishes +$0.83/hour)"},
            {"label": "Individual credits", "remaining": 50.0, "total": null, "percent": null,
             "text": "Individual credits: $50 remaining"},
        ])
    );
}

#[tokio::test]
async fn an_unreadable_balance_goes_stale_and_never_disables() {
    let app = TestApp::spawn().await;
    let upstream = MockUpstream::start().await;
    let failing = app
        .add_key(
            "AMP",
            "sk-e500-amp-balance",
            json!({"baseUrl": upstream.url}),
        )
        .await;
    let percent = app
        .add_key(
            "AMP",
            "sk-percent-amp-balance",
            json!({"baseUrl": upstream.url}),
        )
        .await;

    let failing = refresh(&app, failing).await;
    let percent = refresh(&app, percent).await;

    assert_eq!(failing["enabled"], true);
    assert_eq!(failing["balanceStale"], true);
    assert_eq!(
        failing["balanceError"],
        "Amp answered HTTP 500 without a balance"
    );
    assert_eq!(percent["enabled"], true);
    assert_eq!(
        percent["balanceError"],
        "Amp's balance text has no dollar amount: \"Amp Free: 45% remaining today\""
    );
}

#[tokio::test]
async fn a_balance_at_zero_disables_the_key() {
    let app = TestApp::spawn().await;
    let upstream = MockUpstream::start().await;
    let id = app
        .add_key(
            "AMP",
            "sk-broke-amp-balance",
            json!({"baseUrl": upstream.url}),
        )
        .await;
    let token = app.client_token(json!({})).await;

    let key = refresh(&app, id).await;
    let response = app
        .v1(
            "/v1/chat/completions",
            &token,
            json!({"model": "gpt-4o", "messages": []}),
        )
        .await;

    assert_eq!(key["balance"], 0.0);
    assert_eq!(
        (key["enabled"].clone(), key["disabledBy"].clone()),
        (json!(false), json!("AUTO"))
    );
    assert_eq!(key["disabledReason"], "balance is $0.00");
    assert_eq!(response.status(), 503, "the pool stops using it at once");
}

#[tokio::test]
async fn an_openai_balance_comes_from_billing_or_falls_back_to_counting() {
    let app = TestApp::spawn().await;
    let upstream = MockUpstream::start().await;
    let billed = app
        .add_key(
            "OPENAI",
            "sk-ok-openai-billing",
            json!({"baseUrl": upstream.url}),
        )
        .await;
    let counted = app
        .add_key(
            "OPENAI",
            "sk-nobill-openai",
            json!({"baseUrl": upstream.url, "totalBalance": 10.0}),
        )
        .await;
    let unknown = app
        .add_key(
            "OPENAI",
            "sk-nobill-openai-2",
            json!({"baseUrl": upstream.url}),
        )
        .await;

    let billed = refresh(&app, billed).await;
    let counted = refresh(&app, counted).await;
    let unknown = refresh(&app, unknown).await;

    assert_eq!(
        (billed["balance"].clone(), billed["totalBalance"].clone()),
        (json!(74.5), json!(100.0))
    );
    assert_eq!(
        (counted["balance"].clone(), counted["balanceStale"].clone()),
        (json!(10.0), json!(false))
    );
    assert_eq!(unknown["balanceStale"], true);
    assert!(
        unknown["balanceError"]
            .as_str()
            .unwrap()
            .contains("set totalBalance"),
        "{unknown}"
    );
}

#[tokio::test]
async fn an_anthropic_balance_counts_down_by_the_recorded_spend() {
    let app = TestApp::spawn().await;
    let upstream = MockUpstream::start().await;
    let id = app
        .add_key(
            "ANTHROPIC",
            "sk-ok-anthropic-balance",
            json!({"baseUrl": upstream.url, "totalBalance": 5.0}),
        )
        .await;
    let token = app.client_token(json!({})).await;
    for _ in 0..2 {
        app.v1(
            "/v1/messages",
            &token,
            json!({"model": "claude-sonnet-4-5", "max_tokens": 9, "messages": []}),
        )
        .await;
    }
    app.log_rows().await;

    let key = refresh(&app, id).await;

    // Two answers of $0.0015 each.
    assert_eq!(key["balance"], 5.0 - 0.003);
    assert_eq!(key["totalBalance"], 5.0);
    // Setting a new total restarts the count from there.
    app.graphql(
        "mutation($id: Int!) { updateKey(id: $id, input: {totalBalance: 8.0}) { id } }",
        json!({"id": id}),
    )
    .await;
    assert_eq!(refresh(&app, id).await["balance"], 8.0);
}

#[tokio::test]
async fn refreshing_a_missing_key_is_not_found() {
    let app = TestApp::spawn().await;

    let response = app
        .graphql("mutation { refreshBalance(id: 77) { id } }", json!({}))
        .await;

    assert_eq!(error_code(&response), "NOT_FOUND");
}

/// A webhook receiver that records what it gets; it refuses the first `failures` posts.
pub(crate) async fn receiver(
    failures: usize,
) -> (String, Arc<Mutex<Vec<Value>>>, Arc<Mutex<usize>>) {
    #[derive(Clone)]
    struct Shared {
        got: Arc<Mutex<Vec<Value>>>,
        calls: Arc<Mutex<usize>>,
        failures: usize,
    }
    async fn hook(State(shared): State<Shared>, Json(body): Json<Value>) -> StatusCode {
        let mut calls = shared.calls.lock().unwrap();
        *calls += 1;
        if *calls <= shared.failures {
            return StatusCode::SERVICE_UNAVAILABLE;
        }
        shared.got.lock().unwrap().push(body);
        StatusCode::NO_CONTENT
    }
    let shared = Shared {
        got: Arc::default(),
        calls: Arc::default(),
        failures,
    };
    let app = Router::new()
        .route("/hook", post(hook))
        .with_state(shared.clone());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, shared.got, shared.calls)
}

async fn until_received(got: &Arc<Mutex<Vec<Value>>>, count: usize) -> Vec<Value> {
    for _ in 0..400 {
        if got.lock().unwrap().len() >= count {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    got.lock().unwrap().clone()
}

#[tokio::test]
async fn an_auto_disabled_key_raises_alerts_that_are_retried_until_delivered() {
    let app = TestApp::spawn().await;
    let upstream = MockUpstream::start().await;
    let (url, got, calls) = receiver(1).await;
    app.graphql(
        "mutation($v: JSON!) { setConfig(key: \"alerts\", value: $v) { key } }",
        json!({"v": {"webhooks": [url], "events": ["key_disabled", "provider_unavailable"]}}),
    )
    .await;
    app.add_key(
        "OPENAI",
        "sk-e401-alerting",
        json!({"baseUrl": upstream.url, "name": "team key"}),
    )
    .await;
    let token = app.client_token(json!({})).await;

    app.v1(
        "/v1/chat/completions",
        &token,
        json!({"model": "gpt-4o", "messages": []}),
    )
    .await;

    let alerts = until_received(&got, 2).await;
    let disabled = alerts
        .iter()
        .find(|a| a["event"] == "key_disabled")
        .expect("a key_disabled alert");
    assert_eq!(
        disabled["key"],
        json!({"id": 1, "name": "team key", "provider": "openai"})
    );
    assert_eq!(disabled["reason"], "upstream rejected the key (HTTP 401)");
    assert!(
        disabled["at"]
            .as_str()
            .unwrap()
            .parse::<chrono::DateTime<Utc>>()
            .is_ok()
    );
    let unavailable = alerts
        .iter()
        .find(|a| a["event"] == "provider_unavailable")
        .expect("a provider alert");
    assert_eq!(unavailable["provider"], "openai");
    assert!(
        !serde_json::to_string(&alerts)
            .unwrap()
            .contains("sk-e401-alerting"),
        "no secret in alerts"
    );
    assert_eq!(
        *calls.lock().unwrap(),
        3,
        "the refused first post was retried"
    );
}

#[tokio::test]
async fn a_low_balance_raises_an_alert_with_the_keys_threshold() {
    let app = TestApp::spawn().await;
    let upstream = MockUpstream::start().await;
    let (url, got, _) = receiver(0).await;
    let id = app
        .add_key("AMP", "sk-ok-amp-low", json!({"baseUrl": upstream.url}))
        .await;
    app.graphql(
        "mutation($v: JSON!) { setConfig(key: \"alerts\", value: $v) { key } }",
        json!({"v": {"webhooks": [url], "low_balance_usd": 1.0, "key_thresholds": {id.to_string(): 100.0}}}),
    )
    .await;

    refresh(&app, id).await;

    let alerts = until_received(&got, 1).await;
    assert_eq!(alerts[0]["event"], "balance_low");
    assert_eq!(
        (alerts[0]["balance"].clone(), alerts[0]["threshold"].clone()),
        (json!(67.59), json!(100.0))
    );
}

#[tokio::test]
async fn retention_deletes_old_rows_in_batches_and_keeps_the_rollups() {
    let app = TestApp::spawn().await;
    let upstream = MockUpstream::start().await;
    app.add_key(
        "OPENAI",
        "sk-ok-retention",
        json!({"baseUrl": upstream.url}),
    )
    .await;
    let token = app.client_token(json!({})).await;
    for _ in 0..5 {
        app.v1(
            "/v1/chat/completions",
            &token,
            json!({"model": "gpt-4o", "messages": []}),
        )
        .await;
    }
    let rows = app.log_rows().await;
    // Age three rows past the retention period.
    for row in &rows[..3] {
        let mut old: api_request_log::ActiveModel = row.clone().into();
        old.create_time = Set(Utc::now() - chrono::Duration::days(40));
        old.update(&app.state.db).await.unwrap();
    }
    let before = app
        .graphql(
            "{ statsOverview(range: {preset: LAST_24_HOURS}) { requests } }",
            json!({}),
        )
        .await;

    let deleted = retention::purge(
        &app.state.db,
        &RetentionSettings {
            days: 30,
            batch_size: 2,
            interval_secs: 60,
        },
    )
    .await
    .unwrap();

    assert_eq!(deleted, 3);
    assert_eq!(
        api_request_log::Entity::find()
            .count(&app.state.db)
            .await
            .unwrap(),
        2
    );
    let after = app
        .graphql(
            "{ statsOverview(range: {preset: LAST_24_HOURS}) { requests } }",
            json!({}),
        )
        .await;
    assert_eq!(after, before, "the rollups are untouched");
    assert_eq!(data(&after)["statsOverview"]["requests"], 5);
}

#[tokio::test]
async fn a_bad_webhook_url_is_refused() {
    let app = TestApp::spawn().await;

    let response = app
        .graphql(
            "mutation { setConfig(key: \"alerts\", value: {webhooks: [\"not a url\"]}) { key } }",
            json!({}),
        )
        .await;

    assert_eq!(error_code(&response), "BAD_USER_INPUT");
}

#[tokio::test]
async fn a_provider_that_comes_back_raises_recovered() {
    let app = TestApp::spawn().await;
    let upstream = MockUpstream::start().await;
    let (url, got, _) = receiver(0).await;
    app.graphql(
        "mutation($v: JSON!) { setConfig(key: \"alerts\", value: $v) { key } }",
        json!({"v": {"webhooks": [url], "events": ["provider_unavailable", "recovered"]}}),
    )
    .await;
    let id = app
        .add_key(
            "ANTHROPIC",
            "sk-e401-recovering",
            json!({"baseUrl": upstream.url}),
        )
        .await;
    let token = app.client_token(json!({})).await;
    app.v1(
        "/v1/messages",
        &token,
        json!({"model": "claude-sonnet-4-5", "max_tokens": 5, "messages": []}),
    )
    .await;
    until_received(&got, 1).await;

    app.graphql(
        "mutation($id: Int!) { setKeyEnabled(id: $id, enabled: true) { id } }",
        json!({"id": id}),
    )
    .await;

    let alerts = until_received(&got, 2).await;
    let events: Vec<&str> = alerts
        .iter()
        .map(|a| a["event"].as_str().unwrap())
        .collect();
    assert_eq!(events, ["provider_unavailable", "recovered"]);
    assert_eq!(alerts[1]["provider"], "anthropic");
    assert_eq!(alerts[1]["reason"], "an anthropic key is available again");
}
