//! Where keys and webhooks may point: no cloud metadata or link-local addresses (unless the
//! `network` setting allows them), no line breaks, queries or fragments in a base URL; loopback
//! and private networks stay allowed.

use serde_json::{Value, json};

use crate::helpers::{TestApp, data, error_code, error_message};

async fn create_key(app: &TestApp, extra: Value) -> Value {
    let mut input = json!({"name": "k", "provider": "OPENAI", "apiKey": "sk-ok-destination"});
    input
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().cloned().unwrap());
    app.graphql(
        "mutation($input: CreateKeyInput!) { createKey(input: $input) { id baseUrl } }",
        json!({"input": input}),
    )
    .await
}

#[tokio::test]
async fn a_key_may_not_point_at_cloud_metadata_or_link_local_addresses() {
    let app = TestApp::spawn().await;
    let cases = [
        (json!({"baseUrl": "http://169.254.169.254"}), "baseUrl"),
        (
            json!({"baseUrl": "http://[fd00:ec2::254]/latest"}),
            "baseUrl",
        ),
        (
            json!({"baseUrl": "http://metadata.google.internal"}),
            "baseUrl",
        ),
        (json!({"baseUrl": "http://100.100.100.200"}), "baseUrl"),
        (json!({"proxyIp": "socks5://169.254.10.10:1080"}), "proxyIp"),
        (json!({"proxyIp": "http://[fe80::1]:3128"}), "proxyIp"),
    ];

    for (input, field) in cases {
        let response = create_key(&app, input.clone()).await;

        assert_eq!(error_code(&response), "BAD_USER_INPUT", "{input}");
        assert_eq!(
            response["errors"][0]["extensions"]["field"], field,
            "{input}"
        );
        assert!(
            error_message(&response).contains("network.allow_link_local_upstreams"),
            "{response}"
        );
    }
    let listed = app.graphql("{ keys { id } }", json!({})).await;
    assert_eq!(data(&listed)["keys"], json!([]));
}

#[tokio::test]
async fn a_base_url_may_not_carry_line_breaks_a_query_or_a_fragment() {
    let app = TestApp::spawn().await;

    for bad in [
        "http://127.0.0.1:9/v1\r\nX-Injected: yes",
        "http://127.0.0.1:9/proxy?target=",
        "http://127.0.0.1:9/#",
    ] {
        let response = create_key(&app, json!({"baseUrl": bad})).await;

        assert_eq!(error_code(&response), "BAD_USER_INPUT", "{bad:?}");
        assert_eq!(response["errors"][0]["extensions"]["field"], "baseUrl");
    }
}

#[tokio::test]
async fn loopback_and_private_gateways_are_allowed() {
    let app = TestApp::spawn().await;

    for (i, url) in [
        "http://127.0.0.1:4000",
        "http://10.1.2.3:8080/v1",
        "http://[::1]:9",
    ]
    .into_iter()
    .enumerate()
    {
        let response = create_key(
            &app,
            json!({"baseUrl": url, "apiKey": format!("sk-ok-private-{i}")}),
        )
        .await;

        assert_eq!(data(&response)["createKey"]["baseUrl"], url);
    }
}

#[tokio::test]
async fn the_network_setting_allows_link_local_upstreams() {
    let app = TestApp::spawn().await;

    app.graphql(
        "mutation { setConfig(key: \"network\", value: {allow_link_local_upstreams: true}) { key } }",
        json!({}),
    )
    .await;
    let response = create_key(&app, json!({"baseUrl": "http://169.254.0.10:8000"})).await;

    assert_eq!(
        data(&response)["createKey"]["baseUrl"],
        "http://169.254.0.10:8000"
    );
}

#[tokio::test]
async fn an_alert_webhook_may_not_point_at_cloud_metadata() {
    let app = TestApp::spawn().await;

    let response = app
        .graphql(
            "mutation { setConfig(key: \"alerts\", value: {webhooks: [\"http://169.254.169.254/latest/meta-data\"]}) { key } }",
            json!({}),
        )
        .await;

    assert_eq!(error_code(&response), "BAD_USER_INPUT");
    assert_eq!(
        response["errors"][0]["extensions"]["field"],
        "alerts.webhooks[0]"
    );
}
