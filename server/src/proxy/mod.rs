//! The `/v1` proxy: OpenAI-format chat completions, Anthropic-format messages and the model
//! list, forwarded through the key pool.
//!
//! Bodies pass through as bytes; a tap reads usage on the side. Every upstream attempt ends
//! in exactly one record for the batching writer, and nothing here waits on the database.

mod attempt;
mod error;
mod forward;
mod models;
mod request;
mod sse;
mod stream;
mod tap;
mod upstream;

use axum::{
    Router,
    body::Body,
    extract::{DefaultBodyLimit, State},
    http::HeaderMap,
    http::{Method, StatusCode, Uri},
    response::Response,
    routing::{any, get, post},
};

use error::ErrorKind;
pub use error::ProxyError;
pub use forward::REQUEST_ID_HEADER;
pub use request::Endpoint;

use crate::{pool::WireFormat, state::AppState};

/// The `/v1` routes. The body limit is enforced per request from the live configuration.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/chat/completions",
            post(chat_completions).fallback(wrong_method),
        )
        .route("/v1/messages", post(messages).fallback(wrong_method))
        .route(
            "/v1/messages/count_tokens",
            post(count_tokens).fallback(wrong_method),
        )
        .route("/v1/models", get(models::list).fallback(wrong_method))
        .route("/v1/{*rest}", any(not_found))
        .layer(DefaultBodyLimit::disable())
}

async fn chat_completions(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    forward::forward(state, Endpoint::ChatCompletions, headers, body).await
}

async fn messages(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    forward::forward(state, Endpoint::Messages, headers, body).await
}

async fn count_tokens(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    forward::forward(state, Endpoint::CountTokens, headers, body).await
}

/// The format a client speaks, by its path and headers, for answers no handler gives.
fn format_of(uri: &Uri, headers: &HeaderMap) -> WireFormat {
    if uri.path().starts_with("/v1/messages") || headers.contains_key("anthropic-version") {
        WireFormat::Anthropic
    } else {
        WireFormat::OpenAi
    }
}

async fn not_found(method: Method, uri: Uri, headers: HeaderMap) -> Response {
    ProxyError::new(
        StatusCode::NOT_FOUND,
        ErrorKind::NotFound,
        "unknown_url",
        format!("{method} {} is not served by AMP Pool; see /v1/chat/completions, /v1/messages and /v1/models", uri.path()),
    )
    .into_response(format_of(&uri, &headers))
}

async fn wrong_method(method: Method, uri: Uri, headers: HeaderMap) -> Response {
    let allowed = if uri.path() == "/v1/models" {
        "GET"
    } else {
        "POST"
    };
    let mut response = ProxyError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        ErrorKind::InvalidRequest,
        "method_not_allowed",
        format!("{} takes {allowed}, not {method}", uri.path()),
    )
    .into_response(format_of(&uri, &headers));
    response
        .headers_mut()
        .insert("allow", axum::http::HeaderValue::from_static(allowed));
    response
}
