//! The binary's subcommands and its start-up errors.

use std::process::{Command, Output};

use amp_pool::service::access_tokens;

use crate::helpers::TestDatabase;

/// Runs the real binary with only the given environment, away from any `.env`.
fn amp_pool(args: &[&str], env: &[(&str, &str)]) -> Output {
    let folder = tempfile::tempdir().unwrap();
    Command::new(env!("CARGO_BIN_EXE_amp-pool"))
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .env("RUST_LOG", "warn")
        .current_dir(folder.path())
        .output()
        .unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test]
async fn token_create_prints_a_token_that_is_stored() {
    let database = TestDatabase::create().await;

    let output = amp_pool(
        &["token", "create", "from cli"],
        &[("DATABASE_URL", database.url())],
    );

    assert!(output.status.success(), "{}", stderr(&output));
    let secret = String::from_utf8(output.stdout).unwrap().trim().to_string();
    assert!(secret.starts_with("ap-"), "{secret}");
    let db = sea_orm::Database::connect(database.url()).await.unwrap();
    let stored = access_tokens::find_by_secret(&db, &secret)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.name, "from cli");
    db.close().await.unwrap();
}

#[test]
fn schema_prints_the_sdl() {
    let output = amp_pool(&["schema"], &[]);

    assert!(output.status.success());
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        amp_pool::graphql::sdl()
    );
}

#[test]
fn a_taken_port_fails_with_a_sentence_saying_what_to_do() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();

    let output = amp_pool(&["serve"], &[("HOST", "127.0.0.1"), ("PORT", &port)]);

    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(
        message.contains(&format!("port {port} on 127.0.0.1 is already in use")),
        "{message}"
    );
}

#[test]
fn an_unsupported_database_url_fails_at_start() {
    let output = amp_pool(&["migrate"], &[("DATABASE_URL", "mysql://u:hunter2@db/x")]);

    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(
        message.contains("DATABASE_URL must start with sqlite:// or postgres://"),
        "{message}"
    );
    assert!(
        !message.contains("hunter2"),
        "the password is not shown: {message}"
    );
}

#[test]
fn an_unreachable_database_fails_at_start() {
    let output = amp_pool(
        &["migrate"],
        &[("DATABASE_URL", "postgres://u:pw@127.0.0.1:1/amp")],
    );

    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(
        message.contains("cannot open the database at postgres://u:****@127.0.0.1:1/amp"),
        "{message}"
    );
    assert!(message.contains("check DATABASE_URL"), "{message}");
}

#[test]
fn a_bad_base_url_fails_at_start() {
    let output = amp_pool(&["migrate"], &[("AMP_BASE_URL", "ampcode.com")]);

    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("AMP_BASE_URL must be a URL"),
        "{}",
        stderr(&output)
    );
}
