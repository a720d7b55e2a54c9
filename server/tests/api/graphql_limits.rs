//! What `POST /graphql` refuses before any operation runs: oversized bodies, costly documents
//! and bodies a cross-site form could send.

use serde_json::{Value, json};

use crate::helpers::{TestApp, error_code, error_message};

/// A GraphQL request body of about `bytes` bytes (the padding rides in a variable).
fn padded_request(bytes: usize) -> Vec<u8> {
    let padding = "x".repeat(bytes);
    serde_json::to_vec(&json!({"query": "{ __typename }", "variables": {"pad": padding}})).unwrap()
}

#[tokio::test]
async fn a_body_over_8_mib_is_refused_with_413_in_graphql_format() {
    let app = TestApp::spawn_anonymous().await;

    let response = app
        .http
        .post(app.url("/graphql"))
        .header("content-type", "application/json")
        .body(padded_request(8 * 1024 * 1024 + 1024))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 413);
    let body: Value = response.json().await.unwrap();
    assert_eq!(error_code(&body), "PAYLOAD_TOO_LARGE");
    assert_eq!(
        error_message(&body),
        "the request body is larger than 8 MiB"
    );
}

#[tokio::test]
async fn a_chunked_body_over_8_mib_is_refused_too() {
    let app = TestApp::spawn_anonymous().await;
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = padded_request(9 * 1024 * 1024)
        .chunks(64 * 1024)
        .map(|chunk| Ok(chunk.to_vec()))
        .collect();

    let response = app
        .http
        .post(app.url("/graphql"))
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(futures::stream::iter(chunks)))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 413);
    let body: Value = response.json().await.unwrap();
    assert_eq!(error_code(&body), "PAYLOAD_TOO_LARGE");
}

#[tokio::test]
async fn a_body_just_under_the_limit_is_still_answered() {
    let app = TestApp::spawn_anonymous().await;

    let response = app
        .http
        .post(app.url("/graphql"))
        .header("content-type", "application/json")
        .body(padded_request(7 * 1024 * 1024))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["data"]["__typename"], "QueryRoot");
}

/// Fragments F1…Fn, each spreading the previous one twice: 2^n fields once expanded.
fn fragment_bomb(levels: usize) -> String {
    let mut query = format!("query {{ ...F{levels} }} fragment F0 on QueryRoot {{ __typename }}");
    for level in 1..=levels {
        let previous = level - 1;
        query.push_str(&format!(
            " fragment F{level} on QueryRoot {{ ...F{previous} ...F{previous} }}"
        ));
    }
    query
}

#[tokio::test]
async fn a_fragment_bomb_is_refused_before_it_is_expanded() {
    let app = TestApp::spawn().await;
    let bomb = fragment_bomb(40);

    // Expanded, this would be 2^40 fields: only a refusal can come back within the bound.
    let (anonymous, admin) = tokio::time::timeout(std::time::Duration::from_secs(30), async {
        (
            app.graphql_with(None, &bomb, json!({})).await,
            app.graphql(&bomb, json!({})).await,
        )
    })
    .await
    .expect("answered without expanding the fragments");

    for response in [anonymous, admin] {
        assert_eq!(error_code(&response), "QUERY_TOO_COMPLEX", "{response}");
        assert_eq!(
            error_message(&response),
            "the query selects more than 5000 fields once its fragments are expanded; ask for less in one request"
        );
        assert!(response["data"].is_null(), "{response}");
    }
}

#[tokio::test]
async fn a_query_text_over_256_kib_is_refused() {
    let app = TestApp::spawn().await;
    let query = format!("{{ __typename }} # {}", "x".repeat(256 * 1024));

    let response = app.graphql(&query, json!({})).await;

    assert_eq!(error_code(&response), "QUERY_TOO_COMPLEX");
    assert_eq!(
        error_message(&response),
        format!(
            "the query text is {} bytes; at most 262144 are accepted (send large inputs as variables)",
            query.len()
        )
    );
}

#[tokio::test]
async fn anonymous_visitors_may_only_log_in() {
    let app = TestApp::spawn_anonymous().await;

    let typename = app.graphql_with(None, "{ __typename }", json!({})).await;
    let introspection = app
        .graphql_with(None, "{ __schema { types { name } } }", json!({}))
        .await;

    assert_eq!(typename["data"]["__typename"], "QueryRoot");
    assert_eq!(error_code(&introspection), "UNAUTHENTICATED");
}

#[tokio::test]
async fn bodies_a_cross_site_form_could_send_are_refused_with_415() {
    let app = TestApp::spawn_anonymous().await;
    let login =
        r#"{"query": "mutation { login(username: \"admin\", password: \"x\") { token } }"}"#;

    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        None,
    ] {
        let mut request = app.http.post(app.url("/graphql")).body(login);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let response = request.send().await.unwrap();

        assert_eq!(response.status(), 415, "{content_type:?}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(error_code(&body), "UNSUPPORTED_MEDIA_TYPE");
        assert_eq!(
            error_message(&body),
            "send the GraphQL request as JSON, with Content-Type: application/json"
        );
    }
}

#[tokio::test]
async fn json_with_a_charset_is_accepted() {
    let app = TestApp::spawn_anonymous().await;

    let response = app
        .http
        .post(app.url("/graphql"))
        .header("content-type", "Application/JSON; charset=utf-8")
        .body(r#"{"query": "{ __typename }"}"#)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 200);
}

/// A browser's preflight for a cross-site JSON POST to `/graphql` from `origin`.
async fn preflight(app: &TestApp, origin: &str) -> reqwest::Response {
    app.http
        .request(reqwest::Method::OPTIONS, app.url("/graphql"))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "content-type,authorization",
        )
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn cors_is_closed_by_default() {
    let app = TestApp::spawn_anonymous().await;

    let response = preflight(&app, "https://evil.example").await;

    assert!(
        response
            .headers()
            .get("access-control-allow-origin")
            .is_none(),
        "{:?}",
        response.headers()
    );
}

#[tokio::test]
async fn cors_origins_lets_only_the_listed_origins_in() {
    let app = TestApp::spawn_anonymous_with(|settings| {
        settings.cors_origins = vec!["https://admin.example.com".into()];
    })
    .await;

    let listed = preflight(&app, "https://admin.example.com").await;
    let other = preflight(&app, "https://evil.example").await;

    assert_eq!(
        listed.headers()["access-control-allow-origin"],
        "https://admin.example.com"
    );
    assert!(
        other.headers().get("access-control-allow-origin").is_none(),
        "{:?}",
        other.headers()
    );
}

const HOURLY_30_DAYS: &str = "statsTimeline(range: {preset: LAST_30_DAYS}, granularity: HOUR) { start stats { requests cost } }";

#[tokio::test]
async fn forty_aliased_hourly_timelines_are_too_complex() {
    let app = TestApp::spawn().await;
    let aliases: String = (0..40)
        .map(|i| format!("t{i}: {HOURLY_30_DAYS} "))
        .collect();

    let response = app.graphql(&format!("{{ {aliases} }}"), json!({})).await;

    assert_eq!(error_code(&response), "QUERY_TOO_COMPLEX");
    assert!(
        error_message(&response).starts_with("the query is too complex (more than 2000 points"),
        "{response}"
    );
}

#[tokio::test]
async fn one_hourly_timeline_of_30_days_is_answered() {
    let app = TestApp::spawn().await;

    let response = app
        .graphql(&format!("{{ {HOURLY_30_DAYS} }}"), json!({}))
        .await;

    let points = crate::helpers::data(&response)["statsTimeline"]
        .as_array()
        .unwrap()
        .len();
    assert!((720..=722).contains(&points), "{points} points");
}

#[tokio::test]
async fn an_hourly_timeline_over_31_days_is_refused_with_a_sentence() {
    let app = TestApp::spawn().await;

    let response = app
        .graphql(
            "query($from: DateTime!, $to: DateTime!) { statsTimeline(range: {from: $from, to: $to}, granularity: HOUR) { start } }",
            json!({"from": "2026-01-01T00:00:00Z", "to": "2026-03-01T00:00:00Z"}),
        )
        .await;

    assert_eq!(error_code(&response), "BAD_USER_INPUT");
    assert_eq!(
        error_message(&response),
        "range: an hourly timeline may span at most 31 days; ask for DAY granularity over longer ranges"
    );
}
