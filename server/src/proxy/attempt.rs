//! One upstream attempt, from the moment a key is chosen to its log record.
//!
//! An [`Attempt`] records itself exactly once: through [`Attempt::finish`], or — when the
//! client goes away and the request future is dropped — as `cancelled` from `Drop`.

use std::{sync::Arc, time::Instant};

use chrono::{DateTime, Utc};

use super::request::Endpoint;
use crate::{
    access::ClientToken,
    events::{EventBus, RequestEvent, RequestPhase},
    live_config::LiveSettings,
    metrics::Metrics,
    pool::{KeyPool, Owner, PoolKey},
    recorder::{AttemptRecord, AttemptStatus, Recorder, RouteFacts, UsageSource},
    usage::Usage,
};

/// What every attempt of one client request shares.
pub struct RequestContext {
    pub request_id: Arc<str>,
    pub endpoint: Endpoint,
    pub model: Arc<str>,
    pub is_stream: bool,
    /// Size of the client's body, for estimating input tokens when no usage is reported.
    pub body_bytes: usize,
    pub token: Arc<ClientToken>,
    pub recorder: Recorder,
    pub events: EventBus,
    pub live: Arc<LiveSettings>,
    pub metrics: Arc<Metrics>,
    /// The key pool, to remember which key created a response.
    pub pool: Arc<KeyPool>,
    /// The client's query string, passed on upstream.
    pub query: Option<Box<str>>,
    /// Set when a route sent the request to another provider (`model` is then the upstream's).
    pub route: Option<RouteFacts>,
}

/// How an attempt ended.
#[derive(Debug, Default)]
pub struct Outcome {
    pub http_status: Option<u16>,
    pub usage: Usage,
    pub error_type: Option<String>,
    pub error_message: Option<String>,
    pub usage_source: UsageSource,
    /// The response a Responses call created (`resp_…`), to route its follow-ups.
    pub response_id: Option<String>,
}

impl Outcome {
    /// An attempt that failed with `error_type` and `message`, and no usage.
    pub fn failed(http_status: Option<u16>, error_type: &str, message: impl Into<String>) -> Self {
        Self {
            http_status,
            error_type: Some(error_type.to_string()),
            error_message: Some(message.into()),
            ..Self::default()
        }
    }
}

/// An attempt in flight.
pub struct Attempt {
    context: Arc<RequestContext>,
    key: Arc<PoolKey>,
    number: i32,
    started: Instant,
    started_at: DateTime<Utc>,
    first_byte_ms: Option<i32>,
    recorded: bool,
}

fn millis(since: Instant) -> i32 {
    i32::try_from(since.elapsed().as_millis()).unwrap_or(i32::MAX)
}

impl Attempt {
    /// Starts attempt `number` on `key` and announces it on the event bus.
    pub fn start(context: Arc<RequestContext>, key: Arc<PoolKey>, number: i32) -> Self {
        let started_at = Utc::now();
        // Building the event costs allocations; skip it when nobody is listening.
        if context.events.wants_requests() {
            context.events.publish_request(RequestEvent {
                phase: RequestPhase::Started,
                request_id: context.request_id.to_string(),
                attempt: number,
                log_id: None,
                key_id: Some(key.id),
                key_name: Some(key.name.clone()),
                provider: key.provider.as_str().to_string(),
                endpoint: context.endpoint.as_str().to_string(),
                model: context.model.to_string(),
                is_stream: context.is_stream,
                status: None,
                http_status_code: None,
                error_type: None,
                input_tokens: 0,
                output_tokens: 0,
                cache_read_tokens: 0,
                cache_creation_tokens: 0,
                cost: 0,
                latency_ms: None,
                first_byte_ms: None,
                at: started_at,
            });
        }
        Self {
            context,
            key,
            number,
            started: Instant::now(),
            started_at,
            first_byte_ms: None,
            recorded: false,
        }
    }

    /// Notes that the upstream's answer (its headers) arrived.
    pub fn first_byte(&mut self) {
        self.first_byte_ms = Some(millis(self.started));
    }

    /// Records the attempt with `status`.
    pub fn finish(mut self, status: AttemptStatus, outcome: Outcome) {
        self.record(status, outcome);
    }

    fn record(&mut self, status: AttemptStatus, outcome: Outcome) {
        if self.recorded {
            return;
        }
        self.recorded = true;
        let context = &self.context;
        let (usage, clamped) = outcome.usage.clamped();
        let usage_source = if clamped {
            tracing::warn!(request_id = %context.request_id, key_id = self.key.id, "the upstream reported token counts out of range; they were clamped");
            UsageSource::Clamped
        } else {
            outcome.usage_source
        };
        let (cost, cost_unknown) = usage.cost(&context.model, &context.live.prices);
        context.token.add_spend(cost);
        self.key.health.add_spend(cost);
        // The label is the price table's own name (`gpt-4o`, not `gpt-4o-2024-08-06`), so a
        // client cannot mint label values; unpriced models all count as `other`.
        let model_label = context
            .live
            .prices
            .priced_name(&context.model)
            .map_or("other", |(name, _)| name);
        context.metrics.attempt(
            self.key.provider.as_str(),
            model_label,
            status.as_str(),
            &usage,
            cost,
            self.started.elapsed().as_secs_f64(),
        );
        if let Some(response_id) = &outcome.response_id {
            context.pool.affinity().remember_response(
                response_id,
                Owner {
                    key_id: self.key.id,
                    token_id: Some(context.token.id),
                    model: context.model.clone(),
                },
            );
        }
        context.recorder.record(AttemptRecord {
            request_id: context.request_id.clone(),
            attempt: self.number,
            key_id: Some(self.key.id),
            key_name: Some(self.key.name.clone()),
            access_token_id: Some(context.token.id),
            provider: self.key.provider.as_str(),
            endpoint: context.endpoint.as_str(),
            model: context.model.clone(),
            is_stream: context.is_stream,
            usage,
            cost,
            cost_unknown,
            latency_ms: millis(self.started),
            first_byte_ms: self.first_byte_ms,
            status,
            http_status_code: outcome.http_status.map(i32::from),
            error_type: outcome.error_type,
            error_message: outcome.error_message,
            usage_source,
            response_id: outcome.response_id,
            route: context.route.clone(),
            started_at: self.started_at,
        });
    }

    /// Records a client that went away, with the usage seen (or estimated).
    pub fn cancel(
        mut self,
        usage: Usage,
        source: UsageSource,
        http_status: Option<u16>,
        response_id: Option<String>,
    ) {
        self.record_cancelled(usage, source, http_status, response_id);
    }

    /// The recorder this attempt records to.
    pub fn recorder(&self) -> &Recorder {
        &self.context.recorder
    }

    /// The input tokens a request of this size is estimated to hold (about four bytes each).
    pub fn estimated_input(&self) -> i64 {
        i64::try_from(self.context.body_bytes / 4).unwrap_or(i64::MAX)
    }

    fn record_cancelled(
        &mut self,
        usage: Usage,
        usage_source: UsageSource,
        http_status: Option<u16>,
        response_id: Option<String>,
    ) {
        // Past the shutdown grace it is the server that cut the request short.
        let (error_type, error_message) = if self.context.recorder.is_closing() {
            (
                "server_shutdown",
                "the server shut down before the answer was complete",
            )
        } else {
            (
                "client_disconnected",
                "the client closed the connection before the answer was complete",
            )
        };
        self.record(
            AttemptStatus::Cancelled,
            Outcome {
                http_status,
                usage,
                usage_source,
                error_type: Some(error_type.into()),
                error_message: Some(error_message.into()),
                response_id,
            },
        );
    }
}

impl Drop for Attempt {
    fn drop(&mut self) {
        if !self.recorded {
            // The client left while the upstream was still working on a complete answer: the
            // upstream will charge the prompt at least, so estimate it rather than record 0.
            let usage = Usage {
                input: self.estimated_input(),
                ..Usage::default()
            };
            self.record_cancelled(usage, UsageSource::Estimated, None, None);
        }
    }
}
