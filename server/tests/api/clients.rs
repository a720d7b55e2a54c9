//! The real coding agents, unchanged, answer through the pool: Claude Code through an ANTHROPIC
//! key and OpenAI's Codex CLI through an OPENAI key, each also through an AMP key, and each
//! call is logged with the exact usage the upstream reported.
//!
//! Needs `AMP_POOL_CLIENTS_BIN`, the `node_modules/.bin` folder of `server/tests/clients`
//! (where `scripts/test` installs the pinned CLIs), and runs them with a throwaway home and a
//! proxy that refuses (and reports) every call beyond 127.0.0.1, so they reach nothing but the
//! pool and a run cannot hang the suite.

use std::{
    collections::HashSet,
    path::{Path, PathBuf},
    process::Stdio,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::http::Method;
use serde_json::json;
use tokio::{
    io::{AsyncRead, AsyncReadExt},
    process::Command,
    task::JoinHandle,
};

use crate::{
    helpers::TestApp,
    mock::{MockUpstream, OPENAI_USAGE, PIECES},
    mock_agents::{
        AGENT_ANTHROPIC_USAGE, AGENT_RESPONSES_USAGE, AgentCall, AgentUpstream, Wall, agent_text,
    },
};

/// The longest one CLI run may take; a run answers in about a second.
const RUN_LIMIT: Duration = Duration::from_secs(120);

/// The folder holding the `claude` and `codex` commands.
fn clients_bin() -> PathBuf {
    let dir = std::env::var("AMP_POOL_CLIENTS_BIN").expect(
        "AMP_POOL_CLIENTS_BIN names server/tests/clients/node_modules/.bin (run npm ci there)",
    );
    PathBuf::from(dir)
}

/// Runs `program` in `home` with only `envs` (and `PATH`), stdin closed, within
/// [`RUN_LIMIT`]; panics with everything it printed when it fails, takes too long or tries to
/// reach anything but 127.0.0.1.
async fn run_client(program: &Path, args: &[&str], envs: &[(&str, String)], home: &Path) -> String {
    let wall = Wall::start().await;
    let mut command = Command::new(program);
    command
        .args(args)
        .env_clear()
        // `codex` is a Node launcher for its native binary, so it needs node on the PATH.
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home);
    for name in ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"] {
        command
            .env(name, &wall.url)
            .env(name.to_lowercase(), &wall.url);
    }
    let mut child = command
        .env("NO_PROXY", "127.0.0.1")
        .env("no_proxy", "127.0.0.1")
        .envs(envs.iter().map(|(k, v)| (*k, v.as_str())))
        .current_dir(home)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // A group of its own, so a run that hangs is killed with whatever it started.
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("{} does not start: {e}", program.display()));
    let stdout = collect(child.stdout.take().unwrap());
    let stderr = collect(child.stderr.take().unwrap());
    let printed = || {
        let text = |buffer: &Printed| String::from_utf8_lossy(&buffer.lock().unwrap()).into_owned();
        format!(
            "--- stdout\n{}\n--- stderr\n{}",
            text(&stdout.0),
            text(&stderr.0)
        )
    };
    let Ok(status) = tokio::time::timeout(RUN_LIMIT, child.wait()).await else {
        if let Some(pid) = child.id() {
            let _ = std::process::Command::new("kill")
                .args(["-KILL", "--", &format!("-{pid}")])
                .status();
        }
        panic!(
            "{} took longer than {RUN_LIMIT:?}:\n{}",
            program.display(),
            printed()
        );
    };
    let status = status.unwrap();
    // The pipes close when the last process of the run exits.
    for reader in [stdout.1, stderr.1] {
        let _ = tokio::time::timeout(Duration::from_secs(10), reader).await;
    }
    assert!(
        status.success(),
        "{} failed ({status}):\n{}",
        program.display(),
        printed()
    );
    assert_eq!(
        wall.attempts(),
        Vec::<String>::new(),
        "{} tried to reach the outside world:\n{}",
        program.display(),
        printed()
    );
    String::from_utf8_lossy(&stdout.0.lock().unwrap()).into_owned()
}

/// What a run printed on one stream so far.
type Printed = Arc<Mutex<Vec<u8>>>;

/// Reads `stream` into a buffer as it comes, so a run that hangs still shows what it printed.
fn collect(mut stream: impl AsyncRead + Unpin + Send + 'static) -> (Printed, JoinHandle<()>) {
    let printed = Printed::default();
    let buffer = printed.clone();
    let reader = tokio::spawn(async move {
        let mut chunk = [0u8; 8192];
        while let Ok(n @ 1..) = stream.read(&mut chunk).await {
            buffer.lock().unwrap().extend_from_slice(&chunk[..n]);
        }
    });
    (printed, reader)
}

/// A kind of pool key and what the agent's call looks like on its way upstream.
struct Route {
    /// The key's provider, as `createKey` takes it.
    provider: &'static str,
    /// The provider in the log.
    logged_as: &'static str,
    /// The upstream path the call arrives at.
    path: &'static str,
}

/// Asserts that `call` carries `secret` the way the route's provider expects it, and nothing
/// else in the auth headers (in particular not the client's token).
fn assert_upstream_auth(call: &AgentCall, route: &Route, secret: &str) {
    let bearer = format!("Bearer {secret}");
    let expected = match route.provider {
        "ANTHROPIC" => ("", secret),
        "OPENAI" => (bearer.as_str(), ""),
        _ => (bearer.as_str(), secret),
    };
    assert_eq!(
        (call.header("authorization"), call.header("x-api-key")),
        expected
    );
}

/// Runs Claude Code with `args` as a user would point it at the pool: the pool's address and a
/// client token, the model priced in the seeded table, and a home of its own (where it keeps
/// its sessions).
async fn claude(app: &TestApp, token: &str, home: &Path, args: &[&str]) -> String {
    let mut args = args.to_vec();
    args.extend(["--model", "claude-sonnet-4-5"]);
    run_client(
        &clients_bin().join("claude"),
        &args,
        &[
            ("ANTHROPIC_BASE_URL", app.url("")),
            ("ANTHROPIC_API_KEY", token.to_string()),
            // No telemetry, update checks or other calls to Anthropic's own hosts.
            ("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1".into()),
            ("DISABLE_AUTOUPDATER", "1".into()),
        ],
        home,
    )
    .await
}

async fn claude_code_answers_through(route: Route) {
    let app = TestApp::spawn().await;
    let upstream = AgentUpstream::start().await;
    let secret = "sk-ant-agents-upstream";
    let key_id = app
        .add_key(route.provider, secret, json!({"baseUrl": upstream.url}))
        .await;
    let token = app.client_token(json!({})).await;
    let home = tempfile::tempdir().unwrap();

    let stdout = claude(&app, &token, home.path(), &["-p", "Say hi"]).await;

    assert_eq!(stdout.trim(), agent_text());
    // One streamed Messages call (no token counting, no model list, no title request), with
    // the pool's key instead of the client's token and Claude Code's query and betas kept.
    let calls = upstream.calls();
    assert_eq!(calls.len(), 1, "{calls:#?}");
    let call = &calls[0];
    assert_eq!(
        (&call.method, call.path.as_str(), call.query.as_deref()),
        (&Method::POST, route.path, Some("beta=true"))
    );
    assert_upstream_auth(call, &route, secret);
    assert_eq!(call.header("anthropic-version"), "2023-06-01");
    assert!(
        call.header("anthropic-beta")
            .split(',')
            .any(|beta| beta == "claude-code-20250219"),
        "{:?}",
        call.headers
    );
    assert_eq!(call.body["model"], "claude-sonnet-4-5");
    assert_eq!(call.body["stream"], true);
    assert!(
        !format!("{call:?}").contains(&token),
        "the client token stays in the pool"
    );

    let rows = app.log_rows().await;
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    let (input, output, cache_creation, cache_read) = AGENT_ANTHROPIC_USAGE;
    assert_eq!(
        (row.key_id, row.status.as_str(), row.http_status_code),
        (Some(key_id as i32), "success", Some(200))
    );
    assert_eq!(
        (
            row.provider.as_str(),
            row.endpoint.as_str(),
            row.model.as_str(),
            row.is_stream
        ),
        (route.logged_as, "messages", "claude-sonnet-4-5", true)
    );
    assert_eq!(
        (
            row.input_tokens,
            row.output_tokens,
            row.cache_creation_tokens,
            row.cache_read_tokens
        ),
        (input, output, cache_creation, cache_read)
    );
    assert_eq!(
        row.total_tokens,
        input + output + cache_creation + cache_read
    );
    // claude-sonnet-4-5 per million: 31 × $3 + 17 × $15 + 211 × $3.75 + 1234 × $0.30.
    assert_eq!(row.cost, 93_000 + 255_000 + 791_250 + 370_200);
    assert_eq!(row.usage_source, "reported");
}

#[tokio::test]
#[ignore = "needs the Claude Code CLI from npm; scripts/test installs it and runs this test"]
async fn claude_code_answers_through_an_openai_key_when_routing_sends_claude_there() {
    let app = TestApp::spawn().await;
    let upstream = MockUpstream::start().await;
    app.add_key(
        "OPENAI",
        "sk-ok-openai-cc",
        json!({"baseUrl": upstream.url}),
    )
    .await;
    let routed = app
        .graphql(
            "mutation($v: JSON!) { setConfig(key: \"routing\", value: $v) { key } }",
            json!({"v": {"routes": [{"match": "claude-*", "provider": "openai", "model": "gpt-4o"}]}}),
        )
        .await;
    assert!(routed["errors"].is_null(), "{routed}");
    let token = app.client_token(json!({})).await;
    let home = tempfile::tempdir().unwrap();

    let stdout = claude(&app, &token, home.path(), &["-p", "Say hi"]).await;

    assert_eq!(stdout.trim(), PIECES.concat());
    // Claude Code's tool-heavy streamed request, translated into a chat completion.
    let seen = upstream.seen();
    assert!(!seen.is_empty());
    for call in &seen {
        assert_eq!(call.path, "/v1/chat/completions");
        assert_eq!(call.query, None, "Claude Code's ?beta=true is not OpenAI's");
        assert_eq!(call.body["model"], "gpt-4o");
    }
    let main = &seen[0];
    assert_eq!(main.body["stream"], true);
    assert_eq!(main.body["stream_options"]["include_usage"], true);
    assert!(
        main.body["tools"].as_array().is_some_and(|t| t.len() > 3),
        "{}",
        main.body["tools"]
    );
    assert_eq!(main.body["messages"][0]["role"], "system");
    let rows = app.log_rows().await;
    assert_eq!(rows.len(), seen.len());
    let (prompt, completion, cached) = OPENAI_USAGE;
    for row in &rows {
        assert_eq!(
            (
                row.status.as_str(),
                row.provider.as_str(),
                row.model.as_str()
            ),
            ("success", "openai", "gpt-4o")
        );
        assert!(
            row.client_model
                .as_deref()
                .is_some_and(|m| m.starts_with("claude-")),
            "{row:?}"
        );
        assert_eq!(
            (row.input_tokens, row.cache_read_tokens, row.output_tokens),
            (prompt - cached, cached, completion)
        );
    }
}

#[tokio::test]
#[ignore = "needs the Claude Code CLI from npm; scripts/test installs it and runs this test"]
async fn claude_code_answers_through_an_anthropic_key() {
    claude_code_answers_through(Route {
        provider: "ANTHROPIC",
        logged_as: "anthropic",
        path: "/v1/messages",
    })
    .await;
}

#[tokio::test]
#[ignore = "needs the Claude Code CLI from npm; scripts/test installs it and runs this test"]
async fn claude_code_answers_through_an_amp_key() {
    claude_code_answers_through(Route {
        provider: "AMP",
        logged_as: "amp",
        path: "/api/provider/anthropic/v1/messages",
    })
    .await;
}

/// Codex's configuration: the pool as the one model provider, speaking the Responses API, and
/// none of the start-up calls to ChatGPT or GitHub (plugins, analytics, update checks).
fn codex_config(base_url: &str) -> String {
    format!(
        r#"model = "gpt-5"
model_provider = "amp-pool"
check_for_update_on_startup = false

[features]
plugins = false

[analytics]
enabled = false

[model_providers.amp-pool]
name = "AMP Pool"
base_url = "{base_url}"
wire_api = "responses"
env_key = "AMP_POOL_TOKEN"
"#
    )
}

/// A home for Codex with its configuration in `.codex/config.toml`.
fn codex_home(app: &TestApp) -> tempfile::TempDir {
    let home = tempfile::tempdir().unwrap();
    let codex_home = home.path().join(".codex");
    std::fs::create_dir(&codex_home).unwrap();
    std::fs::write(
        codex_home.join("config.toml"),
        codex_config(&app.url("/v1")),
    )
    .unwrap();
    home
}

/// Runs `codex exec` with `args` in a home made by [`codex_home`], the client token in the
/// variable its configuration names.
async fn codex(token: &str, home: &Path, args: &[&str]) -> String {
    let mut all = vec!["exec", "--skip-git-repo-check"];
    all.extend(args);
    run_client(
        &clients_bin().join("codex"),
        &all,
        &[
            ("CODEX_HOME", home.join(".codex").display().to_string()),
            ("AMP_POOL_TOKEN", token.to_string()),
        ],
        home,
    )
    .await
}

async fn codex_cli_answers_through(route: Route) {
    let app = TestApp::spawn().await;
    let upstream = AgentUpstream::start().await;
    let secret = "sk-openai-agents-upstream";
    let key_id = app
        .add_key(route.provider, secret, json!({"baseUrl": upstream.url}))
        .await;
    let token = app.client_token(json!({})).await;
    let home = codex_home(&app);

    let stdout = codex(&token, home.path(), &["Say hi"]).await;

    // `codex exec` prints the final answer alone on stdout (its transcript goes to stderr).
    assert_eq!(stdout.trim(), agent_text());
    let calls = upstream.calls();
    assert_eq!(calls.len(), 1, "{calls:#?}");
    let call = &calls[0];
    assert_eq!(
        (&call.method, call.path.as_str(), call.query.as_deref()),
        (&Method::POST, route.path, None)
    );
    assert_upstream_auth(call, &route, secret);
    assert_eq!(call.body["model"], "gpt-5");
    assert_eq!(call.body["stream"], true);
    assert!(
        !format!("{call:?}").contains(&token),
        "the client token stays in the pool"
    );

    let rows = app.log_rows().await;
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    let (input, cached, output, reasoning) = AGENT_RESPONSES_USAGE;
    assert_eq!(
        (row.key_id, row.status.as_str(), row.http_status_code),
        (Some(key_id as i32), "success", Some(200))
    );
    assert_eq!(
        (
            row.provider.as_str(),
            row.endpoint.as_str(),
            row.model.as_str(),
            row.is_stream
        ),
        (route.logged_as, "responses", "gpt-5", true)
    );
    // Cached input is counted (and priced) as cache reads, not twice.
    assert_eq!(
        (
            row.input_tokens,
            row.cache_read_tokens,
            row.output_tokens,
            row.total_tokens
        ),
        (input - cached, cached, output, input + output)
    );
    assert_eq!(row.reasoning_tokens, reasoning);
    assert_eq!(row.response_id.as_deref(), Some("resp_agent_mock"));
    // gpt-5 per million: 352 × $1.25 + 2048 × $0.125 + 57 × $10 (reasoning is output).
    assert_eq!(row.cost, 440_000 + 256_000 + 570_000);
    assert_eq!(row.usage_source, "reported");
}

#[tokio::test]
#[ignore = "needs the Codex CLI from npm; scripts/test installs it and runs this test"]
async fn codex_cli_answers_through_an_openai_key() {
    codex_cli_answers_through(Route {
        provider: "OPENAI",
        logged_as: "openai",
        path: "/v1/responses",
    })
    .await;
}

#[tokio::test]
#[ignore = "needs the Codex CLI from npm; scripts/test installs it and runs this test"]
async fn codex_cli_answers_through_an_amp_key() {
    codex_cli_answers_through(Route {
        provider: "AMP",
        logged_as: "amp",
        path: "/api/provider/openai/v1/responses",
    })
    .await;
}

/// Turns of one agent session, counting the first.
const TURNS: usize = 5;

/// Three keys of `provider` sharing the traffic equally; their ids.
async fn three_equal_keys(app: &TestApp, provider: &str, upstream: &AgentUpstream) -> Vec<i64> {
    let mut ids = Vec::new();
    for secret in ["sk-agents-one", "sk-agents-two", "sk-agents-three"] {
        ids.push(
            app.add_key(provider, secret, json!({"baseUrl": upstream.url}))
                .await,
        );
    }
    ids
}

/// Asserts that the `TURNS` logged calls of one session were all served by one key (by
/// chance that would happen once in 81 runs) and that `session_of` finds the same session in
/// each of the calls the upstream got.
async fn assert_one_session_on_one_key(
    app: &TestApp,
    upstream: &AgentUpstream,
    session_of: fn(&AgentCall) -> String,
) {
    let calls = upstream.calls();
    assert_eq!(calls.len(), TURNS, "{calls:#?}");
    let sessions: HashSet<String> = calls.iter().map(session_of).collect();
    assert_eq!(
        sessions.len(),
        1,
        "the client kept its session: {sessions:?}"
    );
    let rows = app.log_rows().await;
    assert_eq!(rows.len(), TURNS);
    assert!(rows.iter().all(|r| r.status == "success"));
    let keys: HashSet<_> = rows.iter().map(|r| r.key_id).collect();
    assert_eq!(keys.len(), 1, "the session moved between keys: {keys:?}");
}

#[tokio::test]
#[ignore = "needs the Claude Code CLI from npm; scripts/test installs it and runs this test"]
async fn a_continued_claude_code_session_stays_on_one_key() {
    let app = TestApp::spawn().await;
    let upstream = AgentUpstream::start().await;
    three_equal_keys(&app, "ANTHROPIC", &upstream).await;
    let token = app.client_token(json!({})).await;
    let home = tempfile::tempdir().unwrap();

    claude(&app, &token, home.path(), &["-p", "Say hi"]).await;
    for turn in 1..TURNS {
        let prompt = format!("And again, turn {turn}");
        let stdout = claude(&app, &token, home.path(), &["-p", "--continue", &prompt]).await;
        assert_eq!(stdout.trim(), agent_text());
    }

    // Claude Code names its session in `metadata.user_id`, and sends the whole history again.
    assert_one_session_on_one_key(&app, &upstream, |call| {
        call.body["metadata"]["user_id"].to_string()
    })
    .await;
    let history = upstream.calls()[TURNS - 1].body["messages"].to_string();
    assert!(history.contains("And again, turn 1"), "{history}");
}

#[tokio::test]
#[ignore = "needs the Codex CLI from npm; scripts/test installs it and runs this test"]
async fn a_resumed_codex_session_stays_on_one_key() {
    let app = TestApp::spawn().await;
    let upstream = AgentUpstream::start().await;
    three_equal_keys(&app, "OPENAI", &upstream).await;
    let token = app.client_token(json!({})).await;
    let home = codex_home(&app);

    codex(&token, home.path(), &["Say hi"]).await;
    for turn in 1..TURNS {
        let prompt = format!("And again, turn {turn}");
        let stdout = codex(&token, home.path(), &["resume", "--last", &prompt]).await;
        assert_eq!(stdout.trim(), agent_text());
    }

    // Codex names its session in `prompt_cache_key` and, with `store: false`, sends the whole
    // history again.
    assert_one_session_on_one_key(&app, &upstream, |call| {
        call.body["prompt_cache_key"].to_string()
    })
    .await;
    let history = upstream.calls()[TURNS - 1].body["input"].to_string();
    assert!(history.contains("And again, turn 1"), "{history}");
}
