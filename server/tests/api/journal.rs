//! The writer never drops: while the database refuses writes requests are served and their
//! rows wait in the journal; after a crash the journal is replayed before serving; replaying
//! rows already committed counts nothing twice.

use std::{
    collections::HashSet,
    process::Command,
    sync::Arc,
    time::{Duration, Instant},
};

use amp_pool::{
    entity::access_token,
    events::EventBus,
    metrics::Metrics,
    recorder::{AttemptRecord, AttemptStatus, BatchLimits, Journal, Recorder},
    usage::Usage,
};
use chrono::Utc;
use sea_orm::EntityTrait;
use serde_json::{Value, json};

use crate::{
    helpers::{Binary, Ledger, TestApp, TestDatabase, WriteLock, metric, prepare_server},
    mock::MockUpstream,
};

fn chat(stream: bool) -> Value {
    json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], "stream": stream})
}

async fn journal_bytes(app: &TestApp) -> f64 {
    let text = app
        .http
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    metric(&text, "amp_pool_log_writer_journal_bytes").unwrap()
}

#[tokio::test]
async fn a_database_that_refuses_writes_holds_up_no_request_and_loses_no_row() {
    let app = TestApp::spawn().await;
    let upstream = MockUpstream::start().await;
    app.add_key("OPENAI", "sk-ok-journal", json!({"baseUrl": upstream.url}))
        .await;
    let token = app.client_token(json!({})).await;

    let lock = WriteLock::hold(app.database()).await;
    let started = Instant::now();
    for i in 0..30 {
        let response = app
            .v1("/v1/chat/completions", &token, chat(i % 2 == 0))
            .await;
        assert_eq!(response.status(), 200);
        response.text().await.unwrap();
    }
    // SQLite's writer waits 10 s for the lock, PostgreSQL's forever: a request that waited
    // for the database would show.
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "answers did not wait for the database: {:?}",
        started.elapsed()
    );
    // Give the sync tick a turn to report the backlog.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        journal_bytes(&app).await > 0.0,
        "the rows wait in the journal"
    );

    lock.release().await;
    let rows = app.log_rows().await;

    assert_eq!(rows.len(), 30);
    let ledger = Ledger::read(app.database().url()).await;
    assert_eq!((ledger.attempts.len(), ledger.duplicates), (30, 0));
    assert_eq!(journal_bytes(&app).await, 0.0, "the journal is emptied");
}

fn record(n: usize, token: i32) -> AttemptRecord {
    AttemptRecord {
        request_id: Arc::from(format!("replayed-{n}")),
        attempt: 1,
        key_id: None,
        key_name: None,
        access_token_id: Some(token),
        provider: "openai",
        endpoint: "chat_completions",
        model: Arc::from("gpt-4o"),
        is_stream: false,
        usage: Usage {
            input: 10,
            output: 3,
            ..Usage::default()
        },
        cost: 1000,
        cost_unknown: false,
        latency_ms: 7,
        first_byte_ms: None,
        status: AttemptStatus::Success,
        http_status_code: Some(200),
        error_type: None,
        error_message: None,
        usage_source: Default::default(),
        response_id: None,
        route: None,
        started_at: Utc::now(),
    }
}

#[tokio::test]
async fn replaying_a_journal_already_committed_counts_nothing_twice() {
    let app = TestApp::spawn().await;
    app.client_token(json!({})).await;
    let token = access_token::Entity::find()
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap()
        .id;
    let folder = tempfile::tempdir().unwrap();
    let (first, copy) = (folder.path().join("a.log"), folder.path().join("copy.log"));
    let spawn = |path: &std::path::Path| {
        Recorder::spawn(
            app.state.db.clone(),
            EventBus::new(),
            Arc::new(Metrics::default()),
            BatchLimits {
                sync_every: Duration::from_millis(5),
                ..BatchLimits::default()
            },
            Journal::open(path).unwrap(),
        )
    };

    // The journal as a crash would leave it between the commit and emptying the journal.
    let lock = WriteLock::hold(app.database()).await;
    let recorder = spawn(&first);
    for n in 0..50 {
        recorder.record(record(n, token));
    }
    recorder.sync().await;
    std::fs::copy(&first, &copy).unwrap();
    lock.release().await;
    recorder.flush().await;
    let replay = spawn(&copy);
    replay.flush().await;

    // Ledger::read asserts rollups and the token's spend equal the rows.
    let ledger = Ledger::read(app.database().url()).await;
    assert_eq!((ledger.attempts.len(), ledger.duplicates), (50, 0));
    let spend = access_token::Entity::find_by_id(token)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap()
        .spend;
    assert_eq!(spend, 50 * 1000);
}

#[cfg(unix)]
#[tokio::test]
async fn kill_9_while_the_database_refuses_writes_loses_no_row() {
    let database = TestDatabase::create().await;
    let upstream = MockUpstream::start().await;
    let folder = tempfile::tempdir().unwrap();
    let mut server = Binary::start(&database, folder.path());
    let token = prepare_server(
        &server.base,
        &upstream.url,
        &[("OPENAI", "sk-ok-crash")],
        false,
    )
    .await;
    let client = reqwest::Client::builder().no_proxy().build().unwrap();

    let lock = WriteLock::hold(&database).await;
    let mut answered = HashSet::new();
    for i in 0..40 {
        let response = client
            .post(format!("{}/v1/chat/completions", server.base))
            .bearer_auth(&token)
            .json(&chat(i % 2 == 0))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let id = response.headers()["x-amp-pool-request-id"]
            .to_str()
            .unwrap()
            .to_string();
        response.text().await.unwrap();
        answered.insert(id);
    }
    // Past the journal's sync interval (200 ms), the records are on disk.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let killed = Command::new("kill")
        .args(["-KILL", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let _ = server.child.wait();
    let left = std::fs::metadata(database.journal_dir().join("pool.log")).unwrap();
    assert!(
        left.len() > 0,
        "the rows were still in the journal at the crash"
    );
    lock.release().await;

    // The journal is replayed before the restarted server listens.
    let _restarted = Binary::start(&database, folder.path());
    let ledger = Ledger::read(database.url()).await;

    assert_eq!(ledger.duplicates, 0);
    let logged: HashSet<String> = ledger
        .attempts
        .values()
        .filter(|row| row.status == "success")
        .map(|row| row.request_id.clone())
        .collect();
    assert_eq!(logged, answered, "every answered request has its row");
}

#[tokio::test]
async fn a_replayed_automatic_disable_does_not_undo_a_later_enable() {
    use amp_pool::{entity::api_key, service::keys};

    let app = TestApp::spawn().await;
    let key = app
        .add_key(
            "OPENAI",
            "sk-ok-replayed",
            json!({"baseUrl": "http://127.0.0.1:9"}),
        )
        .await;
    let key = i32::try_from(key).unwrap();
    let folder = tempfile::tempdir().unwrap();
    let (first, copy) = (folder.path().join("a.log"), folder.path().join("copy.log"));
    let spawn = |path: &std::path::Path| {
        Recorder::spawn(
            app.state.db.clone(),
            EventBus::new(),
            Arc::new(Metrics::default()),
            BatchLimits::default(),
            Journal::open(path).unwrap(),
        )
    };
    let lock = WriteLock::hold(app.database()).await;
    let recorder = spawn(&first);
    recorder.disable_key(key, "upstream rejected the key (HTTP 401)".into());
    recorder.sync().await;
    std::fs::copy(&first, &copy).unwrap();
    lock.release().await;
    recorder.flush().await;
    let enabled = |model: api_key::Model| model.enabled;
    let stored = api_key::Entity::find_by_id(key)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert!(!enabled(stored), "the disable landed");

    // The admin enables the key again; then the journal is replayed (as after a crash).
    keys::set_enabled(&app.state.db, &app.state.vault, key, true)
        .await
        .unwrap();
    spawn(&copy).flush().await;

    let stored = api_key::Entity::find_by_id(key)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert!(enabled(stored), "the admin's later enable stays");
}
