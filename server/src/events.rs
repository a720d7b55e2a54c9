//! The event bus shared by the proxy (which publishes) and GraphQL subscriptions (which listen).
//!
//! A `tokio::sync::broadcast` channel: publishing never waits, and a subscriber that falls behind
//! skips the events it missed instead of slowing the proxy.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::broadcast;

/// How many events a slow subscriber may fall behind before it starts skipping.
const BUS_CAPACITY: usize = 4096;

/// Which moment of an upstream attempt an event reports.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, async_graphql::Enum, serde::Serialize, serde::Deserialize,
)]
pub enum RequestPhase {
    /// The attempt was sent upstream.
    Started,
    /// The attempt finished and its log row is committed.
    Finished,
}

/// One upstream attempt, as seen live. Serialised to cross to other instances.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RequestEvent {
    pub phase: RequestPhase,
    pub request_id: String,
    pub attempt: i32,
    pub log_id: Option<i64>,
    pub key_id: Option<i32>,
    pub key_name: Option<String>,
    pub provider: String,
    pub endpoint: String,
    pub model: String,
    pub is_stream: bool,
    pub status: Option<String>,
    pub http_status_code: Option<i32>,
    pub error_type: Option<String>,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cache_read_tokens: i64,
    pub cache_creation_tokens: i64,
    /// Nano-USD.
    pub cost: i64,
    pub latency_ms: Option<i32>,
    pub first_byte_ms: Option<i32>,
    pub at: DateTime<Utc>,
}

/// What happened to a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, async_graphql::Enum)]
pub enum KeyEventKind {
    /// Disabled, by an admin or by the pool.
    Disabled,
    /// Enabled again by an admin.
    Enabled,
    /// Out of rotation until `until`.
    CooledDown,
    /// A balance refresh changed the balance.
    BalanceChanged,
}

/// A change of a key's state.
#[derive(Clone, Debug)]
pub struct KeyEvent {
    pub kind: KeyEventKind,
    pub key_id: i32,
    pub key_name: String,
    pub provider: String,
    /// Why (disables), or the balance source's error.
    pub reason: Option<String>,
    /// Whether the pool did it (rather than an admin).
    pub automatic: bool,
    /// End of a cooldown.
    pub until: Option<DateTime<Utc>>,
    /// The new balance in USD.
    pub balance: Option<f64>,
    pub at: DateTime<Utc>,
    /// Learnt from another instance (which announced it already), not seen here.
    pub relayed: bool,
}

impl KeyEvent {
    /// A cooldown or disable the pool decided for `key`: here, or on another instance when
    /// `relayed`.
    pub fn automatic(
        key: &crate::pool::PoolKey,
        kind: KeyEventKind,
        reason: Option<String>,
        until: Option<DateTime<Utc>>,
        relayed: bool,
    ) -> Self {
        Self {
            kind,
            key_id: key.id,
            key_name: key.name.clone(),
            provider: key.provider.as_str().to_string(),
            reason,
            automatic: true,
            until,
            balance: None,
            at: Utc::now(),
            relayed,
        }
    }
}

/// A cheap, clonable handle on the broadcast channels.
#[derive(Clone)]
pub struct EventBus {
    requests: broadcast::Sender<Arc<RequestEvent>>,
    /// This instance's own request events only, for the cluster to pass on to the others (a
    /// separate channel, so events that came from them are never sent back).
    own_requests: broadcast::Sender<Arc<RequestEvent>>,
    keys: broadcast::Sender<Arc<KeyEvent>>,
}

impl Default for EventBus {
    fn default() -> Self {
        Self::new()
    }
}

impl EventBus {
    /// A bus with no subscribers yet.
    pub fn new() -> Self {
        let (requests, _) = broadcast::channel(BUS_CAPACITY);
        let (own_requests, _) = broadcast::channel(BUS_CAPACITY);
        let (keys, _) = broadcast::channel(BUS_CAPACITY);
        Self {
            requests,
            own_requests,
            keys,
        }
    }

    /// Publishes a request event of this instance; with no subscriber it is simply dropped.
    pub fn publish_request(&self, event: RequestEvent) {
        let event = Arc::new(event);
        if self.own_requests.receiver_count() > 0 {
            let _ = self.own_requests.send(event.clone());
        }
        let _ = self.requests.send(event);
    }

    /// Publishes a request event another instance served, to this instance's subscribers.
    pub fn publish_peer_request(&self, event: RequestEvent) {
        let _ = self.requests.send(Arc::new(event));
    }

    /// A new receiver of this instance's own request events (not those of other instances).
    pub fn subscribe_own_requests(&self) -> broadcast::Receiver<Arc<RequestEvent>> {
        self.own_requests.subscribe()
    }

    /// Publishes a key event.
    pub fn publish_key(&self, event: KeyEvent) {
        let _ = self.keys.send(Arc::new(event));
    }

    /// A new receiver of key events from now on.
    pub fn subscribe_keys(&self) -> broadcast::Receiver<Arc<KeyEvent>> {
        self.keys.subscribe()
    }

    /// How many subscribers listen for key events right now.
    pub fn key_subscribers(&self) -> usize {
        self.keys.receiver_count()
    }

    /// How many subscribers listen for request events right now.
    pub fn request_subscribers(&self) -> usize {
        self.requests.receiver_count()
    }

    /// Whether anyone takes request events: a subscription here, or other instances.
    pub fn wants_requests(&self) -> bool {
        self.requests.receiver_count() > 0 || self.own_requests.receiver_count() > 0
    }

    /// A new receiver of request events from now on.
    pub fn subscribe_requests(&self) -> broadcast::Receiver<Arc<RequestEvent>> {
        self.requests.subscribe()
    }
}
