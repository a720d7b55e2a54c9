//! One instance per SQLite file: a lock file beside the database, held while the server runs.
//!
//! Two instances on one SQLite file would each keep their own key health, rpm counters and
//! background jobs with nothing to tell the other; that is what PostgreSQL is for.

use std::{
    fs::{File, OpenOptions},
    path::{Path, PathBuf},
};

use crate::config::ConfigError;

/// The held lock; dropping it lets another instance start.
#[derive(Debug)]
pub struct SingleInstance {
    _file: File,
}

/// The SQLite file of `url`, or `None` for PostgreSQL and in-memory databases.
pub fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && !path.starts_with(":memory:")).then(|| PathBuf::from(path))
}

/// Takes the lock of the SQLite file `database`, or says why another instance holds it.
pub fn acquire(database: &Path) -> Result<SingleInstance, ConfigError> {
    let mut name = database.as_os_str().to_owned();
    name.push(".instance.lock");
    let path = PathBuf::from(name);
    // Taken before the database is opened, so its folder may not exist yet; a folder that
    // cannot be made fails below with the lock file's path.
    if let Some(folder) = path.parent().filter(|f| !f.as_os_str().is_empty()) {
        let _ = std::fs::create_dir_all(folder);
    }
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|error| {
            ConfigError(format!(
                "cannot create the lock file {}: {error}; check the database folder's permissions",
                path.display()
            ))
        })?;
    match file.try_lock() {
        Ok(()) => Ok(SingleInstance { _file: file }),
        Err(std::fs::TryLockError::WouldBlock) => Err(ConfigError(format!(
            "another AMP Pool instance already uses the SQLite database {}: SQLite serves one instance; to run several, use PostgreSQL (DATABASE_URL=postgres://…)",
            database.display()
        ))),
        Err(std::fs::TryLockError::Error(error)) => Err(ConfigError(format!(
            "cannot lock {}: {error}",
            path.display()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_files_are_found_in_urls() {
        assert_eq!(
            sqlite_file("sqlite://data/amp.db?mode=rwc"),
            Some(PathBuf::from("data/amp.db"))
        );
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(sqlite_file("postgres://u@h/db"), None);
    }

    #[test]
    fn a_second_lock_on_one_file_is_refused_until_the_first_is_dropped() {
        let folder = tempfile::tempdir().unwrap();
        let database = folder.path().join("amp.db");
        let first = acquire(&database).unwrap();
        let refused = acquire(&database).unwrap_err();
        assert!(refused.0.contains("use PostgreSQL"), "{refused}");
        drop(first);
        assert!(acquire(&database).is_ok());
    }
}
