//! Several instances on one database: what one instance changes reaches the others at once.
//!
//! On PostgreSQL every instance `LISTEN`s on [`CHANGES_CHANNEL`]; a change of keys, tokens,
//! settings or admins, and a key's health change (cooldown, automatic disable), is announced
//! with a small `NOTIFY` after its commit, and the others reload just that. A lost listener
//! connection is followed by a full resync, and the periodic resync in `app` stays as the
//! safety net. Live request events cross too ([`relay`]), and the background jobs run on one
//! instance at a time ([`leader`]). On SQLite there is one instance (see [`single`]), so
//! announcing does nothing and that instance runs every job.

mod leader;
mod notify;
mod owners;
mod relay;
pub mod single;

pub use notify::listener_name;
pub use owners::response_owner;

use std::sync::{
    Arc, Mutex, PoisonError,
    atomic::{AtomicBool, Ordering},
};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::state::AppState;

/// The PostgreSQL channel of change notices.
pub const CHANGES_CHANNEL: &str = "amp_pool_changes";
/// Notices waiting to be sent at most; past that a notice is dropped (the periodic resync
/// catches up) rather than holding up the request that caused it.
const OUTBOX_CAPACITY: usize = 1024;

/// What changed, as far as other instances must know. Serialised into a notice's payload.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Change {
    /// Keys were created, changed or deleted: reload the key snapshot.
    Keys,
    /// An admin enabled this key: forget its automatic disable and cooldown, then reload.
    KeyEnabled { id: i32 },
    /// Client tokens changed: reload them.
    Tokens,
    /// Run-time settings changed: reload them (and the keys they shape).
    Config,
    /// An admin's password or sessions changed: reload the token versions.
    Admins,
    /// The pool took this key out of rotation until `until_ms` (Unix ms).
    CooledDown { id: i32, until_ms: i64 },
    /// The pool disabled this key (its row follows when the writer commits it).
    Disabled {
        id: i32,
        /// Absent from the notices of versions that did not send it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
}

/// One notice on the wire: who sent it and what changed.
#[derive(Debug, Serialize, Deserialize)]
struct Notice {
    /// The sender's [`Cluster::instance_id`], so an instance ignores its own notices.
    from: String,
    #[serde(flatten)]
    change: Change,
}

/// The state of this instance's listener connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ListenerState {
    /// SQLite: a single instance, nothing to listen to.
    Off,
    /// Connecting, or reconnecting after a lost connection.
    Connecting,
    /// Listening.
    Listening,
}

/// What `/health` reports about this instance's place in the cluster.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterStatus {
    /// This instance's id (its `INSTANCE_NAME` and a random suffix).
    pub id: String,
    /// The listener connection's state.
    pub listener: ListenerState,
    /// When keys, tokens, settings and admins were last re-read in full.
    pub last_resync: Option<DateTime<Utc>>,
    /// Notices from other instances applied since start.
    pub notices_applied: u64,
    /// Whether this instance runs the cluster's background jobs.
    pub leads_jobs: bool,
    /// Live instances on the database, this one included, as last counted.
    pub instances: u32,
}

/// This instance's link to the others: an outbox of notices and the listener's status.
pub struct Cluster {
    instance_id: String,
    /// `None` on SQLite.
    outbox: Option<mpsc::Sender<Change>>,
    inbox: Mutex<Option<mpsc::Receiver<Change>>>,
    status: Mutex<ClusterStatus>,
    /// Held for the life of a SQLite instance: refuses a second one on the same file.
    single: Mutex<Option<single::SingleInstance>>,
    /// Whether this instance runs the background jobs (always, alone on SQLite).
    leader: AtomicBool,
}

impl Cluster {
    /// A cluster link for an instance called `name`; `shared` when the database is PostgreSQL.
    pub fn new(name: &str, shared: bool, single: Option<single::SingleInstance>) -> Self {
        let suffix = uuid::Uuid::new_v4().simple().to_string();
        let instance_id = format!("{name}-{}", &suffix[..8]);
        let (outbox, inbox) = if shared {
            let (tx, rx) = mpsc::channel(OUTBOX_CAPACITY);
            (Some(tx), Some(rx))
        } else {
            (None, None)
        };
        Self {
            status: Mutex::new(ClusterStatus {
                id: instance_id.clone(),
                listener: if shared {
                    ListenerState::Connecting
                } else {
                    ListenerState::Off
                },
                last_resync: None,
                notices_applied: 0,
                leads_jobs: !shared,
                instances: 1,
            }),
            leader: AtomicBool::new(!shared),
            instance_id,
            outbox,
            inbox: Mutex::new(inbox),
            single: Mutex::new(single),
        }
    }

    /// This instance's id, unique among the instances on the database.
    pub fn instance_id(&self) -> &str {
        &self.instance_id
    }

    /// Tells the other instances about a committed change. Never waits: a full outbox drops
    /// the notice, and the periodic resync makes up for it.
    pub fn announce(&self, change: Change) {
        if let Some(outbox) = &self.outbox
            && outbox.try_send(change).is_err()
        {
            tracing::warn!(
                "the cluster outbox is full; other instances catch up at the next resync"
            );
        }
    }

    /// Whether other instances may share the database (PostgreSQL).
    pub fn is_shared(&self) -> bool {
        self.outbox.is_some()
    }

    /// Whether this instance runs the once-per-cluster background jobs now.
    pub fn leads_jobs(&self) -> bool {
        self.leader.load(Ordering::Relaxed)
    }

    fn set_leader(&self, leads: bool) {
        self.leader.store(leads, Ordering::Relaxed);
        self.update(|s| s.leads_jobs = leads);
    }

    /// What `/health` shows.
    pub fn status(&self) -> ClusterStatus {
        self.status
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Lets another instance open the SQLite file (at shutdown).
    pub fn release(&self) {
        self.single
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
    }

    fn update(&self, change: impl FnOnce(&mut ClusterStatus)) {
        change(&mut self.status.lock().unwrap_or_else(PoisonError::into_inner));
    }

    fn take_inbox(&self) -> Option<mpsc::Receiver<Change>> {
        self.inbox
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }
}

/// Starts the tasks that link this instance to the others (on PostgreSQL), until shutdown.
pub fn spawn(state: &AppState) {
    let Some(inbox) = state.cluster.take_inbox() else {
        state.cluster.update(|s| s.last_resync = Some(Utc::now()));
        return;
    };
    tokio::spawn(notify::send(state.clone(), inbox));
    tokio::spawn(notify::listen(state.clone()));
    tokio::spawn(forward_health(state.clone()));
    let (learnt, relayed) = mpsc::channel(relay::LEARNT_CAPACITY);
    state.pool.affinity().share_with(learnt);
    tokio::spawn(relay::send(state.clone(), relayed));
    tokio::spawn(leader::compete(state.clone()));
}

/// Re-reads everything other instances may have changed, and notes when.
pub async fn resync(state: &AppState) {
    state.reload_config().await;
    state.reload_tokens().await;
    state.reload_admins().await;
    state.cluster.update(|s| s.last_resync = Some(Utc::now()));
}

/// Announces this instance's own automatic health changes, which the proxy publishes on the
/// key bus. Changes that came from other instances are on the bus too (for this instance's
/// `keyEvents` subscribers), marked as relayed, and are not sent back.
async fn forward_health(state: AppState) {
    use crate::events::KeyEventKind;
    use tokio::sync::broadcast::error::RecvError;
    let mut events = state.events.subscribe_keys();
    loop {
        let event = tokio::select! {
            event = events.recv() => event,
            () = state.shutdown.cancelled() => return,
        };
        let event = match event {
            Ok(event) => event,
            Err(RecvError::Lagged(missed)) => {
                tracing::warn!(
                    missed,
                    "missed key events; other instances catch up at the next resync"
                );
                continue;
            }
            Err(RecvError::Closed) => return,
        };
        if !event.automatic || event.relayed {
            continue;
        }
        match event.kind {
            KeyEventKind::CooledDown => {
                if let Some(until) = event.until {
                    state.cluster.announce(Change::CooledDown {
                        id: event.key_id,
                        until_ms: until.timestamp_millis(),
                    });
                }
            }
            KeyEventKind::Disabled => state.cluster.announce(Change::Disabled {
                id: event.key_id,
                reason: event.reason.clone(),
            }),
            KeyEventKind::Enabled | KeyEventKind::BalanceChanged => {}
        }
    }
}

/// Applies another instance's change to this one, and tells this instance's `keyEvents`
/// subscribers about health changes as if they had happened here.
async fn apply(state: &AppState, change: Change) {
    let event = relayed_key_event(state, &change);
    apply_here(state, change).await;
    if let Some(event) = event {
        state.events.publish_key(event);
    }
    state.cluster.update(|s| s.notices_applied += 1);
}

/// The key event another instance published for `change`, if it is a health change of a key
/// this instance knows.
fn relayed_key_event(state: &AppState, change: &Change) -> Option<crate::events::KeyEvent> {
    use crate::events::{KeyEvent, KeyEventKind};
    let (id, kind, reason, until) = match change {
        Change::CooledDown { id, until_ms } => (
            *id,
            KeyEventKind::CooledDown,
            None,
            DateTime::from_timestamp_millis(*until_ms),
        ),
        Change::Disabled { id, reason } => (*id, KeyEventKind::Disabled, reason.clone(), None),
        _ => return None,
    };
    let snapshot = state.pool.snapshot();
    let key = snapshot.key(id)?;
    Some(KeyEvent::automatic(key, kind, reason, until, true))
}

/// Brings this instance up to date with a committed change.
pub async fn apply_here(state: &AppState, change: Change) {
    match change {
        Change::Keys => state.reload_keys().await,
        Change::KeyEnabled { id } => {
            state.pool.reset_health(id);
            state.reload_keys().await;
        }
        Change::Tokens => state.reload_tokens().await,
        Change::Config => state.reload_config().await,
        Change::Admins => state.reload_admins().await,
        Change::CooledDown { id, until_ms } => {
            if let Some(key) = state.pool.snapshot().key(id) {
                key.health.cool_down_until(until_ms);
            }
        }
        Change::Disabled { id, .. } => {
            if let Some(key) = state.pool.snapshot().key(id) {
                key.health.disable();
            }
        }
    }
}

/// The payload of a notice on [`CHANGES_CHANNEL`], for `pg_notify`.
fn encode(from: &str, change: Change) -> Option<String> {
    serde_json::to_string(&Notice {
        from: from.to_string(),
        change,
    })
    .ok()
}

/// The change in a payload from another instance; `None` for this instance's own notices and
/// for payloads it cannot read (a newer version's, say).
fn decode(own_id: &str, payload: &str) -> Option<Change> {
    match serde_json::from_str::<Notice>(payload) {
        Ok(notice) if notice.from != own_id => Some(notice.change),
        Ok(_) => None,
        Err(error) => {
            tracing::warn!(error = %error, "ignoring a cluster notice this version cannot read");
            None
        }
    }
}

/// A shareable handle, as `AppState` holds it.
pub type SharedCluster = Arc<Cluster>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_notice_reaches_others_but_not_its_sender() {
        let payload = encode(
            "a-1",
            Change::CooledDown {
                id: 4,
                until_ms: 99,
            },
        )
        .unwrap();
        assert_eq!(
            payload,
            r#"{"from":"a-1","kind":"cooled_down","id":4,"until_ms":99}"#
        );
        assert_eq!(
            decode("b-2", &payload),
            Some(Change::CooledDown {
                id: 4,
                until_ms: 99
            })
        );
        assert_eq!(decode("a-1", &payload), None);
    }

    #[test]
    fn an_unknown_notice_is_ignored() {
        assert_eq!(decode("b", r#"{"from":"a","kind":"rebalance"}"#), None);
        assert_eq!(decode("b", "not json"), None);
    }

    #[test]
    fn announcing_on_sqlite_does_nothing() {
        let cluster = Cluster::new("pool", false, None);
        cluster.announce(Change::Keys);
        assert!(cluster.take_inbox().is_none());
        assert_eq!(cluster.status().listener, ListenerState::Off);
    }
}
