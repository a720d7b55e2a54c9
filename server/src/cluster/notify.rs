//! PostgreSQL `LISTEN`/`NOTIFY`: sending this instance's notices, applying the others'.

use std::time::Duration;

use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, Statement, sqlx::postgres::PgListener,
};
use tokio::sync::mpsc;

use super::{
    CHANGES_CHANNEL, Change, ListenerState, apply, decode, encode,
    relay::{self, EVENTS_CHANNEL},
    resync,
};
use crate::state::AppState;

/// Pause before connecting the listener again after a failure.
const RECONNECT_AFTER: Duration = Duration::from_secs(1);

/// Sends each announced change as a `NOTIFY` until shutdown.
pub(super) async fn send(state: AppState, mut inbox: mpsc::Receiver<Change>) {
    loop {
        let change = tokio::select! {
            change = inbox.recv() => change,
            () = state.shutdown.cancelled() => return,
        };
        let Some(change) = change else { return };
        let Some(payload) = encode(state.cluster.instance_id(), change) else {
            continue;
        };
        notify(&state.db, CHANGES_CHANNEL, payload).await;
    }
}

/// Sends one notice on `channel`; a failure is logged (the periodic resync makes up for it).
pub(super) async fn notify(db: &DatabaseConnection, channel: &str, payload: String) {
    let statement = Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT pg_notify($1, $2)",
        [channel.into(), payload.into()],
    );
    if let Err(error) = db.execute_raw(statement).await {
        tracing::warn!(error = %error, channel, "cannot notify other instances");
    }
}

/// Listens for other instances' notices until shutdown, reconnecting (and resyncing in full,
/// since notices sent meanwhile are lost) whenever the connection drops.
pub(super) async fn listen(state: AppState) {
    loop {
        tokio::select! {
            () = listen_once(&state) => {}
            () = state.shutdown.cancelled() => return,
        }
        state
            .cluster
            .update(|s| s.listener = ListenerState::Connecting);
        tokio::select! {
            () = tokio::time::sleep(RECONNECT_AFTER) => {}
            () = state.shutdown.cancelled() => return,
        }
    }
}

/// One listener connection, from connecting until it fails.
async fn listen_once(state: &AppState) {
    let mut listener = match PgListener::connect(&state.settings.database_url).await {
        Ok(listener) => listener,
        Err(error) => {
            tracing::warn!(error = %error, "cannot connect the cluster listener; retrying");
            return;
        }
    };
    if let Err(error) = listener.listen_all([CHANGES_CHANNEL, EVENTS_CHANNEL]).await {
        tracing::warn!(error = %error, "cannot LISTEN for cluster notices; retrying");
        return;
    }
    state
        .cluster
        .update(|s| s.listener = ListenerState::Listening);
    // Whatever changed before LISTEN took effect was not announced to this connection.
    resync(state).await;
    loop {
        match listener.try_recv().await {
            Ok(Some(notification)) if notification.channel() == EVENTS_CHANNEL => {
                relay::receive(state, notification.payload());
            }
            Ok(Some(notification)) => {
                if let Some(change) = decode(state.cluster.instance_id(), notification.payload()) {
                    apply(state, change).await;
                }
            }
            Ok(None) => {
                // sqlx reconnected (and listens again), but notices may have been lost.
                tracing::warn!("the cluster listener reconnected; resyncing");
                resync(state).await;
            }
            Err(error) => {
                tracing::warn!(error = %error, "the cluster listener failed; reconnecting");
                return;
            }
        }
    }
}
