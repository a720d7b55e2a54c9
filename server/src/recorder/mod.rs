//! The recorder: every upstream attempt's log row, the rollups and token spend go through one
//! batching writer, so a request never waits on the database.
//!
//! Handing a record over never blocks: the channel is bounded, and when it is full the record
//! waits in a task of its own rather than in the request. The writer appends each record to a
//! local journal first and commits from there, so a database outage costs nothing and a crash
//! at most the records of the last sync interval. [`Recorder::flush`] returns once everything
//! handed over before it is committed; [`Recorder::sync`] once it is on disk.

mod chunks;
mod journal;
mod log_rows;
mod recent;
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
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use crate::{events::EventBus, metrics::Metrics, usage::Usage};

pub use journal::Journal;
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
    /// How a routed request crossed providers; `None` when it was served as it came.
    pub route: Option<RouteFacts>,
    pub started_at: DateTime<Utc>,
}

/// A routed request's client side: `model` in the record is the upstream's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteFacts {
    /// `openai` or `anthropic`.
    pub client_format: &'static str,
    /// The format of the key that served it.
    pub upstream_format: &'static str,
    /// The model the client asked for.
    pub client_model: Arc<str>,
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
    Sync(oneshot::Sender<()>),
}

/// A cheap handle on the writer.
#[derive(Clone)]
pub struct Recorder {
    sender: mpsc::Sender<Message>,
    /// Records waiting in tasks of their own because the queue was full.
    overflow: Arc<AtomicUsize>,
    /// Work that ends by recording an attempt (a stream read to its usage); closing waits
    /// for it.
    tasks: TaskTracker,
    /// Cancelled when shutdown stops waiting for requests: such work records at once.
    closing: CancellationToken,
}

impl Recorder {
    /// Starts the writer on `db`, journaling to `journal`; records a previous run left in the
    /// journal are committed first.
    pub fn spawn(
        db: DatabaseConnection,
        events: EventBus,
        metrics: Arc<Metrics>,
        limits: BatchLimits,
        journal: Journal,
    ) -> Self {
        let (sender, receiver) = mpsc::channel(limits.queue_capacity.max(1));
        tokio::spawn(writer::run(db, events, metrics, limits, journal, receiver));
        Self {
            sender,
            overflow: Arc::default(),
            tasks: TaskTracker::new(),
            closing: CancellationToken::new(),
        }
    }

    /// Runs `work`, which ends by recording an attempt, so that [`Recorder::close`] waits for
    /// it; `work` gets a token cancelled when shutdown begins cancelling, and should then
    /// record at once.
    pub fn spawn_recording<F>(&self, work: impl FnOnce(CancellationToken) -> F)
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        self.tasks.spawn(work(self.closing.clone()));
    }

    /// Shutdown has stopped waiting for in-flight requests: what is cancelled now is cancelled
    /// by the server, and work started by [`Recorder::spawn_recording`] records at once.
    pub fn begin_close(&self) {
        self.closing.cancel();
    }

    /// Whether shutdown is cancelling requests.
    pub fn is_closing(&self) -> bool {
        self.closing.is_cancelled()
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

    /// Waits until everything handed over before this call is committed to the database.
    pub async fn flush(&self) {
        self.wait(Message::Flush).await;
    }

    /// Waits until everything handed over before this call is synced to the journal on disk.
    pub async fn sync(&self) {
        self.wait(Message::Sync).await;
    }

    /// For shutdown: syncs the journal, then gives the database up to `patience` to take
    /// everything; whatever it did not take stays in the journal for the next start.
    pub async fn close(&self, patience: std::time::Duration) {
        self.begin_close();
        self.tasks.close();
        self.tasks.wait().await;
        self.sync().await;
        if tokio::time::timeout(patience, self.flush()).await.is_err() {
            tracing::warn!(
                "the database did not take every log row in time; the rest stays in the journal and is written on the next start"
            );
        }
    }

    async fn wait(&self, message: fn(oneshot::Sender<()>) -> Message) {
        // Records that overflowed wait in tasks; let them reach the queue first (the queue
        // serves waiting senders in order, so they then go before this message).
        while self.overflow.load(Ordering::Acquire) > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        let (done, wait) = oneshot::channel();
        if self.sender.send(message(done)).await.is_ok() {
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
