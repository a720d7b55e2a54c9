//! Opening the database (SQLite or PostgreSQL) and applying migrations.

use std::{path::Path, time::Duration};

use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, Database, DatabaseConnection, DbBackend,
    sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous},
};

use crate::config::{ConfigError, Settings, redact_url};

/// Connects to `DATABASE_URL`, creating the SQLite file and its folder when needed.
pub async fn connect(settings: &Settings) -> Result<DatabaseConnection, ConfigError> {
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
    if is_sqlite {
        // WAL lets readers work while the writer commits; the busy timeout absorbs short
        // writer contention instead of failing with "database is locked".
        options.max_connections(8).map_sqlx_sqlite_opts(|opts| {
            opts.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
        });
    } else {
        options.max_connections(16);
    }
    Database::connect(options).await.map_err(|error| {
        ConfigError(format!(
            "cannot open the database at {}: {error}; check DATABASE_URL",
            redact_url(url)
        ))
    })
}

/// The advisory lock that instances starting together on one PostgreSQL database take in turn
/// to migrate it ("amp_migr" in ASCII).
const MIGRATION_LOCK: i64 = 0x616d_705f_6d69_6772;

/// Applies every pending migration. On PostgreSQL, instances starting at once take turns, so
/// the second finds the work done instead of failing on a table the first just created.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), ConfigError> {
    use sea_orm::sqlx::{Connection, query};
    let failed = |error: &dyn std::fmt::Display| {
        ConfigError(format!("cannot apply database migrations: {error}"))
    };
    let turn = match db.get_database_backend() {
        DbBackend::Postgres => {
            let mut connection = db
                .get_postgres_connection_pool()
                .acquire()
                .await
                .map_err(|e| failed(&e))?
                .detach();
            query("SELECT pg_advisory_lock($1)")
                .bind(MIGRATION_LOCK)
                .execute(&mut connection)
                .await
                .map_err(|e| failed(&e))?;
            Some(connection)
        }
        _ => None,
    };
    let result = Migrator::up(db, None).await.map_err(|e| failed(&e));
    // Closing the session releases the lock.
    if let Some(connection) = turn {
        let _ = connection.close().await;
    }
    result
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
