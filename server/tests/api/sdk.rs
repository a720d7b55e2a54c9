//! The official OpenAI and Anthropic Python SDKs, pointed at the pool, get correct answers
//! (streamed and not) and parse its errors. Needs a Python with both SDKs in
//! `AMP_POOL_SDK_PYTHON`; `scripts/test` makes one and runs this test.

use std::process::Command;

use serde_json::json;

use crate::{
    helpers::TestApp,
    mock::MockUpstream,
    mock_openai::{EMBEDDING_TOKENS, RESPONSES_USAGE},
};

#[tokio::test]
#[ignore = "needs the openai and anthropic Python SDKs; scripts/test runs it"]
async fn the_official_sdks_get_answers_and_parse_errors() {
    let python = std::env::var("AMP_POOL_SDK_PYTHON")
        .expect("AMP_POOL_SDK_PYTHON names a Python with the openai and anthropic packages");
    let app = TestApp::spawn().await;
    let upstream = MockUpstream::start().await;
    app.add_key(
        "OPENAI",
        "sk-ok-openai-sdk",
        json!({"baseUrl": upstream.url}),
    )
    .await;
    app.add_key(
        "ANTHROPIC",
        "sk-ok-anthropic-sdk",
        json!({"baseUrl": upstream.url}),
    )
    .await;
    // Two model names that only routing serves: each through the other format's key.
    let routed = app
        .graphql(
            "mutation($v: JSON!) { setConfig(key: \"routing\", value: $v) { key } }",
            json!({"v": {"routes": [
                {"match": "translated-gpt*", "provider": "anthropic", "model": "claude-sonnet-4-5"},
                {"match": "translated-claude*", "provider": "openai", "model": "gpt-4o"}]}}),
        )
        .await;
    assert!(routed["errors"].is_null(), "{routed}");
    let token = app.client_token(json!({})).await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/sdk/check.py");
    let url = app.url("");

    let output = tokio::task::spawn_blocking(move || {
        Command::new(python)
            .arg(script)
            .env("AMP_POOL_URL", url)
            .env("AMP_POOL_TOKEN", token)
            .env("NO_PROXY", "127.0.0.1")
            .output()
            .unwrap()
    })
    .await
    .unwrap();

    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the SDK checks failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("all SDK checks passed"), "{stdout}");
    let rows = app.log_rows().await;
    // Each call that reached the upstream is logged once; the refused requests never left the
    // pool.
    let count = |endpoint: &str| rows.iter().filter(|r| r.endpoint == endpoint).count();
    assert_eq!(
        [
            "chat_completions",
            "responses",
            "embeddings",
            "messages",
            "count_tokens"
        ]
        .map(count),
        [8, 3, 1, 6, 1]
    );
    assert_eq!(rows.len(), 19);
    assert!(rows.iter().all(|r| r.status == "success"));
    let (input, cached, output, reasoning) = RESPONSES_USAGE;
    for row in rows.iter().filter(|r| r.endpoint == "responses") {
        assert_eq!(
            (
                row.input_tokens,
                row.cache_read_tokens,
                row.output_tokens,
                row.reasoning_tokens
            ),
            (input - cached, cached, output, reasoning),
            "{row:?}"
        );
    }
    // Translated calls log the upstream's model, its real tokens and their cost.
    let through_anthropic: Vec<_> = rows
        .iter()
        .filter(|r| r.endpoint == "chat_completions" && r.provider == "anthropic")
        .collect();
    assert_eq!(through_anthropic.len(), 5);
    for row in through_anthropic {
        assert_eq!(row.model, "claude-sonnet-4-5");
        assert_eq!(
            (
                row.input_tokens,
                row.output_tokens,
                row.cache_creation_tokens,
                row.cache_read_tokens
            ),
            (50, 20, 200, 1000)
        );
        assert_eq!(row.cost, 1_500_000);
    }
    let through_openai: Vec<_> = rows
        .iter()
        .filter(|r| r.endpoint == "messages" && r.provider == "openai")
        .collect();
    assert_eq!(through_openai.len(), 4);
    for row in through_openai {
        assert_eq!(row.model, "gpt-4o");
        assert_eq!(
            (row.input_tokens, row.cache_read_tokens, row.output_tokens),
            (20, 100, 30)
        );
        assert_eq!(row.cost, 475_000);
    }
    let embeddings = rows.iter().find(|r| r.endpoint == "embeddings").unwrap();
    assert_eq!(
        (embeddings.input_tokens, embeddings.output_tokens),
        (EMBEDDING_TOKENS, 0)
    );
}
