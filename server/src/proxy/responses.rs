//! Calls on one stored response of the Responses API — `GET /v1/responses/{id}`, `DELETE`,
//! `POST …/cancel`, `GET …/input_items` — sent to the key that created it, since only that
//! key's account holds it.
//!
//! They are recorded like every upstream attempt, without tokens: the response was accounted
//! when it was created, and reading it again costs nothing upstream.

use std::{sync::Arc, time::Duration};

use axum::{
    body::Body,
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, Uri},
    response::{IntoResponse, Response},
};
use chrono::Utc;
use futures::StreamExt;

use super::{
    attempt::{Attempt, Outcome, RequestContext},
    error::ProxyError,
    forward::{ERROR_BODY_LIMIT, Seen, client_secret, describe, observed, read_limited},
    request::Endpoint,
    route::{not_found, owner_key},
    tap::is_response_id,
    upstream,
};
use crate::{pool::WireFormat, recorder::AttemptStatus, state::AppState};

/// `GET /v1/responses/{id}`.
pub async fn retrieve(
    state: State<AppState>,
    id: Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    call(state, id, uri, headers, Endpoint::RetrieveResponse).await
}

/// `DELETE /v1/responses/{id}`.
pub async fn delete(
    state: State<AppState>,
    id: Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    call(state, id, uri, headers, Endpoint::DeleteResponse).await
}

/// `POST /v1/responses/{id}/cancel`.
pub async fn cancel(
    state: State<AppState>,
    id: Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    call(state, id, uri, headers, Endpoint::CancelResponse).await
}

/// `GET /v1/responses/{id}/input_items`.
pub async fn input_items(
    state: State<AppState>,
    id: Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    call(state, id, uri, headers, Endpoint::ResponseInputItems).await
}

async fn call(
    State(state): State<AppState>,
    Path(id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    endpoint: Endpoint,
) -> Response {
    let access_log = state.live.current().proxy.access_log;
    observed(endpoint, access_log, |request_id| async move {
        let mut seen = Seen::default();
        let response = serve(
            &state,
            endpoint,
            &id,
            uri.query(),
            &headers,
            request_id,
            &mut seen,
        )
        .await
        .unwrap_or_else(|error| error.into_response(WireFormat::OpenAi));
        (response, seen)
    })
    .await
}

async fn serve(
    state: &AppState,
    endpoint: Endpoint,
    id: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    request_id: Arc<str>,
    seen: &mut Seen,
) -> Result<Response, ProxyError> {
    let token = state.access.authenticate(client_secret(headers))?;
    tracing::Span::current().record("token", token.name.as_str());
    seen.token = Some(token.clone());
    if !is_response_id(id) {
        return Err(not_found(id.get(..64).unwrap_or("(id)"), "response_id"));
    }
    let owner = crate::cluster::response_owner(state, id)
        .await
        .ok_or_else(|| not_found(id, "response_id"))?;
    state.access.authorize(&token, &owner.model)?;
    seen.model = Some(owner.model.clone());
    tracing::Span::current().record("model", &*owner.model);
    let snapshot = state.pool.snapshot();
    let now_ms = Utc::now().timestamp_millis();
    let key = owner_key(&snapshot, id, &owner, token.id, "response_id", now_ms)?;
    seen.key_id = Some(key.id);
    tracing::Span::current().record("key_id", key.id);
    let Some(client) = key.client.as_ref() else {
        return Err(ProxyError::unavailable(
            "the key that holds this response has no working HTTP client".into(),
        ));
    };
    let live = state.live.current();
    let context = Arc::new(RequestContext {
        route: None,
        request_id,
        endpoint,
        model: owner.model.clone(),
        is_stream: false,
        body_bytes: 0,
        token,
        recorder: state.recorder.clone(),
        events: state.events.clone(),
        live: live.clone(),
        metrics: state.metrics.clone(),
        pool: state.pool.clone(),
        query: None,
    });
    let mut attempt = Attempt::start(context, key.clone(), 1);
    let send = upstream::response_call(client, &key, endpoint, id, query).send();
    let timeout = Duration::from_millis(live.proxy.first_byte_timeout_ms);
    let answer = match tokio::time::timeout(timeout, send).await {
        Ok(Ok(answer)) => answer,
        Ok(Err(error)) => {
            let message = format!("cannot reach the upstream: {}", describe(error));
            attempt.finish(
                AttemptStatus::NetworkError,
                Outcome::failed(None, "connect_failed", &message),
            );
            return Err(ProxyError::bad_gateway(message));
        }
        Err(_) => {
            let message = format!(
                "the upstream did not answer within {} ms",
                live.proxy.first_byte_timeout_ms
            );
            attempt.finish(
                AttemptStatus::Timeout,
                Outcome::failed(None, "timeout", &message),
            );
            return Err(ProxyError::gateway_timeout(message));
        }
    };
    attempt.first_byte();
    let status = answer.status();
    let passed = upstream::passed_headers(answer.headers());
    if !status.is_success() {
        let raw = read_limited(answer, ERROR_BODY_LIMIT, live.proxy.stream_idle_timeout_ms)
            .await
            .unwrap_or_default();
        let body = upstream::scrub(&raw, &key.secret);
        let message =
            upstream::error_message(&body).unwrap_or_else(|| format!("HTTP {}", status.as_u16()));
        attempt.finish(
            AttemptStatus::Error,
            Outcome::failed(Some(status.as_u16()), "upstream_error", &message),
        );
        return Ok((status, passed, body).into_response());
    }
    attempt.finish(
        AttemptStatus::Success,
        Outcome {
            http_status: Some(status.as_u16()),
            ..Outcome::default()
        },
    );
    // The answer passes through as it comes (a retrieve with `stream=true` is a stream).
    let mut response = (
        status,
        passed,
        Body::from_stream(answer.bytes_stream().boxed()),
    )
        .into_response();
    if response
        .headers()
        .get("content-type")
        .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"))
    {
        response
            .headers_mut()
            .insert("cache-control", HeaderValue::from_static("no-cache"));
    }
    Ok(response)
}
