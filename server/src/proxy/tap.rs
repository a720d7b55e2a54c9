//! Reading usage from upstream answers: whole JSON bodies, and streams as they pass through.
//!
//! OpenAI reports `prompt_tokens` with cached tokens inside; they are split out here so that
//! `input` never counts a cached token twice. Anthropic reports input, cache writes and cache
//! reads separately in `message_start` and the output in each `message_delta` (cumulative: the
//! latest wins, never a sum).

use bytes::{Bytes, BytesMut};
use serde::Deserialize;
use serde::de::IgnoredAny;

use super::sse::{SseSplitter, parse_event};
use crate::{pool::WireFormat, usage::Usage};

#[derive(Deserialize)]
struct OpenAiUsage {
    #[serde(default)]
    prompt_tokens: Option<i64>,
    #[serde(default)]
    completion_tokens: Option<i64>,
    #[serde(default)]
    prompt_tokens_details: Option<OpenAiPromptDetails>,
}

#[derive(Deserialize)]
struct OpenAiPromptDetails {
    #[serde(default)]
    cached_tokens: Option<i64>,
}

impl OpenAiUsage {
    fn usage(&self) -> Usage {
        let prompt = self.prompt_tokens.unwrap_or(0);
        let cached = self
            .prompt_tokens_details
            .as_ref()
            .and_then(|d| d.cached_tokens)
            .unwrap_or(0)
            .min(prompt);
        Usage {
            input: prompt - cached,
            output: self.completion_tokens.unwrap_or(0),
            cache_read: cached,
            cache_creation: 0,
        }
    }
}

#[derive(Deserialize, Default)]
struct AnthropicUsage {
    #[serde(default)]
    input_tokens: Option<i64>,
    #[serde(default)]
    output_tokens: Option<i64>,
    #[serde(default)]
    cache_creation_input_tokens: Option<i64>,
    #[serde(default)]
    cache_read_input_tokens: Option<i64>,
}

impl AnthropicUsage {
    /// Applies what this report says; absent fields leave `usage` as it is.
    fn apply(&self, usage: &mut Usage) {
        if let Some(v) = self.input_tokens {
            usage.input = v;
        }
        if let Some(v) = self.output_tokens {
            usage.output = v;
        }
        if let Some(v) = self.cache_creation_input_tokens {
            usage.cache_creation = v;
        }
        if let Some(v) = self.cache_read_input_tokens {
            usage.cache_read = v;
        }
    }
}

#[derive(Deserialize)]
struct WithUsage<T> {
    #[serde(default = "Option::default")]
    usage: Option<T>,
}

/// Usage of a complete (non-stream) JSON answer; zero when it reports none.
pub fn body_usage(format: WireFormat, body: &[u8]) -> Usage {
    match format {
        WireFormat::OpenAi => serde_json::from_slice::<WithUsage<OpenAiUsage>>(body)
            .ok()
            .and_then(|b| b.usage)
            .map(|u| u.usage())
            .unwrap_or_default(),
        WireFormat::Anthropic => {
            let mut usage = Usage::default();
            if let Some(reported) = serde_json::from_slice::<WithUsage<AnthropicUsage>>(body)
                .ok()
                .and_then(|b| b.usage)
            {
                reported.apply(&mut usage);
            }
            usage
        }
    }
}

/// Watches a stream go by: usage so far, whether it finished properly, any error event.
pub struct StreamTap {
    format: WireFormat,
    splitter: SseSplitter,
    usage: Usage,
    finished: bool,
    error: Option<String>,
    /// Drop OpenAI's usage-only chunk: the proxy asked for it, the client did not.
    hide_usage_chunk: bool,
}

#[derive(Deserialize)]
struct OpenAiChunk {
    #[serde(default)]
    usage: Option<OpenAiUsage>,
    #[serde(default)]
    choices: Option<Vec<IgnoredAny>>,
    #[serde(default)]
    error: Option<ErrorField>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ErrorField {
    Object {
        #[serde(default)]
        message: Option<String>,
        #[serde(default, rename = "type")]
        kind: Option<String>,
    },
    Other(IgnoredAny),
}

impl ErrorField {
    fn describe(&self) -> String {
        match self {
            ErrorField::Object { message, kind } => match (kind, message) {
                (Some(kind), Some(message)) => format!("{kind}: {message}"),
                (None, Some(message)) => message.clone(),
                (Some(kind), None) => kind.clone(),
                (None, None) => "upstream error".into(),
            },
            ErrorField::Other(_) => "upstream error".into(),
        }
    }
}

#[derive(Deserialize)]
struct AnthropicEvent {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    message: Option<WithUsage<AnthropicUsage>>,
    #[serde(default)]
    usage: Option<AnthropicUsage>,
    #[serde(default)]
    error: Option<ErrorField>,
}

impl StreamTap {
    /// A tap for a stream in `format`.
    pub fn new(format: WireFormat, hide_usage_chunk: bool) -> Self {
        Self {
            format,
            splitter: SseSplitter::default(),
            usage: Usage::default(),
            finished: false,
            error: None,
            hide_usage_chunk,
        }
    }

    /// Usage seen so far.
    pub fn usage(&self) -> Usage {
        self.usage
    }

    /// Whether the upstream ended the stream properly (`[DONE]`, `message_stop`).
    pub fn finished(&self) -> bool {
        self.finished
    }

    /// An error event the upstream sent, if any.
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// Reads `chunk` and returns what to pass to the client: the chunk itself, or — when the
    /// usage chunk is hidden — the complete events of it minus that one.
    pub fn feed(&mut self, chunk: Bytes) -> Bytes {
        let Self {
            format,
            splitter,
            usage,
            finished,
            error,
            hide_usage_chunk,
        } = self;
        if !*hide_usage_chunk {
            splitter.feed(&chunk, |raw| {
                inspect(*format, raw, usage, finished, error, false);
            });
            return chunk;
        }
        let mut out = BytesMut::with_capacity(chunk.len());
        splitter.feed(&chunk, |raw| {
            if inspect(*format, raw, usage, finished, error, true) {
                out.extend_from_slice(raw);
            }
        });
        out.freeze()
    }

    /// Bytes held back at the end of the stream (an event that never completed).
    pub fn remainder(&self) -> Bytes {
        if self.hide_usage_chunk {
            Bytes::copy_from_slice(self.splitter.remainder())
        } else {
            Bytes::new()
        }
    }
}

/// Reads one event; returns whether to keep it.
fn inspect(
    format: WireFormat,
    raw: &[u8],
    usage: &mut Usage,
    finished: &mut bool,
    error: &mut Option<String>,
    hide_usage_chunk: bool,
) -> bool {
    let event = parse_event(raw);
    match format {
        WireFormat::OpenAi => {
            let data = event.data.trim();
            if data == "[DONE]" {
                *finished = true;
                return true;
            }
            if !data.contains("\"usage\"") && !data.contains("\"error\"") {
                return true;
            }
            let Ok(chunk) = serde_json::from_str::<OpenAiChunk>(data) else {
                return true;
            };
            if let Some(reported) = &chunk.error {
                *error = Some(reported.describe());
            }
            match chunk.usage {
                Some(reported) => {
                    *usage = reported.usage();
                    let usage_only = chunk.choices.as_ref().is_none_or(Vec::is_empty);
                    !(hide_usage_chunk && usage_only)
                }
                None => true,
            }
        }
        WireFormat::Anthropic => {
            let kind = event.name.map(str::to_string);
            let interesting = matches!(
                kind.as_deref(),
                Some("message_start" | "message_delta" | "message_stop" | "error") | None
            );
            if !interesting {
                return true;
            }
            let Ok(parsed) = serde_json::from_str::<AnthropicEvent>(&event.data) else {
                return true;
            };
            match kind.or(parsed.kind).as_deref() {
                Some("message_start") => {
                    if let Some(reported) = parsed.message.and_then(|m| m.usage) {
                        reported.apply(usage);
                    }
                }
                Some("message_delta") => {
                    if let Some(reported) = parsed.usage {
                        // Later deltas may repeat input figures as 0 before they are known;
                        // only the output count is always the running total.
                        usage.output = reported.output_tokens.unwrap_or(usage.output);
                        for (field, target) in [
                            (reported.input_tokens, &mut usage.input),
                            (
                                reported.cache_creation_input_tokens,
                                &mut usage.cache_creation,
                            ),
                            (reported.cache_read_input_tokens, &mut usage.cache_read),
                        ] {
                            if let Some(value) = field.filter(|v| *v > 0) {
                                *target = value;
                            }
                        }
                    }
                }
                Some("message_stop") => *finished = true,
                Some("error") => {
                    *error = Some(
                        parsed
                            .error
                            .map(|e| e.describe())
                            .unwrap_or_else(|| "upstream error".into()),
                    );
                }
                _ => {}
            }
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openai_cached_tokens_are_split_out_of_the_prompt() {
        let body = br#"{"id":"x","usage":{"prompt_tokens":1200,"completion_tokens":80,"total_tokens":1280,"prompt_tokens_details":{"cached_tokens":1024}}}"#;
        assert_eq!(
            body_usage(WireFormat::OpenAi, body),
            Usage {
                input: 176,
                output: 80,
                cache_read: 1024,
                cache_creation: 0
            }
        );
    }

    #[test]
    fn anthropic_body_usage_keeps_cache_fields_apart() {
        let body = br#"{"usage":{"input_tokens":20,"output_tokens":7,"cache_creation_input_tokens":300,"cache_read_input_tokens":4000}}"#;
        assert_eq!(
            body_usage(WireFormat::Anthropic, body),
            Usage {
                input: 20,
                output: 7,
                cache_read: 4000,
                cache_creation: 300
            }
        );
    }

    #[test]
    fn a_hidden_usage_chunk_is_dropped_and_counted() {
        let mut tap = StreamTap::new(WireFormat::OpenAi, true);
        let content = "data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}],\"usage\":null}\n\n";
        let usage =
            "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":2}}\n\n";
        let out = tap.feed(Bytes::from(format!("{content}{usage}data: [DONE]\n\n")));
        assert_eq!(out, Bytes::from(format!("{content}data: [DONE]\n\n")));
        assert_eq!(
            tap.usage(),
            Usage {
                input: 5,
                output: 2,
                ..Usage::default()
            }
        );
        assert!(tap.finished());
    }

    #[test]
    fn a_shown_usage_chunk_passes_byte_for_byte() {
        let mut tap = StreamTap::new(WireFormat::OpenAi, false);
        let chunk = Bytes::from_static(b"data: {\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":2}}\n\ndata: [DO");
        assert_eq!(tap.feed(chunk.clone()), chunk);
        assert_eq!(tap.usage().output, 2);
        assert!(!tap.finished());
    }

    #[test]
    fn anthropic_output_is_the_latest_delta_not_a_sum() {
        let mut tap = StreamTap::new(WireFormat::Anthropic, false);
        tap.feed(Bytes::from_static(b"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":25,\"cache_creation_input_tokens\":100,\"cache_read_input_tokens\":900,\"output_tokens\":1}}}\n\n"));
        tap.feed(Bytes::from_static(b"event: message_delta\ndata: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":10}}\n\n"));
        tap.feed(Bytes::from_static(b"event: message_delta\ndata: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":15}}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"));
        assert_eq!(
            tap.usage(),
            Usage {
                input: 25,
                output: 15,
                cache_read: 900,
                cache_creation: 100
            }
        );
        assert!(tap.finished());
    }

    #[test]
    fn an_error_event_is_noticed() {
        let mut tap = StreamTap::new(WireFormat::Anthropic, false);
        tap.feed(Bytes::from_static(b"event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n"));
        assert_eq!(tap.error(), Some("overloaded_error: Overloaded"));
    }
}
