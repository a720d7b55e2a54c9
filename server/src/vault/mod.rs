//! Secrets at rest: upstream keys, credentials in proxy and base URLs, and webhook URLs are
//! stored sealed with AES-256-GCM under a data key derived from the master key.
//!
//! A sealed value reads `enc:v1:<key id>:<base64(nonce || ciphertext)>`, with a random 96-bit
//! nonce per value; anything else is a plain-text value from before encryption (start-up seals
//! those, see [`rows`]). The key id is a fingerprint of the master key, so a value sealed under
//! another key is recognised rather than mistaken for garbage.

pub mod master_key;
pub mod rows;

use aes_gcm::{
    Aes256Gcm, Key, KeyInit, Nonce,
    aead::{Aead, AeadCore},
};
use base64::{Engine, engine::general_purpose::STANDARD};
use hmac::{Hmac, Mac};
use rand::Rng;
use sha2::Sha256;

use crate::entity::api_key;

/// What every sealed value starts with.
pub const SEALED_PREFIX: &str = "enc:v1:";

const NONCE_BYTES: usize = 12;

/// Why a stored value cannot be opened.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// Sealed under a master key other than the one loaded.
    #[error(
        "a secret in the database was encrypted with master key {found}, but the master key loaded is {loaded}; start with the master key the database was encrypted with"
    )]
    OtherKey { found: String, loaded: String },
    /// The key id matches but the value does not decrypt: damaged, or a forged row.
    #[error("a secret in the database is damaged and cannot be decrypted")]
    Damaged,
}

/// The master key's derived keys: one to seal values, one to hash upstream keys for uniqueness.
#[derive(Clone)]
pub struct Vault {
    key_id: String,
    cipher: Aes256Gcm,
    hash_key: [u8; 32],
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

/// HMAC-SHA256 of `message` under `key`.
fn hmac(key: &[u8], message: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length; the error arm cannot happen.
    let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(key) else {
        return [0; 32];
    };
    mac.update(message);
    mac.finalize().into_bytes().into()
}

impl Vault {
    /// The vault of a 32-byte master key. Each use gets a key of its own, derived by HMAC with
    /// a distinct label, so the hash column reveals nothing about the encryption key.
    pub fn new(master: &[u8; 32]) -> Self {
        let data_key = hmac(master, b"amp-pool/v1/aes-256-gcm");
        let hash_key = hmac(master, b"amp-pool/v1/key-hash");
        let key_id = hex::encode(&hmac(master, b"amp-pool/v1/key-id")[..6]);
        Self {
            key_id,
            cipher: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&data_key)),
            hash_key,
        }
    }

    /// The master key's fingerprint, as written in sealed values (12 hex digits).
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// `plain` sealed with a fresh random nonce.
    pub fn seal(&self, plain: &str) -> String {
        let mut nonce_bytes = [0u8; NONCE_BYTES];
        rand::rng().fill_bytes(&mut nonce_bytes);
        let nonce = Nonce::<<Aes256Gcm as AeadCore>::NonceSize>::from_slice(&nonce_bytes);
        // Encryption fails only for inputs of gigabytes; a secret is never one.
        let ciphertext = self
            .cipher
            .encrypt(nonce, plain.as_bytes())
            .unwrap_or_default();
        let mut payload = Vec::with_capacity(NONCE_BYTES + ciphertext.len());
        payload.extend_from_slice(&nonce_bytes);
        payload.extend_from_slice(&ciphertext);
        format!(
            "{SEALED_PREFIX}{}:{}",
            self.key_id,
            STANDARD.encode(payload)
        )
    }

    /// The plain text of a stored value: a sealed one decrypted, a legacy plain one as it is.
    pub fn open(&self, stored: &str) -> Result<String, VaultError> {
        let Some(rest) = stored.strip_prefix(SEALED_PREFIX) else {
            return Ok(stored.to_string());
        };
        let (key_id, payload) = rest.split_once(':').ok_or(VaultError::Damaged)?;
        if key_id != self.key_id {
            return Err(VaultError::OtherKey {
                found: key_id.to_string(),
                loaded: self.key_id.clone(),
            });
        }
        let payload = STANDARD.decode(payload).map_err(|_| VaultError::Damaged)?;
        if payload.len() < NONCE_BYTES {
            return Err(VaultError::Damaged);
        }
        let (nonce, ciphertext) = payload.split_at(NONCE_BYTES);
        let plain = self
            .cipher
            .decrypt(
                Nonce::<<Aes256Gcm as AeadCore>::NonceSize>::from_slice(nonce),
                ciphertext,
            )
            .map_err(|_| VaultError::Damaged)?;
        String::from_utf8(plain).map_err(|_| VaultError::Damaged)
    }

    /// Whether `stored` is sealed under this vault's key.
    pub fn sealed_here(&self, stored: &str) -> bool {
        stored
            .strip_prefix(SEALED_PREFIX)
            .and_then(|rest| rest.split_once(':'))
            .is_some_and(|(key_id, _)| key_id == self.key_id)
    }

    /// A URL as it is stored: sealed when it carries credentials (`user:password@`), as it is
    /// otherwise, so plain proxy addresses stay readable in the database.
    pub fn seal_url(&self, url: &str) -> String {
        if carries_credentials(url) {
            self.seal(url)
        } else {
            url.to_string()
        }
    }

    /// The keyed hash that makes (provider, secret) unique without storing the secret.
    pub fn key_hash(&self, provider: &str, secret: &str) -> String {
        let mut message = Vec::with_capacity(provider.len() + 1 + secret.len());
        message.extend_from_slice(provider.as_bytes());
        message.push(0);
        message.extend_from_slice(secret.as_bytes());
        hex::encode(hmac(&self.hash_key, &message))
    }

    /// A key row with its secret fields in plain text, for use in memory only.
    pub fn open_key(&self, mut row: api_key::Model) -> Result<api_key::Model, VaultError> {
        row.api_key = self.open(&row.api_key)?;
        row.proxy_ip = self.open(&row.proxy_ip)?;
        row.base_url = row.base_url.map(|url| self.open(&url)).transpose()?;
        Ok(row)
    }

    /// Every row opened; the first that cannot be is an error.
    pub fn open_keys(&self, rows: Vec<api_key::Model>) -> Result<Vec<api_key::Model>, VaultError> {
        rows.into_iter().map(|row| self.open_key(row)).collect()
    }
}

/// Loads the master key and makes the database consistent with it: every sealed secret must
/// open (a wrong key refuses to start, rather than serving keys that cannot work) and plain-text
/// secrets left from before encryption are sealed. Runs after migrations.
pub async fn unlock(
    settings: &crate::config::Settings,
    db: &sea_orm::DatabaseConnection,
) -> Result<Vault, crate::config::ConfigError> {
    let vault = master_key::load(settings)?;
    let sealed = rows::seal_existing(db, &vault).await.map_err(|error| {
        crate::config::ConfigError(format!(
            "refusing to start: {error} (the master key comes from AMP_POOL_MASTER_KEY, else {})",
            master_key::key_file(settings).display()
        ))
    })?;
    if sealed != rows::Resealed::default() {
        rows::forget_plain_pages(db).await.map_err(|error| {
            crate::config::ConfigError(format!(
                "cannot compact the database after encrypting its secrets: {error}"
            ))
        })?;
        tracing::info!(
            keys = sealed.keys,
            settings = sealed.settings,
            key_id = vault.key_id(),
            "encrypted secrets that were stored in plain text"
        );
    }
    Ok(vault)
}

/// Whether a URL holds a user name or password.
pub fn carries_credentials(url: &str) -> bool {
    url::Url::parse(url)
        .is_ok_and(|parsed| !parsed.username().is_empty() || parsed.password().is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vault(byte: u8) -> Vault {
        Vault::new(&[byte; 32])
    }

    #[test]
    fn a_sealed_value_opens_to_the_same_text_and_never_contains_it() {
        let vault = vault(7);
        let sealed = vault.seal("sk-live-0123456789abcdef");
        assert!(sealed.starts_with(&format!("enc:v1:{}:", vault.key_id())));
        assert!(!sealed.contains("0123456789abcdef"));
        assert_eq!(vault.open(&sealed).unwrap(), "sk-live-0123456789abcdef");
    }

    #[test]
    fn the_same_secret_seals_differently_each_time() {
        let vault = vault(7);
        assert_ne!(vault.seal("sk-same"), vault.seal("sk-same"));
    }

    #[test]
    fn plain_legacy_values_open_as_they_are() {
        assert_eq!(vault(7).open("sk-legacy-plain").unwrap(), "sk-legacy-plain");
    }

    #[test]
    fn another_master_key_is_named_not_mistaken_for_damage() {
        let sealed = vault(1).seal("sk-secret");
        match vault(2).open(&sealed) {
            Err(VaultError::OtherKey { found, loaded }) => {
                assert_eq!(found, vault(1).key_id());
                assert_eq!(loaded, vault(2).key_id());
            }
            other => panic!("expected OtherKey, got {other:?}"),
        }
    }

    #[test]
    fn a_tampered_value_is_damaged() {
        let vault = vault(3);
        let sealed = vault.seal("sk-secret");
        let (head, payload) = sealed.rsplit_once(':').unwrap();
        let mut bytes = STANDARD.decode(payload).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let tampered = format!("{head}:{}", STANDARD.encode(bytes));
        assert!(matches!(vault.open(&tampered), Err(VaultError::Damaged)));
    }

    #[test]
    fn key_hashes_depend_on_provider_secret_and_master_key() {
        let one = vault(1);
        assert_eq!(
            one.key_hash("openai", "sk-a"),
            one.key_hash("openai", "sk-a")
        );
        assert_ne!(one.key_hash("openai", "sk-a"), one.key_hash("amp", "sk-a"));
        assert_ne!(
            one.key_hash("openai", "sk-a"),
            one.key_hash("openai", "sk-b")
        );
        assert_ne!(
            one.key_hash("openai", "sk-a"),
            vault(2).key_hash("openai", "sk-a")
        );
    }

    #[test]
    fn only_urls_with_credentials_are_sealed() {
        let vault = vault(4);
        assert_eq!(
            vault.seal_url("http://10.0.0.1:3128"),
            "http://10.0.0.1:3128"
        );
        assert_eq!(vault.seal_url(""), "");
        let sealed = vault.seal_url("socks5://user:hunter2@10.0.0.1:1080");
        assert!(sealed.starts_with(SEALED_PREFIX));
        assert_eq!(
            vault.open(&sealed).unwrap(),
            "socks5://user:hunter2@10.0.0.1:1080"
        );
    }
}
