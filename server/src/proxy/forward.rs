//! The request path: check the client, pick a key, send, and fail over to another key while
//! nothing has reached the client yet.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use axum::{
    body::Body,
    http::{HeaderMap, HeaderValue},
    response::{IntoResponse, Response},
};
use bytes::{Bytes, BytesMut};
use chrono::Utc;
use futures::StreamExt;
use tracing::Instrument;

use super::{
    attempt::{Attempt, Outcome, RequestContext},
    error::ProxyError,
    request::{ClientRequest, Endpoint},
    route::Route,
    stream::TappedStream,
    tap::{StreamTap, answer_facts, is_response_id},
    translate::{
        errors,
        plan::{self, Leg},
        stream::{StreamTranslator, Translated},
    },
    upstream::{self, diagnose},
};
use crate::{
    events::{KeyEvent, KeyEventKind},
    pool::{Criteria, Failure, PoolKey, Verdict, WireFormat},
    provider::Provider,
    recorder::{AttemptStatus, RouteFacts},
    state::AppState,
};

/// The header that carries the request id back to the client.
pub const REQUEST_ID_HEADER: &str = "x-amp-pool-request-id";
/// Largest upstream error body read (it is also passed to the client).
pub(super) const ERROR_BODY_LIMIT: usize = 1 << 20;
/// Largest complete (non-stream) upstream answer.
const ANSWER_LIMIT: usize = 64 << 20;

/// The client's token from `Authorization: Bearer` or `x-api-key`.
pub fn client_secret(headers: &HeaderMap) -> Option<&str> {
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim);
    bearer.or_else(|| {
        headers
            .get("x-api-key")
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    })
}

/// Serves one client request on `endpoint`.
pub async fn forward(
    state: AppState,
    endpoint: Endpoint,
    headers: HeaderMap,
    query: Option<&str>,
    body: Body,
) -> Response {
    let access_log = state.live.current().proxy.access_log;
    observed(endpoint, access_log, |request_id| async move {
        let mut seen = Seen::default();
        let arrival = Arrival {
            endpoint,
            headers,
            query,
            body,
            request_id,
        };
        let response = serve(state, arrival, &mut seen).await;
        (response, seen)
    })
    .await
}

/// Runs `serve` for a new request id inside a span that carries the id, the token's name,
/// the model, the key used, the status and the latency (never a secret); answers with the id
/// in a header, and writes one access log line at the end when `access_log` is on.
pub(super) async fn observed<F>(
    endpoint: Endpoint,
    access_log: bool,
    serve: impl FnOnce(Arc<str>) -> F,
) -> Response
where
    F: Future<Output = (Response, Seen)>,
{
    // Time-ordered (UUID v7): log rows are inserted at the end of the request-id index
    // instead of at random places in it, which keeps a large log cheap to write.
    let request_id: Arc<str> = Arc::from(uuid::Uuid::now_v7().simple().to_string());
    let span = tracing::info_span!(
        "v1_request",
        request_id = %request_id,
        endpoint = endpoint.as_str(),
        token = tracing::field::Empty,
        model = tracing::field::Empty,
        key_id = tracing::field::Empty,
        status = tracing::field::Empty,
        latency_ms = tracing::field::Empty,
    );
    let arrived = Instant::now();
    let (mut response, seen) = serve(request_id.clone()).instrument(span.clone()).await;
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    let status = response.status().as_u16();
    let latency_ms = u64::try_from(arrived.elapsed().as_millis()).unwrap_or(u64::MAX);
    span.record("status", status);
    span.record("latency_ms", latency_ms);
    if access_log {
        let _entered = span.enter();
        tracing::info!(
            target: "amp_pool::access",
            request_id = %request_id,
            endpoint = endpoint.as_str(),
            token = seen.token.as_deref().map_or("-", |token| token.name.as_str()),
            model = seen.model.as_deref().unwrap_or("-"),
            key_id = seen.key_id,
            status,
            latency_ms,
            "/v1 request"
        );
    }
    response
}

/// What the access log line says about a request, filled in as it is learnt.
#[derive(Default)]
pub(super) struct Seen {
    /// The token itself (a reference count, not a copy of its name).
    pub token: Option<Arc<crate::access::ClientToken>>,
    pub model: Option<Arc<str>>,
    pub key_id: Option<i32>,
}

/// A client request as it arrived.
struct Arrival<'a> {
    endpoint: Endpoint,
    headers: HeaderMap,
    /// The query string, passed on upstream (Claude Code sends `?beta=true`).
    query: Option<&'a str>,
    body: Body,
    request_id: Arc<str>,
}

async fn serve(state: AppState, arrival: Arrival<'_>, seen: &mut Seen) -> Response {
    let Arrival {
        endpoint,
        headers,
        query,
        body,
        request_id,
    } = arrival;
    let arrived = Instant::now();
    let format = endpoint.format();
    let live = state.live.current();
    let token = match state.access.authenticate(client_secret(&headers)) {
        Ok(token) => token,
        Err(denied) => return ProxyError::from(denied).into_response(format),
    };
    tracing::Span::current().record("token", token.name.as_str());
    seen.token = Some(token.clone());
    let limit = live.proxy.max_body_bytes;
    let body = match read_body(body, limit).await {
        Ok(body) => body,
        Err(error) => return error.into_response(format),
    };
    let request = match ClientRequest::parse(endpoint, body) {
        Ok(request) => request,
        Err(error) => return error.into_response(format),
    };
    let model: Arc<str> = Arc::from(request.model.as_str());
    tracing::Span::current().record("model", &*model);
    seen.model = Some(model.clone());
    if let Err(denied) = state.access.authorize(&token, &request.model) {
        return ProxyError::from(denied).into_response(format);
    }
    let leg = match plan::plan(&live.routing, endpoint, &request) {
        Ok(leg) => leg,
        Err(error) => return error.into_response(format),
    };
    // The log prices what the upstream served, so it names the upstream's model.
    let model = leg.model.clone();

    let route = leg.routed.then(|| RouteFacts {
        client_format: format.as_str(),
        upstream_format: leg.format.as_str(),
        client_model: Arc::from(request.model.as_str()),
    });
    let context = Arc::new(RequestContext {
        route,
        request_id,
        endpoint,
        model,
        is_stream: request.stream,
        body_bytes: request.upstream_body.len(),
        token,
        recorder: state.recorder.clone(),
        events: state.events.clone(),
        live: live.clone(),
        metrics: state.metrics.clone(),
        pool: state.pool.clone(),
        query: query.filter(|q| !q.is_empty()).map(Box::from),
    });
    let mut upstream_time = Duration::ZERO;
    let response = attempts(
        &state,
        &context,
        &request,
        &leg,
        &headers,
        &mut upstream_time,
        &mut seen.key_id,
    )
    .await;
    state.metrics.overhead(
        arrived
            .elapsed()
            .saturating_sub(upstream_time)
            .as_secs_f64(),
    );
    response
}

/// Reads the client's body: 413 only for a body that really is over `limit`; a body that
/// breaks off or is malformed on the wire (bad chunked encoding) is a 400.
async fn read_body(body: Body, limit: usize) -> Result<Bytes, ProxyError> {
    let mut chunks = body.into_data_stream();
    let mut out = BytesMut::new();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(|_| {
            ProxyError::invalid(
                None,
                "invalid_body",
                "the request body could not be read (it broke off or is malformed on the wire)",
            )
        })?;
        if out.len().saturating_add(chunk.len()) > limit {
            return Err(ProxyError::too_large(limit));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out.freeze())
}

/// How an attempt failed, as far as comparing it with the next key's failure goes: the same
/// status and error type from two different keys means the request, not the key, is at fault.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Signature {
    status: Option<u16>,
    kind: String,
}

/// The last failure, kept to answer with when no attempt succeeds.
enum LastFailure {
    /// An upstream error answer, passed on as it came.
    Answer(Response),
    /// No answer (connection failure, timeout); the message says why.
    NoAnswer(String),
}

async fn attempts(
    state: &AppState,
    context: &Arc<RequestContext>,
    request: &ClientRequest,
    leg: &Leg,
    headers: &HeaderMap,
    upstream_time: &mut Duration,
    last_key: &mut Option<i32>,
) -> Response {
    let format = context.endpoint.format();
    let tuning = &context.live.proxy;
    let owner = match &request.previous_response_id {
        Some(id) if is_response_id(id) => crate::cluster::response_owner(state, id).await,
        _ => None,
    };
    let snapshot = state.pool.snapshot();
    let route = match Route::plan(
        &state.pool,
        &snapshot,
        request,
        owner.as_ref(),
        context.token.id,
        tuning.session_ttl_secs,
        Utc::now().timestamp_millis(),
    ) {
        Ok(route) => route,
        Err(error) => return error.into_response(format),
    };
    let mut tried = Vec::new();
    let mut last: Option<LastFailure> = None;
    let mut previous: Option<Signature> = None;
    for number in 1..=tuning.max_attempts.max(1) {
        let now_ms = Utc::now().timestamp_millis();
        let picked = match &route {
            // The state lives with one key: no other key can stand in for it.
            Route::Pinned(key) if tried.is_empty() => Ok(key.clone()),
            Route::Pinned(_) => break,
            Route::Free { sticky, .. } => snapshot.pick(
                leg.format,
                &Criteria {
                    tried: &tried,
                    now_ms,
                    only: leg.only,
                    prefer: *sticky,
                },
            ),
        };
        let key = match picked {
            Ok(key) => key,
            Err(why) => {
                if last.is_none() {
                    let name = match leg.only.filter(|_| leg.routed) {
                        Some(provider) => routed_name(provider),
                        None => format_name(context.endpoint),
                    };
                    return ProxyError::unavailable(why.message(name)).into_response(format);
                }
                break;
            }
        };
        tried.push(key.id);
        *last_key = Some(key.id);
        tracing::Span::current().record("key_id", key.id);
        let attempt = Attempt::start(
            context.clone(),
            key.clone(),
            i32::try_from(number).unwrap_or(i32::MAX),
        );
        let sent = Instant::now();
        let outcome = attempt_once(
            state,
            context,
            request,
            leg,
            headers,
            attempt,
            &key,
            &mut previous,
        )
        .await;
        *upstream_time += sent.elapsed();
        match outcome {
            Ok(response) => {
                if response.status().is_success() {
                    route.served(
                        &state.pool,
                        &state.metrics,
                        key.id,
                        tuning.session_ttl_secs,
                        now_ms,
                    );
                }
                return response;
            }
            Err(failure) => last = Some(failure),
        }
    }
    match last {
        Some(LastFailure::Answer(response)) => response,
        Some(LastFailure::NoAnswer(message)) => {
            ProxyError::bad_gateway(message).into_response(format)
        }
        None => {
            ProxyError::unavailable("no upstream key could be tried".into()).into_response(format)
        }
    }
}

/// The name of the keys a route sends a model to, for "no key" answers.
fn routed_name(provider: Provider) -> &'static str {
    match provider {
        Provider::OpenAi => "OpenAI (OPENAI keys, as the routing setting sends this model there)",
        Provider::Anthropic => {
            "Anthropic (ANTHROPIC keys, as the routing setting sends this model there)"
        }
        Provider::Amp => "Amp (AMP keys, as the routing setting sends this model there)",
    }
}

/// The name of the keys an endpoint needs, for "no key" answers.
fn format_name(endpoint: Endpoint) -> &'static str {
    match (endpoint.format(), endpoint.only_provider()) {
        (_, Some(_)) => "OpenAI (OPENAI keys only; Amp does not serve this endpoint)",
        (WireFormat::OpenAi, None) => "OpenAI",
        (WireFormat::Anthropic, None) => "Anthropic",
    }
}

/// Sends the request with one key. `Ok` is the answer for the client (success, or an error
/// that another key would not change); `Err` means try another key. `previous` is how the
/// last key failed for this request: the same failure again is the request's fault, so it is
/// answered at once and not held against this key.
#[allow(clippy::too_many_arguments)]
async fn attempt_once(
    state: &AppState,
    context: &Arc<RequestContext>,
    request: &ClientRequest,
    leg: &Leg,
    headers: &HeaderMap,
    mut attempt: Attempt,
    key: &Arc<PoolKey>,
    previous: &mut Option<Signature>,
) -> Result<Response, LastFailure> {
    let format = context.endpoint.format();
    let tuning = &context.live.proxy;
    let Some(client) = key.client.as_ref() else {
        attempt.finish(
            AttemptStatus::NetworkError,
            Outcome::failed(
                None,
                "client_unavailable",
                "the key's HTTP client could not be built",
            ),
        );
        return Err(LastFailure::NoAnswer(
            "the key's HTTP client could not be built".into(),
        ));
    };
    if leg.translation.is_some() && leg.endpoint == Endpoint::CountTokens {
        // OpenAI has no count_tokens: answer an estimate, documented as one.
        attempt.finish(
            AttemptStatus::Success,
            Outcome {
                http_status: Some(200),
                ..Outcome::default()
            },
        );
        let mut response = plan::estimated_count(&request.upstream_body).into_response();
        response
            .headers_mut()
            .insert("content-type", HeaderValue::from_static("application/json"));
        return Ok(response);
    }
    // The client's query string belongs to its own API (Claude Code's `?beta=true`).
    let query = match leg.translation {
        Some(_) => None,
        None => context.query.as_deref(),
    };
    let send =
        upstream::request(client, key, leg.endpoint, query, headers, leg.body.clone()).send();
    let answer =
        match tokio::time::timeout(Duration::from_millis(tuning.first_byte_timeout_ms), send).await
        {
            Ok(Ok(answer)) => answer,
            Ok(Err(error)) => {
                let (status, kind) = if error.is_timeout() {
                    (AttemptStatus::Timeout, "timeout")
                } else {
                    (AttemptStatus::NetworkError, "connect_failed")
                };
                let message = format!("cannot reach the upstream: {}", describe(error));
                transient_failure(state, context, key);
                attempt.finish(status, Outcome::failed(None, kind, message.clone()));
                return Err(LastFailure::NoAnswer(message));
            }
            Err(_) => {
                let message = format!(
                    "the upstream did not answer within {} ms",
                    tuning.first_byte_timeout_ms
                );
                attempt.finish(
                    AttemptStatus::Timeout,
                    Outcome::failed(None, "timeout", message.clone()),
                );
                // A request that outlasts the timeout on two keys is simply long: answer, and
                // leave the second key alone.
                let signature = Signature {
                    status: None,
                    kind: "timeout".into(),
                };
                if previous.as_ref() == Some(&signature) {
                    return Ok(ProxyError::gateway_timeout(message).into_response(format));
                }
                transient_failure(state, context, key);
                *previous = Some(signature);
                return Err(LastFailure::NoAnswer(message));
            }
        };
    attempt.first_byte();
    let status = answer.status();
    let passed = upstream::passed_headers(answer.headers());

    if status.is_redirection() {
        // Redirects are not followed (they would carry the key to another host), and a
        // redirect says nothing about the key: fail over without holding it against the key.
        let message = format!(
            "the upstream answered with a redirect (HTTP {}), which the pool does not follow",
            status.as_u16()
        );
        attempt.finish(
            AttemptStatus::Error,
            Outcome::failed(Some(status.as_u16()), "upstream_redirect", message.clone()),
        );
        return Err(LastFailure::NoAnswer(message));
    }

    if !status.is_success() {
        let answer_headers = answer.headers().clone();
        let raw = read_limited(answer, ERROR_BODY_LIMIT, tuning.stream_idle_timeout_ms)
            .await
            .unwrap_or_default();
        let body = upstream::scrub(&raw, &key.secret);
        let diagnosis = diagnose(status.as_u16(), &answer_headers, &body, Utc::now());
        let message =
            upstream::error_message(&body).unwrap_or_else(|| format!("HTTP {}", status.as_u16()));
        attempt.finish(
            AttemptStatus::Error,
            Outcome::failed(Some(status.as_u16()), diagnosis.error_type, message),
        );
        let (status, body) = match &leg.translation {
            Some(translation) => errors::translate(status, &body, translation.client),
            None => (status, body),
        };
        if !diagnosis.retry {
            return Ok((status, passed, body).into_response());
        }
        let owned_by_key = matches!(
            diagnosis.failure,
            Some(Failure::Rejected { .. } | Failure::NoCredit { .. })
        );
        let rate_limited = matches!(diagnosis.failure, Some(Failure::RateLimited { .. }));
        let signature = Signature {
            status: Some(status.as_u16()),
            kind: diagnosis
                .upstream_type
                .clone()
                .unwrap_or_else(|| diagnosis.error_type.to_string()),
        };
        // Rate limits are per key by nature; every other failure that repeats itself on a
        // second key is the request's doing.
        if !owned_by_key && !rate_limited && previous.as_ref() == Some(&signature) {
            return Ok((status, passed, body).into_response());
        }
        if let Some(failure) = &diagnosis.failure {
            let verdict = key.health.record_failure(
                failure,
                Utc::now().timestamp_millis(),
                &context.live.health,
            );
            apply_verdict(state, key, verdict);
        }
        if !owned_by_key && !rate_limited {
            *previous = Some(signature);
        }
        // A key the upstream refuses is the pool's problem, not the client's: never pass on a
        // 401/402/403 that would read as if the client's own token were wrong.
        return Err(if owned_by_key {
            LastFailure::NoAnswer(format!(
                "the upstream refused the pool's key (HTTP {}, {})",
                status.as_u16(),
                diagnosis.error_type
            ))
        } else {
            LastFailure::Answer((status, passed, body).into_response())
        });
    }
    key.health.record_success();

    // An upstream may answer a stream request with a plain JSON body; treat that as the whole
    // answer rather than as a stream that never finished.
    let is_event_stream = answer
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    if request.stream && is_event_stream {
        let dialect = leg.endpoint.dialect();
        let tap = StreamTap::new(
            dialect,
            // A translated stream needs the usage chunk; the translator decides what to show.
            leg.translation.is_none() && !request.client_wants_usage,
            tuning.max_sse_event_bytes,
        );
        let body = TappedStream::new(
            answer.bytes_stream().boxed(),
            tap,
            dialect,
            status.as_u16(),
            Duration::from_millis(tuning.stream_idle_timeout_ms),
            Duration::from_millis(tuning.drain_after_disconnect_ms),
            attempt,
            state.metrics.clone(),
        );
        let body = match &leg.translation {
            Some(translation) => Body::from_stream(Translated::new(
                body,
                StreamTranslator::new(translation.direction()),
            )),
            None => Body::from_stream(body),
        };
        let mut response = (status, passed, body).into_response();
        response
            .headers_mut()
            .insert("cache-control", HeaderValue::from_static("no-cache"));
        return Ok(response);
    }

    match read_limited(answer, ANSWER_LIMIT, tuning.stream_idle_timeout_ms).await {
        Ok(body) => {
            let (usage, response_id) = if context.endpoint == Endpoint::CountTokens {
                Default::default()
            } else {
                answer_facts(leg.endpoint.dialect(), &body)
            };
            let body = match &leg.translation {
                None => body,
                Some(translation) => match translation.answer(&body) {
                    Some(body) => body,
                    None => {
                        let message = "the upstream's answer could not be translated";
                        attempt.finish(
                            AttemptStatus::Error,
                            Outcome::failed(Some(status.as_u16()), "untranslatable", message),
                        );
                        return Ok(ProxyError::bad_gateway(message.into()).into_response(format));
                    }
                },
            };
            attempt.finish(
                AttemptStatus::Success,
                Outcome {
                    http_status: Some(status.as_u16()),
                    usage,
                    response_id,
                    ..Outcome::default()
                },
            );
            Ok((status, passed, body).into_response())
        }
        Err(message) => {
            // Nothing reached the client yet, so another key may still answer.
            transient_failure(state, context, key);
            attempt.finish(
                AttemptStatus::Interrupted,
                Outcome::failed(Some(status.as_u16()), "answer_interrupted", message.clone()),
            );
            Err(LastFailure::NoAnswer(message))
        }
    }
}

fn transient_failure(state: &AppState, context: &RequestContext, key: &Arc<PoolKey>) {
    let verdict = key.health.record_failure(
        &Failure::Transient,
        Utc::now().timestamp_millis(),
        &context.live.health,
    );
    apply_verdict(state, key, verdict);
}

fn apply_verdict(state: &AppState, key: &PoolKey, verdict: Verdict) {
    let event = |kind, reason, until| KeyEvent::automatic(key, kind, reason, until, false);
    match verdict {
        Verdict::CoolDown { until_ms } => {
            tracing::info!(key_id = key.id, until_ms, "key cooling down");
            let until = chrono::DateTime::from_timestamp_millis(until_ms);
            state
                .events
                .publish_key(event(KeyEventKind::CooledDown, None, until));
        }
        Verdict::Disable { reason } => {
            tracing::warn!(key_id = key.id, reason = ?reason, "key disabled automatically");
            state.recorder.disable_key(key.id, reason.clone());
            state
                .events
                .publish_key(event(KeyEventKind::Disabled, Some(reason), None));
        }
    }
}

/// Reads a whole upstream body of at most `limit` bytes, each chunk within the idle timeout.
pub(super) async fn read_limited(
    answer: reqwest::Response,
    limit: usize,
    idle_ms: u64,
) -> Result<Bytes, String> {
    let mut body = BytesMut::new();
    let mut chunks = answer.bytes_stream();
    loop {
        match tokio::time::timeout(Duration::from_millis(idle_ms), chunks.next()).await {
            Ok(Some(Ok(chunk))) => {
                if body.len() + chunk.len() > limit {
                    return Err(format!("the upstream answer is larger than {limit} bytes"));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(Some(Err(error))) => {
                return Err(format!(
                    "the upstream answer broke off: {}",
                    describe(error)
                ));
            }
            Ok(None) => return Ok(body.freeze()),
            Err(_) => return Err(format!("the upstream answer stalled for {idle_ms} ms")),
        }
    }
}

/// A reqwest error with its causes, without the URL.
pub(super) fn describe(error: reqwest::Error) -> String {
    let error = error.without_url();
    let mut text = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
