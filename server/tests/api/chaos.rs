//! The chaos suite: the real binary behind a fault-injecting upstream, under load, while the
//! database refuses writes for a while and the process is SIGTERM'd and `kill -9`'d and
//! restarted on the same database. Then every attempt the pool started must have exactly one
//! log row, rollups must equal the rows, cooled-down keys must come back, and nothing panicked.
//!
//! `CHAOS_SECS` (default 20) sets the load's length and `CHAOS_SEED` (default 13) the faults;
//! a soak: `CHAOS_SECS=600 cargo test -p amp-pool --test api chaos -- --nocapture`. The figures
//! are printed as one `chaos figures:` line.

use std::{
    collections::{BTreeMap, HashMap},
    process::Command,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use amp_pool::entity::api_key;
use rand::{RngExt, SeedableRng, rngs::StdRng};
use sea_orm::EntityTrait;
use serde_json::json;

use crate::{
    chaos_upstream::{ChaosUpstream, Fault, Hit},
    helpers::{
        ADMIN_PASSWORD, Binary, Ledger, TestDatabase, WriteLock, graphql_at, metric, prepare_server,
    },
};

const WORKERS: usize = 8;
const FAULTY_KEYS: usize = 6;
/// The pool's timeouts, well below the upstream's stalls.
const TIMEOUT_MS: u64 = 1000;

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// What the client saw of one request.
#[derive(Debug)]
struct Outcome {
    marker: String,
    request_id: Option<String>,
    status: Option<u16>,
    /// A 200 whose body is a complete answer.
    complete: bool,
    finished: Instant,
}

/// The server under test: its process, address and the env it was started with.
struct Pool {
    binary: Binary,
    log: Arc<Mutex<Vec<String>>>,
}

fn start(database: &TestDatabase, folder: &std::path::Path, base: &Mutex<String>) -> Pool {
    let binary = Binary::start_with(
        database,
        folder,
        &[
            ("SHUTDOWN_GRACE_SECS", "2"),
            ("RUST_LOG", "warn,amp_pool=info"),
        ],
    );
    *base.lock().unwrap() = binary.base.clone();
    Pool {
        binary,
        log: Arc::default(),
    }
}

impl Pool {
    /// Moves the log lines read so far into `log`.
    fn drain(&self) {
        let mut log = self.log.lock().unwrap();
        while let Ok(line) = self.binary.lines.try_recv() {
            log.push(line);
        }
    }

    fn signal(&self, signal: &str) {
        let sent = Command::new("kill")
            .args([signal, &self.binary.child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
    }

    /// Waits for the process to end; its exit status and log.
    async fn wait(mut self) -> (std::process::ExitStatus, Vec<String>) {
        let status = tokio::task::spawn_blocking(move || {
            let status = self.binary.child.wait().unwrap();
            (status, self)
        })
        .await
        .unwrap();
        let (status, pool) = status;
        // The reader thread forwards what is left once the process is gone.
        tokio::time::sleep(Duration::from_millis(200)).await;
        pool.drain();
        let log = pool.log.lock().unwrap().clone();
        (status, log)
    }
}

async fn load(
    base: Arc<Mutex<String>>,
    token: String,
    seed: u64,
    next: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
) -> Vec<Outcome> {
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let mut rng = StdRng::seed_from_u64(seed);
    let mut outcomes = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let marker = format!("chaos-{}", next.fetch_add(1, Ordering::Relaxed));
        let stream = rng.random_bool(0.5);
        let url = format!("{}/v1/chat/completions", base.lock().unwrap());
        let sent = client
            .post(url)
            .bearer_auth(&token)
            .json(&json!({"model": "gpt-4o", "messages": [{"role": "user", "content": marker}], "stream": stream}))
            .send()
            .await;
        let mut outcome = Outcome {
            marker,
            request_id: None,
            status: None,
            complete: false,
            finished: Instant::now(),
        };
        if let Ok(response) = sent {
            outcome.status = Some(response.status().as_u16());
            outcome.request_id = response
                .headers()
                .get("x-amp-pool-request-id")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let ok = response.status().is_success();
            if let Ok(body) = response.text().await {
                outcome.complete = ok
                    && if stream {
                        body.contains("data: [DONE]") && !body.contains("\"error\"")
                    } else {
                        serde_json::from_str::<serde_json::Value>(&body)
                            .is_ok_and(|v| v["choices"].is_array())
                    };
            }
        } else {
            // The pool is restarting.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        outcome.finished = Instant::now();
        outcomes.push(outcome);
        // A steady load rather than a flood: the suite shares the machine with other tests.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    outcomes
}

/// Attempts the upstream received against rows in the log, per client request.
struct Accounting {
    expected: usize,
    found: usize,
    lost: usize,
    /// Requests whose attempts were compared.
    checked: usize,
    /// Requests finished so close to the kill -9 that their rows may be lost by design.
    in_kill_window: usize,
    successes: usize,
    /// Requests that failed although the pool could have helped it.
    client_failures: Vec<(String, Option<u16>, Vec<Fault>)>,
}

impl Accounting {
    fn of(
        outcomes: &[Outcome],
        hits: &[Hit],
        ledger: &Ledger,
        killed_at: Instant,
        refused_key: Option<i32>,
    ) -> Accounting {
        let mut seen: HashMap<&str, Vec<Fault>> = HashMap::new();
        for hit in hits {
            seen.entry(hit.marker.as_str()).or_default().push(hit.fault);
        }
        let mut rows: HashMap<&str, Vec<(i32, Option<i32>)>> = HashMap::new();
        for ((request_id, attempt), row) in &ledger.attempts {
            rows.entry(request_id.as_str())
                .or_default()
                .push((*attempt, row.key_id));
        }
        let mut account = Accounting {
            expected: 0,
            found: 0,
            lost: 0,
            checked: 0,
            in_kill_window: 0,
            successes: 0,
            client_failures: Vec::new(),
        };
        for outcome in outcomes {
            let Some(request_id) = &outcome.request_id else {
                continue;
            };
            // Attempts finished within a sync interval (200 ms) of the kill -9 may be lost:
            // the guarantee. The margin of 1 s absorbs scheduling on a busy CI machine.
            let near_kill = outcome.finished + Duration::from_secs(1) > killed_at
                && outcome.finished < killed_at + Duration::from_secs(1);
            if near_kill {
                account.in_kill_window += 1;
                continue;
            }
            account.checked += 1;
            let faults = seen
                .get(outcome.marker.as_str())
                .cloned()
                .unwrap_or_default();
            let logged = rows.get(request_id.as_str()).cloned().unwrap_or_default();
            let logged_upstream = logged
                .iter()
                .filter(|(_, key)| *key != refused_key || refused_key.is_none())
                .count();
            account.expected += faults.len();
            account.found += logged_upstream;
            account.lost += faults.len().saturating_sub(logged_upstream);
            // Attempt numbers run 1..=n without a gap: no refused attempt was lost either.
            let mut numbers: Vec<i32> = logged.iter().map(|(n, _)| *n).collect();
            numbers.sort_unstable();
            assert!(
                numbers.iter().enumerate().all(|(i, n)| *n == i as i32 + 1),
                "attempts of {request_id}: {numbers:?}"
            );
            if outcome.complete {
                account.successes += 1;
                continue;
            }
            // A failure is allowed only when the pool could not help it: the answer began
            // (then broke), or two keys failed the same way (the pool reads that as the
            // request's fault), or the server was going down mid-answer.
            let began_answer = faults.last().is_some_and(|f| f.after_answer_began());
            let shutdown = outcome.status.is_none() || outcome.status == Some(200);
            if !(began_answer || repeats_itself(&faults) || shutdown) {
                account
                    .client_failures
                    .push((outcome.marker.clone(), outcome.status, faults));
            }
        }
        account
    }
}

/// Whether the pool's rule "the same failure on two keys is the request's fault" ends this
/// request: the last failure equals the previous one that counts (an HTTP error or a timeout;
/// rate limits and connection failures are the key's and do not count).
fn repeats_itself(faults: &[Fault]) -> bool {
    let counts = |f: &&Fault| {
        matches!(
            f,
            Fault::Status500
                | Fault::Status502
                | Fault::Status503
                | Fault::Status529
                | Fault::StallBeforeFirstByte
        )
    };
    let mut counted = faults.iter().filter(counts).rev();
    match (faults.last(), counted.next(), counted.next()) {
        (Some(last), Some(a), Some(b)) => last == a && a == b,
        _ => false,
    }
}

#[test]
fn the_same_failure_twice_ignores_rate_limits_between() {
    use Fault::*;
    assert!(repeats_itself(&[Status503, RateLimited, Status503]));
    assert!(!repeats_itself(&[Status503, Status502]));
    assert!(!repeats_itself(&[Status503, Status503, RateLimited]));
    assert!(repeats_itself(&[
        StallBeforeFirstByte,
        ResetBeforeHeaders,
        StallBeforeFirstByte
    ]));
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn chaos_loses_and_duplicates_no_attempt() {
    let seconds = env_number("CHAOS_SECS", 20);
    let seed = env_number("CHAOS_SEED", 13);
    let database = TestDatabase::create().await;
    let upstream = ChaosUpstream::start(seed).await;
    let folder = tempfile::tempdir().unwrap();
    let base = Arc::new(Mutex::new(String::new()));
    let mut pool = start(&database, folder.path(), &base);

    // Faulty keys first, a refused port among them, the healthy key last.
    let refused = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let faulty: Vec<String> = (0..FAULTY_KEYS).map(|i| format!("sk-chaos-{i}")).collect();
    let mut keys: Vec<(&str, &str)> = faulty.iter().map(|s| ("OPENAI", s.as_str())).collect();
    keys.push(("OPENAI", "sk-ok-healthy"));
    let token = prepare_server(&pool.binary.base, &upstream.url, &keys, false).await;
    let jwt = graphql_at(
        &pool.binary.base,
        None,
        "mutation($p: String!) { login(username: \"admin\", password: $p) { token } }",
        json!({"p": ADMIN_PASSWORD}),
    )
    .await["data"]["login"]["token"]
        .as_str()
        .unwrap()
        .to_string();
    let refused_key = graphql_at(
        &pool.binary.base,
        Some(&jwt),
        "mutation($u: String!) { createKey(input: {name: \"sk-refused\", provider: OPENAI, apiKey: \"sk-refused\", baseUrl: $u}) { id } }",
        json!({"u": refused}),
    )
    .await["data"]["createKey"]["id"]
        .as_i64()
        .unwrap();
    for (key, value) in [
        (
            "proxy",
            json!({"max_attempts": 10, "connect_timeout_ms": TIMEOUT_MS, "first_byte_timeout_ms": TIMEOUT_MS, "stream_idle_timeout_ms": TIMEOUT_MS, "drain_after_disconnect_ms": 0}),
        ),
        (
            "health",
            json!({"rate_limit_cooldown_secs": 1, "error_cooldown_secs": 0, "max_cooldown_secs": 2}),
        ),
    ] {
        let set = graphql_at(
            &pool.binary.base,
            Some(&jwt),
            "mutation($k: String!, $v: JSON!) { setConfig(key: $k, value: $v) { key } }",
            json!({"k": key, "v": value}),
        )
        .await;
        assert!(set["errors"].is_null(), "{set}");
    }
    // The healthy key in the last tier: tried only when the faulty ones failed.
    let db = sea_orm::Database::connect(database.url()).await.unwrap();
    let key_ids: HashMap<String, i32> = api_key::Entity::find()
        .all(&db)
        .await
        .unwrap()
        .into_iter()
        .map(|k| (k.name, k.id))
        .collect();
    let moved = graphql_at(
        &pool.binary.base,
        Some(&jwt),
        "mutation($id: Int!) { updateKey(id: $id, input: {priority: 1}) { id } }",
        json!({"id": key_ids["sk-ok-healthy"]}),
    )
    .await;
    assert!(moved["errors"].is_null(), "{moved}");
    // Settings and keys are re-read every 30 s; a restart picks them up at once.
    pool.signal("-TERM");
    let (status, mut log) = pool.wait().await;
    assert!(status.success());
    pool = start(&database, folder.path(), &base);

    // The load, and the faults around it.
    let next = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..WORKERS)
        .map(|i| {
            tokio::spawn(load(
                base.clone(),
                token.clone(),
                seed + i as u64,
                next.clone(),
                stop.clone(),
            ))
        })
        .collect();
    let phase = Duration::from_secs(seconds) / 5;
    let began = Instant::now();

    tokio::time::sleep(phase).await;
    let lock = WriteLock::hold(&database).await;
    tokio::time::sleep(phase).await;
    lock.release().await;

    pool.signal("-TERM");
    let (status, lines) = pool.wait().await;
    assert!(status.success(), "exit 0 after SIGTERM: {status}");
    log.extend(lines);
    pool = start(&database, folder.path(), &base);
    tokio::time::sleep(phase).await;

    let lock = WriteLock::hold(&database).await;
    tokio::time::sleep(phase / 2).await;
    pool.signal("-KILL");
    let killed_at = Instant::now();
    let (_, lines) = pool.wait().await;
    log.extend(lines);
    lock.release().await;
    pool = start(&database, folder.path(), &base);
    tokio::time::sleep(phase).await;

    stop.store(true, Ordering::Relaxed);
    let mut outcomes = Vec::new();
    for worker in workers {
        outcomes.extend(worker.await.unwrap());
    }
    let load_secs = began.elapsed().as_secs_f64();

    // Cooldowns (at most 2 s) expire and every key is available again.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let metrics = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .get(format!("{}/metrics", base.lock().unwrap()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let cooling = metric(&metrics, "amp_pool_keys{state=\"cooling_down\"}").unwrap();
    let available = metric(&metrics, "amp_pool_keys{state=\"available\"}").unwrap();
    pool.signal("-TERM");
    let (status, lines) = pool.wait().await;
    assert!(status.success());
    log.extend(lines);

    // What the upstream saw, the client saw and the log holds.
    let hits = upstream.hits();
    let ledger = Ledger::read(database.url()).await;
    let mut faults: BTreeMap<String, usize> = BTreeMap::new();
    let mut by_key: BTreeMap<&str, usize> = BTreeMap::new();
    for hit in &hits {
        *by_key.entry(hit.secret.as_str()).or_default() += 1;
        *faults.entry(format!("{:?}", hit.fault)).or_default() += 1;
    }
    let refused_key = i32::try_from(refused_key).unwrap();
    let refused_attempts = ledger
        .attempts
        .values()
        .filter(|r| r.key_id == Some(refused_key))
        .count();
    let account = Accounting::of(&outcomes, &hits, &ledger, killed_at, Some(refused_key));
    let Accounting {
        expected,
        found,
        lost,
        checked,
        in_kill_window,
        successes,
        ref client_failures,
    } = account;
    let panics: Vec<&String> = log.iter().filter(|l| l.contains("panicked")).collect();
    let figures = json!({
        "seed": seed,
        "load_secs": load_secs,
        "requests": outcomes.len(),
        "answered_complete": successes,
        "requests_checked": checked,
        "requests_near_kill_9": in_kill_window,
        "requests_without_answer": outcomes.iter().filter(|o| o.request_id.is_none()).count(),
        "upstream_attempts": hits.len(),
        "faults": faults,
        "upstream_attempts_by_key": by_key,
        "refused_connection_attempts": refused_attempts,
        "attempts_expected": expected,
        "attempts_found": found,
        "lost": lost,
        "duplicated": ledger.duplicates,
        "log_rows": ledger.attempts.len() + ledger.duplicates,
        "keys_cooling_down_after": cooling,
        "keys_available_after": available,
        "client_failures_with_a_healthy_key": client_failures.len(),
        "panics": panics.len(),
    });
    println!("chaos figures: {figures}");

    assert!(checked > 50, "the load ran: {figures}");
    assert_eq!(lost, 0, "{figures}");
    assert_eq!(found, expected, "{figures}");
    assert_eq!(ledger.duplicates, 0, "{figures}");
    assert!(client_failures.is_empty(), "{client_failures:?} {figures}");
    assert_eq!(cooling, 0.0, "{figures}");
    assert_eq!(available, (FAULTY_KEYS + 2) as f64, "{figures}");
    assert!(panics.is_empty(), "{panics:?}");
}

/// A PostgreSQL server of the test's own, in a temporary folder, that it can stop and start.
struct OwnPostgres {
    bin: std::path::PathBuf,
    folder: tempfile::TempDir,
    port: u16,
}

impl OwnPostgres {
    /// Starts one, when PostgreSQL's binaries are installed.
    fn start() -> Option<OwnPostgres> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(Result::ok)
            .map(|entry| entry.path().join("bin"))
            .filter(|bin| bin.join("pg_ctl").exists())
            .max()?;
        let folder = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let postgres = OwnPostgres { bin, folder, port };
        // PostgreSQL refuses to run as root.
        if Self::is_root() {
            let owned = Command::new("chown")
                .args(["postgres"])
                .arg(postgres.folder.path())
                .status()
                .unwrap();
            assert!(owned.success());
        }
        let data = postgres.folder.path().join("data");
        assert!(
            postgres
                .run(
                    "initdb",
                    &[
                        "-D",
                        data.to_str().unwrap(),
                        "-U",
                        "postgres",
                        "--auth=trust",
                        "-E",
                        "UTF8"
                    ]
                )
                .success()
        );
        postgres.ctl("start");
        Some(postgres)
    }

    fn is_root() -> bool {
        Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|out| out.stdout.starts_with(b"0\n"))
    }

    fn run(&self, program: &str, args: &[&str]) -> std::process::ExitStatus {
        let path = self.bin.join(program);
        let mut command = if Self::is_root() {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(path);
            command
        } else {
            Command::new(path)
        };
        command
            .args(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap()
    }

    /// `pg_ctl start`, or `stop -m immediate` (a crash, as far as the pool can tell).
    fn ctl(&self, what: &str) {
        let data = self.folder.path().join("data");
        let log = self.folder.path().join("log");
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1",
            self.port,
            self.folder.path().display()
        );
        let mut args = vec!["-D", data.to_str().unwrap(), "-w", "-t", "60"];
        match what {
            "start" => args.extend(["-l", log.to_str().unwrap(), "-o", &options, "start"]),
            _ => args.extend(["-m", "immediate", "stop"]),
        }
        assert!(self.run("pg_ctl", &args).success(), "pg_ctl {what}");
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        let data = self.folder.path().join("data");
        let _ = self.run(
            "pg_ctl",
            &["-D", data.to_str().unwrap(), "-m", "immediate", "stop"],
        );
    }
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_stopped_and_started_under_load_loses_no_row() {
    // It needs no DATABASE_URL: run it once, in the SQLite pass.
    if std::env::var("DATABASE_URL").is_ok_and(|url| url.starts_with("postgres")) {
        return;
    }
    let Some(postgres) = OwnPostgres::start() else {
        eprintln!("skipped: no PostgreSQL binaries in /usr/lib/postgresql");
        return;
    };
    let seconds = env_number("CHAOS_SECS", 20).max(10);
    let seed = env_number("CHAOS_SEED", 13);
    let database = TestDatabase::create_postgres(postgres.url()).await;
    let upstream = ChaosUpstream::start(seed).await;
    let folder = tempfile::tempdir().unwrap();
    let base = Arc::new(Mutex::new(String::new()));
    let mut pool = start(&database, folder.path(), &base);
    let token = prepare_server(
        &pool.binary.base,
        &upstream.url,
        &[("OPENAI", "sk-ok-pg")],
        false,
    )
    .await;

    let next = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..4)
        .map(|i| {
            tokio::spawn(load(
                base.clone(),
                token.clone(),
                seed + i,
                next.clone(),
                stop.clone(),
            ))
        })
        .collect();
    let phase = Duration::from_secs(seconds) / 5;
    let began = Instant::now();

    tokio::time::sleep(phase).await;
    postgres.ctl("stop");
    let down = Instant::now();
    tokio::time::sleep(phase).await;
    let down_for = down.elapsed();
    postgres.ctl("start");
    tokio::time::sleep(phase).await;
    postgres.ctl("stop");
    tokio::time::sleep(phase / 2).await;
    pool.signal("-KILL");
    let killed_at = Instant::now();
    let (_, mut log) = pool.wait().await;
    postgres.ctl("start");
    pool = start(&database, folder.path(), &base);
    tokio::time::sleep(phase).await;
    stop.store(true, Ordering::Relaxed);
    let mut outcomes = Vec::new();
    for worker in workers {
        outcomes.extend(worker.await.unwrap());
    }
    pool.signal("-TERM");
    let (status, lines) = pool.wait().await;
    assert!(status.success());
    log.extend(lines);

    let served_while_down = outcomes
        .iter()
        .filter(|o| o.finished > down && o.finished < down + down_for)
        .collect::<Vec<_>>();
    let hits = upstream.hits();
    let ledger = Ledger::read(database.url()).await;
    let account = Accounting::of(&outcomes, &hits, &ledger, killed_at, None);
    let panics = log.iter().filter(|l| l.contains("panicked")).count();
    let figures = json!({
        "seed": seed,
        "load_secs": began.elapsed().as_secs_f64(),
        "requests": outcomes.len(),
        "database_down_secs": down_for.as_secs_f64(),
        "answered_while_database_down": served_while_down.len(),
        "complete_while_database_down": served_while_down.iter().filter(|o| o.complete).count(),
        "requests_checked": account.checked,
        "requests_near_kill_9": account.in_kill_window,
        "upstream_attempts": hits.len(),
        "attempts_expected": account.expected,
        "attempts_found": account.found,
        "lost": account.lost,
        "duplicated": ledger.duplicates,
        "panics": panics,
    });
    println!("chaos figures (postgres stop/start): {figures}");

    assert!(!served_while_down.is_empty(), "{figures}");
    assert!(
        served_while_down.iter().all(|o| o.complete),
        "served while the database is down: {figures}"
    );
    assert!(account.checked > 50, "{figures}");
    assert_eq!((account.lost, ledger.duplicates), (0, 0), "{figures}");
    assert_eq!(account.found, account.expected, "{figures}");
    assert_eq!(panics, 0);
}
