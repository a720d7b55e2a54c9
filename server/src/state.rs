//! `AppState`: cheap clonable handles shared by every surface.

use std::sync::Arc;

use sea_orm::DatabaseConnection;
use tokio_util::sync::CancellationToken;

use crate::{
    auth::{JwtKeys, LoginLimiter},
    config::Settings,
    events::EventBus,
};

/// Handles to everything a request may need. Request-derived data (the admin session) travels
/// in the request, never here.
#[derive(Clone)]
pub struct AppState {
    /// The database pool.
    pub db: DatabaseConnection,
    /// The effective configuration.
    pub settings: Arc<Settings>,
    /// The bus that carries live events from the proxy to subscriptions.
    pub events: EventBus,
    /// Admin JWT signing and verification.
    pub jwt: Arc<JwtKeys>,
    /// Limits admin login attempts.
    pub login_limiter: Arc<LoginLimiter>,
    /// Cancelled when the server begins to shut down.
    pub shutdown: CancellationToken,
}
