//! Anthropic stream events → OpenAI chat chunks, one event at a time: a role chunk first,
//! text and reasoning deltas, tool calls with a stable `index` and their arguments streamed,
//! a finish chunk, the usage chunk when the client asked for it, then `[DONE]`.

use std::collections::HashMap;

use super::{
    anthropic_wire::{Block, BlockDelta, StreamEvent, Usage},
    chat_to_messages::chat_id,
    chat_usage, finish_reason, now_secs,
    openai_wire::{Chunk, ChunkChoice, Delta, FunctionDelta, ToolCallDelta, function_type},
};
use crate::pool::WireFormat;

/// The state of one translated stream.
#[derive(Debug)]
pub struct ToChat {
    id: String,
    created: i64,
    model: String,
    include_usage: bool,
    usage: Usage,
    /// Anthropic content-block index → OpenAI tool-call index.
    tools: HashMap<u32, u32>,
    finish: Option<&'static str>,
    done: bool,
}

impl ToChat {
    /// A stream answering `client_model`; `include_usage` is the client's own
    /// `stream_options.include_usage`.
    pub fn new(client_model: &str, include_usage: bool) -> Self {
        Self {
            id: String::new(),
            created: now_secs(),
            model: client_model.to_string(),
            include_usage,
            usage: Usage::default(),
            tools: HashMap::new(),
            finish: None,
            done: false,
        }
    }

    /// Translates one event's `data`, appending the chunks it makes to `out`. Data that is not
    /// an event this translator knows is skipped, as SDKs skip unknown events.
    pub fn event(&mut self, data: &str, out: &mut String) {
        if self.done {
            return;
        }
        let Ok(event) = serde_json::from_str::<StreamEvent>(data) else {
            return;
        };
        match event {
            StreamEvent::MessageStart { message } => {
                self.id = chat_id(&message.id);
                self.usage = message.usage;
                self.chunk(
                    Delta {
                        role: Some("assistant".into()),
                        content: Some(String::new()),
                        ..Delta::default()
                    },
                    out,
                );
            }
            StreamEvent::ContentBlockStart {
                index,
                content_block,
            } => match content_block {
                Block::ToolUse { id, name, .. } => {
                    let call = u32::try_from(self.tools.len()).unwrap_or(u32::MAX);
                    self.tools.insert(index, call);
                    self.chunk(
                        tool_delta(call, Some(id), Some(name), Some(String::new())),
                        out,
                    );
                }
                Block::Text { text } if !text.is_empty() => self.chunk(content(text), out),
                _ => {}
            },
            StreamEvent::ContentBlockDelta { index, delta } => match delta {
                BlockDelta::TextDelta { text } => self.chunk(content(text), out),
                BlockDelta::ThinkingDelta { thinking } => self.chunk(
                    Delta {
                        reasoning_content: Some(thinking),
                        ..Delta::default()
                    },
                    out,
                ),
                BlockDelta::InputJsonDelta { partial_json } => {
                    if let Some(&call) = self.tools.get(&index) {
                        self.chunk(tool_delta(call, None, None, Some(partial_json)), out);
                    }
                }
                BlockDelta::SignatureDelta { .. } | BlockDelta::CitationsDelta { .. } => {}
            },
            StreamEvent::MessageDelta { delta, usage } => {
                // Later counts are cumulative; fields the event leaves at zero keep their value.
                self.usage.output_tokens = usage.output_tokens;
                if usage.input_tokens > 0 {
                    self.usage.input_tokens = usage.input_tokens;
                }
                if usage.cache_creation_input_tokens.is_some() {
                    self.usage.cache_creation_input_tokens = usage.cache_creation_input_tokens;
                }
                if usage.cache_read_input_tokens.is_some() {
                    self.usage.cache_read_input_tokens = usage.cache_read_input_tokens;
                }
                if let Some(reason) = delta.stop_reason {
                    self.finish = Some(finish_reason(&reason));
                }
            }
            StreamEvent::MessageStop => self.end(out),
            StreamEvent::Error { error } => {
                out.push_str(&String::from_utf8_lossy(&super::errors::stream_event(
                    WireFormat::OpenAi,
                    &error.message,
                )));
                self.done = true;
            }
            StreamEvent::ContentBlockStop { .. } | StreamEvent::Ping => {}
        }
    }

    /// The finish chunk, the usage chunk when asked for, and `[DONE]`.
    fn end(&mut self, out: &mut String) {
        let finish = self.finish.unwrap_or("stop");
        self.push(
            Chunk {
                id: self.id.clone(),
                object: "chat.completion.chunk".into(),
                created: self.created,
                model: self.model.clone(),
                choices: vec![ChunkChoice {
                    index: 0,
                    delta: Delta::default(),
                    finish_reason: Some(finish.to_string()),
                }],
                usage: None,
            },
            out,
        );
        if self.include_usage {
            self.push(
                Chunk {
                    id: self.id.clone(),
                    object: "chat.completion.chunk".into(),
                    created: self.created,
                    model: self.model.clone(),
                    choices: Vec::new(),
                    usage: Some(chat_usage(&self.usage)),
                },
                out,
            );
        }
        out.push_str("data: [DONE]\n\n");
        self.done = true;
    }

    fn chunk(&self, delta: Delta, out: &mut String) {
        self.push(
            Chunk {
                id: self.id.clone(),
                object: "chat.completion.chunk".into(),
                created: self.created,
                model: self.model.clone(),
                choices: vec![ChunkChoice {
                    index: 0,
                    delta,
                    finish_reason: None,
                }],
                usage: None,
            },
            out,
        );
    }

    fn push(&self, chunk: Chunk, out: &mut String) {
        if let Ok(json) = serde_json::to_string(&chunk) {
            out.push_str("data: ");
            out.push_str(&json);
            out.push_str("\n\n");
        }
    }

    /// Whether the stream reached its end (`message_stop` or an error event).
    #[cfg(test)]
    pub fn done(&self) -> bool {
        self.done
    }
}

fn content(text: String) -> Delta {
    Delta {
        content: Some(text),
        ..Delta::default()
    }
}

fn tool_delta(
    index: u32,
    id: Option<String>,
    name: Option<String>,
    arguments: Option<String>,
) -> Delta {
    let kind = id.as_ref().map(|_| function_type());
    Delta {
        tool_calls: Some(vec![ToolCallDelta {
            index,
            id,
            kind,
            function: Some(FunctionDelta { name, arguments }),
        }]),
        ..Delta::default()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    /// Runs `events` through the translator and returns the chunks' JSON (`[DONE]` as a string).
    fn run(events: &[Value], include_usage: bool) -> Vec<Value> {
        let mut translator = ToChat::new("gpt-4o", include_usage);
        let mut out = String::new();
        for event in events {
            translator.event(&event.to_string(), &mut out);
        }
        assert!(translator.done());
        out.split("\n\n")
            .filter(|frame| !frame.is_empty())
            .map(|frame| {
                let data = frame.strip_prefix("data: ").expect("a data line");
                serde_json::from_str(data).unwrap_or_else(|_| json!(data))
            })
            .collect()
    }

    /// The parts of chunks a client reads: deltas, finish reasons, usage.
    fn essence(chunks: &[Value]) -> Vec<Value> {
        chunks
            .iter()
            .map(|chunk| match chunk.get("choices") {
                None => chunk.clone(),
                Some(choices) if choices.as_array().is_some_and(Vec::is_empty) => {
                    json!({"usage": chunk["usage"]})
                }
                Some(choices) => {
                    assert_eq!(chunk["id"], "chatcmpl-01");
                    assert_eq!(chunk["model"], "gpt-4o");
                    assert_eq!(chunk["object"], "chat.completion.chunk");
                    json!({"delta": choices[0]["delta"], "finish": choices[0]["finish_reason"]})
                }
            })
            .collect()
    }

    fn start(input: u64) -> Value {
        json!({"type": "message_start", "message": {"id": "msg_01", "type": "message",
            "role": "assistant", "model": "claude-sonnet-4-5", "content": [], "stop_reason": null,
            "stop_sequence": null, "usage": {"input_tokens": input, "output_tokens": 1,
            "cache_creation_input_tokens": 0, "cache_read_input_tokens": 200}}})
    }

    #[test]
    fn text_with_thinking_first_streams_as_reasoning_then_content() {
        let events = [
            start(25),
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": "", "signature": ""}}),
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "Simple."}}),
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "EqQB"}}),
            json!({"type": "content_block_stop", "index": 0}),
            json!({"type": "ping"}),
            json!({"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}}),
            json!({"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "Hel"}}),
            json!({"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "lo"}}),
            json!({"type": "content_block_stop", "index": 1}),
            json!({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null}, "usage": {"output_tokens": 12}}),
            json!({"type": "message_stop"}),
        ];
        assert_eq!(
            essence(&run(&events, true)),
            vec![
                json!({"delta": {"role": "assistant", "content": ""}, "finish": null}),
                json!({"delta": {"reasoning_content": "Simple."}, "finish": null}),
                json!({"delta": {"content": "Hel"}, "finish": null}),
                json!({"delta": {"content": "lo"}, "finish": null}),
                json!({"delta": {}, "finish": "stop"}),
                json!({"usage": {"prompt_tokens": 225, "completion_tokens": 12, "total_tokens": 237,
                    "prompt_tokens_details": {"cached_tokens": 200}}}),
                json!("[DONE]"),
            ]
        );
    }

    #[test]
    fn tool_calls_keep_a_stable_index_and_stream_their_arguments() {
        let events = [
            start(10),
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Checking."}}),
            json!({"type": "content_block_stop", "index": 0}),
            json!({"type": "content_block_start", "index": 1, "content_block": {"type": "tool_use", "id": "toolu_A", "name": "get_weather", "input": {}}}),
            json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "{\"city\": "}}),
            json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "\"Paris\"}"}}),
            json!({"type": "content_block_stop", "index": 1}),
            json!({"type": "content_block_start", "index": 2, "content_block": {"type": "tool_use", "id": "toolu_B", "name": "get_time", "input": {}}}),
            json!({"type": "content_block_delta", "index": 2, "delta": {"type": "input_json_delta", "partial_json": "{}"}}),
            json!({"type": "content_block_stop", "index": 2}),
            json!({"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": null}, "usage": {"output_tokens": 30}}),
            json!({"type": "message_stop"}),
        ];
        assert_eq!(
            essence(&run(&events, false)),
            vec![
                json!({"delta": {"role": "assistant", "content": ""}, "finish": null}),
                json!({"delta": {"content": "Checking."}, "finish": null}),
                json!({"delta": {"tool_calls": [{"index": 0, "id": "toolu_A", "type": "function",
                    "function": {"name": "get_weather", "arguments": ""}}]}, "finish": null}),
                json!({"delta": {"tool_calls": [{"index": 0, "function": {"arguments": "{\"city\": "}}]}, "finish": null}),
                json!({"delta": {"tool_calls": [{"index": 0, "function": {"arguments": "\"Paris\"}"}}]}, "finish": null}),
                json!({"delta": {"tool_calls": [{"index": 1, "id": "toolu_B", "type": "function",
                    "function": {"name": "get_time", "arguments": ""}}]}, "finish": null}),
                json!({"delta": {"tool_calls": [{"index": 1, "function": {"arguments": "{}"}}]}, "finish": null}),
                json!({"delta": {}, "finish": "tool_calls"}),
                json!("[DONE]"),
            ]
        );
    }

    #[test]
    fn an_error_event_becomes_an_openai_error_chunk_and_ends_the_stream() {
        let events = [
            start(10),
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
            json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
            json!({"type": "message_stop"}),
        ];
        let chunks = run(&events, true);
        assert_eq!(chunks.len(), 2);
        assert_eq!(chunks[1]["error"]["message"], "Overloaded");
        assert_eq!(chunks[1]["error"]["type"], "api_error");
    }
}
