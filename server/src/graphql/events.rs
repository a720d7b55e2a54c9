//! Live request events over WebSocket. A subscriber that falls behind skips what it missed
//! (with a warning) instead of slowing the proxy; every stream ends when the server shuts down.

use std::sync::Arc;

use async_graphql::{Context, InputObject, Object, Subscription};
use chrono::{DateTime, Utc};
use futures::{Stream, StreamExt, stream};
use tokio::sync::broadcast::error::RecvError;

use super::state;
use crate::error::GqlError;
use crate::{
    events::{KeyEvent as BusKeyEvent, KeyEventKind, RequestEvent as BusEvent, RequestPhase},
    provider::Provider,
    service::access_tokens::NANOS_PER_USD,
};

/// One upstream attempt, as it starts or finishes.
pub struct RequestEvent(Arc<BusEvent>);

#[Object]
impl RequestEvent {
    /// Started or finished.
    async fn phase(&self) -> RequestPhase {
        self.0.phase
    }
    /// Shared by every attempt of one client request.
    async fn request_id(&self) -> &str {
        &self.0.request_id
    }
    /// 1 for the first attempt, more after failover.
    async fn attempt(&self) -> i32 {
        self.0.attempt
    }
    /// The log row, once finished.
    async fn log_id(&self) -> Option<i64> {
        self.0.log_id
    }
    /// The key used.
    async fn key_id(&self) -> Option<i32> {
        self.0.key_id
    }
    /// The key's name.
    async fn key_name(&self) -> Option<&str> {
        self.0.key_name.as_deref()
    }
    /// The key's provider.
    async fn provider(&self) -> &str {
        &self.0.provider
    }
    /// `chat_completions` or `messages`.
    async fn endpoint(&self) -> &str {
        &self.0.endpoint
    }
    /// The requested model.
    async fn model(&self) -> &str {
        &self.0.model
    }
    /// Whether the client asked for a stream.
    async fn is_stream(&self) -> bool {
        self.0.is_stream
    }
    /// The outcome, once finished.
    async fn status(&self) -> Option<&str> {
        self.0.status.as_deref()
    }
    /// Upstream HTTP status, when one was received.
    async fn http_status_code(&self) -> Option<i32> {
        self.0.http_status_code
    }
    /// The kind of error, when it failed.
    async fn error_type(&self) -> Option<&str> {
        self.0.error_type.as_deref()
    }
    /// Prompt tokens (without cache reads or writes).
    async fn input_tokens(&self) -> i64 {
        self.0.input_tokens
    }
    /// Completion tokens.
    async fn output_tokens(&self) -> i64 {
        self.0.output_tokens
    }
    /// Tokens read from the prompt cache.
    async fn cache_read_tokens(&self) -> i64 {
        self.0.cache_read_tokens
    }
    /// Tokens written to the prompt cache.
    async fn cache_creation_tokens(&self) -> i64 {
        self.0.cache_creation_tokens
    }
    /// Cost in USD.
    async fn cost(&self) -> f64 {
        self.0.cost as f64 / NANOS_PER_USD
    }
    /// Total latency in milliseconds, once finished.
    async fn latency_ms(&self) -> Option<i32> {
        self.0.latency_ms
    }
    /// Milliseconds until the first upstream byte.
    async fn first_byte_ms(&self) -> Option<i32> {
        self.0.first_byte_ms
    }
    /// When this happened.
    async fn at(&self) -> DateTime<Utc> {
        self.0.at
    }
}

/// A change of a key's state.
pub struct KeyEvent(Arc<BusKeyEvent>);

#[Object]
impl KeyEvent {
    /// What happened.
    async fn kind(&self) -> KeyEventKind {
        self.0.kind
    }
    /// The key.
    async fn key_id(&self) -> i32 {
        self.0.key_id
    }
    /// The key's name.
    async fn key_name(&self) -> &str {
        &self.0.key_name
    }
    /// The key's provider.
    async fn provider(&self) -> &str {
        &self.0.provider
    }
    /// Why, for disables.
    async fn reason(&self) -> Option<&str> {
        self.0.reason.as_deref()
    }
    /// True when the pool did it, false when an admin did.
    async fn automatic(&self) -> bool {
        self.0.automatic
    }
    /// When a cooldown ends.
    async fn until(&self) -> Option<DateTime<Utc>> {
        self.0.until
    }
    /// The new balance in USD, for balance changes.
    async fn balance(&self) -> Option<f64> {
        self.0.balance
    }
    /// When it happened.
    async fn at(&self) -> DateTime<Utc> {
        self.0.at
    }
}

/// Receives a broadcast channel as a stream that skips (with a warning) what a slow
/// subscriber missed, and ends on shutdown.
fn live<T: Send + Sync + 'static>(
    receiver: tokio::sync::broadcast::Receiver<Arc<T>>,
    shutdown: tokio_util::sync::CancellationToken,
    name: &'static str,
) -> impl Stream<Item = Arc<T>> {
    stream::unfold(receiver, move |mut receiver| async move {
        loop {
            match receiver.recv().await {
                Ok(event) => return Some((event, receiver)),
                Err(RecvError::Lagged(skipped)) => {
                    tracing::warn!(
                        skipped,
                        subscription = name,
                        "a slow subscriber skipped events"
                    );
                }
                Err(RecvError::Closed) => return None,
            }
        }
    })
    .take_until(shutdown.cancelled_owned())
}

/// Which request events to receive; every given field must match.
#[derive(InputObject, Default, Clone)]
pub struct RequestEventFilter {
    /// Only this key.
    key_id: Option<i32>,
    /// Only this model.
    model: Option<String>,
    /// Only this provider.
    provider: Option<Provider>,
    /// Only finished events with this status.
    status: Option<String>,
}

impl RequestEventFilter {
    fn matches(&self, event: &BusEvent) -> bool {
        self.key_id.is_none_or(|id| event.key_id == Some(id))
            && self
                .model
                .as_deref()
                .is_none_or(|model| event.model == model)
            && self
                .provider
                .is_none_or(|provider| event.provider == provider.as_str())
            && self
                .status
                .as_deref()
                .is_none_or(|status| event.status.as_deref() == Some(status))
    }
}

/// Live subscriptions.
#[derive(Default)]
pub struct EventSubscription;

#[Subscription]
impl EventSubscription {
    /// Every upstream attempt as it starts and as it finishes (after its log row is committed).
    async fn request_events(
        &self,
        ctx: &Context<'_>,
        filter: Option<RequestEventFilter>,
    ) -> async_graphql::Result<impl Stream<Item = RequestEvent> + use<>> {
        let app = state(ctx).map_err(GqlError::from)?;
        let filter = filter.unwrap_or_default();
        let events = live(
            app.events.subscribe_requests(),
            app.shutdown.clone(),
            "requestEvents",
        );
        Ok(events
            .filter(move |event| std::future::ready(filter.matches(event)))
            .map(RequestEvent))
    }

    /// Key state changes: disabled (by an admin or the pool), enabled, cooled down, balance
    /// changed. Optionally for one key only.
    async fn key_events(
        &self,
        ctx: &Context<'_>,
        key_id: Option<i32>,
    ) -> async_graphql::Result<impl Stream<Item = KeyEvent> + use<>> {
        let app = state(ctx).map_err(GqlError::from)?;
        let events = live(
            app.events.subscribe_keys(),
            app.shutdown.clone(),
            "keyEvents",
        );
        Ok(events
            .filter(move |event| std::future::ready(key_id.is_none_or(|id| event.key_id == id)))
            .map(KeyEvent))
    }
}
