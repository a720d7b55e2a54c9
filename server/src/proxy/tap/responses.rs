//! OpenAI's Responses API: usage and the response id, from a whole answer or from the
//! `response.*` events of a stream.
//!
//! Its usage names differ from chat completions: `input_tokens` includes
//! `input_tokens_details.cached_tokens` (split out here, as for chat), and `output_tokens`
//! includes `output_tokens_details.reasoning_tokens`.

use serde::Deserialize;

use super::ErrorField;
use crate::usage::Usage;

#[derive(Deserialize)]
pub(super) struct ResponsesUsage {
    #[serde(default)]
    input_tokens: Option<i64>,
    #[serde(default)]
    input_tokens_details: Option<InputDetails>,
    #[serde(default)]
    output_tokens: Option<i64>,
    #[serde(default)]
    output_tokens_details: Option<OutputDetails>,
}

#[derive(Deserialize)]
struct InputDetails {
    #[serde(default)]
    cached_tokens: Option<i64>,
}

#[derive(Deserialize)]
struct OutputDetails {
    #[serde(default)]
    reasoning_tokens: Option<i64>,
}

impl ResponsesUsage {
    pub(super) fn usage(&self) -> Usage {
        let input = self.input_tokens.unwrap_or(0);
        let cached = self
            .input_tokens_details
            .as_ref()
            .and_then(|d| d.cached_tokens)
            .unwrap_or(0)
            .clamp(0, input.max(0));
        Usage {
            input: input.saturating_sub(cached),
            output: self.output_tokens.unwrap_or(0),
            cache_read: cached,
            reasoning: self
                .output_tokens_details
                .as_ref()
                .and_then(|d| d.reasoning_tokens)
                .unwrap_or(0),
            ..Usage::default()
        }
    }
}

/// A response object: the whole answer of a non-stream call, and the `response` field of the
/// `response.created` / `.completed` / `.incomplete` / `.failed` events.
#[derive(Deserialize)]
pub(super) struct ResponseObject {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub usage: Option<ResponsesUsage>,
    #[serde(default)]
    pub error: Option<ErrorField>,
}

/// One stream event's data, as far as it matters here.
#[derive(Deserialize)]
pub(super) struct ResponseEvent<'a> {
    #[serde(default, rename = "type", borrow)]
    pub kind: Option<std::borrow::Cow<'a, str>>,
    #[serde(default)]
    pub response: Option<ResponseObject>,
    /// The text of a `*.delta` event.
    #[serde(default, borrow)]
    pub delta: Option<std::borrow::Cow<'a, str>>,
    /// An `error` event's message and code.
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub code: Option<String>,
}

/// The usage and id of a whole (non-stream) answer; zero and none when it has neither.
pub(super) fn body(body: &[u8]) -> (Usage, Option<String>) {
    serde_json::from_slice::<ResponseObject>(body).map_or((Usage::default(), None), |object| {
        (
            object
                .usage
                .as_ref()
                .map(ResponsesUsage::usage)
                .unwrap_or_default(),
            object.id.filter(|id| is_response_id(id)),
        )
    })
}

/// Response ids are short and printable (`resp_…`); anything else is not remembered.
pub fn is_response_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}
