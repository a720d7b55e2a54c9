//! The real binary, stopped with SIGTERM in the middle of a burst, loses no row.

use std::{collections::HashSet, process::Command, time::Duration};

use amp_pool::entity::api_request_log;
use futures::future::join_all;
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
