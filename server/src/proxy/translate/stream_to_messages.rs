//! OpenAI chat chunks → Anthropic stream events, one chunk at a time: `message_start`, a
//! `content_block_start`/`delta`/`stop` run per thinking, text or tool block with running
//! indexes (tool arguments as `input_json_delta`), then `message_delta` with the stop reason
//! and usage, and `message_stop`.

use serde_json::json;

use super::{
    anthropic_usage,
    anthropic_wire::{
        Block, BlockDelta, MessageAnswer, MessageDeltaBody, Role, StreamEvent, Usage,
    },
    messages_to_chat::message_id,
    openai_wire::{ChatUsage, Chunk},
    stop_reason,
};
use crate::pool::WireFormat;

/// The block being streamed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Open {
    Thinking,
    Text,
    /// A tool call, by its OpenAI index.
    Tool(u32),
}

/// The state of one translated stream.
#[derive(Debug)]
pub struct ToMessages {
    model: String,
    started: bool,
    open: Option<Open>,
    /// The index the next block gets.
    next_index: u32,
    finish: Option<String>,
    usage: Option<ChatUsage>,
    done: bool,
}

impl ToMessages {
    /// A stream answering `client_model`.
    pub fn new(client_model: &str) -> Self {
        Self {
            model: client_model.to_string(),
            started: false,
            open: None,
            next_index: 0,
            finish: None,
            usage: None,
            done: false,
        }
    }

    /// Translates one event's `data`, appending the events it makes to `out`.
    pub fn event(&mut self, data: &str, out: &mut String) {
        if self.done {
            return;
        }
        if data.trim() == "[DONE]" {
            self.end(out);
            return;
        }
        let Ok(value) = serde_json::from_str::<serde_json::Value>(data) else {
            return;
        };
        if let Some(message) = value.pointer("/error/message").and_then(|m| m.as_str()) {
            self.error(message, out);
            return;
        }
        let Ok(chunk) = serde_json::from_value::<Chunk>(value) else {
            return;
        };
        if !self.started {
            self.started = true;
            let start = StreamEvent::MessageStart {
                message: MessageAnswer {
                    id: message_id(&chunk.id),
                    kind: "message".into(),
                    role: Role::Assistant,
                    model: self.model.clone(),
                    content: Vec::new(),
                    stop_reason: None,
                    stop_sequence: None,
                    usage: Usage::default(),
                },
            };
            push(&start, out);
        }
        if let Some(usage) = chunk.usage {
            self.usage = Some(usage);
        }
        let Some(choice) = chunk.choices.into_iter().next() else {
            return;
        };
        let delta = choice.delta;
        if let Some(thinking) = delta.reasoning_content.filter(|t| !t.is_empty()) {
            self.open_block(Open::Thinking, out, || Block::Thinking {
                thinking: String::new(),
                signature: String::new(),
            });
            self.delta(BlockDelta::ThinkingDelta { thinking }, out);
        }
        if let Some(text) = delta.content.or(delta.refusal).filter(|t| !t.is_empty()) {
            self.open_block(Open::Text, out, || Block::Text {
                text: String::new(),
            });
            self.delta(BlockDelta::TextDelta { text }, out);
        }
        for call in delta.tool_calls.unwrap_or_default() {
            let function = call.function.unwrap_or_default();
            if call.id.is_some() || self.open != Some(Open::Tool(call.index)) {
                let id = call.id.unwrap_or_else(|| format!("toolu_{}", call.index));
                let name = function.name.clone().unwrap_or_default();
                self.open_block(Open::Tool(call.index), out, || Block::ToolUse {
                    id,
                    name,
                    input: json!({}),
                });
            }
            if let Some(partial_json) = function.arguments.filter(|a| !a.is_empty()) {
                self.delta(BlockDelta::InputJsonDelta { partial_json }, out);
            }
        }
        if let Some(finish) = choice.finish_reason {
            self.finish = Some(finish);
            self.close(out);
        }
    }

    /// Ends the stream if the upstream stopped without `[DONE]`; nothing if it already ended.
    pub fn finish(&mut self, out: &mut String) {
        if self.started && !self.done {
            self.end(out);
        }
    }

    /// Whether the stream reached its end.
    #[cfg(test)]
    pub fn done(&self) -> bool {
        self.done
    }

    /// Opens a block of `kind` unless it is the one open (a new tool call always opens one).
    fn open_block(&mut self, kind: Open, out: &mut String, block: impl FnOnce() -> Block) {
        if self.open == Some(kind) && !matches!(kind, Open::Tool(_)) {
            return;
        }
        self.close(out);
        push(
            &StreamEvent::ContentBlockStart {
                index: self.next_index,
                content_block: block(),
            },
            out,
        );
        self.open = Some(kind);
    }

    fn delta(&self, delta: BlockDelta, out: &mut String) {
        push(
            &StreamEvent::ContentBlockDelta {
                index: self.next_index,
                delta,
            },
            out,
        );
    }

    fn close(&mut self, out: &mut String) {
        if self.open.take().is_some() {
            push(
                &StreamEvent::ContentBlockStop {
                    index: self.next_index,
                },
                out,
            );
            self.next_index = self.next_index.saturating_add(1);
        }
    }

    fn end(&mut self, out: &mut String) {
        self.close(out);
        let reason = stop_reason(self.finish.as_deref().unwrap_or("stop"));
        push(
            &StreamEvent::MessageDelta {
                delta: MessageDeltaBody {
                    stop_reason: Some(reason.to_string()),
                    stop_sequence: None,
                },
                usage: self.usage.as_ref().map(anthropic_usage).unwrap_or_default(),
            },
            out,
        );
        push(&StreamEvent::MessageStop, out);
        self.done = true;
    }

    fn error(&mut self, message: &str, out: &mut String) {
        out.push_str(&String::from_utf8_lossy(&super::errors::stream_event(
            WireFormat::Anthropic,
            message,
        )));
        self.done = true;
    }
}

fn push(event: &StreamEvent, out: &mut String) {
    if let Ok(json) = serde_json::to_string(event) {
        out.push_str("event: ");
        out.push_str(event.name());
        out.push_str("\ndata: ");
        out.push_str(&json);
        out.push_str("\n\n");
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn chunk(delta: Value, finish: Value) -> Value {
        json!({"id": "chatcmpl-7", "object": "chat.completion.chunk", "created": 1,
            "model": "gpt-4o-2024-08-06", "system_fingerprint": "fp_1",
            "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]})
    }

    fn usage_chunk() -> Value {
        json!({"id": "chatcmpl-7", "object": "chat.completion.chunk", "created": 1,
            "model": "gpt-4o", "choices": [], "usage": {"prompt_tokens": 1100, "completion_tokens": 9,
            "total_tokens": 1109, "prompt_tokens_details": {"cached_tokens": 1024}}})
    }

    /// Runs `data` lines through the translator; returns (event name, data JSON) pairs.
    fn run(data: &[String]) -> Vec<(String, Value)> {
        let mut translator = ToMessages::new("claude-sonnet-4-5");
        let mut out = String::new();
        for line in data {
            translator.event(line, &mut out);
        }
        translator.finish(&mut out);
        assert!(translator.done());
        out.split("\n\n")
            .filter(|frame| !frame.is_empty())
            .map(|frame| {
                let (name, data) = frame.split_once('\n').expect("two lines");
                let name = name.strip_prefix("event: ").expect("a name");
                let data = data.strip_prefix("data: ").expect("data");
                let value: Value = serde_json::from_str(data).expect("JSON");
                assert_eq!(value["type"], name);
                (name.to_string(), value)
            })
            .collect()
    }

    #[test]
    fn text_streams_as_one_block_with_usage_at_the_end() {
        let data = [
            chunk(
                json!({"role": "assistant", "content": "", "refusal": null}),
                json!(null),
            ),
            chunk(json!({"content": "Hel"}), json!(null)),
            chunk(json!({"content": "lo"}), json!(null)),
            chunk(json!({}), json!("stop")),
            usage_chunk(),
        ]
        .map(|v| v.to_string());
        let mut data = data.to_vec();
        data.push("[DONE]".into());
        let events = run(&data);
        let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "message_start",
                "content_block_start",
                "content_block_delta",
                "content_block_delta",
                "content_block_stop",
                "message_delta",
                "message_stop"
            ]
        );
        assert_eq!(events[0].1["message"]["id"], "msg_7");
        assert_eq!(events[0].1["message"]["model"], "claude-sonnet-4-5");
        assert_eq!(
            events[1].1,
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})
        );
        assert_eq!(
            events[3].1["delta"],
            json!({"type": "text_delta", "text": "lo"})
        );
        assert_eq!(
            events[5].1,
            json!({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null},
                "usage": {"input_tokens": 76, "output_tokens": 9,
                    "cache_creation_input_tokens": 0, "cache_read_input_tokens": 1024}})
        );
    }

    #[test]
    fn reasoning_text_and_two_tool_calls_get_running_indexes() {
        let data: Vec<String> = [
            chunk(
                json!({"role": "assistant", "reasoning_content": "Think."}),
                json!(null),
            ),
            chunk(json!({"content": "Let me look."}), json!(null)),
            chunk(
                json!({"tool_calls": [{"index": 0, "id": "call_A", "type": "function",
                "function": {"name": "get_weather", "arguments": ""}}]}),
                json!(null),
            ),
            chunk(
                json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"city\":"}}]}),
                json!(null),
            ),
            chunk(
                json!({"tool_calls": [{"index": 0, "function": {"arguments": "\"Paris\"}"}}]}),
                json!(null),
            ),
            chunk(
                json!({"tool_calls": [{"index": 1, "id": "call_B", "type": "function",
                "function": {"name": "get_time", "arguments": "{}"}}]}),
                json!(null),
            ),
            chunk(json!({}), json!("tool_calls")),
        ]
        .iter()
        .map(Value::to_string)
        .chain(["[DONE]".to_string()])
        .collect();
        let events = run(&data);
        let summary: Vec<Value> = events
            .iter()
            .skip(1)
            .map(|(name, v)| match name.as_str() {
                "content_block_start" => json!(["start", v["index"], v["content_block"]]),
                "content_block_delta" => json!(["delta", v["index"], v["delta"]]),
                "content_block_stop" => json!(["stop", v["index"]]),
                "message_delta" => json!(["end", v["delta"]["stop_reason"]]),
                other => json!([other]),
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                json!(["start", 0, {"type": "thinking", "thinking": "", "signature": ""}]),
                json!(["delta", 0, {"type": "thinking_delta", "thinking": "Think."}]),
                json!(["stop", 0]),
                json!(["start", 1, {"type": "text", "text": ""}]),
                json!(["delta", 1, {"type": "text_delta", "text": "Let me look."}]),
                json!(["stop", 1]),
                json!(["start", 2, {"type": "tool_use", "id": "call_A", "name": "get_weather", "input": {}}]),
                json!(["delta", 2, {"type": "input_json_delta", "partial_json": "{\"city\":"}]),
                json!(["delta", 2, {"type": "input_json_delta", "partial_json": "\"Paris\"}"}]),
                json!(["stop", 2]),
                json!(["start", 3, {"type": "tool_use", "id": "call_B", "name": "get_time", "input": {}}]),
                json!(["delta", 3, {"type": "input_json_delta", "partial_json": "{}"}]),
                json!(["stop", 3]),
                json!(["end", "tool_use"]),
                json!(["message_stop"]),
            ]
        );
    }

    #[test]
    fn an_error_mid_stream_becomes_an_anthropic_error_event() {
        let data = vec![
            chunk(json!({"content": "Hi"}), json!(null)).to_string(),
            json!({"error": {"message": "The server had an error", "type": "server_error"}})
                .to_string(),
        ];
        let events = run(&data);
        let (name, last) = events.last().expect("events");
        assert_eq!(name, "error");
        assert_eq!(
            last,
            &json!({"type": "error", "error": {"type": "api_error", "message": "The server had an error"}})
        );
    }

    #[test]
    fn a_stream_cut_before_done_still_ends_with_message_stop() {
        let data = vec![chunk(json!({"content": "Hi"}), json!("length")).to_string()];
        let events = run(&data);
        let (name, _) = events.last().expect("events");
        assert_eq!(name, "message_stop");
        assert_eq!(
            events[events.len() - 2].1["delta"]["stop_reason"],
            "max_tokens"
        );
    }
}
