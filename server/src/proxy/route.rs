//! Which keys a request may use before the pool picks one: the key that holds the state it
//! refers to (a Responses follow-up), or any key, preferring the one its conversation is
//! stuck to.

use std::sync::Arc;

use axum::http::StatusCode;

use super::{
    error::{ErrorKind, ProxyError},
    request::ClientRequest,
};
use crate::{
    metrics::Metrics,
    pool::{KeyPool, Owner, PoolKey, Snapshot},
};

/// A response the pool does not know for this client token.
pub fn not_found(id: &str, param: &'static str) -> ProxyError {
    let mut error = ProxyError::new(
        StatusCode::NOT_FOUND,
        ErrorKind::NotFound,
        if param == "previous_response_id" {
            "previous_response_not_found"
        } else {
            "response_not_found"
        },
        format!(
            "response {id} is not known to this pool for this client token (it was not created through the pool with this token, or is older than the responses the pool remembers)"
        ),
    );
    error.param = Some(param);
    error
}

/// The keys a request may use.
pub enum Route {
    /// Only this key: the response the request continues lives in its account.
    Pinned(Arc<PoolKey>),
    /// Any key the pool picks; `sticky` is the key the conversation is stuck to, if any.
    Free {
        session: Option<u128>,
        sticky: Option<i32>,
    },
}

impl Route {
    /// The route for `request`; `previous_owner` is the owner of its `previous_response_id`,
    /// when known. A follow-up of a response whose key is gone or disabled is a 404 that says
    /// so (another key cannot see that response); one whose key is cooling down is a 503 to
    /// retry later.
    pub fn plan(
        pool: &KeyPool,
        snapshot: &Snapshot,
        request: &ClientRequest,
        previous_owner: Option<&Owner>,
        token_id: i32,
        session_ttl_secs: u64,
        now_ms: i64,
    ) -> Result<Route, ProxyError> {
        if let (Some(id), Some(owner)) = (&request.previous_response_id, previous_owner) {
            let key = owner_key(
                snapshot,
                id,
                owner,
                token_id,
                "previous_response_id",
                now_ms,
            )?;
            return Ok(Route::Pinned(key));
        }
        let session = request.session.filter(|_| session_ttl_secs > 0);
        let sticky = session.and_then(|session| pool.affinity().sticky_key(session, now_ms));
        Ok(Route::Free { session, sticky })
    }

    /// Notes which key served the request: the conversation sticks to it (again) for another
    /// `session_ttl_secs`, and the affinity hit rate counts whether it was the sticky key.
    pub fn served(
        &self,
        pool: &KeyPool,
        metrics: &Metrics,
        key_id: i32,
        session_ttl_secs: u64,
        now_ms: i64,
    ) {
        let Route::Free {
            session: Some(session),
            sticky,
        } = *self
        else {
            return;
        };
        if let Some(sticky) = sticky {
            metrics.session_affinity(sticky == key_id);
        }
        let ttl_ms = i64::try_from(session_ttl_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
        pool.affinity()
            .stick(session, key_id, now_ms.saturating_add(ttl_ms));
    }
}

/// The key that created response `id` for client token `token_id`, when it can still serve;
/// `param` names the request field that referred to it. Another token's response is not
/// found, as if it did not exist.
pub fn owner_key(
    snapshot: &Snapshot,
    id: &str,
    owner: &Owner,
    token_id: i32,
    param: &'static str,
    now_ms: i64,
) -> Result<Arc<PoolKey>, ProxyError> {
    let gone = |why: &str| {
        let mut error = ProxyError::new(
            StatusCode::NOT_FOUND,
            ErrorKind::NotFound,
            "response_not_found",
            format!(
                "response {id} was created with an upstream key that {why}; only that key's account holds it, so it cannot be reached through another key"
            ),
        );
        error.param = Some(param);
        if param == "previous_response_id" {
            error.code = "previous_response_not_found";
        }
        error
    };
    if owner.token_id != Some(token_id) {
        return Err(not_found(id, param));
    }
    let Some(key) = snapshot.key(owner.key_id) else {
        return Err(gone("has since been removed from the pool"));
    };
    if !key.enabled || key.health.is_auto_disabled() || key.client.is_none() {
        return Err(gone("is disabled now"));
    }
    let until = key.health.cooldown_until_ms();
    if until > now_ms {
        let back = chrono::DateTime::from_timestamp_millis(until)
            .map(|at| at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            .unwrap_or_default();
        return Err(ProxyError::unavailable(format!(
            "the upstream key that holds response {id} is cooling down until {back}; retry then"
        )));
    }
    Ok(key.clone())
}
