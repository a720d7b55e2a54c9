//! `POST /graphql`: reads the body itself (bounded in size), then runs the operation.
//!
//! async-graphql-axum's extractor reads the body without axum's `DefaultBodyLimit`, so an
//! anonymous client could make the server buffer any amount; here the limit is enforced while
//! reading and every refusal is answered in GraphQL's error format.

use async_graphql_axum::GraphQLResponse;
use axum::{
    Extension, Json,
    body::Body,
    extract::{ConnectInfo, State},
    http::{
        HeaderMap, HeaderValue, StatusCode,
        header::{AUTHORIZATION, CONTENT_TYPE},
    },
    response::{IntoResponse, Response},
};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde_json::json;
use tower_http::timeout::TimeoutError;
use tracing::Instrument;

use std::net::SocketAddr;

use super::AppSchema;
use crate::{auth::ClientIp, state::AppState};

/// The response header that carries the request id (the same as in the log).
const REQUEST_ID_HEADER: &str = "x-amp-pool-request-id";

/// Largest GraphQL request body (bulk key imports are big).
pub const BODY_LIMIT: usize = 8 * 1024 * 1024;

/// A refusal before the operation runs, in GraphQL's error format.
pub fn refuse(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    let body = json!({"errors": [{
        "message": message.into(),
        "extensions": {"code": code},
    }]});
    (status, Json(body)).into_response()
}

/// Runs one GraphQL operation from a JSON body.
pub async fn post(
    State(state): State<AppState>,
    Extension(schema): Extension<AppSchema>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    // A cross-site form can only send text/plain, urlencoded or multipart bodies without a
    // preflight; insisting on JSON keeps such forms away from the anonymous `login`.
    if !is_json(&headers) {
        return refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
            "send the GraphQL request as JSON, with Content-Type: application/json",
        );
    }
    let bytes = match read_body(body).await {
        Ok(bytes) => bytes,
        Err(refusal) => return refusal,
    };
    let request: async_graphql::Request = match serde_json::from_slice(&bytes) {
        Ok(request) => request,
        Err(error) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                "BAD_REQUEST",
                format!("the request body is not a GraphQL request: {error}"),
            );
        }
    };
    drop(bytes);
    let authorization = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok());
    let auth = state.jwt.authenticate(authorization);
    let request_id = uuid::Uuid::new_v4().to_string();
    let span = super::trace::span(&request_id, &auth);
    let request = request
        .data(auth)
        .data(ClientIp(peer.ip()))
        .data(super::key_loader(&state));
    let started = std::time::Instant::now();
    let response = schema.execute(request).instrument(span.clone()).await;
    super::trace::finished(&span, &response, started.elapsed());
    let mut answer = GraphQLResponse::from(response).into_response();
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        answer.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    answer
}

/// Whether the body is declared as JSON (`application/json` or
/// `application/graphql-response+json`, any parameters).
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .map(|media| media.trim().to_ascii_lowercase())
        .is_some_and(|media| {
            media == "application/json" || media == "application/graphql-response+json"
        })
}

/// The whole body, or the answer to send when it is too big or cannot be read.
async fn read_body(body: Body) -> Result<bytes::Bytes, Response> {
    match Limited::new(body, BODY_LIMIT).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if caused_by::<LengthLimitError>(error.as_ref()) => Err(refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PAYLOAD_TOO_LARGE",
            format!(
                "the request body is larger than {} MiB",
                BODY_LIMIT / (1024 * 1024)
            ),
        )),
        Err(error) if caused_by::<TimeoutError>(error.as_ref()) => Err(refuse(
            StatusCode::REQUEST_TIMEOUT,
            "REQUEST_TIMEOUT",
            "the request body did not arrive in time",
        )),
        Err(error) => {
            tracing::debug!(error = %error, "could not read a GraphQL request body");
            Err(refuse(
                StatusCode::BAD_REQUEST,
                "BAD_REQUEST",
                "the request body could not be read to its end",
            ))
        }
    }
}

/// Whether `error` or any error behind it is a `T` (axum wraps body errors).
fn caused_by<T: std::error::Error + 'static>(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(error);
    while let Some(error) = next {
        if error.is::<T>() {
            return true;
        }
        next = error.source();
    }
    false
}
