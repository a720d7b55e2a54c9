//! Each key's traffic carries that key's User-Agent and goes through that key's outbound
//! proxy — shown by proxies the test starts, which record what crossed them.

use serde_json::{Value, json};

use crate::{
    helpers::TestApp,
    mock::{ForwardProxy, MockUpstream},
};

fn chat() -> Value {
    json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]})
}

#[tokio::test]
async fn each_key_sends_its_own_user_agent_or_the_default() {
    let app = TestApp::spawn().await;
    let upstream = MockUpstream::start().await;
    app.add_key(
        "OPENAI",
        "sk-ok-first",
        json!({"baseUrl": upstream.url, "ua": "TeamA-Client/2.1", "priority": 0}),
    )
    .await;
    let token = app.client_token(json!({})).await;
    app.v1("/v1/chat/completions", &token, chat()).await;
    app.graphql(
        "mutation { setKeyEnabled(id: 1, enabled: false) { id } }",
        json!({}),
    )
    .await;
    app.add_key("OPENAI", "sk-ok-second", json!({"baseUrl": upstream.url}))
        .await;

    app.v1("/v1/chat/completions", &token, chat()).await;

    let agents: Vec<String> = upstream
        .seen()
        .iter()
        .map(|r| r.headers["user-agent"].to_str().unwrap().to_string())
        .collect();
    assert_eq!(
        agents,
        [
            "TeamA-Client/2.1".to_string(),
            format!("amp-pool/{}", env!("CARGO_PKG_VERSION"))
        ]
    );
}

#[tokio::test]
async fn a_keys_traffic_crosses_its_http_proxy_and_only_its_own() {
    let app = TestApp::spawn().await;
    let upstream = MockUpstream::start().await;
    let proxy = ForwardProxy::http().await;
    app.add_key(
        "OPENAI",
        "sk-ok-proxied",
        json!({"baseUrl": upstream.url, "proxyIp": proxy.url, "ua": "Proxied/1.0", "priority": 0}),
    )
    .await;
    app.add_key(
        "OPENAI",
        "sk-ok-direct",
        json!({"baseUrl": upstream.url, "priority": 1}),
    )
    .await;
    let token = app.client_token(json!({})).await;

    let through_proxy = app.v1("/v1/chat/completions", &token, chat()).await;
    app.graphql(
        "mutation { setKeyEnabled(id: 1, enabled: false) { id } }",
        json!({}),
    )
    .await;
    let direct = app.v1("/v1/chat/completions", &token, chat()).await;

    assert_eq!(
        (through_proxy.status().as_u16(), direct.status().as_u16()),
        (200, 200)
    );
    let crossed = proxy.crossed();
    assert_eq!(
        crossed.len(),
        1,
        "only the proxied key's request crossed the proxy: {crossed:?}"
    );
    let head = crossed[0].to_lowercase();
    assert!(
        head.starts_with(&format!(
            "post {}/v1/chat/completions http/1.1",
            upstream.url
        )),
        "{head}"
    );
    assert!(head.contains("user-agent: proxied/1.0"), "{head}");
    assert!(
        head.contains("authorization: bearer sk-ok-proxied"),
        "{head}"
    );
    assert_eq!(upstream.seen().len(), 2);
}

#[tokio::test]
async fn a_keys_traffic_crosses_its_socks5_proxy() {
    let app = TestApp::spawn().await;
    let upstream = MockUpstream::start().await;
    let proxy = ForwardProxy::socks5().await;
    app.add_key(
        "ANTHROPIC",
        "sk-ok-socks",
        json!({"baseUrl": upstream.url, "proxyIp": proxy.url}),
    )
    .await;
    let token = app.client_token(json!({})).await;

    let response = app
        .v1(
            "/v1/messages",
            &token,
            json!({"model": "claude-haiku-4-5", "max_tokens": 5, "messages": []}),
        )
        .await;

    assert_eq!(response.status(), 200);
    assert_eq!(
        proxy.crossed(),
        [upstream.url.trim_start_matches("http://").to_string()]
    );
}

#[tokio::test]
async fn keys_with_the_same_identity_share_one_client() {
    let app = TestApp::spawn().await;
    let upstream = MockUpstream::start().await;
    let proxy = ForwardProxy::http().await;
    for secret in ["sk-ok-key-a", "sk-ok-key-b", "sk-ok-key-c"] {
        app.add_key(
            "OPENAI",
            secret,
            json!({"baseUrl": upstream.url, "proxyIp": proxy.url, "ua": "Shared/1"}),
        )
        .await;
    }
    let token = app.client_token(json!({})).await;
    // The same opening each time would be one conversation, kept on one key.
    app.graphql(
        "mutation { setConfig(key: \"proxy\", value: {session_ttl_secs: 0}) { key } }",
        json!({}),
    )
    .await;

    for _ in 0..6 {
        assert_eq!(
            app.v1("/v1/chat/completions", &token, chat())
                .await
                .status(),
            200
        );
    }

    // One pooled client keeps its connection to the proxy: six requests, one connection.
    assert_eq!(proxy.crossed().len(), 1);
    let secrets: std::collections::BTreeSet<String> = upstream
        .seen()
        .iter()
        .map(|r| r.headers["authorization"].to_str().unwrap().to_string())
        .collect();
    assert_eq!(secrets.len(), 3, "round robin used all three keys");
}
