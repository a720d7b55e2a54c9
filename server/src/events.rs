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
#[derive(Clone, Copy, Debug, PartialEq, Eq, async_graphql::Enum)]
pub enum RequestPhase {
    /// The attempt was sent upstream.
    Started,
    /// The attempt finished and its log row is committed.
    Finished,
}

/// One upstream attempt, as seen live.
#[derive(Clone, Debug)]
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

/// A cheap, clonable handle on the broadcast channel.
#[derive(Clone)]
pub struct EventBus {
    requests: broadcast::Sender<Arc<RequestEvent>>,
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
        Self { requests }
    }

    /// Publishes a request event; with no subscriber it is simply dropped.
    pub fn publish_request(&self, event: RequestEvent) {
        let _ = self.requests.send(Arc::new(event));
    }

    /// How many subscribers listen for request events right now.
    pub fn request_subscribers(&self) -> usize {
        self.requests.receiver_count()
    }

    /// A new receiver of request events from now on.
    pub fn subscribe_requests(&self) -> broadcast::Receiver<Arc<RequestEvent>> {
        self.requests.subscribe()
    }
}
