//! Session affinity: the turns of one conversation stay on one key (the upstream's prompt
//! cache is per account), fail over when that key goes, and stick to the new one.

use std::collections::HashSet;

use serde_json::{Value, json};

use crate::{helpers::TestApp, mock::MockUpstream};

/// Turn `n` of a chat conversation: the same system prompt and opening, a longer history.
pub(crate) fn chat_turn(conversation: &str, n: usize) -> Value {
    let mut messages = vec![
        json!({"role": "system", "content": "You are terse."}),
        json!({"role": "user", "content": format!("Let us talk about {conversation}.")}),
    ];
    for i in 0..n {
        messages.push(json!({"role": "assistant", "content": format!("answer {i}")}));
        messages.push(json!({"role": "user", "content": format!("question {i}")}));
    }
    json!({"model": "gpt-4o", "messages": messages})
}

async fn three_equal_keys(app: &TestApp, upstream: &MockUpstream) -> Vec<i64> {
    let mut ids = Vec::new();
    for name in ["sk-ok-one", "sk-ok-two", "sk-ok-three"] {
        ids.push(
            app.add_key("OPENAI", name, json!({"baseUrl": upstream.url}))
                .await,
        );
    }
    ids
}

async fn metric(app: &TestApp, name: &str) -> i64 {
    let text = app
        .http
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    crate::helpers::metric(&text, name)
        .map(|v| v as i64)
        .unwrap_or_else(|| panic!("{name} is not in /metrics:\n{text}"))
}

#[tokio::test]
async fn twenty_turns_of_a_conversation_stay_on_one_key_among_equals() {
    let app = TestApp::spawn().await;
    let upstream = MockUpstream::start().await;
    three_equal_keys(&app, &upstream).await;
    let token = app.client_token(json!({})).await;

    for turn in 0..20 {
        let answer = app
            .v1("/v1/chat/completions", &token, chat_turn("rust", turn))
            .await;
        assert_eq!(answer.status(), 200);
    }
    // Other conversations spread over the keys as before.
    for topic in ["go", "zig", "ocaml", "lisp", "c", "ada"] {
        app.v1("/v1/chat/completions", &token, chat_turn(topic, 0))
            .await;
    }

    let rows = app.log_rows().await;
    let conversation: HashSet<_> = rows[..20].iter().map(|r| r.key_id).collect();
    assert_eq!(conversation.len(), 1, "{conversation:?}");
    let others: HashSet<_> = rows[20..].iter().map(|r| r.key_id).collect();
    assert!(others.len() >= 2, "{others:?}");
    assert_eq!(
        metric(&app, "amp_pool_session_affinity_wanted_total").await,
        19
    );
    assert_eq!(
        metric(&app, "amp_pool_session_affinity_served_total").await,
        19
    );
}

#[tokio::test]
async fn a_claude_code_session_sticks_by_its_metadata_user_id() {
    let app = TestApp::spawn().await;
    let upstream = MockUpstream::start().await;
    for name in ["sk-ok-claude-a", "sk-ok-claude-b", "sk-ok-claude-c"] {
        app.add_key("ANTHROPIC", name, json!({"baseUrl": upstream.url}))
            .await;
    }
    let token = app.client_token(json!({})).await;

    for turn in 0..9 {
        let session = if turn % 3 == 0 { "s-1" } else { "s-2" };
        let body = json!({"model": "claude-sonnet-4-5", "max_tokens": 10,
            "metadata": {"user_id": format!("user_abc_account__session_{session}")},
            // Each request opens differently: only the session id ties them together.
            "messages": [{"role": "user", "content": format!("request {turn}")}]});
        let answer = app
            .http
            .post(app.url("/v1/messages"))
            .header("x-api-key", &token)
            .header("anthropic-version", "2023-06-01")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200);
    }

    let rows = app.log_rows().await;
    let keys_of = |turns: &[usize]| -> HashSet<Option<i32>> {
        turns.iter().map(|t| rows[*t].key_id).collect()
    };
    assert_eq!(keys_of(&[0, 3, 6]).len(), 1);
    assert_eq!(keys_of(&[1, 2, 4, 5, 7, 8]).len(), 1);
}

#[tokio::test]
async fn a_disabled_sticky_key_fails_over_and_the_conversation_sticks_to_the_next() {
    let app = TestApp::spawn().await;
    let upstream = MockUpstream::start().await;
    three_equal_keys(&app, &upstream).await;
    let token = app.client_token(json!({})).await;
    for turn in 0..5 {
        app.v1("/v1/chat/completions", &token, chat_turn("rust", turn))
            .await;
    }
    let first = app.log_rows().await[0].key_id.unwrap();

    app.graphql(
        "mutation($id: Int!) { setKeyEnabled(id: $id, enabled: false) { enabled } }",
        json!({"id": first}),
    )
    .await;
    for turn in 5..15 {
        let answer = app
            .v1("/v1/chat/completions", &token, chat_turn("rust", turn))
            .await;
        assert_eq!(answer.status(), 200);
    }

    let rows = app.log_rows().await;
    assert!(rows[..5].iter().all(|r| r.key_id == Some(first)));
    let after: HashSet<_> = rows[5..].iter().map(|r| r.key_id).collect();
    assert_eq!(after.len(), 1, "{after:?}");
    assert!(!after.contains(&Some(first)));
    // Turns 2–5 and 7–15 were served by their sticky key; turn 6 wanted the disabled one.
    assert_eq!(
        metric(&app, "amp_pool_session_affinity_wanted_total").await,
        14
    );
    assert_eq!(
        metric(&app, "amp_pool_session_affinity_served_total").await,
        13
    );
}

#[tokio::test]
async fn with_affinity_off_turns_spread_over_the_keys() {
    let app = TestApp::spawn().await;
    let upstream = MockUpstream::start().await;
    three_equal_keys(&app, &upstream).await;
    app.graphql(
        "mutation { setConfig(key: \"proxy\", value: {session_ttl_secs: 0}) { key } }",
        json!({}),
    )
    .await;
    let token = app.client_token(json!({})).await;

    for turn in 0..6 {
        app.v1("/v1/chat/completions", &token, chat_turn("rust", turn))
            .await;
    }

    let rows = app.log_rows().await;
    let keys: HashSet<_> = rows.iter().map(|r| r.key_id).collect();
    assert_eq!(keys.len(), 3);
}
