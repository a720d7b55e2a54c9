//! Configuration entries round trip as JSON.

use serde_json::json;

use crate::helpers::{TestApp, data, error_code};

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
        "mutation { setConfig(key: \"retention_days\", value: 30, memo: \"raw log\") { key } }",
        json!({}),
    )
    .await;

    let replaced = app
        .graphql(
            "mutation { setConfig(key: \"retention_days\", value: 7) { value memo } }",
            json!({}),
        )
        .await;

    assert_eq!(
        data(&replaced)["setConfig"],
        json!({"value": 7, "memo": "raw log"})
    );
    let listed = app.graphql("{ configs { key value } }", json!({})).await;
    let keys: Vec<&str> = data(&listed)["configs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["key"].as_str().unwrap())
        .collect();
    assert_eq!(
        keys,
        ["model_prices", "retention_days"],
        "one entry per key"
    );
}

#[tokio::test]
async fn a_deleted_entry_is_gone() {
    let app = TestApp::spawn().await;
    app.graphql(
        "mutation { setConfig(key: \"a.b\", value: \"x\") { key } }",
        json!({}),
    )
    .await;

    let deleted = app
        .graphql("mutation { deleteConfig(key: \"a.b\") }", json!({}))
        .await;
    let again = app
        .graphql("mutation { deleteConfig(key: \"a.b\") }", json!({}))
        .await;
    let got = app
        .graphql("{ config(key: \"a.b\") { key } }", json!({}))
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

    for response in [&typo, &wrong_type, &negative] {
        assert_eq!(error_code(response), "BAD_USER_INPUT", "{response}");
        assert_eq!(response["errors"][0]["extensions"]["field"], "value");
    }
    assert!(error_code(&typo) == "BAD_USER_INPUT" && typo.to_string().contains("max_atempts"));
    let proxy = app
        .graphql("{ config(key: \"proxy\") { key } }", json!({}))
        .await;
    assert_eq!(data(&proxy)["config"], json!(null));
}
