//! Error bodies in each surface's own format, shaped so the official SDKs parse them:
//! OpenAI `{"error":{"message","type","param","code"}}`, Anthropic
//! `{"type":"error","error":{"type","message"}}`.

use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde_json::json;

use super::request::Dialect;
use crate::{access::Denied, pool::WireFormat};

/// What kind of error, independent of format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    InvalidRequest,
    Authentication,
    Billing,
    Permission,
    NotFound,
    TooLarge,
    RateLimited,
    Upstream,
    Unavailable,
}

/// An error the proxy itself answers with.
#[derive(Clone, Debug)]
pub struct ProxyError {
    pub status: StatusCode,
    pub kind: ErrorKind,
    pub message: String,
    /// The request field at fault, when there is one.
    pub param: Option<&'static str>,
    /// OpenAI's machine-readable `code`.
    pub code: &'static str,
}

impl ProxyError {
    /// An error of any kind.
    pub fn new(status: StatusCode, kind: ErrorKind, code: &'static str, message: String) -> Self {
        Self {
            status,
            kind,
            message,
            param: None,
            code,
        }
    }

    /// A 400 about `param`.
    pub fn invalid(
        param: Option<&'static str>,
        code: &'static str,
        message: impl Into<String>,
    ) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            kind: ErrorKind::InvalidRequest,
            message: message.into(),
            param,
            code,
        }
    }

    /// A 413 for a body over `limit` bytes.
    pub fn too_large(limit: usize) -> Self {
        Self {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            kind: ErrorKind::TooLarge,
            message: format!("request body is larger than {limit} bytes"),
            param: None,
            code: "request_too_large",
        }
    }

    /// 503: no key can serve the request.
    pub fn unavailable(message: String) -> Self {
        Self {
            status: StatusCode::SERVICE_UNAVAILABLE,
            kind: ErrorKind::Unavailable,
            message,
            param: None,
            code: "no_available_key",
        }
    }

    /// 502: every attempt failed without an upstream answer to pass on.
    pub fn bad_gateway(message: String) -> Self {
        Self {
            status: StatusCode::BAD_GATEWAY,
            kind: ErrorKind::Upstream,
            message,
            param: None,
            code: "upstream_unreachable",
        }
    }

    /// 504: the upstream did not answer in time, on more than one key.
    pub fn gateway_timeout(message: String) -> Self {
        Self {
            status: StatusCode::GATEWAY_TIMEOUT,
            kind: ErrorKind::Upstream,
            message,
            param: None,
            code: "upstream_timeout",
        }
    }

    /// Renders the error in `format`.
    pub fn into_response(self, format: WireFormat) -> Response {
        (self.status, Json(self.body(format))).into_response()
    }

    /// The JSON body in `format`.
    pub fn body(&self, format: WireFormat) -> serde_json::Value {
        match format {
            WireFormat::OpenAi => json!({
                "error": {
                    "message": self.message,
                    "type": openai_type(self.kind),
                    "param": self.param,
                    "code": self.code,
                }
            }),
            WireFormat::Anthropic => json!({
                "type": "error",
                "error": {"type": anthropic_type(self.kind), "message": self.message},
            }),
        }
    }
}

impl From<Denied> for ProxyError {
    fn from(denied: Denied) -> Self {
        let (kind, code) = match &denied {
            Denied::Missing | Denied::Unknown | Denied::Revoked | Denied::Expired => {
                (ErrorKind::Authentication, "invalid_api_key")
            }
            Denied::ModelNotAllowed(_) => (ErrorKind::Permission, "model_not_allowed"),
            Denied::RateLimited(_) => (ErrorKind::RateLimited, "rate_limit_exceeded"),
            Denied::BudgetExhausted => (ErrorKind::Billing, "budget_exceeded"),
        };
        Self {
            status: StatusCode::from_u16(denied.status()).unwrap_or(StatusCode::UNAUTHORIZED),
            kind,
            message: denied.message(),
            param: matches!(denied, Denied::ModelNotAllowed(_)).then_some("model"),
            code,
        }
    }
}

fn openai_type(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::InvalidRequest | ErrorKind::TooLarge => "invalid_request_error",
        ErrorKind::Authentication => "authentication_error",
        ErrorKind::Billing => "insufficient_quota",
        ErrorKind::Permission => "permission_error",
        ErrorKind::NotFound => "not_found_error",
        ErrorKind::RateLimited => "rate_limit_error",
        ErrorKind::Upstream | ErrorKind::Unavailable => "api_error",
    }
}

fn anthropic_type(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::InvalidRequest => "invalid_request_error",
        ErrorKind::TooLarge => "request_too_large",
        ErrorKind::Authentication => "authentication_error",
        ErrorKind::Billing => "billing_error",
        ErrorKind::Permission => "permission_error",
        ErrorKind::NotFound => "not_found_error",
        ErrorKind::RateLimited => "rate_limit_error",
        ErrorKind::Upstream => "api_error",
        ErrorKind::Unavailable => "overloaded_error",
    }
}

/// An error event that ends a stream which has already started, in the stream's own dialect.
pub fn stream_error_event(dialect: Dialect, message: &str) -> bytes::Bytes {
    let error = ProxyError {
        status: StatusCode::BAD_GATEWAY,
        kind: ErrorKind::Upstream,
        message: message.to_string(),
        param: None,
        code: "upstream_stream_error",
    };
    let text = match dialect {
        Dialect::Chat => format!("data: {}\n\n", error.body(WireFormat::OpenAi)),
        // The Responses API's own error event: `{"type":"error","code","message","param"}`.
        Dialect::Responses => format!(
            "event: error\ndata: {}\n\n",
            json!({"type": "error", "code": error.code, "message": error.message, "param": null})
        ),
        Dialect::Anthropic => format!(
            "event: error\ndata: {}\n\n",
            error.body(WireFormat::Anthropic)
        ),
    };
    bytes::Bytes::from(text)
}
