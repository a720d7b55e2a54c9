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
    response::Response,
    routing::{get, post},
};

pub use error::ProxyError;
pub use forward::REQUEST_ID_HEADER;
pub use request::Endpoint;

use crate::state::AppState;

/// The `/v1` routes. The body limit is enforced per request from the live configuration.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/chat/completions", post(chat_completions))
        .route("/v1/messages", post(messages))
        .route("/v1/messages/count_tokens", post(count_tokens))
        .route("/v1/models", get(models::list))
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
