//! What an anonymous visitor can cost the server: logins and connections are bounded.

use std::time::Duration;

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::helpers::{ADMIN_PASSWORD, ADMIN_USERNAME, TestApp, error_code, error_message};

#[tokio::test]
async fn fresh_usernames_from_one_address_are_cut_off_after_ten_attempts() {
    let app = TestApp::spawn_anonymous().await;
    for i in 0..10 {
        let response = app.login_response(&format!("visitor{i}"), "guess").await;
        assert_eq!(error_code(&response), "UNAUTHENTICATED", "attempt {i}");
    }

    let response = app.login_response("visitor-eleven", "guess").await;

    assert_eq!(error_code(&response), "RATE_LIMITED");
    assert_eq!(
        error_message(&response),
        "too many login attempts from your address; wait a minute and try again"
    );
}

#[tokio::test]
async fn padding_the_username_with_spaces_does_not_reset_its_limit() {
    let app = TestApp::spawn_anonymous().await;
    for _ in 0..5 {
        let response = app.login_response(ADMIN_USERNAME, "guess").await;
        assert_eq!(error_code(&response), "UNAUTHENTICATED");
    }

    let padded = app
        .login_response(&format!("  {ADMIN_USERNAME} "), ADMIN_PASSWORD)
        .await;
    let shouted = app.login_response("ADMIN", ADMIN_PASSWORD).await;

    assert_eq!(error_code(&padded), "RATE_LIMITED");
    assert_eq!(
        error_message(&padded),
        "too many login attempts for this user; wait a minute and try again"
    );
    assert_eq!(error_code(&shouted), "RATE_LIMITED");
}

#[tokio::test]
async fn an_unknown_user_costs_one_password_check_like_a_wrong_password() {
    let app = TestApp::spawn_anonymous().await;
    let before = app.state.hasher.computed();

    let unknown = app.login_response("nobody", ADMIN_PASSWORD).await;
    let after_unknown = app.state.hasher.computed();
    let wrong = app.login_response(ADMIN_USERNAME, "not-the-password").await;
    let after_wrong = app.state.hasher.computed();

    assert_eq!(error_message(&unknown), "wrong username or password");
    assert_eq!(error_message(&wrong), "wrong username or password");
    assert_eq!(after_unknown - before, 1);
    assert_eq!(after_wrong - after_unknown, 1);
}

#[tokio::test]
async fn a_burst_of_logins_is_answered_and_no_more_than_ten_reach_a_password_check() {
    let app = TestApp::spawn_anonymous().await;
    let before = app.state.hasher.computed();

    let answers = futures::future::join_all((0..40).map(|i| {
        let app = &app;
        async move { app.login_response(&format!("burst{i}"), "guess").await }
    }))
    .await;

    let codes: Vec<&str> = answers.iter().map(error_code).collect();
    assert!(
        codes
            .iter()
            .all(|code| *code == "UNAUTHENTICATED" || *code == "RATE_LIMITED"),
        "{codes:?}"
    );
    assert_eq!(
        codes.iter().filter(|code| **code == "RATE_LIMITED").count(),
        30,
        "{codes:?}"
    );
    assert_eq!(app.state.hasher.computed() - before, 10);
}

/// Reads until the server closes the connection (or resets it); `None` if it is still open
/// after 20 s.
async fn read_until_closed(stream: &mut TcpStream) -> Option<String> {
    let mut buffer = Vec::new();
    match tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut buffer)).await {
        Ok(_) => Some(String::from_utf8_lossy(&buffer).into_owned()),
        Err(_) => None,
    }
}

#[tokio::test]
async fn a_client_that_sends_half_its_headers_is_disconnected() {
    let app = TestApp::spawn_anonymous_with(|settings| settings.header_read_timeout_secs = 1).await;
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    stream
        .write_all(b"POST /graphql HTTP/1.1\r\nHost: localhost\r\n")
        .await
        .unwrap();

    let answer = read_until_closed(&mut stream).await;

    assert_eq!(answer.as_deref(), Some(""), "closed without an answer");
}

#[tokio::test]
async fn a_client_that_connects_and_sends_nothing_is_disconnected() {
    let app = TestApp::spawn_anonymous_with(|settings| settings.header_read_timeout_secs = 1).await;
    let mut stream = TcpStream::connect(app.addr).await.unwrap();

    let answer = read_until_closed(&mut stream).await;

    assert_eq!(answer.as_deref(), Some(""), "closed without an answer");
}

#[tokio::test]
async fn a_client_that_sends_half_its_body_gets_408() {
    let app = TestApp::spawn_anonymous_with(|settings| settings.body_read_timeout_secs = 1).await;
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    stream
        .write_all(
            b"POST /graphql HTTP/1.1\r\nHost: localhost\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"query\":",
        )
        .await
        .unwrap();

    let answer = read_until_closed(&mut stream)
        .await
        .expect("answered and closed");

    assert!(
        answer.starts_with("HTTP/1.1 408 Request Timeout\r\n"),
        "{answer}"
    );
    assert!(answer.contains("\"code\":\"REQUEST_TIMEOUT\""), "{answer}");
}

#[tokio::test]
async fn past_max_connections_a_new_connection_gets_503_with_a_sentence() {
    let app = TestApp::spawn_anonymous_with(|settings| settings.max_connections = 2).await;
    let _first = TcpStream::connect(app.addr).await.unwrap();
    let _second = TcpStream::connect(app.addr).await.unwrap();

    let mut third = TcpStream::connect(app.addr).await.unwrap();
    third
        .write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let answer = read_until_closed(&mut third)
        .await
        .expect("answered and closed");

    assert!(
        answer.starts_with("HTTP/1.1 503 Service Unavailable\r\n"),
        "{answer}"
    );
    assert!(
        answer.ends_with(
            "\r\n\r\nthe server has 2 connections open, its limit (MAX_CONNECTIONS); try again shortly\n"
        ),
        "{answer}"
    );
}
