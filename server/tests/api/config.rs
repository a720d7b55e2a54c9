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
            "mutation($v: JSON!) { setConfig(key: \"model_prices\", value: $v, memo: \"USD per 1M tokens\") { key value memo } }",
            json!({"v": value}),
        )
        .await;
    let got = app
        .graphql(
            "{ config(key: \"model_prices\") { key value memo } }",
            json!({}),
        )
        .await;

    let expected = json!({"key": "model_prices", "value": value, "memo": "USD per 1M tokens"});
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
    assert_eq!(
        data(&listed)["configs"],
        json!([{"key": "retention_days", "value": 7}])
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
