//! Opening the database (SQLite or PostgreSQL) and applying migrations.

use std::{path::Path, time::Duration};

use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, Database, DatabaseConnection,
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
                // Statement journals (a multi-row insert that may stop half way) in memory
                // rather than in temporary files: the writer's batches make one each.
                .pragma("temp_store", "memory")
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
