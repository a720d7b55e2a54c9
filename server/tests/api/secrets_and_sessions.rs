//! Sessions end when they should (password change, revocation, expiry, also on an open
//! WebSocket), `/metrics` compares its token safely, and secrets stay out of answers and logs.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest, http::HeaderValue};

use crate::helpers::{ADMIN_PASSWORD, ADMIN_USERNAME, TestApp, data, error_code, error_message};

const ME: &str = "{ me { username } }";

async fn me_with(app: &TestApp, token: &str) -> Value {
    app.graphql_with(Some(&format!("Bearer {token}")), ME, json!({}))
        .await
}

#[tokio::test]
async fn a_token_stops_working_once_the_password_changed() {
    let app = TestApp::spawn().await;
    let other_session = app.login(ADMIN_USERNAME, ADMIN_PASSWORD).await;

    let changed = app
        .graphql(
            "mutation { changePassword(currentPassword: \"test-password-1\", newPassword: \"brand-new-pass\") }",
            json!({}),
        )
        .await;

    assert_eq!(data(&changed)["changePassword"], true);
    for token in [&app.token, &other_session] {
        let refused = me_with(&app, token).await;
        assert_eq!(error_code(&refused), "UNAUTHENTICATED");
        assert!(
            error_message(&refused).starts_with("session revoked"),
            "{refused}"
        );
    }
    let fresh = app.login(ADMIN_USERNAME, "brand-new-pass").await;
    assert_eq!(
        data(&me_with(&app, &fresh).await)["me"]["username"],
        "admin"
    );
}

#[tokio::test]
async fn revoking_sessions_logs_out_everywhere() {
    let app = TestApp::spawn().await;
    let laptop = app.login(ADMIN_USERNAME, ADMIN_PASSWORD).await;

    let revoked = app.graphql("mutation { revokeSessions }", json!({})).await;

    assert_eq!(data(&revoked)["revokeSessions"], true);
    assert_eq!(error_code(&me_with(&app, &laptop).await), "UNAUTHENTICATED");
    assert_eq!(
        error_code(&me_with(&app, &app.token).await),
        "UNAUTHENTICATED"
    );
    let fresh = app.login(ADMIN_USERNAME, ADMIN_PASSWORD).await;
    assert_eq!(
        data(&me_with(&app, &fresh).await)["me"]["username"],
        "admin"
    );
}

#[tokio::test]
async fn a_password_set_by_the_cli_ends_sessions_at_the_periodic_reload() {
    let app = TestApp::spawn().await;

    // What `amp-pool admin set-password` does, on the same database.
    amp_pool::service::admins::set_password(
        &app.state.db,
        &app.state.hasher,
        ADMIN_USERNAME,
        "set-by-the-cli",
    )
    .await
    .unwrap();

    // Tokens are checked against memory, not the database: the change shows after the reload.
    assert_eq!(
        data(&me_with(&app, &app.token).await)["me"]["username"],
        "admin"
    );
    app.state.reload_admins().await;
    assert_eq!(
        error_code(&me_with(&app, &app.token).await),
        "UNAUTHENTICATED"
    );
}

/// Opens a GraphQL WebSocket, sends `connection_init` with `token` and waits for the ack.
async fn subscribed_socket(
    app: &TestApp,
    token: &str,
) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
    let mut request = format!("ws://{}/graphql/ws", app.addr)
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_static("graphql-transport-ws"),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let init =
        json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {token}")}});
    socket.send(Message::text(init.to_string())).await.unwrap();
    let subscribe = json!({"id": "1", "type": "subscribe", "payload": {"query": "subscription { keyEvents { kind } }"}});
    socket
        .send(Message::text(subscribe.to_string()))
        .await
        .unwrap();
    socket
}

/// The close code the server ends `socket` with, within `limit`.
async fn close_code(
    socket: &mut tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    limit: Duration,
) -> Option<u16> {
    tokio::time::timeout(limit, async {
        while let Some(message) = socket.next().await {
            match message {
                Ok(Message::Close(frame)) => return frame.map(|f| u16::from(f.code)),
                Ok(_) => continue,
                Err(_) => return None,
            }
        }
        None
    })
    .await
    .expect("the server closes the socket in time")
}

#[tokio::test]
async fn an_open_websocket_is_closed_when_its_session_expires() {
    let app = TestApp::spawn_with(|settings| {
        settings.jwt_ttl_override = Some(Duration::from_secs(2));
    })
    .await;
    let mut socket = subscribed_socket(&app, &app.token).await;

    let code = close_code(&mut socket, Duration::from_secs(6)).await;

    assert_eq!(code, Some(4401));
    let refused = me_with(&app, &app.token).await;
    assert_eq!(
        error_message(&refused),
        "token expired: log in again (needed for `me`)"
    );
}

#[tokio::test]
async fn an_open_websocket_is_closed_when_its_sessions_are_revoked() {
    let app = TestApp::spawn().await;
    let mut socket = subscribed_socket(&app, &app.token).await;

    app.graphql("mutation { revokeSessions }", json!({})).await;

    assert_eq!(
        close_code(&mut socket, Duration::from_secs(4)).await,
        Some(4401)
    );
}

#[tokio::test]
async fn metrics_accept_the_bearer_scheme_in_any_case_and_only_the_right_token() {
    let app = TestApp::spawn().await;
    app.graphql(
        "mutation { setConfig(key: \"metrics\", value: {token: \"scrape-secret\"}) { key } }",
        json!({}),
    )
    .await;
    let scrape = |authorization: &'static str| {
        app.http
            .get(app.url("/metrics"))
            .header("Authorization", authorization)
            .send()
    };

    let statuses = [
        scrape("bearer scrape-secret")
            .await
            .unwrap()
            .status()
            .as_u16(),
        scrape("BEARER scrape-secret")
            .await
            .unwrap()
            .status()
            .as_u16(),
        scrape("Bearer scrape-secreT")
            .await
            .unwrap()
            .status()
            .as_u16(),
        scrape("Bearer scrape-secret-and-more")
            .await
            .unwrap()
            .status()
            .as_u16(),
        scrape("Basic scrape-secret")
            .await
            .unwrap()
            .status()
            .as_u16(),
    ];

    assert_eq!(statuses, [200, 200, 401, 401, 401]);
}

/// Everything logged on this test's thread (the runtime of a `#[tokio::test]` is single
/// threaded, so the server's tasks log here too).
#[derive(Clone, Default)]
struct CapturedLogs(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for CapturedLogs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl CapturedLogs {
    fn start() -> (Self, tracing::subscriber::DefaultGuard) {
        let logs = Self::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .with_writer(move || writer.clone())
            .finish();
        (logs, tracing::subscriber::set_default(subscriber))
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }

    /// Waits (bounded) until the logs contain `needle`.
    async fn until_contains(&self, needle: &str) -> String {
        for _ in 0..400 {
            let text = self.text();
            if text.contains(needle) {
                return text;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("the logs never contained {needle:?}:\n{}", self.text());
    }
}

#[tokio::test]
async fn a_username_with_a_line_break_cannot_forge_a_log_line() {
    let (logs, _guard) = CapturedLogs::start();
    let app = TestApp::spawn().await;

    app.login_response("admin\n2026-11-26T00:00:00Z  INFO admin logged in", "wrong")
        .await;

    let text = logs.until_contains("failed admin login").await;
    assert!(
        !text
            .lines()
            .any(|line| line.starts_with("2026-11-26T00:00:00Z")),
        "a forged line: {text}"
    );
    assert!(
        text.contains(r#"username="admin\n2026-11-26T00:00:00Z  INFO admin logged in""#),
        "{text}"
    );
}

#[tokio::test]
async fn a_failing_webhook_is_logged_without_its_path() {
    let (logs, _guard) = CapturedLogs::start();
    let app = TestApp::spawn().await;
    app.graphql(
        "mutation($v: JSON!) { setConfig(key: \"alerts\", value: $v) { key } }",
        json!({"v": {
            "webhooks": ["http://127.0.0.1:9/services/T000/B000/SECRET-HOOK-TOKEN"],
            "events": ["provider_unavailable"],
            "max_attempts": 1,
        }}),
    )
    .await;
    let id = app.add_key("OPENAI", "sk-ok-webhook-log", json!({})).await;

    app.graphql(
        "mutation($id: Int!) { setKeyEnabled(id: $id, enabled: false) { id } }",
        json!({"id": id}),
    )
    .await;

    let text = logs.until_contains("giving up on an alert").await;
    assert!(text.contains(r#"webhook="http://127.0.0.1:9/…""#), "{text}");
    assert!(!text.contains("SECRET-HOOK-TOKEN"), "{text}");
}

#[tokio::test]
async fn the_first_admins_random_password_goes_to_a_private_file_not_the_log() {
    if std::env::var("DATABASE_URL").is_ok_and(|url| url.starts_with("postgres")) {
        // With PostgreSQL the file goes to data/ in the working directory; this checks SQLite.
        return;
    }
    let (logs, _guard) = CapturedLogs::start();
    let database = crate::helpers::TestDatabase::create().await;
    let mut settings = database.settings();
    settings.admin_password = None;

    let state = amp_pool::app::build_state(settings.clone(), Default::default())
        .await
        .unwrap();

    let path = settings.data_dir().join("initial-admin-password.txt");
    let content = std::fs::read_to_string(&path).unwrap();
    let password = content
        .lines()
        .find_map(|line| line.strip_prefix("password: "))
        .unwrap();
    assert!(password.len() >= 15, "{content}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let text = logs.text();
    assert!(
        !text.contains(password),
        "the password is in the log: {text}"
    );
    assert!(text.contains("initial-admin-password.txt"), "{text}");
    let admin =
        amp_pool::service::admins::authenticate(&state.db, &state.hasher, ADMIN_USERNAME, password)
            .await
            .unwrap();
    assert!(admin.is_some(), "the written password logs in");
    state.shutdown.cancel();
}

#[tokio::test]
async fn a_password_in_a_base_url_is_masked_and_kept_when_sent_back() {
    let app = TestApp::spawn().await;
    let id = app
        .add_key(
            "OPENAI",
            "sk-ok-masked-base",
            json!({"baseUrl": "http://gateway:hunter2@127.0.0.1:9/v1"}),
        )
        .await;

    let listed = app.graphql("{ keys { baseUrl } }", json!({})).await;
    let shown = data(&listed)["keys"][0]["baseUrl"]
        .as_str()
        .unwrap()
        .to_string();
    let updated = app
        .graphql(
            "mutation($id: Int!, $b: String) { updateKey(id: $id, input: {baseUrl: $b, name: \"renamed\"}) { baseUrl } }",
            json!({"id": id, "b": shown}),
        )
        .await;

    assert_eq!(shown, "http://gateway:****@127.0.0.1:9/v1");
    assert_eq!(data(&updated)["updateKey"]["baseUrl"], shown);
    let row = amp_pool::service::keys::get(&app.state.db, &app.state.vault, id as i32)
        .await
        .unwrap();
    assert_eq!(
        row.base_url.as_deref(),
        Some("http://gateway:hunter2@127.0.0.1:9/v1")
    );
}

#[tokio::test]
async fn an_admin_created_by_the_cli_can_log_in_before_the_periodic_reload() {
    let app = TestApp::spawn().await;
    amp_pool::service::admins::set_password(
        &app.state.db,
        &app.state.hasher,
        "operator",
        "operator-pass-1",
    )
    .await
    .unwrap();

    let token = app.login("operator", "operator-pass-1").await;

    assert_eq!(
        data(&me_with(&app, &token).await)["me"]["username"],
        "operator"
    );
}
