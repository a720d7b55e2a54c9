//! `AppState`: cheap clonable handles shared by every surface.

use std::sync::Arc;

use sea_orm::DatabaseConnection;
use tokio_util::sync::CancellationToken;

use crate::{
    access::AccessGate,
    auth::{JwtKeys, LoginLimiter, password::Hasher},
    cluster::{Change, SharedCluster},
    config::Settings,
    events::EventBus,
    live_config::LiveConfig,
    metrics::Metrics,
    pool::KeyPool,
    recorder::Recorder,
    vault::Vault,
};

/// Handles to everything a request may need. Request-derived data (the admin session, the
/// client token) travels in the request, never here.
#[derive(Clone)]
pub struct AppState {
    /// The database pool.
    pub db: DatabaseConnection,
    /// The start-up configuration.
    pub settings: Arc<Settings>,
    /// Settings admins change at run time.
    pub live: LiveConfig,
    /// The upstream keys, in memory.
    pub pool: Arc<KeyPool>,
    /// The client tokens for `/v1`, in memory.
    pub access: Arc<AccessGate>,
    /// The batching writer of request logs and rollups.
    pub recorder: Recorder,
    /// The bus that carries live events from the proxy to subscriptions.
    pub events: EventBus,
    /// Prometheus metrics.
    pub metrics: Arc<Metrics>,
    /// Admin JWT signing and verification.
    pub jwt: Arc<JwtKeys>,
    /// Limits admin login attempts.
    pub login_limiter: Arc<LoginLimiter>,
    /// Hashes and checks passwords, a few at a time.
    pub hasher: Arc<Hasher>,
    /// Seals and opens the secrets stored in the database.
    pub vault: Arc<Vault>,
    /// Cancelled when the server begins to shut down.
    pub shutdown: CancellationToken,
    /// The link to the other instances on the same database.
    pub cluster: SharedCluster,
}

impl AppState {
    /// After a committed change: brings this instance up to date and tells the others.
    pub async fn changed(&self, change: Change) {
        crate::cluster::apply_here(self, change.clone()).await;
        self.cluster.announce(change);
    }

    /// Rebuilds the key snapshot after keys changed. A failure keeps the old snapshot.
    pub async fn reload_keys(&self) {
        let live = self.live.current();
        if let Err(error) = self.pool.reload(&self.db, &live.proxy).await {
            tracing::error!(error = %error, "cannot reload the key pool; keeping the previous snapshot");
        }
    }

    /// Rebuilds the client token table after tokens changed.
    pub async fn reload_tokens(&self) {
        if let Err(error) = self.access.reload(&self.db).await {
            tracing::error!(error = %error, "cannot reload access tokens; keeping the previous table");
        }
    }

    /// Re-reads the admins' token versions, to pick up a password set by the CLI.
    pub async fn reload_admins(&self) {
        match crate::service::admins::token_versions(&self.db).await {
            Ok(versions) => self.jwt.versions().replace_all(versions),
            Err(error) => {
                tracing::error!(error = %error, "cannot reload admin token versions; keeping the previous ones");
            }
        }
    }

    /// Re-reads run-time settings (and rebuilds the key clients they shape).
    pub async fn reload_config(&self) {
        if let Err(error) = self.live.reload(&self.db, &self.vault).await {
            tracing::error!(error = %error, "cannot reload the configuration");
        }
        self.reload_keys().await;
    }
}
