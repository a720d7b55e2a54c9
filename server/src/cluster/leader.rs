//! Background jobs once per cluster: the instance that holds a PostgreSQL advisory lock runs
//! them (balance refresh, retention, provider alerts).
//!
//! The lock belongs to a dedicated connection, so it goes when the holder does: PostgreSQL
//! releases a session's advisory locks as soon as its connection closes (a crash, a kill, a
//! shutdown), and another instance takes it at its next try, within [`RETRY_EVERY`]. A holder
//! that loses its connection stops leading at its next check, within [`CHECK_EVERY`].
//!
//! The same connection holds a second lock in shared mode, so counting its holders counts the
//! live instances; client-token rpm limits are split among them (see `access`), and while
//! there are others, client tokens are re-read at each check so budgets see their spend.

use std::time::Duration;

use sea_orm::sqlx::{Connection, PgConnection, query, query_scalar};

use crate::state::AppState;

/// The advisory lock's key ("amp_jobs" in ASCII).
const JOBS_LOCK: i64 = 0x616d_705f_6a6f_6273;
/// The lock every live instance holds shared ("amp_inst" in ASCII).
const INSTANCES_LOCK: i64 = 0x616d_705f_696e_7374;
/// How often an instance that does not lead tries to take the lock.
pub const RETRY_EVERY: Duration = Duration::from_secs(2);
/// How often the leader checks that its connection (and so its lock) is still there, and
/// recounts the instances.
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

/// Connects, counts itself among the live instances, and tries the jobs' lock until it holds
/// it; keeps both (and the instance count fresh) until the connection fails or shutdown.
async fn hold_while_possible(state: &AppState) {
    let mut connection = match PgConnection::connect(&state.settings.database_url).await {
        Ok(connection) => connection,
        Err(error) => {
            tracing::warn!(error = %error, "cannot connect to compete for the background jobs; retrying");
            return;
        }
    };
    // Every live instance holds this lock shared: counting its holders counts the instances.
    if let Err(error) = query("SELECT pg_advisory_lock_shared($1)")
        .bind(INSTANCES_LOCK)
        .execute(&mut connection)
        .await
    {
        tracing::warn!(error = %error, "cannot join the instance count; retrying");
        return;
    }
    let mut leads = false;
    loop {
        if !leads {
            match query_scalar::<_, bool>("SELECT pg_try_advisory_lock($1)")
                .bind(JOBS_LOCK)
                .fetch_one(&mut connection)
                .await
            {
                Ok(true) => {
                    leads = true;
                    state.cluster.set_leader(true);
                    tracing::info!("this instance runs the cluster's background jobs");
                }
                Ok(false) => {}
                Err(error) => {
                    tracing::warn!(error = %error, "cannot try the background jobs' lock; retrying");
                    return;
                }
            }
        }
        // Doubles as the check that the connection (and so the locks) is still there.
        match live_instances(&mut connection).await {
            Ok(count) => {
                state.cluster.update(|s| s.instances = count);
                if state.access.share_among(count) {
                    tracing::info!(
                        instances = count,
                        "the instance count changed; rpm limits are shared anew"
                    );
                    state.reload_tokens().await;
                } else if count > 1 {
                    // Picks up the spend the other instances committed, for budget checks.
                    state.reload_tokens().await;
                }
            }
            Err(error) => {
                tracing::warn!(error = %error, "lost the cluster connection; reconnecting");
                return;
            }
        }
        tokio::select! {
            () = tokio::time::sleep(if leads { CHECK_EVERY } else { RETRY_EVERY }) => {}
            () = state.shutdown.cancelled() => {
                // Closing releases both locks at once, for another instance to take.
                state.cluster.set_leader(false);
                let _ = connection.close().await;
                return;
            }
        }
    }
}

/// How many sessions hold [`INSTANCES_LOCK`] in this database: the live instances.
async fn live_instances(connection: &mut PgConnection) -> Result<u32, sea_orm::sqlx::Error> {
    // pg_locks shows a bigint key as its high and low 32 bits.
    let count = query_scalar::<_, i64>(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted \
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
         AND classid::bigint = $1 AND objid::bigint = $2 AND objsubid = 1",
    )
    .bind(INSTANCES_LOCK >> 32)
    .bind(INSTANCES_LOCK & 0xffff_ffff)
    .fetch_one(connection)
    .await?;
    Ok(u32::try_from(count).unwrap_or(u32::MAX).max(1))
}
