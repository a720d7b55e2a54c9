//! The `/v1` proxy: OpenAI's chat completions, Responses API, embeddings and legacy
//! completions, Anthropic's messages, and the model list, forwarded through the key pool.
//!
//! Bodies pass through as bytes; a tap reads usage on the side. Every upstream attempt ends
//! in exactly one record for the batching writer, and nothing here waits on the database.

mod attempt;
mod error;
mod forward;
mod models;
mod request;
mod responses;
mod route;
mod session;
mod sse;
mod stream;
mod tap;
pub mod translate;
mod upstream;

use axum::{
    Router,
    body::Body,
    extract::{DefaultBodyLimit, State},
    http::HeaderMap,
    http::{Method, StatusCode, Uri},
    response::Response,
    routing::{MethodRouter, any, get, post},
};

use error::ErrorKind;
pub use error::ProxyError;
pub use forward::REQUEST_ID_HEADER;
pub use request::Endpoint;
use tower_http::catch_panic::CatchPanicLayer;

use crate::{pool::WireFormat, state::AppState};

/// The `/v1` routes. The body limit is enforced per request from the live configuration.
///
/// Each route is wrapped in a panic catcher as a last resort: a bug must cost one request a
/// 500 in its own format, never the connection without an answer.
pub fn router() -> Router<AppState> {
    let openai = |route: MethodRouter<AppState>| {
        route
            .fallback(wrong_method)
            .layer(CatchPanicLayer::custom(openai_panic as PanicHandler))
    };
    let anthropic = |route: MethodRouter<AppState>| {
        route
            .fallback(wrong_method)
            .layer(CatchPanicLayer::custom(anthropic_panic as PanicHandler))
    };
    Router::new()
        .route("/v1/chat/completions", openai(post(chat_completions)))
        .route("/v1/responses", openai(post(create_response)))
        .route(
            "/v1/responses/{id}",
            openai(get(responses::retrieve).delete(responses::delete)),
        )
        .route("/v1/responses/{id}/cancel", openai(post(responses::cancel)))
        .route(
            "/v1/responses/{id}/input_items",
            openai(get(responses::input_items)),
        )
        .route("/v1/embeddings", openai(post(embeddings)))
        .route("/v1/completions", openai(post(completions)))
        .route("/v1/messages", anthropic(post(messages)))
        .route("/v1/messages/count_tokens", anthropic(post(count_tokens)))
        .route("/v1/models", openai(get(models::list)))
        .route("/v1/{*rest}", any(not_found))
        .layer(DefaultBodyLimit::disable())
}

type PanicHandler = fn(Box<dyn std::any::Any + Send + 'static>) -> Response;

fn openai_panic(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    panicked(panic.as_ref(), WireFormat::OpenAi)
}

fn anthropic_panic(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    panicked(panic.as_ref(), WireFormat::Anthropic)
}

/// The answer to a request whose handler panicked; the panic is logged, never shown.
fn panicked(panic: &(dyn std::any::Any + Send), format: WireFormat) -> Response {
    let detail = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)");
    tracing::error!(panic = %detail, "a /v1 request handler panicked");
    ProxyError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        ErrorKind::Upstream,
        "internal_error",
        "AMP Pool failed to handle this request; the error has been logged".into(),
    )
    .into_response(format)
}

async fn chat_completions(
    state: State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    create(state, uri, headers, body, Endpoint::ChatCompletions).await
}

async fn create_response(
    state: State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    create(state, uri, headers, body, Endpoint::Responses).await
}

async fn embeddings(state: State<AppState>, uri: Uri, headers: HeaderMap, body: Body) -> Response {
    create(state, uri, headers, body, Endpoint::Embeddings).await
}

async fn completions(state: State<AppState>, uri: Uri, headers: HeaderMap, body: Body) -> Response {
    create(state, uri, headers, body, Endpoint::Completions).await
}

async fn messages(state: State<AppState>, uri: Uri, headers: HeaderMap, body: Body) -> Response {
    create(state, uri, headers, body, Endpoint::Messages).await
}

async fn count_tokens(
    state: State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    create(state, uri, headers, body, Endpoint::CountTokens).await
}

async fn create(
    State(state): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
    endpoint: Endpoint,
) -> Response {
    forward::forward(state, endpoint, headers, uri.query(), body).await
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
        format!("{method} {} is not served by AMP Pool; see /v1/chat/completions, /v1/responses, /v1/embeddings, /v1/completions, /v1/messages and /v1/models", uri.path()),
    )
    .into_response(format_of(&uri, &headers))
}

async fn wrong_method(method: Method, uri: Uri, headers: HeaderMap) -> Response {
    let path = uri.path();
    let allowed = if path == "/v1/models" || path.ends_with("/input_items") {
        "GET"
    } else if path.starts_with("/v1/responses/") && !path.ends_with("/cancel") {
        "GET, DELETE"
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panicking_handler_answers_500_in_the_routes_format() {
        use tower::ServiceExt;
        async fn boom() -> Response {
            #[allow(clippy::panic)]
            {
                panic!("boom")
            }
        }
        let app: Router = Router::new()
            .route(
                "/v1/messages",
                post(boom).layer(CatchPanicLayer::custom(anthropic_panic as PanicHandler)),
            )
            .route(
                "/v1/chat/completions",
                post(boom).layer(CatchPanicLayer::custom(openai_panic as PanicHandler)),
            );
        let call = |path: &'static str| {
            let app = app.clone();
            async move {
                let request = axum::http::Request::post(path)
                    .body(Body::empty())
                    .expect("a request");
                let response = app.oneshot(request).await.expect("an answer");
                let status = response.status();
                let body = axum::body::to_bytes(response.into_body(), 1 << 16)
                    .await
                    .expect("a body");
                let json: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
                (status, json)
            }
        };
        let (status, body) = call("/v1/messages").await;
        assert_eq!(status, 500);
        assert_eq!(
            body,
            serde_json::json!({"type": "error", "error": {"type": "api_error",
                "message": "AMP Pool failed to handle this request; the error has been logged"}})
        );
        let (status, body) = call("/v1/chat/completions").await;
        assert_eq!(status, 500);
        assert_eq!(body["error"]["code"], "internal_error");
        assert_eq!(body["error"]["type"], "api_error");
    }
}
