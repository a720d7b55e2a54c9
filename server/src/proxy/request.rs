//! The client's request: read once, checked for the few fields the proxy needs, and passed on
//! as the client sent it — except that an OpenAI stream asks upstream for its usage chunk.

use bytes::{Bytes, BytesMut};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::error::ProxyError;
use crate::{pool::WireFormat, provider::Provider};

/// The client-facing endpoints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// `POST /v1/chat/completions`.
    ChatCompletions,
    /// `POST /v1/messages`.
    Messages,
    /// `POST /v1/messages/count_tokens`.
    CountTokens,
}

impl Endpoint {
    /// The name stored in the log.
    pub fn as_str(self) -> &'static str {
        match self {
            Endpoint::ChatCompletions => "chat_completions",
            Endpoint::Messages => "messages",
            Endpoint::CountTokens => "count_tokens",
        }
    }

    /// The wire format of this endpoint.
    pub fn format(self) -> WireFormat {
        match self {
            Endpoint::ChatCompletions => WireFormat::OpenAi,
            Endpoint::Messages | Endpoint::CountTokens => WireFormat::Anthropic,
        }
    }

    /// The upstream path for a key of `provider`.
    pub fn upstream_path(self, provider: Provider) -> &'static str {
        match (self, provider) {
            (Endpoint::ChatCompletions, Provider::Amp) => {
                "/api/provider/openai/v1/chat/completions"
            }
            (Endpoint::ChatCompletions, _) => "/v1/chat/completions",
            (Endpoint::Messages, Provider::Amp) => "/api/provider/anthropic/v1/messages",
            (Endpoint::Messages, _) => "/v1/messages",
            (Endpoint::CountTokens, Provider::Amp) => {
                "/api/provider/anthropic/v1/messages/count_tokens"
            }
            (Endpoint::CountTokens, _) => "/v1/messages/count_tokens",
        }
    }
}

/// What the proxy needs from a client request, and the body to send upstream.
#[derive(Debug)]
pub struct ClientRequest {
    pub model: String,
    pub stream: bool,
    /// The client asked for OpenAI's usage chunk itself (so it is passed on).
    pub client_wants_usage: bool,
    /// The body for upstream: the client's bytes, or those bytes with the usage request added.
    pub upstream_body: Bytes,
}

#[derive(Deserialize)]
struct Head<'a> {
    #[serde(default, borrow)]
    model: Option<&'a RawValue>,
    #[serde(default, borrow)]
    stream: Option<&'a RawValue>,
    #[serde(default, borrow)]
    stream_options: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct StreamOptions {
    #[serde(default)]
    include_usage: Option<bool>,
}

impl ClientRequest {
    /// Reads `body` for `endpoint`; a body that is not usable is a 400 naming the problem.
    pub fn parse(endpoint: Endpoint, body: Bytes) -> Result<Self, ProxyError> {
        if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(ProxyError::invalid(
                None,
                "invalid_json",
                "request body must be a JSON object",
            ));
        }
        let head: Head<'_> = serde_json::from_slice(&body).map_err(|error| {
            ProxyError::invalid(
                None,
                "invalid_json",
                format!("request body is not valid JSON: {error}"),
            )
        })?;
        let model = match head.model {
            None => {
                return Err(ProxyError::invalid(
                    Some("model"),
                    "missing_model",
                    "`model` is required",
                ));
            }
            Some(raw) => serde_json::from_str::<String>(raw.get())
                .ok()
                .filter(|m| !m.trim().is_empty())
                .ok_or_else(|| {
                    ProxyError::invalid(
                        Some("model"),
                        "invalid_model",
                        "`model` must be a non-empty string",
                    )
                })?,
        };
        check_model(&model)?;
        let stream = match head.stream {
            None => false,
            Some(raw) if raw.get() == "null" => false,
            Some(raw) => serde_json::from_str::<bool>(raw.get()).map_err(|_| {
                ProxyError::invalid(
                    Some("stream"),
                    "invalid_stream",
                    "`stream` must be a boolean",
                )
            })?,
        };
        if endpoint == Endpoint::CountTokens || endpoint.format() != WireFormat::OpenAi || !stream {
            return Ok(Self {
                model,
                stream: stream && endpoint != Endpoint::CountTokens,
                client_wants_usage: true,
                upstream_body: body,
            });
        }
        let include_usage = match head.stream_options {
            None => None,
            Some(raw) if raw.get() == "null" => None,
            Some(raw) => Some(
                serde_json::from_str::<StreamOptions>(raw.get())
                    .map_err(|_| {
                        ProxyError::invalid(
                            Some("stream_options"),
                            "invalid_stream_options",
                            "`stream_options` must be an object",
                        )
                    })?
                    .include_usage
                    .unwrap_or(false),
            ),
        };
        let upstream_body = match include_usage {
            Some(true) => body.clone(),
            // No stream_options: add one before the closing brace, leaving the rest byte-exact.
            None if head.stream_options.is_none() => append_stream_options(&body),
            // stream_options present without usage (or null): rewrite that one field.
            _ => rewrite_stream_options(&body)?,
        };
        Ok(Self {
            model,
            stream,
            client_wants_usage: include_usage == Some(true),
            upstream_body,
        })
    }
}

/// The longest model name accepted: the width of the log's and rollups' `model` columns.
pub const MAX_MODEL_CHARS: usize = 128;

/// A model name becomes a log column, a rollup dimension and a metric label: it must fit the
/// columns and hold only printable characters.
fn check_model(model: &str) -> Result<(), ProxyError> {
    if model.chars().count() > MAX_MODEL_CHARS {
        return Err(ProxyError::invalid(
            Some("model"),
            "invalid_model",
            format!("`model` must be at most {MAX_MODEL_CHARS} characters"),
        ));
    }
    if model.chars().any(|c| c.is_control()) {
        return Err(ProxyError::invalid(
            Some("model"),
            "invalid_model",
            "`model` must not contain control characters",
        ));
    }
    Ok(())
}

const USAGE_OPTION: &[u8] = br#""stream_options":{"include_usage":true}"#;

fn append_stream_options(body: &[u8]) -> Bytes {
    let end = body.iter().rposition(|b| *b == b'}').unwrap_or(body.len());
    let mut out = BytesMut::with_capacity(body.len() + USAGE_OPTION.len() + 1);
    out.extend_from_slice(&body[..end]);
    out.extend_from_slice(b",");
    out.extend_from_slice(USAGE_OPTION);
    out.extend_from_slice(&body[end..]);
    out.freeze()
}

fn rewrite_stream_options(body: &[u8]) -> Result<Bytes, ProxyError> {
    let mut value: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(body)
        .map_err(|error| ProxyError::invalid(None, "invalid_json", error.to_string()))?;
    let options = value
        .entry("stream_options")
        .or_insert_with(|| serde_json::json!({}));
    if !options.is_object() {
        *options = serde_json::json!({});
    }
    if let Some(options) = options.as_object_mut() {
        options.insert("include_usage".into(), serde_json::Value::Bool(true));
    }
    serde_json::to_vec(&value)
        .map(Bytes::from)
        .map_err(|error| ProxyError::invalid(None, "invalid_json", error.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(endpoint: Endpoint, body: &str) -> Result<ClientRequest, ProxyError> {
        ClientRequest::parse(endpoint, Bytes::from(body.to_string()))
    }

    #[test]
    fn a_plain_request_passes_byte_for_byte() {
        let body = r#"{"model":"gpt-4o","messages":[],"x_unknown":{"keep":1.50}}"#;
        let request = parse(Endpoint::ChatCompletions, body).expect("valid");
        assert_eq!(request.model, "gpt-4o");
        assert!(!request.stream);
        assert_eq!(request.upstream_body, body.as_bytes());
    }

    #[test]
    fn an_openai_stream_asks_for_usage_without_touching_the_rest() {
        let body = "{\"model\":\"gpt-4o\",\"stream\":true,\"temperature\":0.70}\n";
        let request = parse(Endpoint::ChatCompletions, body).expect("valid");
        assert!(request.stream && !request.client_wants_usage);
        assert_eq!(
            std::str::from_utf8(&request.upstream_body).expect("utf8"),
            "{\"model\":\"gpt-4o\",\"stream\":true,\"temperature\":0.70,\"stream_options\":{\"include_usage\":true}}\n"
        );
    }

    #[test]
    fn a_client_that_asks_for_usage_gets_its_body_unchanged() {
        let body = r#"{"model":"m","stream":true,"stream_options":{"include_usage":true}}"#;
        let request = parse(Endpoint::ChatCompletions, body).expect("valid");
        assert!(request.client_wants_usage);
        assert_eq!(request.upstream_body, body.as_bytes());
    }

    #[test]
    fn stream_options_without_usage_are_completed() {
        let body = r#"{"model":"m","stream":true,"stream_options":{"include_obfuscation":false}}"#;
        let request = parse(Endpoint::ChatCompletions, body).expect("valid");
        assert_eq!(
            std::str::from_utf8(&request.upstream_body).expect("utf8"),
            r#"{"model":"m","stream":true,"stream_options":{"include_obfuscation":false,"include_usage":true}}"#
        );
    }

    #[test]
    fn model_names_longer_than_the_column_are_refused() {
        let fits = format!("{{\"model\":\"{}\"}}", "é".repeat(128));
        assert!(parse(Endpoint::Messages, &fits).is_ok());
        let long = format!("{{\"model\":\"{}\"}}", "m".repeat(129));
        let error = parse(Endpoint::Messages, &long).expect_err("too long");
        assert_eq!((error.code, error.param), ("invalid_model", Some("model")));
    }

    #[test]
    fn bad_bodies_name_the_problem() {
        let cases = [
            ("not json", "invalid_json"),
            ("[1,2]", "invalid_json"),
            ("{\"model\":", "invalid_json"),
            ("{\"messages\":[]}", "missing_model"),
            ("{\"model\":42}", "invalid_model"),
            ("{\"model\":\"m\",\"stream\":\"yes\"}", "invalid_stream"),
            ("{\"model\":\"gpt\\u0000\"}", "invalid_model"),
            ("{\"model\":\"gpt\\n4\"}", "invalid_model"),
        ];
        for (body, code) in cases {
            let error = parse(Endpoint::Messages, body).expect_err(body);
            assert_eq!(error.code, code, "{body}");
            assert_eq!(error.status, 400);
        }
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bodies_never_panic(body in proptest::collection::vec(proptest::num::u8::ANY, 0..256)) {
            for endpoint in [Endpoint::ChatCompletions, Endpoint::Messages, Endpoint::CountTokens] {
                let _ = ClientRequest::parse(endpoint, Bytes::from(body.clone()));
            }
        }

        #[test]
        fn json_shaped_bodies_never_panic(body in r#"\{("(model|stream|stream_options|x)":(true|null|1|"[a-z\\]{0,5}"|\{("include_usage":(true|false|1))?\}),?){0,4}\}?"#) {
            let parsed = ClientRequest::parse(Endpoint::ChatCompletions, Bytes::from(body.clone()));
            if let Ok(request) = parsed {
                // What goes upstream is still JSON whenever the client's body was.
                if serde_json::from_str::<serde_json::Value>(&body).is_ok() {
                    proptest::prop_assert!(serde_json::from_slice::<serde_json::Value>(&request.upstream_body).is_ok());
                }
            }
        }
    }
}
