//! Admin login, JWT checks and the guard over every operation.

use chrono::Utc;
use jsonwebtoken::{EncodingKey, Header};
use serde_json::json;

use crate::helpers::{
    ADMIN_PASSWORD, ADMIN_USERNAME, JWT_SECRET, TestApp, data, error_code, error_message,
};

fn jwt(secret: &str, sub: &str, exp_offset_secs: i64) -> String {
    let now = Utc::now().timestamp();
    jsonwebtoken::encode(
        &Header::default(),
        &json!({"sub": sub, "name": ADMIN_USERNAME, "iat": now, "exp": now + exp_offset_secs}),
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

#[tokio::test]
async fn login_with_the_right_password_returns_a_token_that_works() {
    let app = TestApp::spawn_anonymous().await;

    let response = app.login_response(ADMIN_USERNAME, ADMIN_PASSWORD).await;

    let login = &data(&response)["login"];
    assert_eq!(login["username"], "admin");
    let expires_at: chrono::DateTime<Utc> = login["expiresAt"].as_str().unwrap().parse().unwrap();
    let hours = (expires_at - Utc::now()).num_minutes() as f64 / 60.0;
    assert!((23.9..=24.0).contains(&hours), "expires in {hours} h");
    let token = login["token"].as_str().unwrap();
    let me = app
        .graphql_with(
            Some(&format!("Bearer {token}")),
            "{ me { username } }",
            json!({}),
        )
        .await;
    assert_eq!(data(&me)["me"]["username"], "admin");
}

#[tokio::test]
async fn login_with_a_wrong_password_is_unauthenticated() {
    let app = TestApp::spawn_anonymous().await;

    let response = app.login_response(ADMIN_USERNAME, "not-the-password").await;

    assert_eq!(error_code(&response), "UNAUTHENTICATED");
    assert_eq!(error_message(&response), "wrong username or password");
    assert!(response["data"].is_null());
}

#[tokio::test]
async fn an_unknown_user_gets_the_same_answer_as_a_wrong_password() {
    let app = TestApp::spawn_anonymous().await;

    let response = app.login_response("nobody", ADMIN_PASSWORD).await;

    assert_eq!(error_code(&response), "UNAUTHENTICATED");
    assert_eq!(error_message(&response), "wrong username or password");
}

#[tokio::test]
async fn repeated_failed_logins_are_rate_limited_even_with_the_right_password_next() {
    let app = TestApp::spawn_anonymous().await;
    for _ in 0..5 {
        let response = app.login_response(ADMIN_USERNAME, "guess").await;
        assert_eq!(error_code(&response), "UNAUTHENTICATED");
    }

    let response = app.login_response(ADMIN_USERNAME, ADMIN_PASSWORD).await;

    assert_eq!(error_code(&response), "RATE_LIMITED");
    assert!(
        response["data"].is_null(),
        "no token after the limit: {response}"
    );
}

#[tokio::test]
async fn every_protected_operation_without_a_token_is_unauthenticated() {
    let app = TestApp::spawn_anonymous().await;
    let operations = [
        "{ keys { id } }",
        "{ key(id: 1) { id } }",
        "{ accessTokens { id } }",
        "{ configs { key } }",
        "{ me { username } }",
        "mutation { createKey(input: {name: \"k\", provider: OPENAI, apiKey: \"sk-1234567890\"}) { id } }",
        "mutation { deleteKey(id: 1) }",
        "mutation { createAccessToken(input: {name: \"t\"}) { token } }",
        "mutation { setConfig(key: \"ui.a\", value: 1) { key } }",
        // Hiding a field behind a fragment does not get it past the guard.
        "query { ...F } fragment F on Query { keys { id } }",
        "query { ... on Query { configs { key } } }",
        // Nor does pairing it with the public login.
        "mutation { login(username: \"admin\", password: \"x\") { token } deleteKey(id: 1) }",
    ];
    for operation in operations {
        let response = app.graphql_with(None, operation, json!({})).await;
        assert_eq!(error_code(&response), "UNAUTHENTICATED", "{operation}");
        assert!(response["data"].is_null(), "{operation}: {response}");
    }
}

#[tokio::test]
async fn an_expired_token_is_refused_and_says_so() {
    let app = TestApp::spawn_anonymous().await;
    let expired = jwt(JWT_SECRET, "1", -60);

    let response = app
        .graphql_with(
            Some(&format!("Bearer {expired}")),
            "{ keys { id } }",
            json!({}),
        )
        .await;

    assert_eq!(error_code(&response), "UNAUTHENTICATED");
    assert!(
        error_message(&response).starts_with("token expired"),
        "{response}"
    );
}

#[tokio::test]
async fn a_token_signed_with_another_secret_is_refused() {
    let app = TestApp::spawn_anonymous().await;
    let forged = jwt("some-other-secret-0123456789", "1", 3600);

    let response = app
        .graphql_with(
            Some(&format!("Bearer {forged}")),
            "{ keys { id } }",
            json!({}),
        )
        .await;

    assert_eq!(error_code(&response), "UNAUTHENTICATED");
    assert!(
        error_message(&response).starts_with("invalid token"),
        "{response}"
    );
}

#[tokio::test]
async fn a_token_with_a_tampered_payload_is_refused() {
    let app = TestApp::spawn().await;
    let mut parts: Vec<String> = app.token.split('.').map(String::from).collect();
    // Swap in the payload of another, validly shaped token: the signature no longer matches.
    parts[1] = jwt("x-secret-0123456789abcdef", "2", 7200)
        .split('.')
        .nth(1)
        .unwrap()
        .to_string();
    let tampered = parts.join(".");

    let response = app
        .graphql_with(
            Some(&format!("Bearer {tampered}")),
            "{ keys { id } }",
            json!({}),
        )
        .await;

    assert_eq!(error_code(&response), "UNAUTHENTICATED");
}

#[tokio::test]
async fn garbage_in_the_authorization_header_is_refused() {
    let app = TestApp::spawn_anonymous().await;

    let response = app
        .graphql_with(Some("Bearer not.a.jwt"), "{ keys { id } }", json!({}))
        .await;

    assert_eq!(error_code(&response), "UNAUTHENTICATED");
}

#[tokio::test]
async fn introspection_needs_an_admin_token() {
    let app = TestApp::spawn().await;

    let anonymous = app
        .graphql_with(None, "{ __schema { queryType { name } } }", json!({}))
        .await;
    let single_type = app
        .graphql_with(None, "{ __type(name: \"ApiKey\") { name } }", json!({}))
        .await;
    let admin = app
        .graphql("{ __schema { queryType { name } } }", json!({}))
        .await;

    assert_eq!(error_code(&anonymous), "UNAUTHENTICATED");
    assert!(anonymous["data"].is_null(), "{anonymous}");
    assert_eq!(error_code(&single_type), "UNAUTHENTICATED");
    assert_eq!(data(&admin)["__schema"]["queryType"]["name"], "QueryRoot");
}

#[tokio::test]
async fn a_changed_password_replaces_the_old_one() {
    let app = TestApp::spawn().await;

    let response = app
        .graphql(
            "mutation { changePassword(currentPassword: \"test-password-1\", newPassword: \"brand-new-pass\") }",
            json!({}),
        )
        .await;

    assert_eq!(data(&response)["changePassword"], true);
    assert_eq!(
        error_code(&app.login_response(ADMIN_USERNAME, ADMIN_PASSWORD).await),
        "UNAUTHENTICATED"
    );
    app.login(ADMIN_USERNAME, "brand-new-pass").await;
}

#[tokio::test]
async fn a_password_change_needs_the_current_password() {
    let app = TestApp::spawn().await;

    let response = app
        .graphql(
            "mutation { changePassword(currentPassword: \"wrong\", newPassword: \"brand-new-pass\") }",
            json!({}),
        )
        .await;

    assert_eq!(error_code(&response), "BAD_USER_INPUT");
    assert_eq!(
        response["errors"][0]["extensions"]["field"],
        "currentPassword"
    );
}
