//! Building the state, the router, and serving until shutdown.

use std::{net::SocketAddr, sync::Arc};

use async_graphql::http::ALL_WEBSOCKET_PROTOCOLS;
use async_graphql_axum::GraphQLProtocol;
use axum::{
    Extension, Json, Router,
    extract::{ConnectInfo, State, WebSocketUpgrade},
    http::{HeaderMap, StatusCode, header::AUTHORIZATION},
    response::{IntoResponse, Response},
    routing::get,
};
use secrecy::ExposeSecret;
use serde_json::json;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower_http::{timeout::RequestBodyDeadlineLayer, trace::TraceLayer};

use crate::{
    access::AccessGate,
    auth::{JwtKeys, LoginLimiter, password::Hasher},
    config::{ConfigError, Settings},
    db,
    events::EventBus,
    graphql::{AppSchema, build_schema},
    live_config::LiveConfig,
    metrics::Metrics,
    pool::{KeyPool, ProviderUrls},
    provider::Provider,
    proxy,
    recorder::{BatchLimits, Journal, Recorder},
    service::{admins, keys, secrets},
    state::AppState,
};

/// How long shutdown waits for the database to take the last log rows; the rest stays in the
/// journal for the next start.
const CLOSE_PATIENCE: std::time::Duration = std::time::Duration::from_secs(10);
/// How long start-up waits for the database to take what a previous run left in the journal.
const REPLAY_PATIENCE: std::time::Duration = std::time::Duration::from_secs(60);

/// Connects to the database, applies migrations and prepares everything the server shares.
pub async fn build_state(
    settings: Settings,
    shutdown: CancellationToken,
) -> Result<AppState, ConfigError> {
    settings.validate()?;
    // Before the database is even opened: a second instance on one SQLite file stops here
    // (opening it at the same moment as the first could fail on SQLite's own lock instead).
    let single = crate::cluster::single::sqlite_file(&settings.database_url)
        .map(|file| crate::cluster::single::acquire(&file))
        .transpose()?;
    let db = db::connect(&settings, db::Role::Shared).await?;
    // Instances starting at once on one PostgreSQL database migrate and seed it in turn, so
    // the second finds the work done instead of failing on what the first just created.
    let turn = db::StartupTurn::take(&db).await?;
    db::migrate(&db).await?;
    let vault = Arc::new(crate::vault::unlock(&settings, &db).await?);
    let startup = |what: &str, error: crate::error::ServiceError| {
        ConfigError(format!("cannot {what} at start-up: {error:#}"))
    };

    let jwt_secret = match &settings.jwt_secret {
        Some(secret) => secret.expose_secret().to_string(),
        None => secrets::get_or_create(&db, secrets::JWT_SECRET)
            .await
            .map_err(|e| startup("create the JWT secret", e))?,
    };
    let jwt = JwtKeys::new(jwt_secret.as_bytes(), settings.jwt_ttl());

    let password = settings.admin_password.as_ref().map(|p| p.expose_secret());
    let hasher = Arc::new(Hasher::default());
    match admins::bootstrap(&db, &hasher, &settings.admin_username, password)
        .await
        .map_err(|e| startup("create the first admin", e))?
    {
        admins::Bootstrap::Existing => {}
        admins::Bootstrap::Created => {
            tracing::info!(username = ?settings.admin_username, "created the first admin with ADMIN_PASSWORD");
        }
        admins::Bootstrap::CreatedWithPassword(password) => {
            // The password never goes through the log: it is written to a file only the owner
            // can read.
            let path = admins::write_initial_password(
                &settings.data_dir(),
                &settings.admin_username,
                &password,
            )
            .map_err(|error| {
                ConfigError(format!(
                    "cannot write the first admin's password to {}: {error}; set it with `amp-pool admin set-password`",
                    settings.data_dir().display()
                ))
            })?;
            tracing::warn!(
                username = ?settings.admin_username,
                file = ?path,
                "created the first admin with a random password, written to the file: log in, change it and delete the file"
            );
        }
    }

    jwt.versions().replace_all(
        admins::token_versions(&db)
            .await
            .map_err(|e| startup("load the admins", e))?,
    );

    if let Some(amp_key) = &settings.amp_api_key {
        seed_amp_key(&db, &vault, amp_key.expose_secret())
            .await
            .map_err(|e| startup("add AMP_API_KEY", e))?;
    }
    turn.end().await;

    let live = LiveConfig::default();
    live.seed(&db, &vault)
        .await
        .map_err(|e| startup("load the run-time configuration", e))?;
    let pool = Arc::new(KeyPool::new(
        ProviderUrls {
            openai: settings.openai_base_url.clone(),
            anthropic: settings.anthropic_base_url.clone(),
            amp: settings.amp_base_url.clone(),
        },
        vault.clone(),
    ));
    pool.reload(&db, &live.current().proxy)
        .await
        .map_err(|e| startup("load the keys", e))?;
    let access = Arc::new(AccessGate::default());
    access
        .reload(&db)
        .await
        .map_err(|e| startup("load the access tokens", e))?;
    let events = EventBus::new();
    let metrics = Arc::new(Metrics::for_instance(&settings.instance_name));
    let journal_path = settings.journal_path();
    let journal = Journal::open(&journal_path).map_err(|error| {
        ConfigError(match error.kind() {
            std::io::ErrorKind::WouldBlock => format!(
                "another AMP Pool process uses the journal {}: give each instance its own INSTANCE_NAME or JOURNAL_DIR",
                journal_path.display()
            ),
            _ => format!(
                "cannot open the journal {}: {error}; check JOURNAL_DIR",
                journal_path.display()
            ),
        })
    })?;
    let recorder = Recorder::spawn(
        db::connect(&settings, db::Role::Writer).await?,
        events.clone(),
        metrics.clone(),
        BatchLimits {
            sync_every: std::time::Duration::from_millis(settings.journal_sync_ms),
            ..BatchLimits::default()
        },
        journal,
    );
    // Records a crash left in the journal go in before anything new is served.
    if tokio::time::timeout(REPLAY_PATIENCE, recorder.flush())
        .await
        .is_err()
    {
        tracing::warn!(
            "the journal is not yet replayed into the database; serving anyway, it keeps trying"
        );
    }
    // Reads what the journal held, so it comes after its replay.
    let responses = pool
        .affinity()
        .warm(&db)
        .await
        .map_err(|e| startup("load the recent responses' keys", e))?;
    tracing::debug!(responses, "remembered which keys hold recent responses");

    let cluster = Arc::new(crate::cluster::Cluster::new(
        &settings.instance_name,
        db.get_database_backend() == sea_orm::DbBackend::Postgres,
        single,
    ));
    let state = AppState {
        cluster,
        db,
        settings: Arc::new(settings),
        live,
        pool,
        access,
        recorder,
        events,
        metrics,
        jwt: Arc::new(jwt),
        login_limiter: Arc::new(LoginLimiter::default()),
        hasher,
        vault,
        shutdown,
    };
    crate::cluster::spawn(&state);
    // The check holds the rollups' write lock, so the writer's batches wait for it and count
    // once; it reads the last days' rows (about half a second at 700,000 of them), which the
    // start need not wait for.
    tokio::spawn(verify_recent_rollups(
        state.db.clone(),
        state.live.current().retention.clone(),
    ));
    tokio::spawn(refresh_periodically(state.clone()));
    tokio::spawn(crate::balance::refresh_periodically(state.clone()));
    tokio::spawn(crate::alerts::run(
        state.clone(),
        state.events.subscribe_keys(),
    ));
    tokio::spawn(crate::retention::run(state.clone()));
    Ok(state)
}

/// How often keys, tokens and settings are re-read, to pick up changes made elsewhere (the
/// CLI, another instance on the same database).
const REFRESH_EVERY: std::time::Duration = std::time::Duration::from_secs(30);

async fn refresh_periodically(state: AppState) {
    let mut ticks = tokio::time::interval(REFRESH_EVERY);
    ticks.tick().await;
    loop {
        tokio::select! {
            _ = ticks.tick() => crate::cluster::resync(&state).await,
            () = state.shutdown.cancelled() => return,
        }
    }
}

/// Rebuilds recent rollup buckets that no longer equal their log rows (a crash between writes,
/// a restore). A failure is logged, not fatal: the rollups are a cache of the log.
async fn verify_recent_rollups(
    db: sea_orm::DatabaseConnection,
    retention: crate::live_config::RetentionSettings,
) {
    match crate::recorder::verify_rollups(&db, crate::recorder::STARTUP_DAYS, &retention).await {
        Ok(check) if check.buckets_rebuilt > 0 => tracing::warn!(
            from = %check.from,
            checked = check.buckets_checked,
            rebuilt = check.buckets_rebuilt,
            "rebuilt rollup buckets that differed from the log rows"
        ),
        Ok(check) => tracing::debug!(
            from = %check.from,
            checked = check.buckets_checked,
            "rollups equal the log rows"
        ),
        Err(error) => tracing::error!(error = %error, "cannot verify the rollups at start"),
    }
}

/// `AMP_API_KEY` becomes the first AMP key when the pool has none.
async fn seed_amp_key(
    db: &sea_orm::DatabaseConnection,
    vault: &crate::vault::Vault,
    secret: &str,
) -> Result<(), crate::error::ServiceError> {
    if keys::any_of_provider(db, Provider::Amp).await? {
        return Ok(());
    }
    let key = keys::create(
        db,
        vault,
        keys::NewKey {
            name: "AMP (from AMP_API_KEY)".into(),
            provider: Some(Provider::Amp),
            api_key: secret.to_string(),
            ..Default::default()
        },
    )
    .await?;
    tracing::info!(key_id = key.id, "added AMP_API_KEY as the first AMP key");
    Ok(())
}

/// Every route of the server.
pub fn router(state: AppState) -> Router {
    let schema = build_schema(Some(state.clone()));
    Router::new()
        .route("/health", get(health))
        .route("/metrics", get(metrics_text))
        .route(
            "/graphql",
            get(crate::console::graphiql).post(crate::graphql::endpoint::post),
        )
        .route("/graphql/ws", get(graphql_ws))
        .layer(Extension(schema))
        .merge(proxy::router())
        .merge(crate::console::router())
        .layer(tower::util::option_layer(crate::http::cors::layer(
            &state.settings.cors_origins,
        )))
        .layer(RequestBodyDeadlineLayer::new(
            std::time::Duration::from_secs(state.settings.body_read_timeout_secs),
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Serves `listener` until `state.shutdown` is cancelled, lets in-flight requests finish (for
/// at most `SHUTDOWN_GRACE_SECS`) and cancels the rest, then waits until the writer has every
/// record on disk and (within [`CLOSE_PATIENCE`]) in the database.
pub async fn serve(listener: TcpListener, state: AppState) -> std::io::Result<()> {
    let recorder = state.recorder.clone();
    let result = crate::http::serve::serve(
        listener,
        router(state.clone()),
        (&*state.settings).into(),
        state.shutdown.clone(),
        state.settings.shutdown_grace(),
        move || recorder.begin_close(),
    )
    .await;
    state.recorder.close(CLOSE_PATIENCE).await;
    state.cluster.release();
    result
}

/// Binds `HOST:PORT`, serves until Ctrl-C or SIGTERM.
pub async fn run(settings: Settings) -> Result<(), ConfigError> {
    settings.validate()?;
    let addr = settings.listen_addr()?;
    tracing::info!(config = %settings.summary(), "starting AMP Pool");
    let listener = TcpListener::bind(addr).await.map_err(|error| {
        ConfigError(match error.kind() {
            std::io::ErrorKind::AddrInUse => format!(
                "port {} on {} is already in use: stop the other server or set PORT to a free port",
                addr.port(),
                addr.ip()
            ),
            _ => format!("cannot listen on {addr}: {error}; check HOST and PORT"),
        })
    })?;
    let shutdown = CancellationToken::new();
    let state = build_state(settings, shutdown.clone()).await?;
    // SIGTERM is caught from here on, before "listening" is logged: an orchestrator that
    // stops the server right after it started still gets a clean shutdown.
    #[cfg(unix)]
    let terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    #[cfg(not(unix))]
    let terminate = None::<()>;
    tokio::spawn(shutdown_on_signal(shutdown, terminate));
    let local = listener
        .local_addr()
        .map_err(|e| ConfigError(e.to_string()))?;
    tracing::info!("AMP Pool listening on http://{local} (the console at /, GraphiQL at /graphql)");
    serve(listener, state)
        .await
        .map_err(|error| ConfigError(format!("server error: {error}")))?;
    tracing::info!("AMP Pool stopped");
    Ok(())
}

/// Cancels `shutdown` on Ctrl-C or SIGTERM (`terminate`, registered by the caller).
async fn shutdown_on_signal(
    shutdown: CancellationToken,
    #[cfg(unix)] terminate: Option<tokio::signal::unix::Signal>,
    #[cfg(not(unix))] _terminate: Option<()>,
) {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match terminate {
            Some(mut signal) => {
                signal.recv().await;
            }
            None => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown requested; finishing in-flight requests");
    shutdown.cancel();
}

async fn health(State(state): State<AppState>) -> Response {
    let instance = state.cluster.status();
    match state.db.ping().await {
        Ok(()) => {
            Json(json!({"status": "ok", "database": "ok", "instance": instance})).into_response()
        }
        Err(error) => {
            tracing::error!(error = %error, "health check: database unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(
                    json!({"status": "unavailable", "database": "unreachable", "instance": instance}),
                ),
            )
                .into_response()
        }
    }
}

/// Prometheus metrics; needs `Authorization: Bearer <metrics.token>` when that is set.
async fn metrics_text(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let live = state.live.current();
    if let Some(expected) = live.metrics.token.as_deref().filter(|t| !t.is_empty()) {
        let given = headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(bearer_token);
        if !given.is_some_and(|given| same_secret(given, expected)) {
            return (
                StatusCode::UNAUTHORIZED,
                "metrics need Authorization: Bearer <metrics.token>\n",
            )
                .into_response();
        }
    }
    let text = state.metrics.render(
        &state.pool.snapshot(),
        state.recorder.queue_depth(),
        chrono::Utc::now().timestamp_millis(),
    );
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

/// The token of an `Authorization: Bearer <token>` value; the scheme is case-insensitive.
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

/// Compares two secrets in constant time (their SHA-256 digests, so the length does not leak
/// either).
fn same_secret(given: &str, expected: &str) -> bool {
    use sha2::{Digest, Sha256};
    use subtle::ConstantTimeEq;
    let (given, expected) = (
        Sha256::digest(given.as_bytes()),
        Sha256::digest(expected.as_bytes()),
    );
    given.as_slice().ct_eq(expected.as_slice()).into()
}

async fn graphql_ws(
    State(state): State<AppState>,
    Extension(schema): Extension<AppSchema>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    protocol: GraphQLProtocol,
    upgrade: WebSocketUpgrade,
) -> Response {
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |socket| {
            crate::graphql::socket::serve(socket, state, schema, protocol, peer.ip())
        })
}
