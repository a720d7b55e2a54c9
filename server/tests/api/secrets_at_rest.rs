//! Secrets at rest: upstream keys, proxy credentials and webhook URLs are stored encrypted,
//! a database from before encryption is encrypted at start, a wrong master key refuses to
//! start, and rotation moves every secret to a new key.

use amp_pool::{
    app,
    config::SecretsCommand,
    entity::{api_key, config_entry},
    vault::{SEALED_PREFIX, master_key},
};
use sea_orm::{ConnectionTrait, Database, EntityTrait};
use secrecy::SecretString;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::{
    helpers::{TestApp, TestDatabase, data, error_code},
    mock::MockUpstream,
};

const LEGACY_KEY: &str = "sk-ok-legacy-plain-0001";
const LEGACY_PROXY_PASSWORD: &str = "proxy-pass-legacy";
const LEGACY_HOOK_TOKEN: &str = "LEGACY-HOOK-TOKEN";

fn chat() -> Value {
    json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]})
}

/// A database at the schema of the first three migrations (before encryption), holding the
/// rows the way that version wrote them: plain text.
async fn legacy_database(upstream: &MockUpstream) -> TestDatabase {
    use migration::MigratorTrait;
    let database = TestDatabase::create().await;
    let db = Database::connect(database.url()).await.unwrap();
    migration::Migrator::up(&db, Some(3)).await.unwrap();
    db.execute_unprepared(&format!(
        "INSERT INTO api_keys (name, provider, api_key, base_url) VALUES ('legacy', 'openai', '{LEGACY_KEY}', '{}')",
        upstream.url
    ))
    .await
    .unwrap();
    // A disabled key behind a proxy with a password; it is never picked.
    db.execute_unprepared(&format!(
        "INSERT INTO api_keys (name, provider, api_key, proxy_ip, enabled) VALUES ('proxied', 'openai', 'sk-ok-legacy-plain-0002', 'http://user:{LEGACY_PROXY_PASSWORD}@127.0.0.1:9', false)"
    ))
    .await
    .unwrap();
    db.execute_unprepared(&format!(
        r#"INSERT INTO config (key, value) VALUES ('alerts', '{{"webhooks":["http://127.0.0.1:9/hooks/{LEGACY_HOOK_TOKEN}"],"events":["key_disabled"]}}')"#
    ))
    .await
    .unwrap();
    db.close().await.unwrap();
    database
}

/// The rows as stored, secrets as the database holds them.
async fn stored_keys(app: &TestApp) -> Vec<api_key::Model> {
    api_key::Entity::find().all(&app.state.db).await.unwrap()
}

async fn stored_alerts(app: &TestApp) -> String {
    config_entry::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap()
        .into_iter()
        .find(|entry| entry.key == "alerts")
        .map(|entry| entry.value)
        .unwrap_or_default()
}

/// On SQLite: every byte of the database file and its write-ahead log after a checkpoint.
async fn sqlite_file_bytes(app: &TestApp, database: &TestDatabase) -> Option<Vec<u8>> {
    if !database.url().starts_with("sqlite") {
        return None;
    }
    app.state
        .db
        .execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)")
        .await
        .unwrap();
    let path = database.folder().join("amp_pool.db");
    let mut bytes = std::fs::read(&path).unwrap();
    if let Ok(wal) = std::fs::read(path.with_extension("db-wal")) {
        bytes.extend(wal);
    }
    Some(bytes)
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle.as_bytes())
}

async fn last_authorization(upstream: &MockUpstream) -> String {
    upstream.seen().last().unwrap().headers["authorization"]
        .to_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn a_database_with_plain_text_secrets_is_encrypted_at_start_and_still_serves() {
    let upstream = MockUpstream::start().await;
    let database = legacy_database(&upstream).await;

    let app = TestApp::restart_on(database, |_| {}).await;

    let rows = stored_keys(&app).await;
    assert_eq!(rows.len(), 2);
    for row in &rows {
        assert!(row.api_key.starts_with(SEALED_PREFIX), "{}", row.api_key);
        assert!(!row.api_key.contains("legacy-plain"));
        assert_eq!(row.key_hash.as_deref().map(str::len), Some(64));
    }
    let proxied = rows.iter().find(|row| row.name == "proxied").unwrap();
    assert!(proxied.proxy_ip.starts_with(SEALED_PREFIX));
    let legacy = rows.iter().find(|row| row.name == "legacy").unwrap();
    assert_eq!(legacy.base_url.as_deref(), Some(upstream.url.as_str()));
    let alerts = stored_alerts(&app).await;
    assert!(
        alerts.contains(SEALED_PREFIX) && !alerts.contains(LEGACY_HOOK_TOKEN),
        "{alerts}"
    );
    assert_eq!(
        app.state.live.current().alerts.webhooks,
        vec![format!("http://127.0.0.1:9/hooks/{LEGACY_HOOK_TOKEN}")]
    );

    let token = app.client_token(json!({})).await;
    let response = app.v1("/v1/chat/completions", &token, chat()).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        last_authorization(&upstream).await,
        format!("Bearer {LEGACY_KEY}")
    );

    // The console still shows the masked key and proxy.
    let listed = app
        .graphql("{ keys { name apiKeyMasked proxyIp } }", json!({}))
        .await;
    let shown = data(&listed)["keys"].as_array().unwrap().clone();
    let proxied = shown.iter().find(|k| k["name"] == "proxied").unwrap();
    assert_eq!(proxied["proxyIp"], "http://user:****@127.0.0.1:9");
    let legacy = shown.iter().find(|k| k["name"] == "legacy").unwrap();
    assert_eq!(legacy["apiKeyMasked"], "sk-o…0001");
}

#[tokio::test]
async fn the_sqlite_file_holds_no_plain_secret_after_the_start_up_encryption() {
    let upstream = MockUpstream::start().await;
    let database = legacy_database(&upstream).await;
    let app = TestApp::restart_on(database, |_| {}).await;
    let fresh = "sk-ok-fresh-never-in-clear-77";
    app.add_key(
        "OPENAI",
        fresh,
        // Named apart from its secret: the helper would name it after the secret.
        json!({"name": "fresh", "proxyIp": "http://user:fresh-proxy-pass@127.0.0.1:9", "enabled": false}),
    )
    .await;
    let database = app.stop_keeping_database().await;
    let app = TestApp::restart_on(database, |_| {}).await;

    let Some(bytes) = sqlite_file_bytes(&app, app.database()).await else {
        return; // PostgreSQL: its files are not ours to read.
    };
    for secret in [
        LEGACY_KEY,
        "sk-ok-legacy-plain-0002",
        LEGACY_PROXY_PASSWORD,
        LEGACY_HOOK_TOKEN,
        fresh,
        "fresh-proxy-pass",
    ] {
        assert!(
            !contains(&bytes, secret),
            "the database file holds {secret}"
        );
    }
    assert!(
        contains(&bytes, SEALED_PREFIX),
        "the check reads the right file"
    );
}

#[tokio::test]
async fn encrypting_at_start_is_done_once_and_duplicates_still_conflict() {
    let upstream = MockUpstream::start().await;
    let database = legacy_database(&upstream).await;
    let app = TestApp::restart_on(database, |_| {}).await;
    let first = stored_keys(&app).await;
    let first_alerts = stored_alerts(&app).await;
    let database = app.stop_keeping_database().await;

    let app = TestApp::restart_on(database, |_| {}).await;

    assert_eq!(
        stored_keys(&app).await,
        first,
        "rows already sealed stay as they are"
    );
    assert_eq!(stored_alerts(&app).await, first_alerts);
    let again = app
        .graphql(
            "mutation { createKey(input: {name: \"again\", provider: OPENAI, apiKey: \"sk-ok-legacy-plain-0001\"}) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&again), "CONFLICT", "{again}");
    let import = app
        .graphql(
            "mutation { importKeys(input: {provider: OPENAI, keys: \"sk-ok-legacy-plain-0001\\nsk-ok-new-one-0003\"}) { created duplicates { line } } }",
            json!({}),
        )
        .await;
    assert_eq!(data(&import)["importKeys"]["created"], 1, "{import}");
    assert_eq!(data(&import)["importKeys"]["duplicates"][0]["line"], 1);
}

#[tokio::test]
async fn a_wrong_master_key_refuses_to_start_with_a_sentence() {
    let app = TestApp::spawn().await;
    app.add_key("OPENAI", "sk-ok-guarded-0001", json!({})).await;
    let database = app.stop_keeping_database().await;
    let mut settings = database.settings();
    settings.master_key = Some(SecretString::from(
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    ));

    let error = app::build_state(settings, CancellationToken::new())
        .await
        .err()
        .expect("a wrong master key does not start");

    assert!(error.0.starts_with("refusing to start: "), "{error}");
    assert!(error.0.contains("encrypted with master key"), "{error}");
}

#[tokio::test]
async fn rotation_moves_every_secret_to_the_new_key() {
    let upstream = MockUpstream::start().await;
    let app = TestApp::spawn().await;
    let secret = "sk-ok-rotated-0001";
    app.add_key("OPENAI", secret, json!({"baseUrl": upstream.url}))
        .await;
    app.graphql(
        "mutation($v: JSON!) { setConfig(key: \"alerts\", value: $v) { key } }",
        json!({"v": {"webhooks": ["http://127.0.0.1:9/hooks/ROTATED-HOOK"]}}),
    )
    .await;
    let old_id = app.state.vault.key_id().to_string();
    let database = app.stop_keeping_database().await;
    let new_key_file = database.folder().join("new.key");
    master_key::create_file(&new_key_file).unwrap();

    amp_pool::cli::secrets(
        &database.settings(),
        SecretsCommand::Rotate {
            new_key_file: new_key_file.clone(),
        },
    )
    .await
    .unwrap();

    let old_refused = app::build_state(database.settings(), CancellationToken::new())
        .await
        .err()
        .expect("the old key no longer opens the database");
    assert!(
        old_refused.0.contains("encrypted with master key"),
        "{old_refused}"
    );
    let app = TestApp::restart_on(database, |settings| {
        settings.master_key_file = Some(new_key_file);
    })
    .await;
    let new_id = app.state.vault.key_id().to_string();
    assert_ne!(new_id, old_id);
    let row = stored_keys(&app).await.remove(0);
    assert!(
        row.api_key
            .starts_with(&format!("{SEALED_PREFIX}{new_id}:"))
    );
    assert!(
        stored_alerts(&app)
            .await
            .contains(&format!("{SEALED_PREFIX}{new_id}:"))
    );
    assert_eq!(
        app.state.live.current().alerts.webhooks,
        vec!["http://127.0.0.1:9/hooks/ROTATED-HOOK".to_string()]
    );
    let token = app.client_token(json!({})).await;
    assert_eq!(
        app.v1("/v1/chat/completions", &token, chat())
            .await
            .status(),
        200
    );
    assert_eq!(
        last_authorization(&upstream).await,
        format!("Bearer {secret}")
    );
}

#[cfg(unix)]
#[tokio::test]
async fn without_a_key_a_private_key_file_is_made_beside_the_sqlite_file_and_reused() {
    use std::os::unix::fs::PermissionsExt;
    let database = TestDatabase::create().await;
    if !database.url().starts_with("sqlite") {
        return; // The key file's place is the SQLite file's folder.
    }
    let mut settings = database.settings();
    settings.master_key_file = None;
    let key_file = database.folder().join("master.key");
    assert!(!key_file.exists());

    // Each start here is its own instance, with its own journal (the first keeps its lock).
    let instance = |name: &str| {
        let mut settings = settings.clone();
        settings.instance_name = name.into();
        settings
    };
    let first = app::build_state(instance("first"), CancellationToken::new())
        .await
        .unwrap();

    let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let key_id = first.vault.key_id().to_string();
    first.shutdown.cancel();
    // As `serve` does when it ends: the SQLite file is free for the next instance.
    first.cluster.release();
    let again = app::build_state(instance("again"), CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(again.vault.key_id(), key_id, "the same file is read again");
    again.shutdown.cancel();
    again.cluster.release();
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o640)).unwrap();
    let refused = app::build_state(instance("third"), CancellationToken::new())
        .await
        .err()
        .expect("a key file others may read is refused");
    assert!(refused.0.contains("chmod 600"), "{refused}");
}

#[tokio::test]
async fn secrets_rotate_runs_from_the_command_line() {
    let app = TestApp::spawn().await;
    app.add_key("OPENAI", "sk-ok-cli-rotated-0001", json!({"name": "cli"}))
        .await;
    let database = app.stop_keeping_database().await;
    let new_key_file = database.folder().join("new.key");
    master_key::create_file(&new_key_file).unwrap();

    let output = std::process::Command::new(env!("CARGO_BIN_EXE_amp-pool"))
        .args(["secrets", "rotate", "--new-key-file"])
        .arg(&new_key_file)
        .env_clear()
        .env("DATABASE_URL", database.url())
        .env("AMP_POOL_MASTER_KEY_FILE", database.master_key_file())
        .env("RUST_LOG", "warn")
        .current_dir(database.folder())
        .output()
        .unwrap();

    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let said = String::from_utf8(output.stdout).unwrap();
    assert!(said.starts_with("re-encrypted 1 keys and "), "{said}");
    assert!(said.contains("then restart"), "{said}");
    let app = TestApp::restart_on(database, |settings| {
        settings.master_key_file = Some(new_key_file);
    })
    .await;
    let listed = app.graphql("{ keys { apiKeyMasked } }", json!({})).await;
    assert_eq!(data(&listed)["keys"][0]["apiKeyMasked"], "sk-o…0001");
}
