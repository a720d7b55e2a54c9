//! Where the master key comes from: `AMP_POOL_MASTER_KEY`, else a key file beside the database
//! (`data/master.key`, or `AMP_POOL_MASTER_KEY_FILE`), generated with mode 0600 on first start.

use std::{
    io::Write,
    path::{Path, PathBuf},
};

use base64::{
    Engine,
    engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD},
};
use rand::Rng;
use secrecy::ExposeSecret;

use super::Vault;
use crate::config::{ConfigError, Settings};

/// Name of the generated key file in the data folder.
pub const KEY_FILE_NAME: &str = "master.key";

/// 32 bytes written as 64 hex digits or as base64, or why not.
pub fn parse(text: &str) -> Result<[u8; 32], &'static str> {
    let text = text.trim();
    let bytes = if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        hex::decode(text).ok()
    } else {
        STANDARD
            .decode(text)
            .or_else(|_| URL_SAFE.decode(text))
            .or_else(|_| URL_SAFE_NO_PAD.decode(text))
            .ok()
    };
    bytes
        .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
        .ok_or("must be 32 bytes written as 64 hex digits or as base64 (make one with `openssl rand -base64 32`)")
}

/// The key file used when `AMP_POOL_MASTER_KEY` is unset.
pub fn key_file(settings: &Settings) -> PathBuf {
    settings
        .master_key_file
        .clone()
        .unwrap_or_else(|| settings.data_dir().join(KEY_FILE_NAME))
}

/// The vault of the configured master key; the key file is created when it does not exist.
pub fn load(settings: &Settings) -> Result<Vault, ConfigError> {
    if let Some(key) = &settings.master_key {
        let key = parse(key.expose_secret())
            .map_err(|why| ConfigError(format!("AMP_POOL_MASTER_KEY {why}")))?;
        return Ok(Vault::new(&key));
    }
    let path = key_file(settings);
    if path.exists() {
        return read_file(&path).map(|key| Vault::new(&key));
    }
    let key = create_file(&path)?;
    tracing::warn!(file = ?path, "generated a master key for the secrets in the database: back this file up, without it the upstream keys cannot be read");
    Ok(Vault::new(&key))
}

/// Reads a key file, refusing one that others may read.
pub fn read_file(path: &Path) -> Result<[u8; 32], ConfigError> {
    check_private(path)?;
    let text = std::fs::read_to_string(path).map_err(|error| {
        ConfigError(format!(
            "cannot read the master key file {}: {error}",
            path.display()
        ))
    })?;
    parse(&text).map_err(|why| ConfigError(format!("the master key file {} {why}", path.display())))
}

/// Writes a new random key to `path` (mode 0600, never over an existing file).
pub fn create_file(path: &Path) -> Result<[u8; 32], ConfigError> {
    let cannot = |error: std::io::Error| {
        ConfigError(format!(
            "cannot create the master key file {}: {error}; set AMP_POOL_MASTER_KEY or make the folder writable",
            path.display()
        ))
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(cannot)?;
    }
    let mut key = [0u8; 32];
    rand::rng().fill_bytes(&mut key);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(cannot)?;
    writeln!(file, "{}", STANDARD.encode(key)).map_err(cannot)?;
    file.sync_all().map_err(cannot)?;
    Ok(key)
}

#[cfg(unix)]
fn check_private(path: &Path) -> Result<(), ConfigError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .map_err(|error| {
            ConfigError(format!(
                "cannot read the master key file {}: {error}",
                path.display()
            ))
        })?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(ConfigError(format!(
            "the master key file {} may be read by other users (mode {:o}); run `chmod 600 {}` and start again",
            path.display(),
            mode & 0o777,
            path.display()
        )));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_path: &Path) -> Result<(), ConfigError> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_and_base64_keys_parse_and_short_ones_do_not() {
        let hex_key = "00".repeat(31) + "ff";
        assert_eq!(parse(&hex_key).unwrap()[31], 0xff);
        assert_eq!(parse(&STANDARD.encode([9u8; 32])).unwrap(), [9u8; 32]);
        assert_eq!(
            parse(&URL_SAFE_NO_PAD.encode([9u8; 32])).unwrap(),
            [9u8; 32]
        );
        assert!(parse(&STANDARD.encode([9u8; 16])).is_err());
        assert!(parse("not a key").is_err());
    }

    #[test]
    fn a_generated_file_is_private_and_reads_back_the_same_key() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("nested").join(KEY_FILE_NAME);
        let key = create_file(&path).unwrap();
        assert_eq!(read_file(&path).unwrap(), key);
        assert!(create_file(&path).is_err(), "never overwrites a key");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_key_file_others_can_read_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join(KEY_FILE_NAME);
        create_file(&path).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let error = read_file(&path).unwrap_err();
        assert!(error.0.contains("chmod 600"), "{error}");
    }
}
