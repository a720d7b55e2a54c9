//! Upstream keys over GraphQL: CRUD, masking, validation, enabling and bulk import.

use serde_json::{Value, json};

use crate::helpers::{TestApp, data, error_code, error_message};

const KEY_FIELDS: &str = "id name provider apiKeyMasked ua proxyIp baseUrl enabled priority weight \
    balance totalBalance memo disabledReason disabledBy disabledAt createTime updateTime";

async fn create_key(app: &TestApp, input: Value) -> Value {
    let response = app
        .graphql(
            &format!("mutation($input: CreateKeyInput!) {{ createKey(input: $input) {{ {KEY_FIELDS} }} }}"),
            json!({"input": input}),
        )
        .await;
    data(&response)["createKey"].clone()
}

#[tokio::test]
async fn a_key_goes_through_create_read_update_and_delete() {
    let app = TestApp::spawn().await;

    let created = create_key(
        &app,
        json!({
            "name": "team openai", "provider": "OPENAI", "apiKey": "sk-live-abcdefghijklmnop9f3c",
            "ua": "MyApp/1.0", "proxyIp": "socks5h://10.0.0.1:1080", "baseUrl": "https://openai.example.com/",
            "priority": 2, "weight": 5, "totalBalance": 50.0, "memo": "billing team"
        }),
    )
    .await;
    let id = created["id"].as_i64().unwrap();
    assert_eq!(created["name"], "team openai");
    assert_eq!(created["provider"], "OPENAI");
    assert_eq!(created["apiKeyMasked"], "sk-l…9f3c");
    assert_eq!(created["ua"], "MyApp/1.0");
    assert_eq!(created["proxyIp"], "socks5h://10.0.0.1:1080");
    assert_eq!(created["baseUrl"], "https://openai.example.com");
    assert_eq!(created["enabled"], true);
    assert_eq!(created["priority"], 2);
    assert_eq!(created["weight"], 5);
    assert_eq!(created["totalBalance"], 50.0);
    assert_eq!(created["disabledBy"], Value::Null);

    let read = app
        .graphql(
            &format!("query($id: Int!) {{ key(id: $id) {{ {KEY_FIELDS} }} }}"),
            json!({"id": id}),
        )
        .await;
    assert_eq!(data(&read)["key"], created);

    let updated = app
        .graphql(
            "mutation($id: Int!) { updateKey(id: $id, input: {name: \"renamed\", weight: 9, baseUrl: \"\", proxyIp: \"\"}) { name weight baseUrl proxyIp ua priority } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(
        data(&updated)["updateKey"],
        json!({"name": "renamed", "weight": 9, "baseUrl": null, "proxyIp": "", "ua": "MyApp/1.0", "priority": 2})
    );

    let deleted = app
        .graphql(
            "mutation($id: Int!) { deleteKey(id: $id) }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(data(&deleted)["deleteKey"], true);
    let gone = app
        .graphql(
            "query($id: Int!) { key(id: $id) { id } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(data(&gone)["key"], Value::Null);
    let again = app
        .graphql(
            "mutation($id: Int!) { deleteKey(id: $id) }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(error_code(&again), "NOT_FOUND");
}

#[tokio::test]
async fn the_full_secret_appears_in_no_response() {
    let app = TestApp::spawn().await;
    let secret = "sk-ant-api03-SECRETSECRETSECRET-0123456789";
    let proxy_password = "hunter2hunter2";
    let mut responses = Vec::new();

    let created = app
        .graphql(
            &format!("mutation($input: CreateKeyInput!) {{ createKey(input: $input) {{ {KEY_FIELDS} }} }}"),
            json!({"input": {"name": "a", "provider": "ANTHROPIC", "apiKey": secret,
                "proxyIp": format!("http://bob:{proxy_password}@127.0.0.1:3128")}}),
        )
        .await;
    let id = data(&created)["createKey"]["id"].as_i64().unwrap();
    responses.push(created);
    responses.push(
        app.graphql(&format!("{{ keys {{ {KEY_FIELDS} }} }}"), json!({}))
            .await,
    );
    responses.push(
        app.graphql(
            &format!("query($id: Int!) {{ key(id: $id) {{ {KEY_FIELDS} }} }}"),
            json!({"id": id}),
        )
        .await,
    );
    responses.push(
        app.graphql(
            &format!("mutation($id: Int!) {{ setKeyEnabled(id: $id, enabled: false) {{ {KEY_FIELDS} }} }}"),
            json!({"id": id}),
        )
        .await,
    );
    responses.push(
        app.graphql(
            "mutation($k: String!) { importKeys(input: {provider: ANTHROPIC, keys: $k}) { created duplicates { line keyMasked reason } invalid { line keyMasked reason } } }",
            json!({"k": format!("{secret}\nbad key with spaces")}),
        )
        .await,
    );
    // The duplicate create is refused without echoing the key back.
    responses.push(
        app.graphql(
            "mutation($input: CreateKeyInput!) { createKey(input: $input) { id } }",
            json!({"input": {"name": "b", "provider": "ANTHROPIC", "apiKey": secret}}),
        )
        .await,
    );

    let everything = serde_json::to_string(&responses).unwrap();
    assert!(
        !everything.contains(secret),
        "the secret leaked: {everything}"
    );
    assert!(
        !everything.contains("SECRETSECRETSECRET"),
        "part of the secret leaked"
    );
    assert!(
        !everything.contains(proxy_password),
        "the proxy password leaked"
    );
    assert!(everything.contains("http://bob:****@127.0.0.1:3128"));
    assert!(everything.contains("sk-a…6789"));
    assert_eq!(error_code(responses.last().unwrap()), "CONFLICT");
}

#[tokio::test]
async fn invalid_input_is_refused_with_the_field_named() {
    let app = TestApp::spawn().await;
    let base = json!({"name": "k", "provider": "OPENAI", "apiKey": "sk-valid-key-123456"});
    let cases = [
        ("proxyIp", json!({"proxyIp": "ftp://127.0.0.1:21"})),
        ("proxyIp", json!({"proxyIp": "127.0.0.1:3128"})),
        ("baseUrl", json!({"baseUrl": "not a url"})),
        ("apiKey", json!({"apiKey": "short"})),
        ("apiKey", json!({"apiKey": "sk has spaces inside"})),
        ("name", json!({"name": "   "})),
        ("name", json!({"name": "n".repeat(129)})),
        ("weight", json!({"weight": 0})),
        ("priority", json!({"priority": 5000})),
        ("ua", json!({"ua": "bad\u{7}agent"})),
        ("totalBalance", json!({"totalBalance": -1.0})),
    ];
    for (field, change) in cases {
        let mut input = base.clone();
        input
            .as_object_mut()
            .unwrap()
            .extend(change.as_object().unwrap().clone());

        let response = app
            .graphql(
                "mutation($input: CreateKeyInput!) { createKey(input: $input) { id } }",
                json!({"input": input}),
            )
            .await;

        assert_eq!(
            error_code(&response),
            "BAD_USER_INPUT",
            "{field}: {response}"
        );
        assert_eq!(
            response["errors"][0]["extensions"]["field"], field,
            "{response}"
        );
        assert!(
            error_message(&response).starts_with(&format!("{field}: ")),
            "{response}"
        );
    }
    let listed = app.graphql("{ keys { id } }", json!({})).await;
    assert_eq!(
        data(&listed)["keys"],
        json!([]),
        "nothing invalid was stored"
    );
}

#[tokio::test]
async fn an_unknown_provider_is_refused_before_anything_runs() {
    let app = TestApp::spawn().await;

    let response = app
        .graphql(
            "mutation { createKey(input: {name: \"k\", provider: GEMINI, apiKey: \"sk-1234567890\"}) { id } }",
            json!({}),
        )
        .await;

    assert_eq!(error_code(&response), "GRAPHQL_VALIDATION_FAILED");
    assert!(error_message(&response).contains("GEMINI"), "{response}");
}

#[tokio::test]
async fn an_admin_disable_is_recorded_and_an_enable_clears_it() {
    let app = TestApp::spawn().await;
    let id = create_key(
        &app,
        json!({"name": "k", "provider": "AMP", "apiKey": "amp-key-0123456789"}),
    )
    .await["id"]
        .as_i64()
        .unwrap();

    let disabled = app
        .graphql(
            "mutation($id: Int!) { setKeyEnabled(id: $id, enabled: false) { enabled disabledBy disabledReason disabledAt } }",
            json!({"id": id}),
        )
        .await;
    let disabled = &data(&disabled)["setKeyEnabled"];
    assert_eq!(disabled["enabled"], false);
    assert_eq!(disabled["disabledBy"], "ADMIN");
    assert_eq!(disabled["disabledReason"], "disabled by admin");
    assert!(disabled["disabledAt"].is_string());

    let enabled = app
        .graphql(
            "mutation($id: Int!) { setKeyEnabled(id: $id, enabled: true) { enabled disabledBy disabledReason disabledAt } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(
        data(&enabled)["setKeyEnabled"],
        json!({"enabled": true, "disabledBy": null, "disabledReason": null, "disabledAt": null})
    );
}

#[tokio::test]
async fn keys_can_be_filtered_by_provider_state_and_text() {
    let app = TestApp::spawn().await;
    for (name, provider, key, enabled, memo) in [
        (
            "alpha",
            "OPENAI",
            "sk-aaaaaaaaaaaa",
            true,
            "for the Search team",
        ),
        ("beta", "OPENAI", "sk-bbbbbbbbbbbb", false, ""),
        ("gamma", "ANTHROPIC", "sk-ant-cccccccc", true, ""),
    ] {
        create_key(&app, json!({"name": name, "provider": provider, "apiKey": key, "enabled": enabled, "memo": memo})).await;
    }
    let names = |response: &Value| -> Vec<String> {
        data(response)["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|key| key["name"].as_str().unwrap().to_string())
            .collect()
    };

    let openai = app
        .graphql("{ keys(filter: {provider: OPENAI}) { name } }", json!({}))
        .await;
    let enabled = app
        .graphql("{ keys(filter: {enabled: true}) { name } }", json!({}))
        .await;
    let search = app
        .graphql("{ keys(filter: {search: \"search\"}) { name } }", json!({}))
        .await;

    assert_eq!(names(&openai), ["alpha", "beta"]);
    assert_eq!(names(&enabled), ["alpha", "gamma"]);
    assert_eq!(names(&search), ["alpha"]);
}

#[tokio::test]
async fn updating_a_missing_key_is_not_found() {
    let app = TestApp::spawn().await;

    let response = app
        .graphql(
            "mutation { updateKey(id: 999, input: {name: \"x\"}) { id } }",
            json!({}),
        )
        .await;

    assert_eq!(error_code(&response), "NOT_FOUND");
}

#[tokio::test]
async fn five_thousand_keys_import_in_one_call_with_a_report_of_the_rest() {
    let app = TestApp::spawn().await;
    create_key(
        &app,
        json!({"name": "existing", "provider": "OPENAI", "apiKey": "sk-import-000000000"}),
    )
    .await;
    let mut lines: Vec<String> = (0..5000).map(|i| format!("sk-import-{i:09}")).collect();
    // Line 5001 repeats line 2; "short" and a spaced key are invalid; comments and blanks skip.
    lines.push("sk-import-000000001".into());
    lines.push("short".into());
    lines.push("# a comment".into());
    lines.push(String::new());
    lines.push("named key,sk-import-named-1234".into());
    lines.push("sk import spaced".into());

    let response = app
        .graphql(
            "mutation($k: String!) { importKeys(input: {provider: OPENAI, keys: $k, weight: 3}) { created duplicates { line keyMasked reason } invalid { line keyMasked reason } } }",
            json!({"k": lines.join("\n")}),
        )
        .await;

    let report = &data(&response)["importKeys"];
    // 5000 generated + 1 named, minus line 1 (already in the pool) = 5000 created.
    assert_eq!(report["created"], 5000);
    let duplicates: Vec<i64> = report["duplicates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["line"].as_i64().unwrap())
        .collect();
    assert_eq!(duplicates, [1, 5001]);
    let invalid: Vec<(i64, String)> = report["invalid"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["line"].as_i64().unwrap(),
                d["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        invalid,
        [
            (5002, "apiKey must be at least 8 characters".to_string()),
            (
                5006,
                "apiKey must be printable ASCII without spaces".to_string()
            )
        ]
    );
    let listed = app
        .graphql(
            "{ keys(filter: {provider: OPENAI}) { name weight } }",
            json!({}),
        )
        .await;
    let keys = data(&listed)["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 5001);
    assert!(keys.iter().any(|k| k["name"] == "named key"));
    assert!(
        keys.iter()
            .any(|k| k["name"] == "openai-0002" && k["weight"] == 3)
    );
}

#[tokio::test]
async fn an_import_with_a_bad_shared_field_imports_nothing() {
    let app = TestApp::spawn().await;

    let response = app
        .graphql(
            "mutation { importKeys(input: {provider: OPENAI, keys: \"sk-aaaaaaaaaa\", proxyIp: \"gopher://x:1\"}) { created } }",
            json!({}),
        )
        .await;

    assert_eq!(error_code(&response), "BAD_USER_INPUT");
    assert_eq!(response["errors"][0]["extensions"]["field"], "proxyIp");
    let listed = app.graphql("{ keys { id } }", json!({})).await;
    assert_eq!(data(&listed)["keys"], json!([]));
}
