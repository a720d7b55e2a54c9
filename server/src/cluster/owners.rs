//! Which key holds a Responses-API response another instance created.
//!
//! The creating instance passes the owner on with its next batch of events (within about
//! 50 ms), so a follow-up that lands here sooner, or whose entry was dropped or evicted, looks
//! in the log, then waits a moment for the entry. Only requests that name a response unknown
//! here pay for this; on SQLite there is no other instance and nothing is looked up.

use std::time::Duration;

use crate::{pool::Owner, state::AppState};

/// How long a follow-up waits for another instance's entry, when the log does not have it
/// yet either: a few of that instance's batches.
const PEER_PATIENCE: Duration = Duration::from_millis(250);

/// The owner of response `id`: remembered here, or (with other instances) found in the log or
/// learnt from them shortly. `None` when no instance made it, as far as can be told.
pub async fn response_owner(state: &AppState, id: &str) -> Option<Owner> {
    let affinity = state.pool.affinity();
    if let Some(owner) = affinity.response_owner(id) {
        return Some(owner);
    }
    if !state.cluster.is_shared() {
        return None;
    }
    match affinity.find_response(&state.db, id).await {
        Ok(Some(owner)) => return Some(owner),
        Ok(None) => {}
        Err(error) => tracing::warn!(error = %error, "cannot look a response's key up in the log"),
    }
    affinity.await_response(id, PEER_PATIENCE).await
}
