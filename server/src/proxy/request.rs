//! The client's request: read once, checked for the few fields the proxy needs, and passed on
//! as the client sent it — except that an OpenAI stream asks upstream for its usage chunk.

use bytes::{Bytes, BytesMut};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::{
    error::ProxyError,
    session::{self, Clues, Opening, SessionId},
    tap::is_response_id,
};
use crate::{pool::WireFormat, provider::Provider};

/// The client-facing endpoints that create something upstream (and so pick a key).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// `POST /v1/chat/completions`.
    ChatCompletions,
    /// `POST /v1/responses` (OpenAI's Responses API).
    Responses,
    /// `POST /v1/embeddings`.
    Embeddings,
    /// `POST /v1/completions` (OpenAI's legacy completions).
    Completions,
    /// `POST /v1/messages`.
    Messages,
    /// `POST /v1/messages/count_tokens`.
    CountTokens,
    /// `GET /v1/responses/{id}`.
    RetrieveResponse,
    /// `DELETE /v1/responses/{id}`.
    DeleteResponse,
    /// `POST /v1/responses/{id}/cancel`.
    CancelResponse,
    /// `GET /v1/responses/{id}/input_items`.
    ResponseInputItems,
}

/// How an endpoint's answers report usage and end their streams.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// OpenAI chat completions, legacy completions and embeddings: `usage.prompt_tokens`,
    /// chunks ending in `data: [DONE]`.
    Chat,
    /// OpenAI's Responses API: `usage.input_tokens`, `response.*` events.
    Responses,
    /// Anthropic messages: `message_start` … `message_stop`.
    Anthropic,
}

impl Endpoint {
    /// Every endpoint.
    pub const ALL: [Endpoint; 10] = [
        Endpoint::ChatCompletions,
        Endpoint::Responses,
        Endpoint::Embeddings,
        Endpoint::Completions,
        Endpoint::Messages,
        Endpoint::CountTokens,
        Endpoint::RetrieveResponse,
        Endpoint::DeleteResponse,
        Endpoint::CancelResponse,
        Endpoint::ResponseInputItems,
    ];

    /// The name stored in the log.
    pub fn as_str(self) -> &'static str {
        match self {
            Endpoint::ChatCompletions => "chat_completions",
            Endpoint::Responses => "responses",
            Endpoint::Embeddings => "embeddings",
            Endpoint::Completions => "completions",
            Endpoint::Messages => "messages",
            Endpoint::CountTokens => "count_tokens",
            Endpoint::RetrieveResponse => "responses_retrieve",
            Endpoint::DeleteResponse => "responses_delete",
            Endpoint::CancelResponse => "responses_cancel",
            Endpoint::ResponseInputItems => "responses_input_items",
        }
    }

    /// The wire format of this endpoint (its errors' shape, the keys that serve it).
    pub fn format(self) -> WireFormat {
        match self {
            Endpoint::ChatCompletions
            | Endpoint::Responses
            | Endpoint::Embeddings
            | Endpoint::Completions
            | Endpoint::RetrieveResponse
            | Endpoint::DeleteResponse
            | Endpoint::CancelResponse
            | Endpoint::ResponseInputItems => WireFormat::OpenAi,
            Endpoint::Messages | Endpoint::CountTokens => WireFormat::Anthropic,
        }
    }

    /// How its answers carry usage.
    pub fn dialect(self) -> Dialect {
        match self {
            Endpoint::ChatCompletions | Endpoint::Embeddings | Endpoint::Completions => {
                Dialect::Chat
            }
            Endpoint::Responses
            | Endpoint::RetrieveResponse
            | Endpoint::DeleteResponse
            | Endpoint::CancelResponse
            | Endpoint::ResponseInputItems => Dialect::Responses,
            Endpoint::Messages | Endpoint::CountTokens => Dialect::Anthropic,
        }
    }

    /// The only provider whose keys serve this endpoint, when the format's other providers do
    /// not: Amp's provider routes carry chat completions and responses, not embeddings or the
    /// legacy completions.
    pub fn only_provider(self) -> Option<Provider> {
        match self {
            Endpoint::Embeddings | Endpoint::Completions => Some(Provider::OpenAi),
            _ => None,
        }
    }

    /// The upstream path for a key of `provider` (for calls on one response, the path of the
    /// responses collection; the id and action follow).
    pub fn upstream_path(self, provider: Provider) -> &'static str {
        let amp = provider == Provider::Amp;
        match self {
            Endpoint::RetrieveResponse
            | Endpoint::DeleteResponse
            | Endpoint::CancelResponse
            | Endpoint::ResponseInputItems
                if amp =>
            {
                "/api/provider/openai/v1/responses"
            }
            Endpoint::RetrieveResponse
            | Endpoint::DeleteResponse
            | Endpoint::CancelResponse
            | Endpoint::ResponseInputItems => "/v1/responses",
            Endpoint::ChatCompletions if amp => "/api/provider/openai/v1/chat/completions",
            Endpoint::ChatCompletions => "/v1/chat/completions",
            Endpoint::Responses if amp => "/api/provider/openai/v1/responses",
            Endpoint::Responses => "/v1/responses",
            Endpoint::Embeddings if amp => "/api/provider/openai/v1/embeddings",
            Endpoint::Embeddings => "/v1/embeddings",
            Endpoint::Completions if amp => "/api/provider/openai/v1/completions",
            Endpoint::Completions => "/v1/completions",
            Endpoint::Messages if amp => "/api/provider/anthropic/v1/messages",
            Endpoint::Messages => "/v1/messages",
            Endpoint::CountTokens if amp => "/api/provider/anthropic/v1/messages/count_tokens",
            Endpoint::CountTokens => "/v1/messages/count_tokens",
        }
    }

    /// Whether the endpoint can stream at all.
    fn streams(self) -> bool {
        matches!(
            self,
            Endpoint::ChatCompletions
                | Endpoint::Responses
                | Endpoint::Completions
                | Endpoint::Messages
        )
    }

    /// Whether an OpenAI-style `stream_options.include_usage` is asked of upstream for streams.
    fn asks_stream_usage(self) -> bool {
        matches!(self, Endpoint::ChatCompletions | Endpoint::Completions)
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
    /// The conversation this request continues or starts, for session affinity.
    pub session: Option<SessionId>,
    /// The Responses API's `previous_response_id`: the key that created it holds the state.
    pub previous_response_id: Option<String>,
}

#[derive(Deserialize)]
struct Head<'a> {
    #[serde(default, borrow)]
    model: Option<&'a RawValue>,
    #[serde(default, borrow)]
    stream: Option<&'a RawValue>,
    #[serde(default, borrow)]
    stream_options: Option<&'a RawValue>,
    #[serde(default, borrow)]
    metadata: Option<&'a RawValue>,
    #[serde(default, borrow)]
    prompt_cache_key: Option<&'a RawValue>,
    #[serde(default, borrow)]
    user: Option<&'a RawValue>,
    #[serde(default, borrow)]
    previous_response_id: Option<&'a RawValue>,
    #[serde(default, borrow)]
    system: Option<&'a RawValue>,
    #[serde(default, borrow)]
    instructions: Option<&'a RawValue>,
    #[serde(default, borrow)]
    messages: Option<Opening<'a>>,
    #[serde(default, borrow)]
    input: Option<Opening<'a>>,
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
        let previous_response_id = head
            .previous_response_id
            .filter(|_| endpoint == Endpoint::Responses)
            .and_then(|raw| serde_json::from_str::<String>(raw.get()).ok())
            .filter(|id| is_response_id(id));
        let session = match endpoint {
            Endpoint::ChatCompletions | Endpoint::Responses | Endpoint::Messages => {
                let dialect = endpoint.dialect();
                let (system, opening) = match dialect {
                    Dialect::Responses => (head.instructions, head.input),
                    _ => (head.system, head.messages),
                };
                session::identify(
                    dialect,
                    &Clues {
                        metadata: head.metadata,
                        prompt_cache_key: head.prompt_cache_key,
                        user: head.user,
                        previous_response_id: head.previous_response_id,
                        system,
                        opening,
                    },
                )
            }
            _ => None,
        };
        if !endpoint.asks_stream_usage() || !stream {
            return Ok(Self {
                model,
                stream: stream && endpoint.streams(),
                client_wants_usage: true,
                upstream_body: body,
                session,
                previous_response_id,
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
            session,
            previous_response_id,
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
    fn only_a_responses_call_continues_a_previous_response() {
        let body = r#"{"model":"gpt-5","input":"more","previous_response_id":"resp_abc123"}"#;
        let request = parse(Endpoint::Responses, body).expect("valid");
        assert_eq!(request.previous_response_id.as_deref(), Some("resp_abc123"));
        assert!(request.session.is_some());
        assert_eq!(request.upstream_body, body.as_bytes());
        let chat = parse(Endpoint::ChatCompletions, body).expect("valid");
        assert_eq!(chat.previous_response_id, None);
        let odd = r#"{"model":"gpt-5","previous_response_id":"../../admin"}"#;
        assert_eq!(
            parse(Endpoint::Responses, odd)
                .expect("valid")
                .previous_response_id,
            None
        );
    }

    #[test]
    fn a_responses_stream_is_passed_on_unchanged() {
        // The Responses API reports usage in `response.completed`; it has no usage option.
        let body = r#"{"model":"gpt-5","input":"hi","stream":true}"#;
        let request = parse(Endpoint::Responses, body).expect("valid");
        assert!(request.stream);
        assert_eq!(request.upstream_body, body.as_bytes());
        let embeddings = parse(
            Endpoint::Embeddings,
            r#"{"model":"e","input":"x","stream":true}"#,
        )
        .expect("valid");
        assert!(!embeddings.stream);
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
