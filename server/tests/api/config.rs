//! Configuration entries round trip as JSON.

use serde_json::{Value, json};

use crate::helpers::{TestApp, data, error_code, error_message};

#[tokio::test]
async fn a_config_entry_round_trips_as_json() {
    let app = TestApp::spawn().await;
    let value =
        json!({"gpt-4o": {"input": 2.5, "output": 10}, "list": [1, "two", null], "on": true});

    let set = app
        .graphql(
            "mutation($v: JSON!) { setConfig(key: \"ui.preferences\", value: $v, memo: \"shared UI settings\") { key value memo } }",
            json!({"v": value}),
        )
        .await;
    let got = app
        .graphql(
            "{ config(key: \"ui.preferences\") { key value memo } }",
            json!({}),
        )
        .await;

    let expected = json!({"key": "ui.preferences", "value": value, "memo": "shared UI settings"});
    assert_eq!(data(&set)["setConfig"], expected);
    assert_eq!(data(&got)["config"], expected);
}

#[tokio::test]
async fn setting_again_replaces_the_value_and_keeps_the_memo() {
    let app = TestApp::spawn().await;
    app.graphql(
        "mutation { setConfig(key: \"retention\", value: {days: 30}, memo: \"raw log\") { key } }",
        json!({}),
    )
    .await;

    let replaced = app
        .graphql(
            "mutation { setConfig(key: \"retention\", value: {days: 7}) { value memo effectiveValue } }",
            json!({}),
        )
        .await;

    assert_eq!(
        data(&replaced)["setConfig"],
        json!({
            "value": {"days": 7},
            "memo": "raw log",
            "effectiveValue": {"days": 7, "batch_size": 1000, "interval_secs": 3600},
        })
    );
    assert_eq!(app.state.live.current().retention.days, 7);
}

#[tokio::test]
async fn every_known_setting_is_listed_with_its_value_in_force_even_when_never_set() {
    let app = TestApp::spawn().await;

    let listed = app
        .graphql(
            "{ configs { key isSet value effectiveValue defaultValue description createTime } }",
            json!({}),
        )
        .await;

    let configs = data(&listed)["configs"].as_array().unwrap();
    let keys: Vec<&str> = configs.iter().map(|c| c["key"].as_str().unwrap()).collect();
    assert_eq!(
        keys,
        [
            "alerts",
            "balance",
            "health",
            "metrics",
            "model_prices",
            "models",
            "network",
            "proxy",
            "retention",
            "routing"
        ]
    );
    let proxy = configs.iter().find(|c| c["key"] == "proxy").unwrap();
    assert_eq!(proxy["isSet"], false);
    assert_eq!(proxy["createTime"], json!(null));
    assert_eq!(proxy["effectiveValue"]["first_byte_timeout_ms"], 120_000);
    assert_eq!(proxy["value"], proxy["defaultValue"]);
    assert!(proxy["description"].as_str().unwrap().contains("timeouts"));
    let prices = configs.iter().find(|c| c["key"] == "model_prices").unwrap();
    assert_eq!(prices["isSet"], true, "the price table is seeded");
}

#[tokio::test]
async fn an_unknown_key_is_refused_and_not_stored() {
    let app = TestApp::spawn().await;

    let response = app
        .graphql(
            "mutation { setConfig(key: \"retention_days\", value: 30) { key } }",
            json!({}),
        )
        .await;

    assert_eq!(error_code(&response), "BAD_USER_INPUT");
    assert_eq!(response["errors"][0]["extensions"]["field"], "key");
    assert!(
        error_message(&response).contains("\"retention_days\" is not a setting"),
        "{response}"
    );
    let got = app
        .graphql("{ config(key: \"retention_days\") { key } }", json!({}))
        .await;
    assert_eq!(data(&got)["config"], json!(null));
}

#[tokio::test]
async fn an_out_of_range_value_names_its_field_and_the_allowed_range() {
    let app = TestApp::spawn().await;
    let cases = [
        (
            "proxy",
            json!({"first_byte_timeout_ms": 0}),
            "proxy.first_byte_timeout_ms",
            "from 100 to 3600000",
        ),
        (
            "proxy",
            json!({"max_attempts": 11}),
            "proxy.max_attempts",
            "from 1 to 10",
        ),
        (
            "proxy",
            json!({"max_body_bytes": 100}),
            "proxy.max_body_bytes",
            "1 KiB to 256 MiB",
        ),
        (
            "health",
            json!({"rate_limit_cooldown_secs": 0}),
            "health.rate_limit_cooldown_secs",
            "1 s to 1 day",
        ),
        (
            "retention",
            json!({"days": 5000}),
            "retention.days",
            "from 0 to 3650",
        ),
        (
            "alerts",
            json!({"max_attempts": 0}),
            "alerts.max_attempts",
            "from 1 to 10",
        ),
        (
            "balance",
            json!({"refresh_interval_secs": 5}),
            "balance.refresh_interval_secs",
            "or 0",
        ),
    ];

    for (key, value, field, range) in cases {
        let response = app
            .graphql(
                "mutation($k: String!, $v: JSON!) { setConfig(key: $k, value: $v) { key } }",
                json!({"k": key, "v": value}),
            )
            .await;

        assert_eq!(error_code(&response), "BAD_USER_INPUT", "{response}");
        assert_eq!(
            response["errors"][0]["extensions"]["field"], field,
            "{response}"
        );
        assert!(error_message(&response).contains(range), "{response}");
    }
    assert_eq!(
        app.state.live.current().proxy.first_byte_timeout_ms,
        120_000,
        "nothing out of range took effect"
    );
}

#[tokio::test]
async fn free_form_console_entries_live_under_ui() {
    let app = TestApp::spawn().await;

    let set = app
        .graphql(
            "mutation { setConfig(key: \"ui.theme\", value: \"dark\") { key value effectiveValue isSet } }",
            json!({}),
        )
        .await;

    assert_eq!(
        data(&set)["setConfig"],
        json!({"key": "ui.theme", "value": "dark", "effectiveValue": null, "isSet": true})
    );
}

#[tokio::test]
async fn a_deleted_entry_is_gone() {
    let app = TestApp::spawn().await;
    app.graphql(
        "mutation { setConfig(key: \"ui.a.b\", value: \"x\") { key } }",
        json!({}),
    )
    .await;

    let deleted = app
        .graphql("mutation { deleteConfig(key: \"ui.a.b\") }", json!({}))
        .await;
    let again = app
        .graphql("mutation { deleteConfig(key: \"ui.a.b\") }", json!({}))
        .await;
    let got = app
        .graphql("{ config(key: \"ui.a.b\") { key } }", json!({}))
        .await;

    assert_eq!(data(&deleted)["deleteConfig"], true);
    assert_eq!(data(&again)["deleteConfig"], false);
    assert_eq!(data(&got)["config"], json!(null));
}

#[tokio::test]
async fn a_badly_named_key_is_refused() {
    let app = TestApp::spawn().await;

    let response = app
        .graphql(
            "mutation { setConfig(key: \"Bad Key!\", value: 1) { key } }",
            json!({}),
        )
        .await;

    assert_eq!(error_code(&response), "BAD_USER_INPUT");
    assert_eq!(response["errors"][0]["extensions"]["field"], "key");
}

#[tokio::test]
async fn the_price_table_is_seeded_on_first_start() {
    let app = TestApp::spawn().await;

    let response = app
        .graphql(
            "{ config(key: \"model_prices\") { value memo } }",
            json!({}),
        )
        .await;

    let entry = &data(&response)["config"];
    assert_eq!(entry["memo"], "USD per million tokens");
    assert_eq!(
        entry["value"]["claude-sonnet-4-5"],
        json!({"input": 3.0, "output": 15.0, "cache_read": 0.3, "cache_write": 3.75, "cache_write_1h": 6.0})
    );
    assert_eq!(entry["value"]["gpt-4o"]["input"], 2.5);
}

#[tokio::test]
async fn a_known_key_with_the_wrong_shape_is_refused_and_nothing_changes() {
    let app = TestApp::spawn().await;

    let typo = app
        .graphql(
            "mutation { setConfig(key: \"proxy\", value: {max_atempts: 2}) { key } }",
            json!({}),
        )
        .await;
    let wrong_type = app
        .graphql(
            "mutation { setConfig(key: \"health\", value: {failure_threshold: \"five\"}) { key } }",
            json!({}),
        )
        .await;
    let negative = app
        .graphql(
            "mutation { setConfig(key: \"model_prices\", value: {m: {input: -1}}) { key } }",
            json!({}),
        )
        .await;

    let fields: Vec<&Value> = [&typo, &wrong_type, &negative]
        .iter()
        .map(|response| {
            assert_eq!(error_code(response), "BAD_USER_INPUT", "{response}");
            &response["errors"][0]["extensions"]["field"]
        })
        .collect();
    assert_eq!(
        fields,
        [
            "proxy.max_atempts",
            "health.failure_threshold",
            "model_prices.m.input"
        ]
    );
    assert!(error_message(&typo).contains("max_atempts"), "{typo}");
    let proxy = app
        .graphql("{ config(key: \"proxy\") { isSet } }", json!({}))
        .await;
    assert_eq!(data(&proxy)["config"]["isSet"], false);
}

#[tokio::test]
async fn the_metrics_token_is_never_shown_and_sending_its_masked_form_back_keeps_it() {
    let app = TestApp::spawn().await;
    let set = app
        .graphql(
            "mutation { setConfig(key: \"metrics\", value: {token: \"scrape-secret-123\"}) { value effectiveValue } }",
            json!({}),
        )
        .await;
    let listed = app
        .graphql(
            "{ configs { key value effectiveValue } config(key: \"metrics\") { value effectiveValue } }",
            json!({}),
        )
        .await;
    assert!(!set.to_string().contains("scrape-secret-123"), "{set}");
    assert!(
        !listed.to_string().contains("scrape-secret-123"),
        "{listed}"
    );
    let shown = data(&listed)["config"]["value"].clone();
    assert_eq!(shown, json!({"token": "scra…-123"}));
    assert_eq!(data(&listed)["config"]["effectiveValue"], shown);

    let sent_back = app
        .graphql(
            "mutation($v: JSON!) { setConfig(key: \"metrics\", value: $v) { value } }",
            json!({"v": shown}),
        )
        .await;

    assert_eq!(data(&sent_back)["setConfig"]["value"], shown);
    let scrape = |token: &'static str| {
        app.http
            .get(app.url("/metrics"))
            .header("Authorization", format!("Bearer {token}"))
            .send()
    };
    assert_eq!(scrape("scrape-secret-123").await.unwrap().status(), 200);
    assert_eq!(scrape("scra…-123").await.unwrap().status(), 401);
}

#[tokio::test]
async fn a_new_metrics_token_replaces_the_stored_one() {
    let app = TestApp::spawn().await;
    for token in ["first-secret-123", "second-secret-456"] {
        app.graphql(
            "mutation($v: JSON!) { setConfig(key: \"metrics\", value: $v) { key } }",
            json!({"v": {"token": token}}),
        )
        .await;
    }

    let scrape = |token: &'static str| {
        app.http
            .get(app.url("/metrics"))
            .header("Authorization", format!("Bearer {token}"))
            .send()
    };
    assert_eq!(scrape("second-secret-456").await.unwrap().status(), 200);
    assert_eq!(scrape("first-secret-123").await.unwrap().status(), 401);
}
