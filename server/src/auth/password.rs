//! Argon2 password hashing, bounded: a few hashes at a time, off the async threads.
//!
//! Each argon2 hash needs 19 MiB. Run freely, a burst of anonymous logins made the server
//! allocate that per attempt at once, and glibc kept the freed memory, so the process never
//! shrank back. Here at most [`CONCURRENT_HASHES`] run at once; a few more callers may wait,
//! and anyone past them is told at once that the server is busy. Each hash's working memory is
//! freed when it ends: one that stayed for reuse kept an idle server 19 MiB larger for the sake
//! of a login now and then, and the allocator (mimalloc) hands a block this size back to the
//! system.

use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};

use argon2::{
    Algorithm, Argon2, Block, Params, Version,
    password_hash::phc::{Output, ParamsString, PasswordHash, Salt},
};
use rand::Rng;
use tokio::sync::Semaphore;

use crate::error::ServiceError;

/// Shortest password an admin may set.
pub const MIN_PASSWORD_LEN: usize = 8;
/// Hashes computed at the same time.
pub const CONCURRENT_HASHES: usize = 2;
/// Callers that may wait for a hash slot; anyone beyond them is refused at once.
pub const WAITING_HASHES: usize = 8;
/// Bytes of salt in a new hash.
const SALT_LEN: usize = 16;

/// The gate every password hash and check goes through.
pub struct Hasher {
    /// Callers inside the gate: hashing or waiting to.
    admitted: Semaphore,
    /// Callers hashing.
    running: Semaphore,
    /// Hashes computed so far (checks included); for tests and metrics.
    computed: Arc<AtomicU64>,
}

impl Default for Hasher {
    fn default() -> Self {
        Self::new(CONCURRENT_HASHES, WAITING_HASHES)
    }
}

/// What one hash computes, prepared on the async side.
struct Job {
    algorithm: Algorithm,
    version: Version,
    params: Params,
    salt: Vec<u8>,
    password: String,
    output_len: usize,
}

impl Hasher {
    /// A gate for `concurrent` hashes at a time and `waiting` more in line.
    pub fn new(concurrent: usize, waiting: usize) -> Self {
        Self {
            admitted: Semaphore::new(concurrent + waiting),
            running: Semaphore::new(concurrent),
            computed: Arc::default(),
        }
    }

    /// How many hashes this gate has computed.
    pub fn computed(&self) -> u64 {
        self.computed.load(Ordering::Relaxed)
    }

    /// Hashes `password` with argon2id, the default parameters and a fresh salt.
    pub async fn hash(&self, password: String) -> Result<String, ServiceError> {
        let mut salt = vec![0u8; SALT_LEN];
        rand::rng().fill_bytes(&mut salt);
        let params = Params::default();
        let job = Job {
            algorithm: Algorithm::Argon2id,
            version: Version::V0x13,
            output_len: params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN),
            params: params.clone(),
            salt: salt.clone(),
            password,
        };
        let output = self.run(job).await?;
        let phc = PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(&params).map_err(internal)?,
            salt: Some(Salt::new(&salt).map_err(internal)?),
            hash: Some(Output::new(&output).map_err(internal)?),
        };
        Ok(phc.to_string())
    }

    /// Whether `password` matches the stored hash. Without a stored hash (an unknown user) it
    /// does the same work against a hash nothing matches, so timing does not tell the two
    /// apart.
    pub async fn verify(
        &self,
        stored: Option<&str>,
        password: String,
    ) -> Result<bool, ServiceError> {
        let (job, expected) = match stored {
            Some(stored) => {
                let parsed = PasswordHash::new(stored)
                    .map_err(|error| internal(anyhow::anyhow!("stored hash: {error}")))?;
                let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
                    return Err(internal(anyhow::anyhow!(
                        "stored hash has no salt or output"
                    )));
                };
                let job = Job {
                    algorithm: Algorithm::try_from(parsed.algorithm.as_str()).map_err(internal)?,
                    version: parsed
                        .version
                        .map(Version::try_from)
                        .transpose()
                        .map_err(internal)?
                        .unwrap_or_default(),
                    params: Params::try_from(&parsed.params).map_err(internal)?,
                    salt: salt.as_ref().to_vec(),
                    password,
                    output_len: expected.len(),
                };
                (job, expected)
            }
            None => {
                let mut salt = vec![0u8; SALT_LEN];
                rand::rng().fill_bytes(&mut salt);
                let params = Params::default();
                let output_len = params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN);
                let nothing = Output::new(&vec![0u8; output_len]).map_err(internal)?;
                let job = Job {
                    algorithm: Algorithm::Argon2id,
                    version: Version::V0x13,
                    params,
                    salt,
                    password,
                    output_len,
                };
                (job, nothing)
            }
        };
        let computed = self.run(job).await?;
        let computed = Output::new(&computed).map_err(internal)?;
        // `Output`'s equality is constant-time.
        Ok(stored.is_some() && computed == expected)
    }

    /// Runs `job` on a blocking thread once a slot is free.
    async fn run(&self, job: Job) -> Result<Vec<u8>, ServiceError> {
        let _admitted = self.admitted.try_acquire().map_err(|_| {
            ServiceError::RateLimited(
                "the server is busy checking other passwords; try again in a few seconds".into(),
            )
        })?;
        let _running = self.running.acquire().await.map_err(internal)?;
        let computed = self.computed.clone();
        tokio::task::spawn_blocking(move || {
            let result = compute(&job);
            computed.fetch_add(1, Ordering::Relaxed);
            result
        })
        .await
        .map_err(internal)?
    }
}

fn compute(job: &Job) -> Result<Vec<u8>, ServiceError> {
    let mut blocks = vec![Block::new(); job.params.block_count()];
    let mut params = job.params.clone();
    // Params from a stored hash carry no output length; the stored output decides it.
    let mut builder = argon2::ParamsBuilder::new();
    builder
        .m_cost(params.m_cost())
        .t_cost(params.t_cost())
        .p_cost(params.p_cost())
        .output_len(job.output_len);
    params = builder.build().map_err(internal)?;
    let mut output = vec![0u8; job.output_len];
    Argon2::new(job.algorithm, job.version, params)
        .hash_password_into_with_memory(
            job.password.as_bytes(),
            &job.salt,
            &mut output,
            blocks.as_mut_slice(),
        )
        .map_err(internal)?;
    Ok(output)
}

fn internal(error: impl std::fmt::Display) -> ServiceError {
    ServiceError::internal(anyhow::anyhow!("argon2: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_own_password_only() {
        let hasher = Hasher::default();
        let stored = hasher.hash("correct horse".into()).await.expect("hashes");
        assert!(
            stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{stored}"
        );
        assert!(
            hasher
                .verify(Some(&stored), "correct horse".into())
                .await
                .expect("verifies")
        );
        assert!(
            !hasher
                .verify(Some(&stored), "wrong horse".into())
                .await
                .expect("verifies")
        );
    }

    #[tokio::test]
    async fn a_hash_from_the_argon2_crate_verifies() {
        use argon2::PasswordHasher as _;
        let stored = Argon2::default()
            .hash_password(b"correct horse")
            .expect("hashes")
            .to_string();
        let hasher = Hasher::default();
        assert!(
            hasher
                .verify(Some(&stored), "correct horse".into())
                .await
                .expect("verifies")
        );
    }

    #[tokio::test]
    async fn an_unknown_user_costs_one_hash_and_never_matches() {
        let hasher = Hasher::default();
        assert!(!hasher.verify(None, "".into()).await.expect("verifies"));
        assert_eq!(hasher.computed(), 1);
    }

    #[tokio::test]
    async fn callers_past_the_queue_are_refused_at_once() {
        let hasher = Arc::new(Hasher::new(1, 1));
        // Hold both places: one hashing, one waiting.
        let admitted = hasher.admitted.try_acquire_many(2).expect("free");

        let refused = hasher.verify(None, "x".into()).await;

        assert!(matches!(refused, Err(ServiceError::RateLimited(_))));
        assert_eq!(hasher.computed(), 0);
        drop(admitted);
        assert!(!hasher.verify(None, "x".into()).await.expect("runs"));
    }
}
