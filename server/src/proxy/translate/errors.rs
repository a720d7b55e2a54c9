//! Upstream error answers in the client's format: the upstream's message is kept, the type is
//! the client format's type for the status (what the client's SDK maps to its exception).

use axum::http::StatusCode;
use bytes::Bytes;

use crate::{
    pool::WireFormat,
    proxy::error::{ErrorKind, ProxyError},
};

/// The error kind an HTTP status stands for in both formats.
fn kind_of(status: StatusCode) -> ErrorKind {
    match status.as_u16() {
        401 => ErrorKind::Authentication,
        402 => ErrorKind::Billing,
        403 => ErrorKind::Permission,
        404 => ErrorKind::NotFound,
        413 => ErrorKind::TooLarge,
        429 => ErrorKind::RateLimited,
        503 | 529 => ErrorKind::Unavailable,
        400..=499 => ErrorKind::InvalidRequest,
        _ => ErrorKind::Upstream,
    }
}

/// The upstream's error `body` (with `status`) as an error body in `client` format. Anthropic's
/// 529 (overloaded) becomes 503 for OpenAI clients, which know no 529.
pub fn translate(status: StatusCode, body: &[u8], client: WireFormat) -> (StatusCode, Bytes) {
    let message = crate::proxy::upstream::error_message(body)
        .unwrap_or_else(|| format!("the upstream answered HTTP {}", status.as_u16()));
    let status = match (status.as_u16(), client) {
        (529, WireFormat::OpenAi) => StatusCode::SERVICE_UNAVAILABLE,
        _ => status,
    };
    let error = ProxyError::new(status, kind_of(status), "upstream_error", message);
    (status, Bytes::from(error.body(client).to_string()))
}

/// The error event that ends a translated stream, in `client` format.
pub fn stream_event(client: WireFormat, message: &str) -> Bytes {
    let error = ProxyError::new(
        StatusCode::BAD_GATEWAY,
        ErrorKind::Upstream,
        "upstream_stream_error",
        message.to_string(),
    );
    Bytes::from(match client {
        WireFormat::OpenAi => format!("data: {}\n\n", error.body(client)),
        WireFormat::Anthropic => format!("event: error\ndata: {}\n\n", error.body(client)),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    #[test]
    fn upstream_errors_take_the_clients_shape_and_type() {
        let table: Vec<(u16, Value, WireFormat, u16, Value)> = vec![
            (
                429,
                json!({"type": "error", "error": {"type": "rate_limit_error",
                    "message": "Number of request tokens has exceeded your per-minute rate limit"}}),
                WireFormat::OpenAi,
                429,
                json!({"error": {"message": "Number of request tokens has exceeded your per-minute rate limit",
                    "type": "rate_limit_error", "param": null, "code": "upstream_error"}}),
            ),
            (
                529,
                json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
                WireFormat::OpenAi,
                503,
                json!({"error": {"message": "Overloaded", "type": "api_error", "param": null,
                    "code": "upstream_error"}}),
            ),
            (
                400,
                json!({"error": {"message": "Invalid 'messages[1].content': string too long.",
                    "type": "invalid_request_error", "param": "messages[1].content",
                    "code": "string_above_max_length"}}),
                WireFormat::Anthropic,
                400,
                json!({"type": "error", "error": {"type": "invalid_request_error",
                    "message": "Invalid 'messages[1].content': string too long."}}),
            ),
            (
                500,
                json!({"error": {"message": "The server had an error", "type": "server_error"}}),
                WireFormat::Anthropic,
                500,
                json!({"type": "error", "error": {"type": "api_error", "message": "The server had an error"}}),
            ),
        ];
        for (status, body, client, want_status, want) in table {
            let (got_status, got) = translate(
                StatusCode::from_u16(status).expect("a status"),
                body.to_string().as_bytes(),
                client,
            );
            assert_eq!(got_status.as_u16(), want_status, "{body}");
            let got: Value = serde_json::from_slice(&got).expect("JSON");
            assert_eq!(got, want, "{body}");
        }
    }

    #[test]
    fn a_body_without_a_message_says_the_status() {
        let (_, body) = translate(StatusCode::BAD_GATEWAY, b"<html>", WireFormat::Anthropic);
        let body: Value = serde_json::from_slice(&body).expect("JSON");
        assert_eq!(body["error"]["message"], "the upstream answered HTTP 502");
    }
}
