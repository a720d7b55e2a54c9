//! The recorder: every upstream attempt's log row, the rollups and token spend go through one
//! batching writer, so a request never waits on the database.
//!
//! Handing a record over never blocks: the channel is bounded, and when it is full the record
//! waits in a task of its own rather than in the request. [`Recorder::flush`] returns once
//! everything handed over before it is committed — shutdown uses it so no row is lost.

mod rollup;
mod verify;
mod writer;

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;
use tokio::sync::{mpsc, oneshot};

use crate::{events::EventBus, metrics::Metrics, usage::Usage};

pub use verify::{
    MAX_DAYS as MAX_VERIFY_DAYS, RollupCheck, STARTUP_DAYS, verify as verify_rollups,
};
pub use writer::BatchLimits;

/// How an attempt ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttemptStatus {
    /// The upstream answered with success and, for streams, finished.
    Success,
    /// The upstream answered with an HTTP error.
    Error,
    /// The upstream did not answer in time.
    Timeout,
    /// The upstream could not be reached.
    NetworkError,
    /// The upstream cut the stream short.
    Interrupted,
    /// The client went away before the answer was complete.
    Cancelled,
}

impl AttemptStatus {
    /// The name stored in the log.
    pub fn as_str(self) -> &'static str {
        match self {
            AttemptStatus::Success => "success",
            AttemptStatus::Error => "error",
            AttemptStatus::Timeout => "timeout",
            AttemptStatus::NetworkError => "network_error",
            AttemptStatus::Interrupted => "interrupted",
            AttemptStatus::Cancelled => "cancelled",
        }
    }
}

/// Where an attempt's token counts come from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum UsageSource {
    /// As the upstream reported them.
    #[default]
    Reported,
    /// Estimated by the proxy: the client hung up before the upstream reported usage.
    Estimated,
    /// Reported out of range and cut to it.
    Clamped,
}

impl UsageSource {
    /// The name stored in the log.
    pub fn as_str(self) -> &'static str {
        match self {
            UsageSource::Reported => "reported",
            UsageSource::Estimated => "estimated",
            UsageSource::Clamped => "clamped",
        }
    }
}

/// Everything known about one finished upstream attempt.
#[derive(Clone, Debug)]
pub struct AttemptRecord {
    pub request_id: Arc<str>,
    pub attempt: i32,
    pub key_id: Option<i32>,
    pub key_name: Option<String>,
    pub access_token_id: Option<i32>,
    pub provider: &'static str,
    pub endpoint: &'static str,
    pub model: Arc<str>,
    pub is_stream: bool,
    pub usage: Usage,
    /// Nano-USD.
    pub cost: i64,
    pub cost_unknown: bool,
    pub latency_ms: i32,
    pub first_byte_ms: Option<i32>,
    pub status: AttemptStatus,
    pub http_status_code: Option<i32>,
    pub error_type: Option<String>,
    pub error_message: Option<String>,
    pub usage_source: UsageSource,
    /// The id of the response a Responses call created, when it created one.
    pub response_id: Option<String>,
    pub started_at: DateTime<Utc>,
}

/// What the writer is asked to do.
enum Message {
    Attempt(Box<AttemptRecord>),
    DisableKey {
        key_id: i32,
        reason: String,
        at: DateTime<Utc>,
    },
    Flush(oneshot::Sender<()>),
}

/// A cheap handle on the writer.
#[derive(Clone)]
pub struct Recorder {
    sender: mpsc::Sender<Message>,
    /// Records waiting in tasks of their own because the queue was full.
    overflow: Arc<AtomicUsize>,
}

impl Recorder {
    /// Starts the writer on `db`.
    pub fn spawn(
        db: DatabaseConnection,
        events: EventBus,
        metrics: Arc<Metrics>,
        limits: BatchLimits,
    ) -> Self {
        let (sender, receiver) = mpsc::channel(limits.queue_capacity.max(1));
        tokio::spawn(writer::run(db, events, metrics, limits, receiver));
        Self {
            sender,
            overflow: Arc::default(),
        }
    }

    /// Hands an attempt over; never waits.
    pub fn record(&self, record: AttemptRecord) {
        self.send(Message::Attempt(Box::new(record)));
    }

    /// Persists an automatic disable of a key (an admin's disable is left as it is).
    pub fn disable_key(&self, key_id: i32, reason: String) {
        self.send(Message::DisableKey {
            key_id,
            reason,
            at: Utc::now(),
        });
    }

    /// Waits until everything handed over before this call is committed.
    pub async fn flush(&self) {
        // Records that overflowed wait in tasks; let them reach the queue first (the queue
        // serves waiting senders in order, so they then go before the flush).
        while self.overflow.load(Ordering::Acquire) > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        let (done, wait) = oneshot::channel();
        if self.sender.send(Message::Flush(done)).await.is_ok() {
            let _ = wait.await;
        }
    }

    /// Records waiting in the queue.
    pub fn queue_depth(&self) -> usize {
        self.sender.max_capacity() - self.sender.capacity()
    }

    fn send(&self, message: Message) {
        match self.sender.try_send(message) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(message)) => {
                let sender = self.sender.clone();
                let overflow = self.overflow.clone();
                if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                    overflow.fetch_add(1, Ordering::AcqRel);
                    runtime.spawn(async move {
                        let _ = sender.send(message).await;
                        overflow.fetch_sub(1, Ordering::AcqRel);
                    });
                }
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                tracing::error!("the log writer has stopped; a record was dropped");
            }
        }
    }
}
