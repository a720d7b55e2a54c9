//! `amp-pool backup PATH`: a copy of the live SQLite database that a server starts on, with the
//! same keys (readable with the same master key), tokens and log rows.

use std::process::{Command, Output};

use serde_json::json;

use crate::{
    helpers::{TestApp, data},
    mock::MockUpstream,
};

fn backup(path: &std::path::Path, env: &[(&str, &str)]) -> Output {
    let folder = tempfile::tempdir().unwrap();
    Command::new(env!("CARGO_BIN_EXE_amp-pool"))
        .arg("backup")
        .arg(path)
        .env_clear()
        .envs(env.iter().copied())
        .env("RUST_LOG", "warn")
        .current_dir(folder.path())
        .output()
        .unwrap()
}

fn chat() -> serde_json::Value {
    json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]})
}

#[tokio::test]
async fn a_backup_of_a_live_database_starts_a_server_with_the_same_keys_and_rows() {
    let upstream = MockUpstream::start().await;
    let app = TestApp::spawn().await;
    if !app.database().url().starts_with("sqlite") {
        return; // PostgreSQL is backed up with pg_dump; see the test below.
    }
    let secret = "sk-ok-backed-up-0001";
    app.add_key(
        "OPENAI",
        secret,
        json!({"name": "kept", "baseUrl": upstream.url}),
    )
    .await;
    let token = app.client_token(json!({"name": "kept token"})).await;
    assert_eq!(
        app.v1("/v1/chat/completions", &token, chat())
            .await
            .status(),
        200
    );
    let rows_before = app.log_rows().await.len();
    let target = tempfile::tempdir().unwrap();
    let copy = target.path().join("copy.db");
    let key_file = app.database().master_key_file();
    let env = [
        ("DATABASE_URL", app.database().url()),
        ("AMP_POOL_MASTER_KEY_FILE", key_file.to_str().unwrap()),
    ];

    // While the server runs.
    let output = backup(&copy, &env);

    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let said = String::from_utf8(output.stdout).unwrap();
    assert!(
        said.contains(&format!("wrote {}", copy.display())),
        "{said}"
    );
    assert!(
        said.contains(&format!("back up {} too", key_file.display())),
        "{said}"
    );
    let again = backup(&copy, &env);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists already"));

    let restored = TestApp::spawn_with(|settings| {
        settings.database_url = format!("sqlite://{}?mode=rwc", copy.display());
        settings.master_key_file = Some(key_file.clone());
    })
    .await;
    assert_eq!(restored.log_rows().await.len(), rows_before);
    assert!(rows_before >= 1);
    let keys = restored
        .graphql("{ keys { name apiKeyMasked } }", json!({}))
        .await;
    assert_eq!(
        data(&keys)["keys"],
        json!([{"name": "kept", "apiKeyMasked": "sk-o…0001"}])
    );
    // The client token and the key both work on the copy.
    assert_eq!(
        restored
            .v1("/v1/chat/completions", &token, chat())
            .await
            .status(),
        200
    );
    let last = upstream.seen().last().unwrap().headers["authorization"].clone();
    assert_eq!(last.to_str().unwrap(), format!("Bearer {secret}"));
}

#[test]
fn a_postgresql_backup_points_at_pg_dump_and_fails() {
    let target = tempfile::tempdir().unwrap();

    let output = backup(
        &target.path().join("copy.db"),
        &[("DATABASE_URL", "postgres://u@127.0.0.1:9/amp")],
    );

    assert!(!output.status.success());
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(message.contains("pg_dump"), "{message}");
    assert!(!target.path().join("copy.db").exists());
}
