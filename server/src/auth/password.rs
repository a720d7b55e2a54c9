//! Argon2 password hashing, off the async threads (it is deliberately slow).

use argon2::{
    Argon2, PasswordHash, PasswordHasher, PasswordVerifier,
    password_hash::{SaltString, rand_core::OsRng},
};

use crate::error::ServiceError;

/// Shortest password an admin may set.
pub const MIN_PASSWORD_LEN: usize = 8;

/// Hashes `password` with argon2id and a fresh salt.
pub async fn hash(password: String) -> Result<String, ServiceError> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|error| ServiceError::internal(anyhow::anyhow!("argon2: {error}")))
    })
    .await
    .map_err(ServiceError::internal)?
}

/// Whether `password` matches the stored argon2 `hash`.
pub async fn verify(hash: String, password: String) -> Result<bool, ServiceError> {
    tokio::task::spawn_blocking(move || {
        let parsed = PasswordHash::new(&hash)
            .map_err(|error| ServiceError::internal(anyhow::anyhow!("stored hash: {error}")))?;
        Ok(Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok())
    })
    .await
    .map_err(ServiceError::internal)?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_own_password_only() {
        let stored = hash("correct horse".into()).await.expect("hashes");
        assert!(stored.starts_with("$argon2id$"));
        assert!(
            verify(stored.clone(), "correct horse".into())
                .await
                .expect("verifies")
        );
        assert!(
            !verify(stored, "wrong horse".into())
                .await
                .expect("verifies")
        );
    }
}
