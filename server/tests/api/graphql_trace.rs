//! Each GraphQL operation and each `/v1` request leaves one log line in its own span, with no
//! variables and no secrets. Read from the real binary's log, since a test's own subscriber
//! would race with the other tests.

use std::{
    sync::mpsc::Receiver,
    time::{Duration, Instant},
};

use serde_json::{Value, json};

use crate::helpers::{ADMIN_PASSWORD, Binary, TestDatabase};

/// The first log line containing every one of `needles`, waiting up to 10 s for it.
fn line_with(lines: &Receiver<String>, seen: &mut Vec<String>, needles: &[&str]) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(found) = seen
            .iter()
            .find(|line| needles.iter().all(|needle| line.contains(needle)))
        {
            return found.clone();
        }
        match lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(line) => seen.push(line),
            Err(_) => panic!("no log line with {needles:?} in:\n{}", seen.join("\n")),
        }
    }
}

async fn post(base: &str, body: Value) -> reqwest::Response {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .post(format!("{base}/graphql"))
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn each_operation_is_logged_with_its_name_type_and_outcome_but_not_its_variables() {
    let database = TestDatabase::create().await;
    let folder = tempfile::tempdir().unwrap();
    let Binary { base, lines, .. } = &Binary::start(&database, folder.path());

    let login = post(
        base,
        json!({
            "query": "mutation SignIn($u: String!, $p: String!) { login(username: $u, password: $p) { token } }",
            "variables": {"u": "admin", "p": ADMIN_PASSWORD},
        }),
    )
    .await;
    let login_id = login.headers()["x-amp-pool-request-id"]
        .to_str()
        .unwrap()
        .to_string();
    let refused = post(base, json!({"query": "query Keys { keys { id } }"})).await;
    let refused_id = refused.headers()["x-amp-pool-request-id"]
        .to_str()
        .unwrap()
        .to_string();

    let mut seen = Vec::new();
    let logged_in = line_with(lines, &mut seen, &[&login_id, "graphql operation"]);
    assert!(logged_in.contains("operation=SignIn"), "{logged_in}");
    assert!(logged_in.contains("kind=mutation"), "{logged_in}");
    assert!(logged_in.contains("admin=-"), "{logged_in}");
    assert!(logged_in.contains("outcome=ok"), "{logged_in}");
    let refused_line = line_with(lines, &mut seen, &[&refused_id, "graphql operation"]);
    assert!(refused_line.contains("operation=Keys"), "{refused_line}");
    assert!(refused_line.contains("kind=query"), "{refused_line}");
    assert!(
        refused_line.contains("outcome=UNAUTHENTICATED"),
        "{refused_line}"
    );
    assert!(
        !seen.iter().any(|line| line.contains(ADMIN_PASSWORD)),
        "the password was logged:\n{}",
        seen.join("\n")
    );
}

async fn post_as(base: &str, path: &str, bearer: &str, body: Value) -> reqwest::Response {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .post(format!("{base}{path}"))
        .bearer_auth(bearer)
        .json(&body)
        .send()
        .await
        .unwrap()
}

fn request_id(response: &reqwest::Response) -> String {
    response.headers()["x-amp-pool-request-id"]
        .to_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn each_v1_request_leaves_one_access_line_without_secrets_unless_turned_off() {
    let database = TestDatabase::create().await;
    let folder = tempfile::tempdir().unwrap();
    let Binary { base, lines, .. } = &Binary::start(&database, folder.path());
    let login: Value = post(
        base,
        json!({"query": format!("mutation {{ login(username: \"admin\", password: \"{ADMIN_PASSWORD}\") {{ token }} }}")}),
    )
    .await
    .json()
    .await
    .unwrap();
    let jwt = login["data"]["login"]["token"]
        .as_str()
        .unwrap()
        .to_string();
    let created: Value = post_as(
        base,
        "/graphql",
        &jwt,
        json!({"query": "mutation { createAccessToken(input: {name: \"ci-runner\"}) { token } }"}),
    )
    .await
    .json()
    .await
    .unwrap();
    let secret = created["data"]["createAccessToken"]["token"]
        .as_str()
        .unwrap()
        .to_string();
    let chat = json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]});

    // No key is configured: the pool answers 503, and the line says so.
    let served = post_as(base, "/v1/chat/completions", &secret, chat.clone()).await;
    assert_eq!(served.status(), 503);
    let served_id = request_id(&served);
    let mut seen = Vec::new();
    let line = line_with(lines, &mut seen, &[&served_id, "/v1 request"]);
    assert!(line.contains("amp_pool::access"), "{line}");
    assert!(line.contains("token=\"ci-runner\""), "{line}");
    assert!(line.contains("model=\"gpt-4o\""), "{line}");
    assert!(line.contains("status=503"), "{line}");

    let off = post_as(
        base,
        "/graphql",
        &jwt,
        json!({"query": "mutation { setConfig(key: \"proxy\", value: {access_log: false}) { key } }"}),
    )
    .await;
    assert_eq!(off.status(), 200);
    let quiet = post_as(base, "/v1/chat/completions", &secret, chat).await;
    let quiet_id = request_id(&quiet);
    // A GraphQL operation after it: once its line is there, the quiet request's would be too.
    let marker = post_as(
        base,
        "/graphql",
        &jwt,
        json!({"query": "query After { me { username } }"}),
    )
    .await;
    line_with(
        lines,
        &mut seen,
        &[&request_id(&marker), "graphql operation"],
    );

    assert!(
        !seen
            .iter()
            .any(|line| line.contains(&quiet_id) && line.contains("/v1 request")),
        "an access line was written with access_log off:\n{}",
        seen.join("\n")
    );
    assert!(
        !seen
            .iter()
            .any(|line| line.contains(&secret) || line.contains(&jwt)),
        "a secret was logged:\n{}",
        seen.join("\n")
    );
}
