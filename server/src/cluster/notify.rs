//! PostgreSQL `LISTEN`/`NOTIFY`: sending this instance's notices, applying the others'.

use std::{str::FromStr, time::Duration};

use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, Statement,
    sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions},
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

/// The listener connection's `application_name`, so an operator can tell it (and this
/// instance) apart in `pg_stat_activity`.
pub fn listener_name(instance_id: &str) -> String {
    format!("amp-pool listener {instance_id}")
}

/// A listener on its own connection, named after this instance.
async fn connect(state: &AppState) -> Result<PgListener, sea_orm::sqlx::Error> {
    let options = PgConnectOptions::from_str(&state.settings.database_url)?
        .application_name(&listener_name(state.cluster.instance_id()));
    // One connection without timeouts, as `PgListener::connect` makes.
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .max_lifetime(None)
        .idle_timeout(None)
        .connect_with(options)
        .await?;
    PgListener::connect_with(&pool).await
}

/// One listener connection, from connecting until it fails or is cut.
async fn listen_once(state: &AppState) {
    let mut listener = match connect(state).await {
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
                // The connection was cut; notices sent meanwhile are lost. A new connection
                // listens first and then resyncs, so nothing falls between the two.
                tracing::warn!("the cluster listener lost its connection; reconnecting");
                return;
            }
            Err(error) => {
                tracing::warn!(error = %error, "the cluster listener failed; reconnecting");
                return;
            }
        }
    }
}
