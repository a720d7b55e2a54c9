//! Opening the database (SQLite or PostgreSQL) and applying migrations.

use std::{path::Path, time::Duration};

use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, Database, DatabaseConnection, DbBackend,
    sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous},
};

use crate::config::{ConfigError, Settings, redact_url};

/// How long an unused SQLite connection of the shared pool stays open.
const SQLITE_IDLE_CLOSE: Duration = Duration::from_secs(15);

/// Who a pool of connections serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Queries, jobs and start-up work: up to 8 connections on SQLite, 16 on PostgreSQL.
    Shared,
    /// The recorder's writer alone: one connection, kept open. Taking turns on the shared
    /// connections, its batches found the database changed by another connection each time,
    /// and SQLite then empties that connection's page cache, so every batch read the log's
    /// index pages again; each connection also kept its own copy of the writer's statements.
    Writer,
}

/// Connects to `DATABASE_URL` for `role`, creating the SQLite file and its folder when needed.
pub async fn connect(settings: &Settings, role: Role) -> Result<DatabaseConnection, ConfigError> {
    let url = settings.database_url.as_str();
    let is_sqlite = url.starts_with("sqlite:");
    if is_sqlite {
        ensure_sqlite_folder(url)?;
    }
    let mut options = ConnectOptions::new(url);
    options
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(10))
        .sqlx_logging(settings.db_echo);
    match role {
        Role::Writer => {
            options
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None);
        }
        // Each SQLite connection keeps its page cache and prepared statements in its own
        // thread's heap; those a burst opened close once idle, so an idle server shrinks.
        Role::Shared if is_sqlite => {
            options.max_connections(8).idle_timeout(SQLITE_IDLE_CLOSE);
        }
        Role::Shared => {
            options.max_connections(16);
        }
    }
    if is_sqlite {
        // WAL lets readers work while the writer commits; the busy timeout absorbs short
        // writer contention instead of failing with "database is locked".
        options
            // A SQLite connection cannot drop like a network one; no ping before each use.
            .test_before_acquire(false)
            .map_sqlx_sqlite_opts(|opts| {
                opts.journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(10))
                    .foreign_keys(true)
                    // Statement journals (a multi-row insert that may stop half way) in memory
                    // rather than in temporary files: the writer's batches make one each.
                    .pragma("temp_store", "memory")
            });
    }
    Database::connect(options).await.map_err(|error| {
        ConfigError(format!(
            "cannot open the database at {}: {error}; check DATABASE_URL",
            redact_url(url)
        ))
    })
}

/// The advisory lock that instances starting together on one PostgreSQL database take in turn
/// ("amp_migr" in ASCII).
const STARTUP_LOCK: i64 = 0x616d_705f_6d69_6772;

/// One instance's turn at start-up work that must not run twice at once on a PostgreSQL
/// database (migrations, creating the first admin and the stored secrets); nothing on SQLite.
/// Dropping it (or [`StartupTurn::end`]) closes its session, which ends the turn.
pub struct StartupTurn(Option<sea_orm::sqlx::PgConnection>);

impl StartupTurn {
    /// Waits for this instance's turn.
    pub async fn take(db: &DatabaseConnection) -> Result<StartupTurn, ConfigError> {
        use sea_orm::sqlx::query;
        if db.get_database_backend() != DbBackend::Postgres {
            return Ok(StartupTurn(None));
        }
        let failed = |error: sea_orm::sqlx::Error| {
            ConfigError(format!(
                "cannot take the start-up lock in the database: {error}"
            ))
        };
        let mut connection = db
            .get_postgres_connection_pool()
            .acquire()
            .await
            .map_err(failed)?
            .detach();
        query("SELECT pg_advisory_lock($1)")
            .bind(STARTUP_LOCK)
            .execute(&mut connection)
            .await
            .map_err(failed)?;
        Ok(StartupTurn(Some(connection)))
    }

    /// Ends the turn, for the next instance.
    pub async fn end(self) {
        use sea_orm::sqlx::Connection;
        if let Some(connection) = self.0 {
            let _ = connection.close().await;
        }
    }
}

/// Applies every pending migration in this instance's [`StartupTurn`] (the command-line tools,
/// which may run while instances start).
pub async fn migrate_in_turn(db: &DatabaseConnection) -> Result<(), ConfigError> {
    let turn = StartupTurn::take(db).await?;
    let result = migrate(db).await;
    turn.end().await;
    result
}

/// Applies every pending migration.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), ConfigError> {
    Migrator::up(db, None)
        .await
        .map_err(|error| ConfigError(format!("cannot apply database migrations: {error}")))
}

/// SQLite creates the file (`mode=rwc`) but not its folder.
fn ensure_sqlite_folder(url: &str) -> Result<(), ConfigError> {
    let path = url
        .trim_start_matches("sqlite:")
        .trim_start_matches("//")
        .split('?')
        .next()
        .unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return Ok(());
    }
    match Path::new(path).parent() {
        Some(folder) if !folder.as_os_str().is_empty() && !folder.exists() => {
            std::fs::create_dir_all(folder).map_err(|error| {
                ConfigError(format!(
                    "cannot create the database folder {}: {error}; check DATABASE_URL",
                    folder.display()
                ))
            })
        }
        _ => Ok(()),
    }
}
