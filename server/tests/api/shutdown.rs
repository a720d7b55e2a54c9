//! The real binary, stopped with SIGTERM in the middle of a burst, loses no row.

use std::{collections::HashSet, process::Command, time::Duration};

use amp_pool::entity::api_request_log;
use futures::{StreamExt, future::join_all};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use crate::{
    helpers::{ADMIN_PASSWORD, Binary, TestDatabase, burst},
    mock::MockUpstream,
};

async fn graphql(
    client: &reqwest::Client,
    base: &str,
    jwt: Option<&str>,
    query: &str,
    variables: Value,
) -> Value {
    let mut request = client
        .post(format!("{base}/graphql"))
        .json(&json!({"query": query, "variables": variables}));
    if let Some(jwt) = jwt {
        request = request.bearer_auth(jwt);
    }
    request.send().await.unwrap().json().await.unwrap()
}

#[cfg(unix)]
#[tokio::test]
async fn sigterm_during_a_burst_loses_no_row() {
    let database = TestDatabase::create().await;
    let upstream = MockUpstream::start().await;
    let folder = tempfile::tempdir().unwrap();
    let mut server = Binary::start(&database, folder.path());
    let base = server.base.clone();
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let login = graphql(
        &client,
        &base,
        None,
        "mutation($p: String!) { login(username: \"admin\", password: $p) { token } }",
        json!({"p": ADMIN_PASSWORD}),
    )
    .await;
    let jwt = login["data"]["login"]["token"]
        .as_str()
        .unwrap()
        .to_string();
    graphql(
        &client,
        &base,
        Some(&jwt),
        "mutation($u: String!) { createKey(input: {name: \"slow\", provider: OPENAI, apiKey: \"sk-slow-sigterm\", baseUrl: $u}) { id } }",
        json!({"u": upstream.url}),
    )
    .await;
    let created = graphql(
        &client,
        &base,
        Some(&jwt),
        "mutation { createAccessToken(input: {name: \"burst\"}) { token } }",
        json!({}),
    )
    .await;
    let token = created["data"]["createAccessToken"]["token"]
        .as_str()
        .unwrap()
        .to_string();

    // 150 requests whose answers take 300 ms each, half of them streams.
    let burst = burst(&base, &token, 150);
    for _ in 0..500 {
        if upstream.seen().len() >= 40 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let killed = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = tokio::task::spawn_blocking(move || server.child.wait())
        .await
        .unwrap()
        .unwrap();

    assert!(
        status.success(),
        "the server exits cleanly after SIGTERM: {status}"
    );
    let answered: HashSet<String> = join_all(burst)
        .await
        .into_iter()
        .filter_map(|r| r.unwrap())
        .collect();
    assert!(
        answered.len() >= 40,
        "the burst was in flight: {}",
        answered.len()
    );
    let db = sea_orm::Database::connect(database.url()).await.unwrap();
    let rows = api_request_log::Entity::find()
        .filter(api_request_log::Column::Status.eq("success"))
        .all(&db)
        .await
        .unwrap();
    let logged: HashSet<String> = rows.into_iter().map(|r| r.request_id).collect();
    db.close().await.unwrap();
    assert_eq!(logged, answered, "every answered request has its row");
}

#[cfg(unix)]
#[tokio::test]
async fn requests_past_the_grace_are_cancelled_and_still_recorded() {
    use crate::helpers::{Ledger, prepare_server};

    let database = TestDatabase::create().await;
    let upstream = MockUpstream::start().await;
    let folder = tempfile::tempdir().unwrap();
    let mut server = Binary::start_with(&database, folder.path(), &[("SHUTDOWN_GRACE_SECS", "1")]);
    // Streams that stop after their first piece, and answers that never come.
    let token = prepare_server(
        &server.base,
        &upstream.url,
        &[("OPENAI", "sk-gate-grace"), ("ANTHROPIC", "sk-hang-grace")],
        false,
    )
    .await;
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let mut streams = Vec::new();
    for _ in 0..3 {
        let response = client
            .post(format!("{}/v1/chat/completions", server.base))
            .bearer_auth(&token)
            .json(&json!({"model": "gpt-4o", "messages": [], "stream": true}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let mut body = response.bytes_stream();
        // The first piece was relayed before the shutdown.
        let first = body.next().await.unwrap().unwrap();
        assert!(String::from_utf8_lossy(&first).contains("Hello"));
        streams.push(body);
    }
    let hanging: Vec<_> = (0..2)
        .map(|_| {
            let request = client
                .post(format!("{}/v1/messages", server.base))
                .bearer_auth(&token)
                .json(&json!({"model": "claude-sonnet-4-5", "max_tokens": 10, "messages": [{"role": "user", "content": "a question of some length"}]}));
            tokio::spawn(request.send())
        })
        .collect();
    for _ in 0..500 {
        if upstream.seen().len() >= 5 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        upstream.seen().len(),
        5,
        "every request reached the upstream"
    );

    let asked = std::time::Instant::now();
    let killed = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = tokio::task::spawn_blocking(move || server.child.wait())
        .await
        .unwrap()
        .unwrap();
    let took = asked.elapsed();

    assert!(status.success(), "exit 0 after cancelling: {status}");
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_secs(15),
        "the grace was given, then the rest cancelled: {took:?}"
    );
    for handle in hanging {
        let answered = handle.await.unwrap();
        assert!(
            answered.is_err() || !answered.unwrap().status().is_success(),
            "a cancelled request gets no answer"
        );
    }
    drop(streams);
    let ledger = Ledger::read(database.url()).await;
    assert_eq!((ledger.attempts.len(), ledger.duplicates), (5, 0));
    let rows: Vec<_> = ledger.attempts.values().collect();
    assert!(rows.iter().all(|r| r.status == "cancelled"), "{rows:?}");
    assert!(
        rows.iter()
            .all(|r| r.error_type.as_deref() == Some("server_shutdown")),
        "{rows:?}"
    );
    let streamed: Vec<_> = rows.iter().filter(|r| r.is_stream).collect();
    assert_eq!(streamed.len(), 3);
    // "Hello" was relayed: about one output token, and the prompt estimated.
    assert!(
        streamed.iter().all(|r| r.output_tokens >= 1),
        "tokens relayed so far: {streamed:?}"
    );
    assert!(rows.iter().all(|r| r.input_tokens > 0), "{rows:?}");
}
