//! Background jobs once per cluster: the instance that holds a PostgreSQL advisory lock runs
//! them (balance refresh, retention, provider alerts).
//!
//! The lock belongs to a dedicated connection, so it goes when the holder does: PostgreSQL
//! releases a session's advisory locks as soon as its connection closes (a crash, a kill, a
//! shutdown), and another instance takes it at its next try, within [`RETRY_EVERY`]. A holder
//! that loses its connection stops leading at its next check, within [`CHECK_EVERY`].

use std::time::Duration;

use sea_orm::sqlx::{Connection, PgConnection, query_scalar};

use crate::state::AppState;

/// The advisory lock's key ("amp_jobs" in ASCII).
const JOBS_LOCK: i64 = 0x616d_705f_6a6f_6273;
/// How often an instance that does not lead tries to take the lock.
pub const RETRY_EVERY: Duration = Duration::from_secs(2);
/// How often the leader checks that its connection (and so its lock) is still there.
const CHECK_EVERY: Duration = Duration::from_secs(2);

/// Competes for the lock until shutdown.
pub(super) async fn compete(state: AppState) {
    loop {
        hold_while_possible(&state).await;
        state.cluster.set_leader(false);
        tokio::select! {
            () = tokio::time::sleep(RETRY_EVERY) => {}
            () = state.shutdown.cancelled() => return,
        }
    }
}

/// Connects, waits for the lock, and holds it until the connection fails or shutdown.
async fn hold_while_possible(state: &AppState) {
    let mut connection = match PgConnection::connect(&state.settings.database_url).await {
        Ok(connection) => connection,
        Err(error) => {
            tracing::warn!(error = %error, "cannot connect to compete for the background jobs; retrying");
            return;
        }
    };
    loop {
        let taken = query_scalar::<_, bool>("SELECT pg_try_advisory_lock($1)")
            .bind(JOBS_LOCK)
            .fetch_one(&mut connection)
            .await;
        match taken {
            Ok(true) => break,
            Ok(false) => {}
            Err(error) => {
                tracing::warn!(error = %error, "cannot try the background jobs' lock; retrying");
                return;
            }
        }
        tokio::select! {
            () = tokio::time::sleep(RETRY_EVERY) => {}
            () = state.shutdown.cancelled() => {
                let _ = connection.close().await;
                return;
            }
        }
    }
    state.cluster.set_leader(true);
    tracing::info!("this instance runs the cluster's background jobs");
    loop {
        tokio::select! {
            () = tokio::time::sleep(CHECK_EVERY) => {
                if let Err(error) = connection.ping().await {
                    tracing::warn!(error = %error, "lost the background jobs' lock with its connection");
                    return;
                }
            }
            () = state.shutdown.cancelled() => {
                // Closing releases the lock at once, for another instance to take.
                state.cluster.set_leader(false);
                let _ = connection.close().await;
                return;
            }
        }
    }
}
