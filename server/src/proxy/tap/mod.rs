//! Reading usage from upstream answers: whole JSON bodies, and streams as they pass through.
//!
//! OpenAI reports `prompt_tokens` with cached tokens inside; they are split out here so that
//! `input` never counts a cached token twice. Anthropic reports input, cache writes and cache
//! reads separately in `message_start` and the output in each `message_delta` (cumulative: the
//! latest wins, never a sum). The Responses API has its own names (see [`responses`]).

mod responses;

pub use responses::is_response_id;

use bytes::{Bytes, BytesMut};
use serde::Deserialize;
use serde::de::IgnoredAny;

use super::request::Dialect;
use super::sse::{EventTooLarge, SseSplitter, parse_event};
use crate::usage::Usage;

#[derive(Deserialize)]
struct OpenAiUsage {
    #[serde(default)]
    prompt_tokens: Option<i64>,
    #[serde(default)]
    completion_tokens: Option<i64>,
    #[serde(default)]
    prompt_tokens_details: Option<OpenAiPromptDetails>,
    #[serde(default)]
    completion_tokens_details: Option<OpenAiCompletionDetails>,
}

#[derive(Deserialize)]
struct OpenAiCompletionDetails {
    #[serde(default)]
    reasoning_tokens: Option<i64>,
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
            input: prompt.saturating_sub(cached),
            output: self.completion_tokens.unwrap_or(0),
            cache_read: cached,
            reasoning: self
                .completion_tokens_details
                .as_ref()
                .and_then(|d| d.reasoning_tokens)
                .unwrap_or(0),
            ..Usage::default()
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
    #[serde(default)]
    cache_creation: Option<AnthropicCacheCreation>,
}

/// Anthropic's split of cache writes by lifetime.
#[derive(Deserialize, Default)]
struct AnthropicCacheCreation {
    #[serde(default)]
    ephemeral_1h_input_tokens: Option<i64>,
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
        if let Some(v) = self
            .cache_creation
            .as_ref()
            .and_then(|c| c.ephemeral_1h_input_tokens)
        {
            usage.cache_creation_1h = v;
        }
    }
}

#[derive(Deserialize)]
struct WithUsage<T> {
    #[serde(default = "Option::default")]
    usage: Option<T>,
}

/// Usage of a complete (non-stream) JSON answer; zero when it reports none.
#[cfg(test)]
fn body_usage(dialect: Dialect, body: &[u8]) -> Usage {
    answer_facts(dialect, body).0
}

/// Usage of a complete (non-stream) JSON answer, and the id of the response it created (the
/// Responses API only).
pub fn answer_facts(dialect: Dialect, body: &[u8]) -> (Usage, Option<String>) {
    let usage = match dialect {
        Dialect::Responses => return responses::body(body),
        Dialect::Chat => serde_json::from_slice::<WithUsage<OpenAiUsage>>(body)
            .ok()
            .and_then(|b| b.usage)
            .map(|u| u.usage())
            .unwrap_or_default(),
        Dialect::Anthropic => {
            let mut usage = Usage::default();
            if let Some(reported) = serde_json::from_slice::<WithUsage<AnthropicUsage>>(body)
                .ok()
                .and_then(|b| b.usage)
            {
                reported.apply(&mut usage);
            }
            usage
        }
    };
    (usage, None)
}

/// Watches a stream go by: usage so far, whether it finished properly, any error event.
pub struct StreamTap {
    dialect: Dialect,
    splitter: SseSplitter,
    seen: Seen,
    /// Drop OpenAI's usage-only chunk: the proxy asked for it, the client did not.
    hide_usage_chunk: bool,
}

/// What the events so far said.
#[derive(Default)]
struct Seen {
    usage: Usage,
    finished: bool,
    error: Option<String>,
    /// OpenAI's usage chunk arrived (its figures are final).
    usage_reported: bool,
    /// Characters of generated text relayed, for estimating output when usage never comes.
    relayed_chars: usize,
    /// The id of the response the stream creates (the Responses API only).
    response_id: Option<String>,
}

/// The generated text of a chunk: OpenAI `choices[].delta.content`, Anthropic
/// `delta.text` / `delta.partial_json` / `delta.thinking`.
#[derive(Deserialize)]
struct TextDelta<'a> {
    #[serde(default, borrow)]
    choices: Vec<Choice<'a>>,
    #[serde(default, borrow)]
    delta: Option<Delta<'a>>,
}

#[derive(Deserialize)]
struct Choice<'a> {
    #[serde(default, borrow)]
    delta: Option<Delta<'a>>,
}

#[derive(Deserialize)]
struct Delta<'a> {
    #[serde(default, borrow)]
    content: Option<std::borrow::Cow<'a, str>>,
    #[serde(default, borrow)]
    text: Option<std::borrow::Cow<'a, str>>,
    #[serde(default, borrow)]
    partial_json: Option<std::borrow::Cow<'a, str>>,
    #[serde(default, borrow)]
    thinking: Option<std::borrow::Cow<'a, str>>,
}

impl Delta<'_> {
    fn chars(&self) -> usize {
        [
            &self.content,
            &self.text,
            &self.partial_json,
            &self.thinking,
        ]
        .iter()
        .filter_map(|t| t.as_deref())
        .map(|t| t.chars().count())
        .sum()
    }
}

/// Counts the generated text of one event's data.
fn text_chars(data: &str) -> usize {
    serde_json::from_str::<TextDelta<'_>>(data).map_or(0, |chunk| {
        chunk
            .choices
            .iter()
            .filter_map(|c| c.delta.as_ref())
            .chain(chunk.delta.as_ref())
            .map(Delta::chars)
            .sum()
    })
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
    /// A tap for a stream in `dialect` whose events may be at most `max_event_bytes` long.
    pub fn new(dialect: Dialect, hide_usage_chunk: bool, max_event_bytes: usize) -> Self {
        Self {
            dialect,
            splitter: SseSplitter::new(max_event_bytes),
            seen: Seen::default(),
            hide_usage_chunk,
        }
    }

    /// Usage seen so far.
    pub fn usage(&self) -> Usage {
        self.seen.usage
    }

    /// Whether the upstream ended the stream properly (`[DONE]`, `message_stop`).
    pub fn finished(&self) -> bool {
        self.seen.finished
    }

    /// Whether the usage seen is the upstream's final figure (the stream finished, or
    /// OpenAI's usage chunk arrived).
    pub fn usage_reported(&self) -> bool {
        self.seen.finished || self.seen.usage_reported
    }

    /// Characters of generated text relayed so far.
    pub fn relayed_chars(&self) -> usize {
        self.seen.relayed_chars
    }

    /// The id of the response the stream creates, once announced.
    pub fn response_id(&self) -> Option<&str> {
        self.seen.response_id.as_deref()
    }

    /// An error event the upstream sent, if any.
    pub fn error(&self) -> Option<&str> {
        self.seen.error.as_deref()
    }

    /// Reads `chunk` and returns what to pass to the client: the chunk itself, or — when the
    /// usage chunk is hidden — the complete events of it minus that one. Fails when an event
    /// grows past the size limit; the stream must then end.
    pub fn feed(&mut self, chunk: Bytes) -> Result<Bytes, EventTooLarge> {
        let Self {
            dialect: format,
            splitter,
            seen,
            hide_usage_chunk,
        } = self;
        if !*hide_usage_chunk {
            splitter.feed(&chunk, |raw| {
                inspect(*format, raw, seen, false);
            })?;
            return Ok(chunk);
        }
        let mut out = BytesMut::with_capacity(chunk.len());
        splitter.feed(&chunk, |raw| {
            if inspect(*format, raw, seen, true) {
                out.extend_from_slice(raw);
            }
        })?;
        Ok(out.freeze())
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
fn inspect(dialect: Dialect, raw: &[u8], seen: &mut Seen, hide_usage_chunk: bool) -> bool {
    let event = parse_event(raw);
    if dialect == Dialect::Responses {
        inspect_response_event(&event, seen);
        return true;
    }
    let Seen {
        usage,
        finished,
        error,
        usage_reported,
        relayed_chars,
        ..
    } = seen;
    match dialect {
        Dialect::Responses => true,
        Dialect::Chat => {
            let data = event.data.trim();
            if data == "[DONE]" {
                *finished = true;
                return true;
            }
            if data.contains("\"content\"") {
                *relayed_chars = relayed_chars.saturating_add(text_chars(data));
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
                    *usage_reported = true;
                    let usage_only = chunk.choices.as_ref().is_none_or(Vec::is_empty);
                    !(hide_usage_chunk && usage_only)
                }
                None => true,
            }
        }
        Dialect::Anthropic => {
            let kind = event.name.map(str::to_string);
            if kind.as_deref() == Some("content_block_delta") {
                *relayed_chars = relayed_chars.saturating_add(text_chars(&event.data));
                return true;
            }
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
                        if let Some(value) = reported
                            .cache_creation
                            .as_ref()
                            .and_then(|c| c.ephemeral_1h_input_tokens)
                            .filter(|v| *v > 0)
                        {
                            usage.cache_creation_1h = value;
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

/// Reads one Responses API event: the id from `response.created`, the final usage from
/// `response.completed` / `.incomplete` / `.failed` (each ends the stream), text from `*.delta`.
fn inspect_response_event(event: &super::sse::SseEvent<'_>, seen: &mut Seen) {
    let named = event.name.filter(|name| !name.is_empty());
    if named.is_some_and(|name| name.ends_with(".delta")) {
        if let Ok(parsed) = serde_json::from_str::<responses::ResponseEvent<'_>>(&event.data)
            && let Some(delta) = parsed.delta
        {
            seen.relayed_chars = seen.relayed_chars.saturating_add(delta.chars().count());
        }
        return;
    }
    let interesting = named.is_none_or(|name| {
        matches!(
            name,
            "response.created"
                | "response.completed"
                | "response.incomplete"
                | "response.failed"
                | "error"
        )
    });
    if !interesting {
        return;
    }
    let Ok(parsed) = serde_json::from_str::<responses::ResponseEvent<'_>>(&event.data) else {
        return;
    };
    let kind = named.or(parsed.kind.as_deref()).unwrap_or_default();
    let response = parsed.response;
    if let Some(id) = response.as_ref().and_then(|r| r.id.as_deref())
        && seen.response_id.is_none()
        && is_response_id(id)
    {
        seen.response_id = Some(id.to_string());
    }
    match kind {
        "response.completed" | "response.incomplete" | "response.failed" => {
            if let Some(reported) = response.as_ref().and_then(|r| r.usage.as_ref()) {
                seen.usage = reported.usage();
                seen.usage_reported = true;
            }
            if kind == "response.failed" {
                seen.error = Some(
                    response
                        .as_ref()
                        .and_then(|r| r.error.as_ref())
                        .map_or_else(|| "the response failed".into(), ErrorField::describe),
                );
            }
            seen.finished = true;
        }
        "error" => {
            seen.error = Some(match (parsed.code, parsed.message) {
                (Some(code), Some(message)) => format!("{code}: {message}"),
                (None, Some(message)) => message,
                (Some(code), None) => code,
                (None, None) => "upstream error".into(),
            });
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openai_cached_tokens_are_split_out_of_the_prompt() {
        let body = br#"{"id":"x","usage":{"prompt_tokens":1200,"completion_tokens":80,"total_tokens":1280,"prompt_tokens_details":{"cached_tokens":1024}}}"#;
        assert_eq!(
            body_usage(Dialect::Chat, body),
            Usage {
                input: 176,
                output: 80,
                cache_read: 1024,
                ..Usage::default()
            }
        );
    }

    #[test]
    fn anthropic_body_usage_keeps_cache_fields_apart() {
        let body = br#"{"usage":{"input_tokens":20,"output_tokens":7,"cache_creation_input_tokens":300,"cache_read_input_tokens":4000}}"#;
        assert_eq!(
            body_usage(Dialect::Anthropic, body),
            Usage {
                input: 20,
                output: 7,
                cache_read: 4000,
                cache_creation: 300,
                ..Usage::default()
            }
        );
    }

    #[test]
    fn anthropic_one_hour_cache_writes_are_counted_apart() {
        let body = br#"{"usage":{"input_tokens":20,"output_tokens":7,"cache_creation_input_tokens":300,"cache_read_input_tokens":0,"cache_creation":{"ephemeral_5m_input_tokens":100,"ephemeral_1h_input_tokens":200}}}"#;
        let usage = body_usage(Dialect::Anthropic, body);
        assert_eq!((usage.cache_creation, usage.cache_creation_1h), (300, 200));
    }

    #[test]
    fn a_hidden_usage_chunk_is_dropped_and_counted() {
        let mut tap = StreamTap::new(Dialect::Chat, true, usize::MAX);
        let content = "data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}],\"usage\":null}\n\n";
        let usage =
            "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":2}}\n\n";
        let out = tap
            .feed(Bytes::from(format!("{content}{usage}data: [DONE]\n\n")))
            .expect("no limit");
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
        let mut tap = StreamTap::new(Dialect::Chat, false, usize::MAX);
        let chunk = Bytes::from_static(b"data: {\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":2}}\n\ndata: [DO");
        assert_eq!(tap.feed(chunk.clone()).expect("no limit"), chunk);
        assert_eq!(tap.usage().output, 2);
        assert!(!tap.finished());
    }

    #[test]
    fn anthropic_output_is_the_latest_delta_not_a_sum() {
        let mut tap = StreamTap::new(Dialect::Anthropic, false, usize::MAX);
        tap.feed(Bytes::from_static(b"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":25,\"cache_creation_input_tokens\":100,\"cache_read_input_tokens\":900,\"output_tokens\":1}}}\n\n")).expect("no limit");
        tap.feed(Bytes::from_static(b"event: message_delta\ndata: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":10}}\n\n")).expect("no limit");
        tap.feed(Bytes::from_static(b"event: message_delta\ndata: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":15}}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n")).expect("no limit");
        assert_eq!(
            tap.usage(),
            Usage {
                input: 25,
                output: 15,
                cache_read: 900,
                cache_creation: 100,
                ..Usage::default()
            }
        );
        assert!(tap.finished());
    }

    #[test]
    fn relayed_text_is_counted_for_estimates() {
        let mut tap = StreamTap::new(Dialect::Anthropic, false, usize::MAX);
        tap.feed(Bytes::from_static(b"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello\"}}\n\n")).expect("no limit");
        assert_eq!((tap.relayed_chars(), tap.usage_reported()), (5, false));
        let mut tap = StreamTap::new(Dialect::Chat, false, usize::MAX);
        tap.feed(Bytes::from_static(
            b"data: {\"choices\":[{\"delta\":{\"content\":\"Hi there\"}}]}\n\n",
        ))
        .expect("no limit");
        assert_eq!(tap.relayed_chars(), 8);
    }

    #[test]
    fn an_error_event_is_noticed() {
        let mut tap = StreamTap::new(Dialect::Anthropic, false, usize::MAX);
        tap.feed(Bytes::from_static(b"event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n")).expect("no limit");
        assert_eq!(tap.error(), Some("overloaded_error: Overloaded"));
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bodies_give_some_usage_without_panicking(body in proptest::collection::vec(proptest::num::u8::ANY, 0..256)) {
            let _ = body_usage(Dialect::Chat, &body);
            let _ = body_usage(Dialect::Anthropic, &body);
        }

        #[test]
        fn any_usage_numbers_are_read_without_panicking(
            a in proptest::num::i64::ANY, b in proptest::num::i64::ANY, c in proptest::num::i64::ANY,
        ) {
            let openai = format!(r#"{{"usage":{{"prompt_tokens":{a},"completion_tokens":{b},"prompt_tokens_details":{{"cached_tokens":{c}}}}}}}"#);
            let usage = body_usage(Dialect::Chat, openai.as_bytes());
            let _ = usage.total();
            let anthropic = format!(r#"{{"usage":{{"input_tokens":{a},"output_tokens":{b},"cache_read_input_tokens":{c}}}}}"#);
            let _ = body_usage(Dialect::Anthropic, anthropic.as_bytes()).total();
        }

        #[test]
        fn arbitrary_streams_never_panic(
            chunks in proptest::collection::vec(proptest::collection::vec(proptest::num::u8::ANY, 0..64), 0..8),
            hide in proptest::bool::ANY,
        ) {
            for format in [Dialect::Chat, Dialect::Anthropic, Dialect::Responses] {
                let mut tap = StreamTap::new(format, hide, 128);
                for chunk in &chunks {
                    if tap.feed(Bytes::from(chunk.clone())).is_err() {
                        break;
                    }
                }
                let _ = (tap.usage(), tap.remainder(), tap.finished(), tap.error());
            }
        }
    }
}
