//! The test harness: a real server on 127.0.0.1:0 with its own fresh database (a temporary
//! SQLite file, or a new PostgreSQL database when `DATABASE_URL` is a `postgres://` URL).

use std::net::SocketAddr;

use amp_pool::{app, config::Settings, state::AppState};
use futures::{SinkExt, StreamExt};
use secrecy::SecretString;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest, http::HeaderValue};
use tokio_util::sync::CancellationToken;

pub const ADMIN_USERNAME: &str = "admin";
pub const ADMIN_PASSWORD: &str = "test-password-1";
pub const JWT_SECRET: &str = "test-jwt-secret-0123456789";

/// A running server and a client for it.
pub struct TestApp {
    pub addr: SocketAddr,
    pub http: reqwest::Client,
    pub state: AppState,
    /// Kept alive for the server; dropped (and removed) with the app.
    database: Option<TestDatabase>,
    /// The admin JWT, after [`TestApp::spawn`] logged in.
    pub token: String,
    shutdown: CancellationToken,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl TestApp {
    /// Starts a server on a fresh database and logs in as the admin.
    pub async fn spawn() -> TestApp {
        let mut app = Self::spawn_anonymous().await;
        app.token = app.login(ADMIN_USERNAME, ADMIN_PASSWORD).await;
        app
    }

    /// Starts a server on a fresh database with `adjust` applied to its settings, and logs in.
    pub async fn spawn_with(adjust: impl FnOnce(&mut Settings)) -> TestApp {
        let mut app = Self::spawn_anonymous_with(adjust).await;
        app.token = app.login(ADMIN_USERNAME, ADMIN_PASSWORD).await;
        app
    }

    /// Starts a server on a fresh database without logging in.
    pub async fn spawn_anonymous() -> TestApp {
        Self::spawn_anonymous_with(|_| {}).await
    }

    /// Starts a server on a fresh database with `adjust` applied to its settings, without
    /// logging in.
    pub async fn spawn_anonymous_with(adjust: impl FnOnce(&mut Settings)) -> TestApp {
        Self::start_on(TestDatabase::create().await, adjust).await
    }

    /// Starts a server on an existing database (one a previous server used, or one prepared
    /// by hand), with `adjust` applied to its settings, and logs in.
    pub async fn restart_on(database: TestDatabase, adjust: impl FnOnce(&mut Settings)) -> TestApp {
        let mut app = Self::start_on(database, adjust).await;
        app.token = app.login(ADMIN_USERNAME, ADMIN_PASSWORD).await;
        app
    }

    /// The database this server runs on.
    pub fn database(&self) -> &TestDatabase {
        self.database
            .as_ref()
            .expect("the app still holds its database")
    }

    /// Stops the server and hands its database back, for another server to start on.
    pub async fn stop_keeping_database(mut self) -> TestDatabase {
        self.stop().await;
        self.database
            .take()
            .expect("the app still holds its database")
    }

    /// Starts another instance on this app's database, called `name` (so it has a journal of
    /// its own), and logs in. Drop it before the app that owns the database.
    pub async fn spawn_peer(&self, name: &str) -> TestApp {
        self.spawn_peer_with(name, |_| {}).await
    }

    /// [`Self::spawn_peer`], with `adjust` applied to its settings.
    pub async fn spawn_peer_with(&self, name: &str, adjust: impl FnOnce(&mut Settings)) -> TestApp {
        let mut settings = self.database().settings();
        settings.instance_name = name.into();
        adjust(&mut settings);
        let mut peer = Self::start_with_settings(settings, None).await;
        peer.token = peer.login(ADMIN_USERNAME, ADMIN_PASSWORD).await;
        peer
    }

    async fn start_on(database: TestDatabase, adjust: impl FnOnce(&mut Settings)) -> TestApp {
        let mut settings = database.settings();
        adjust(&mut settings);
        Self::start_with_settings(settings, Some(database)).await
    }

    async fn start_with_settings(settings: Settings, database: Option<TestDatabase>) -> TestApp {
        let shutdown = CancellationToken::new();
        let state = app::build_state(settings, shutdown.clone())
            .await
            .expect("the app starts");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
        let addr = listener.local_addr().expect("has an address");
        let server = tokio::spawn(app::serve(listener, state.clone()));
        TestApp {
            addr,
            http: reqwest::Client::builder().no_proxy().build().unwrap(),
            state,
            database,
            token: String::new(),
            shutdown,
            server: Some(server),
        }
    }

    /// Begins shutdown (as SIGTERM does) and waits until the server has stopped and the writer
    /// has committed everything.
    pub async fn stop(&mut self) {
        self.shutdown.cancel();
        if let Some(server) = self.server.take() {
            tokio::time::timeout(std::time::Duration::from_secs(60), server)
                .await
                .expect("the server stops within 60 s")
                .unwrap()
                .unwrap();
        }
    }

    /// Adds a key through GraphQL; `extra` holds further `CreateKeyInput` fields.
    pub async fn add_key(&self, provider: &str, secret: &str, extra: Value) -> i64 {
        let mut input = json!({"name": secret, "provider": provider, "apiKey": secret});
        input
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().cloned().unwrap_or_default());
        let response = self
            .graphql(
                "mutation($input: CreateKeyInput!) { createKey(input: $input) { id } }",
                json!({"input": input}),
            )
            .await;
        data(&response)["createKey"]["id"].as_i64().unwrap()
    }

    /// Adds keys of one provider at `base_url`, each in its own priority tier (0, 1, …), so
    /// they are tried in the order given; returns their ids.
    pub async fn add_keys_in_order(
        &self,
        provider: &str,
        secrets: &[&str],
        base_url: &str,
    ) -> Vec<i64> {
        let mut ids = Vec::new();
        for (priority, secret) in secrets.iter().enumerate() {
            let extra = json!({"baseUrl": base_url, "priority": priority});
            ids.push(self.add_key(provider, secret, extra).await);
        }
        ids
    }

    /// Creates a client token through GraphQL and returns its secret.
    pub async fn client_token(&self, input: Value) -> String {
        let mut full = json!({"name": "client"});
        full.as_object_mut()
            .unwrap()
            .extend(input.as_object().cloned().unwrap_or_default());
        let response = self
            .graphql(
                "mutation($input: CreateAccessTokenInput!) { createAccessToken(input: $input) { token } }",
                json!({"input": full}),
            )
            .await;
        data(&response)["createAccessToken"]["token"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// POSTs `body` to a `/v1` path with the client token as a bearer.
    pub async fn v1(&self, path: &str, token: &str, body: Value) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// Every log row, oldest first, once everything handed to the writer is committed.
    pub async fn log_rows(&self) -> Vec<amp_pool::entity::api_request_log::Model> {
        use sea_orm::{EntityTrait, QueryOrder};
        self.state.recorder.flush().await;
        amp_pool::entity::api_request_log::Entity::find()
            .order_by_asc(amp_pool::entity::api_request_log::Column::Id)
            .all(&self.state.db)
            .await
            .unwrap()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Logs in and returns the JWT; panics when login fails.
    pub async fn login(&self, username: &str, password: &str) -> String {
        let response = self.login_response(username, password).await;
        response["data"]["login"]["token"]
            .as_str()
            .unwrap_or_else(|| panic!("login failed: {response}"))
            .to_string()
    }

    /// The raw answer to a `login` mutation.
    pub async fn login_response(&self, username: &str, password: &str) -> Value {
        self.graphql_with(
            None,
            "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token expiresAt username } }",
            json!({"u": username, "p": password}),
        )
        .await
    }

    /// A GraphQL operation as the logged-in admin.
    pub async fn graphql(&self, query: &str, variables: Value) -> Value {
        let token = self.token.clone();
        self.graphql_with(Some(&format!("Bearer {token}")), query, variables)
            .await
    }

    /// A GraphQL operation with the given `Authorization` header (or none).
    pub async fn graphql_with(
        &self,
        authorization: Option<&str>,
        query: &str,
        variables: Value,
    ) -> Value {
        let mut request = self
            .http
            .post(self.url("/graphql"))
            .json(&json!({"query": query, "variables": variables}));
        if let Some(authorization) = authorization {
            request = request.header("Authorization", authorization);
        }
        let response = request.send().await.expect("request is sent");
        assert!(
            response.status().is_success(),
            "GraphQL answered HTTP {}",
            response.status()
        );
        response.json().await.expect("GraphQL answers JSON")
    }

    /// Opens a GraphQL WebSocket with `protocol` and sends `connection_init` with `payload`.
    pub async fn websocket(&self, protocol: &str, payload: Value) -> WsClient {
        let mut request = format!("ws://{}/graphql/ws", self.addr)
            .into_client_request()
            .expect("valid ws request");
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            HeaderValue::from_str(protocol).expect("valid header"),
        );
        let (stream, _) = tokio_tungstenite::connect_async(request)
            .await
            .expect("websocket connects");
        let mut client = WsClient { stream };
        client
            .send(json!({"type": "connection_init", "payload": payload}))
            .await;
        client
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// The first error's `extensions.code`.
pub fn error_code(response: &Value) -> &str {
    response["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error code in {response}"))
}

/// The first error's message.
pub fn error_message(response: &Value) -> &str {
    response["errors"][0]["message"]
        .as_str()
        .unwrap_or_else(|| panic!("no error in {response}"))
}

/// Asserts the response has no errors and returns its data.
pub fn data(response: &Value) -> &Value {
    assert!(
        response.get("errors").is_none(),
        "unexpected errors: {response}"
    );
    &response["data"]
}

/// A GraphQL WebSocket client, bounded by time limits so no test can hang.
pub struct WsClient {
    stream: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
}

impl WsClient {
    pub async fn send(&mut self, message: Value) {
        self.stream
            .send(Message::text(message.to_string()))
            .await
            .expect("ws send");
    }

    /// The next JSON text message, skipping keep-alives; `None` when the socket closed.
    pub async fn next_json(&mut self) -> Option<Value> {
        let deadline = std::time::Duration::from_secs(10);
        loop {
            let message = tokio::time::timeout(deadline, self.stream.next())
                .await
                .expect("a websocket message within 10 s");
            match message {
                Some(Ok(Message::Text(text))) => {
                    let value: Value = serde_json::from_str(&text).expect("JSON message");
                    if matches!(value["type"].as_str(), Some("ka" | "ping" | "pong")) {
                        continue;
                    }
                    return Some(value);
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return None,
                Some(Ok(_)) => continue,
            }
        }
    }
}

/// A database that exists for one test.
pub struct TestDatabase {
    url: String,
    /// Holds the SQLite file (if any), the master key file and the writer's journal; removed
    /// on drop.
    folder: tempfile::TempDir,
    /// For PostgreSQL: the server URL and database name to drop afterwards.
    postgres: Option<(String, String)>,
}

impl TestDatabase {
    pub async fn create() -> TestDatabase {
        match std::env::var("DATABASE_URL") {
            Ok(url) if url.starts_with("postgres") => Self::create_postgres(url).await,
            _ => {
                let folder = tempfile::tempdir().expect("temp dir");
                let url = format!(
                    "sqlite://{}?mode=rwc",
                    folder.path().join("amp_pool.db").display()
                );
                TestDatabase {
                    url,
                    folder,
                    postgres: None,
                }
            }
        }
    }

    pub async fn create_postgres(server_url: String) -> TestDatabase {
        use sea_orm::{ConnectionTrait, Database};
        let name = format!("amp_test_{}", uuid::Uuid::new_v4().simple());
        let admin = Database::connect(&server_url)
            .await
            .expect("the PostgreSQL server in DATABASE_URL is reachable");
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .expect("creates a test database");
        admin.close().await.ok();
        let mut url = url::Url::parse(&server_url).expect("DATABASE_URL is a URL");
        url.set_path(&format!("/{name}"));
        TestDatabase {
            url: url.to_string(),
            folder: tempfile::tempdir().expect("temp dir"),
            postgres: Some((server_url, name)),
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// The test's own folder: the SQLite file (if any) and the master key file live here.
    pub fn folder(&self) -> &std::path::Path {
        self.folder.path()
    }

    /// The master key file the servers of this database use (created on first start).
    pub fn master_key_file(&self) -> std::path::PathBuf {
        self.folder.path().join("master.key")
    }

    /// The folder of this database's journals.
    pub fn journal_dir(&self) -> std::path::PathBuf {
        self.folder.path().join("journal")
    }

    /// Settings for a server on this database, listening on 127.0.0.1:0.
    pub fn settings(&self) -> Settings {
        Settings {
            host: "127.0.0.1".into(),
            port: 0,
            database_url: self.url.clone(),
            jwt_secret: Some(SecretString::from(JWT_SECRET)),
            admin_username: ADMIN_USERNAME.into(),
            admin_password: Some(SecretString::from(ADMIN_PASSWORD)),
            // Nothing in a test may reach a real provider: keys name the mock as their base URL,
            // and these defaults refuse connections.
            openai_base_url: "http://127.0.0.1:9".into(),
            anthropic_base_url: "http://127.0.0.1:9".into(),
            amp_base_url: "http://127.0.0.1:9".into(),
            master_key_file: Some(self.master_key_file()),
            journal_dir: Some(self.journal_dir()),
            ..Settings::default()
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some((server_url, name)) = self.postgres.take() else {
            return;
        };
        // Dropping needs async I/O; do it on a small runtime of its own so it works from any
        // test's Drop.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                use sea_orm::{ConnectionTrait, Database};
                if let Ok(admin) = Database::connect(&server_url).await {
                    let _ = admin
                        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .await;
                    admin.close().await.ok();
                }
            });
        })
        .join();
    }
}

/// Sends `count` chat completions at once (every other one streamed) and returns, for each,
/// the request id of the answer that came back in full, or `None`.
pub fn burst(
    base: &str,
    token: &str,
    count: usize,
) -> Vec<tokio::task::JoinHandle<Option<String>>> {
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    (0..count)
        .map(|i| {
            let (client, url, token) = (
                client.clone(),
                format!("{base}/v1/chat/completions"),
                token.to_string(),
            );
            tokio::spawn(async move {
                let response = client
                    .post(url)
                    .bearer_auth(token)
                    .json(&json!({"model": "gpt-4o", "messages": [], "stream": i % 2 == 0}))
                    .send()
                    .await
                    .ok()?;
                let id = response
                    .headers()
                    .get("x-amp-pool-request-id")?
                    .to_str()
                    .ok()?
                    .to_string();
                response.text().await.ok()?;
                Some(id)
            })
        })
        .collect()
}

/// The real `amp-pool` binary on a fresh port, its upstreams pointing nowhere; killed when
/// dropped unless the test waited for it.
pub struct Binary {
    /// The process (tests send it signals and wait for it).
    pub child: std::process::Child,
    /// `http://127.0.0.1:<port>`, from its "listening on" line.
    pub base: String,
    /// Its log lines after that one, as they come.
    pub lines: std::sync::mpsc::Receiver<String>,
}

impl Binary {
    /// Starts the binary on `database` in `folder` and waits (up to 60 s) until it listens.
    pub fn start(database: &TestDatabase, folder: &std::path::Path) -> Binary {
        Self::start_with(database, folder, &[])
    }

    /// [`Binary::start`] with more environment variables.
    pub fn start_with(
        database: &TestDatabase,
        folder: &std::path::Path,
        env: &[(&str, &str)],
    ) -> Binary {
        use std::io::BufRead;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_amp-pool"))
            .env_clear()
            .envs([
                ("HOST", "127.0.0.1"),
                ("PORT", "0"),
                ("DATABASE_URL", database.url()),
                ("ADMIN_PASSWORD", ADMIN_PASSWORD),
                ("JOURNAL_DIR", &database.journal_dir().display().to_string()),
                ("RUST_LOG", "info"),
                ("OPENAI_BASE_URL", "http://127.0.0.1:9"),
                ("ANTHROPIC_BASE_URL", "http://127.0.0.1:9"),
                ("AMP_BASE_URL", "http://127.0.0.1:9"),
            ])
            .env("AMP_POOL_MASTER_KEY_FILE", database.master_key_file())
            .envs(env.iter().copied())
            .current_dir(folder)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Read its log (and stderr, where a panic would go) in threads; every wait on it
        // below is bounded by a timeout.
        let (lines_tx, lines) = std::sync::mpsc::channel();
        let stdout: Box<dyn std::io::Read + Send> = Box::new(child.stdout.take().unwrap());
        let stderr: Box<dyn std::io::Read + Send> = Box::new(child.stderr.take().unwrap());
        for output in [stdout, stderr] {
            let lines_tx = lines_tx.clone();
            std::thread::spawn(move || {
                for line in std::io::BufReader::new(output)
                    .lines()
                    .map_while(Result::ok)
                {
                    if lines_tx.send(line).is_err() {
                        return;
                    }
                }
            });
        }
        // Owned at once, so a server that never listens is still killed when the test fails.
        let mut binary = Binary {
            child,
            base: String::new(),
            lines,
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let line = binary
                .lines
                .recv_timeout(deadline.saturating_duration_since(std::time::Instant::now()))
                .expect("the server starts within 60 s");
            if let Some(rest) = line.split("listening on ").nth(1) {
                binary.base = rest.split_whitespace().next().unwrap().to_string();
                return binary;
            }
        }
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A write lock on the test database held by another connection: the server's writer cannot
/// commit while it is held (SQLite: it fails after its busy timeout; PostgreSQL: it waits).
/// Making the SQLite file read-only does not do this: the server's open handles keep writing,
/// and root ignores file modes.
pub struct WriteLock {
    transaction: sea_orm::DatabaseTransaction,
    connection: sea_orm::DatabaseConnection,
}

impl WriteLock {
    pub async fn hold(database: &TestDatabase) -> WriteLock {
        use sea_orm::{ConnectionTrait, Database, DbBackend, TransactionTrait};
        let connection = Database::connect(database.url()).await.unwrap();
        let transaction = connection.begin().await.unwrap();
        let statement = match connection.get_database_backend() {
            DbBackend::Postgres => "LOCK TABLE api_request_log IN ACCESS EXCLUSIVE MODE",
            // Any write statement takes SQLite's one write lock, even one that changes nothing.
            _ => "UPDATE api_request_stats SET id = id WHERE 1 = 0",
        };
        transaction.execute_unprepared(statement).await.unwrap();
        WriteLock {
            transaction,
            connection,
        }
    }

    pub async fn release(self) {
        self.transaction.commit().await.unwrap();
        self.connection.close().await.unwrap();
    }
}

/// What the log holds, checked against itself: one row per attempt, rollups and token spend
/// equal to the sums of the rows.
#[derive(Debug)]
pub struct Ledger {
    /// Rows by (request id, attempt).
    pub attempts:
        std::collections::HashMap<(String, i32), amp_pool::entity::api_request_log::Model>,
    /// Rows beyond the first for an attempt.
    pub duplicates: usize,
}

impl Ledger {
    /// Reads the log of `url` and asserts that rollups and spend match its rows.
    pub async fn read(url: &str) -> Ledger {
        use amp_pool::entity::{access_token, api_request_log, api_request_stats};
        use sea_orm::{Database, EntityTrait};
        let db = Database::connect(url).await.unwrap();
        let rows = api_request_log::Entity::find().all(&db).await.unwrap();
        let stats = api_request_stats::Entity::find().all(&db).await.unwrap();
        let tokens = access_token::Entity::find().all(&db).await.unwrap();
        db.close().await.unwrap();

        let all_days: Vec<_> = stats
            .iter()
            .filter(|s| {
                s.stat_hour.is_none()
                    && s.key_id.is_none()
                    && s.model.is_none()
                    && s.provider.is_none()
            })
            .collect();
        let total = |f: fn(&api_request_log::Model) -> i64| rows.iter().map(f).sum::<i64>();
        let rolled =
            |f: fn(&api_request_stats::Model) -> i64| all_days.iter().map(|s| f(s)).sum::<i64>();
        assert_eq!(
            rolled(|s| s.request_count),
            rows.len() as i64,
            "rollup requests = rows"
        );
        assert_eq!(
            rolled(|s| s.cost),
            total(|r| r.cost),
            "rollup cost = sum of rows"
        );
        assert_eq!(
            rolled(|s| s.input_tokens),
            total(|r| r.input_tokens),
            "rollup input = rows"
        );
        assert_eq!(
            rolled(|s| s.output_tokens),
            total(|r| r.output_tokens),
            "rollup output = rows"
        );
        for token in &tokens {
            let spent: i64 = rows
                .iter()
                .filter(|r| r.access_token_id == Some(token.id))
                .map(|r| r.cost)
                .sum();
            assert_eq!(
                token.spend, spent,
                "token {} spend = its rows' cost",
                token.id
            );
        }

        let mut attempts = std::collections::HashMap::new();
        let mut duplicates = 0;
        for row in rows {
            if attempts
                .insert((row.request_id.clone(), row.attempt), row)
                .is_some()
            {
                duplicates += 1;
            }
        }
        Ledger {
            attempts,
            duplicates,
        }
    }
}

/// A GraphQL call to a server at `base`, as the admin (`jwt`) or anonymously.
pub async fn graphql_at(base: &str, jwt: Option<&str>, query: &str, variables: Value) -> Value {
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let mut request = client
        .post(format!("{base}/graphql"))
        .json(&json!({"query": query, "variables": variables}));
    if let Some(jwt) = jwt {
        request = request.bearer_auth(jwt);
    }
    request.send().await.unwrap().json().await.unwrap()
}

/// Logs in to the server at `base`, adds a key at `upstream` for each (provider, secret), each
/// in its own priority tier when `tiers`, and returns a new client token.
pub async fn prepare_server(
    base: &str,
    upstream: &str,
    keys: &[(&str, &str)],
    tiers: bool,
) -> String {
    let login = graphql_at(
        base,
        None,
        "mutation($p: String!) { login(username: \"admin\", password: $p) { token } }",
        json!({"p": ADMIN_PASSWORD}),
    )
    .await;
    let jwt = login["data"]["login"]["token"]
        .as_str()
        .unwrap()
        .to_string();
    for (priority, (provider, secret)) in keys.iter().enumerate() {
        let priority = if tiers { priority } else { 0 };
        let created = graphql_at(
            base,
            Some(&jwt),
            "mutation($input: CreateKeyInput!) { createKey(input: $input) { id } }",
            json!({"input": {"name": secret, "provider": provider, "apiKey": secret, "baseUrl": upstream, "priority": priority}}),
        )
        .await;
        assert!(created["errors"].is_null(), "{created}");
    }
    let created = graphql_at(
        base,
        Some(&jwt),
        "mutation { createAccessToken(input: {name: \"load\"}) { token } }",
        json!({}),
    )
    .await;
    created["data"]["createAccessToken"]["token"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The value of the metric `name` (its labels as written, without the `instance_name` label
/// every series carries) in the text of `/metrics`.
pub fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines().find_map(|line| {
        without_instance(line)
            .strip_prefix(name)?
            .strip_prefix(' ')?
            .trim()
            .parse()
            .ok()
    })
}

/// A `/metrics` line without its `instance_name="…"` label.
fn without_instance(line: &str) -> String {
    const LABEL: &str = "instance_name=\"";
    let Some(start) = line.find(LABEL) else {
        return line.to_string();
    };
    let Some(length) = line[start + LABEL.len()..].find('"') else {
        return line.to_string();
    };
    let end = start + LABEL.len() + length + 1;
    format!("{}{}", &line[..start], &line[end..])
        .replace("{,", "{")
        .replace("{}", "")
}
