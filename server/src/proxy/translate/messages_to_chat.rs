//! An Anthropic client served by an OpenAI key: its messages request becomes a chat request,
//! and the chat completion becomes an Anthropic answer.

use super::{
    anthropic_usage,
    anthropic_wire::{
        Block, ImageSource, MessageAnswer, MessagesRequest, Role, Thinking, ToolChoice,
        ToolResultContent,
    },
    openai_wire::{
        ChatCompletion, ChatMessage, ChatRequest, ChatTool, ChatToolChoice, ChoiceName, Content,
        FunctionCall, FunctionDef, ImageUrl, NamedChoice, Part, Stop, StreamOptions, ToolCall,
        function_type,
    },
    stop_reason,
};
use crate::proxy::error::ProxyError;

/// Whether an OpenAI model takes `reasoning_effort` (others reject the field).
fn reasons(model: &str) -> bool {
    model.starts_with('o') || model.starts_with("gpt-5")
}

/// The `reasoning_effort` for a thinking budget.
fn effort(budget: u32) -> &'static str {
    match budget {
        0..4096 => "low",
        4096..16_384 => "medium",
        _ => "high",
    }
}

/// Translates an Anthropic messages request into an OpenAI chat request for `model`. A
/// stream asks for the usage chunk, so the log has the upstream's real tokens.
pub fn request(anthropic: MessagesRequest, model: &str) -> Result<ChatRequest, ProxyError> {
    let mut messages = Vec::new();
    if let Some(system) = &anthropic.system {
        messages.push(ChatMessage::System {
            content: Content::Text(system.text()),
        });
    }
    for message in anthropic.messages {
        let blocks = message.content.into_blocks();
        match message.role {
            Role::Assistant => messages.push(assistant(blocks)),
            Role::User => user(blocks, &mut messages)?,
        }
    }
    let (tool_choice, parallel_tool_calls) = match anthropic.tool_choice {
        None => (None, None),
        Some(ToolChoice::None) => (Some(ChatToolChoice::Mode("none".into())), None),
        Some(ToolChoice::Auto {
            disable_parallel_tool_use,
        }) => (
            Some(ChatToolChoice::Mode("auto".into())),
            disable_parallel_tool_use.map(|d| !d),
        ),
        Some(ToolChoice::Any {
            disable_parallel_tool_use,
        }) => (
            Some(ChatToolChoice::Mode("required".into())),
            disable_parallel_tool_use.map(|d| !d),
        ),
        Some(ToolChoice::Tool {
            name,
            disable_parallel_tool_use,
        }) => (
            Some(ChatToolChoice::Named(NamedChoice {
                kind: function_type(),
                function: ChoiceName { name },
            })),
            disable_parallel_tool_use.map(|d| !d),
        ),
    };
    let tools = match anthropic.tools {
        None => None,
        Some(tools) => Some(
            tools
                .into_iter()
                .map(|tool| match (tool.kind.as_deref(), tool.input_schema) {
                    (None | Some("custom"), Some(schema)) => Ok(ChatTool {
                        kind: function_type(),
                        function: FunctionDef {
                            name: tool.name,
                            description: tool.description,
                            parameters: Some(schema),
                            strict: None,
                        },
                    }),
                    _ => Err(ProxyError::invalid(
                        Some("tools"),
                        "unsupported_tool",
                        format!(
                            "tool `{}` is an Anthropic server tool, which an OpenAI key cannot run",
                            tool.name
                        ),
                    )),
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
    };
    let reasoning_effort = match anthropic.thinking {
        Some(Thinking::Enabled { budget_tokens }) if reasons(model) => {
            Some(effort(budget_tokens).to_string())
        }
        _ => None,
    };
    let stream = anthropic.stream.filter(|s| *s);
    Ok(ChatRequest {
        model: model.to_string(),
        messages,
        max_tokens: None,
        max_completion_tokens: Some(anthropic.max_tokens),
        temperature: anthropic.temperature,
        top_p: anthropic.top_p,
        stop: anthropic.stop_sequences.map(Stop::Many),
        user: anthropic.metadata.and_then(|m| m.user_id),
        stream,
        stream_options: stream.map(|_| StreamOptions {
            include_usage: Some(true),
        }),
        tools,
        tool_choice,
        parallel_tool_calls,
        response_format: None,
        reasoning_effort,
        n: None,
    })
}

/// An assistant turn: text joined, tool_use as tool calls, thinking dropped (chat requests
/// cannot carry it back).
fn assistant(blocks: Vec<Block>) -> ChatMessage {
    let mut text = String::new();
    let mut calls = Vec::new();
    for block in blocks {
        match block {
            Block::Text { text: piece } => text.push_str(&piece),
            Block::ToolUse { id, name, input } => calls.push(ToolCall {
                id,
                kind: function_type(),
                function: FunctionCall {
                    name,
                    arguments: input.to_string(),
                },
            }),
            _ => {}
        }
    }
    ChatMessage::Assistant {
        content: (!text.is_empty() || calls.is_empty()).then_some(Content::Text(text)),
        tool_calls: (!calls.is_empty()).then_some(calls),
        reasoning_content: None,
    }
}

/// A user turn: tool results first, as `tool` messages (they must follow the assistant's
/// calls), then the rest as one user message. Images in tool results join that user message,
/// since a `tool` message cannot carry images.
fn user(blocks: Vec<Block>, messages: &mut Vec<ChatMessage>) -> Result<(), ProxyError> {
    let mut parts = Vec::new();
    for block in blocks {
        match block {
            Block::ToolResult {
                tool_use_id,
                content,
                is_error,
            } => {
                let mut text = String::new();
                match content {
                    None => {}
                    Some(ToolResultContent::Text(t)) => text = t,
                    Some(ToolResultContent::Blocks(inner)) => {
                        for block in inner {
                            match block {
                                Block::Text { text: piece } => text.push_str(&piece),
                                Block::Image { source } => parts.push(image_part(source)),
                                _ => {}
                            }
                        }
                    }
                }
                if is_error == Some(true) {
                    text = format!("Error: {text}");
                }
                messages.push(ChatMessage::Tool {
                    tool_call_id: tool_use_id,
                    content: Content::Text(text),
                });
            }
            Block::Text { text } => parts.push(Part::Text { text }),
            Block::Image { source } => parts.push(image_part(source)),
            Block::Document { .. } => {
                return Err(ProxyError::invalid(
                    Some("messages"),
                    "unsupported_content",
                    "document blocks cannot be served by an OpenAI key",
                ));
            }
            // Thinking and tool_use do not occur in user turns; nothing to carry.
            _ => {}
        }
    }
    if !parts.is_empty() {
        let content = match parts.as_slice() {
            [Part::Text { text }] => Content::Text(text.clone()),
            _ => Content::Parts(parts),
        };
        messages.push(ChatMessage::User { content });
    }
    Ok(())
}

/// An Anthropic image as an OpenAI image part.
fn image_part(source: ImageSource) -> Part {
    let url = match source {
        ImageSource::Base64 { media_type, data } => format!("data:{media_type};base64,{data}"),
        ImageSource::Url { url } => url,
    };
    Part::ImageUrl {
        image_url: ImageUrl { url, detail: None },
    }
}

/// Translates a chat completion into an Anthropic answer named `client_model`.
pub fn answer(completion: ChatCompletion, client_model: &str) -> MessageAnswer {
    let mut content = Vec::new();
    let mut finish = None;
    if let Some(choice) = completion.choices.into_iter().next() {
        let message = choice.message;
        finish = choice.finish_reason;
        if let Some(reasoning) = message.reasoning_content.filter(|r| !r.is_empty()) {
            content.push(Block::Thinking {
                thinking: reasoning,
                signature: String::new(),
            });
        }
        if let Some(text) = message
            .content
            .or(message.refusal)
            .filter(|t| !t.is_empty())
        {
            content.push(Block::Text { text });
        }
        for call in message.tool_calls.unwrap_or_default() {
            let input = serde_json::from_str(&call.function.arguments)
                .unwrap_or_else(|_| serde_json::json!({}));
            content.push(Block::ToolUse {
                id: call.id,
                name: call.function.name,
                input,
            });
        }
    }
    MessageAnswer {
        id: message_id(&completion.id),
        kind: "message".into(),
        role: Role::Assistant,
        model: client_model.to_string(),
        content,
        stop_reason: Some(stop_reason(finish.as_deref().unwrap_or("stop")).to_string()),
        stop_sequence: None,
        usage: completion
            .usage
            .as_ref()
            .map(anthropic_usage)
            .unwrap_or_default(),
    }
}

/// An Anthropic message id for a chat completion id.
pub fn message_id(chat_id: &str) -> String {
    format!("msg_{}", chat_id.trim_start_matches("chatcmpl-"))
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn translate(body: Value, model: &str) -> Value {
        let anthropic: MessagesRequest = serde_json::from_value(body).expect("a messages request");
        serde_json::to_value(request(anthropic, model).expect("translates")).expect("JSON")
    }

    #[test]
    fn requests_translate_field_by_field() {
        let table: Vec<(&str, Value, Value)> = vec![
            (
                "system blocks with cache_control, stop sequences, user id, top_k dropped",
                json!({"model": "claude-sonnet-4-5", "max_tokens": 1024,
                    "system": [{"type": "text", "text": "You are Claude Code.", "cache_control": {"type": "ephemeral"}},
                               {"type": "text", "text": "Be brief."}],
                    "messages": [{"role": "user", "content": "Hi"}],
                    "temperature": 0.5, "top_k": 40, "stop_sequences": ["\n\nHuman:"],
                    "metadata": {"user_id": "user_abc"}}),
                json!({"model": "gpt-4o", "max_completion_tokens": 1024, "temperature": 0.5,
                    "stop": ["\n\nHuman:"], "user": "user_abc", "messages": [
                        {"role": "system", "content": "You are Claude Code.\n\nBe brief."},
                        {"role": "user", "content": "Hi"}]}),
            ),
            (
                "a stream asks for the usage chunk",
                json!({"model": "claude-sonnet-4-5", "max_tokens": 10, "stream": true,
                    "messages": [{"role": "user", "content": [{"type": "text", "text": "Hi", "cache_control": {"type": "ephemeral"}}]}]}),
                json!({"model": "gpt-4o", "max_completion_tokens": 10, "stream": true,
                    "stream_options": {"include_usage": true},
                    "messages": [{"role": "user", "content": "Hi"}]}),
            ),
            (
                "images inline and by URL",
                json!({"model": "claude-sonnet-4-5", "max_tokens": 10, "messages": [{"role": "user", "content": [
                    {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "/9j/4AAQ"}},
                    {"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}},
                    {"type": "text", "text": "Compare them."}]}]}),
                json!({"model": "gpt-4o", "max_completion_tokens": 10, "messages": [{"role": "user", "content": [
                    {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/4AAQ"}},
                    {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
                    {"type": "text", "text": "Compare them."}]}]}),
            ),
            (
                "tools, a named choice without parallel calls, and a full tool round trip with thinking dropped",
                json!({"model": "claude-sonnet-4-5", "max_tokens": 2048,
                    "tools": [{"name": "get_weather", "description": "Current weather",
                        "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
                        "cache_control": {"type": "ephemeral"}}],
                    "tool_choice": {"type": "tool", "name": "get_weather", "disable_parallel_tool_use": true},
                    "messages": [
                        {"role": "user", "content": "Weather in Paris?"},
                        {"role": "assistant", "content": [
                            {"type": "thinking", "thinking": "Use the tool.", "signature": "EqQB"},
                            {"type": "text", "text": "Let me check."},
                            {"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {"city": "Paris"}}]},
                        {"role": "user", "content": [
                            {"type": "tool_result", "tool_use_id": "toolu_01", "content": [{"type": "text", "text": "18C"}]},
                            {"type": "text", "text": "And tomorrow?"}]}]}),
                json!({"model": "gpt-4o", "max_completion_tokens": 2048,
                    "tools": [{"type": "function", "function": {"name": "get_weather",
                        "description": "Current weather",
                        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}],
                    "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
                    "parallel_tool_calls": false,
                    "messages": [
                        {"role": "user", "content": "Weather in Paris?"},
                        {"role": "assistant", "content": "Let me check.", "tool_calls": [
                            {"id": "toolu_01", "type": "function",
                             "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]},
                        {"role": "tool", "tool_call_id": "toolu_01", "content": "18C"},
                        {"role": "user", "content": "And tomorrow?"}]}),
            ),
            (
                "any choice becomes required; a failed tool result says so",
                json!({"model": "claude-sonnet-4-5", "max_tokens": 10, "tool_choice": {"type": "any"},
                    "messages": [{"role": "assistant", "content": [
                        {"type": "tool_use", "id": "toolu_9", "name": "ls", "input": {}}]},
                        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_9",
                            "content": "permission denied", "is_error": true}]}]}),
                json!({"model": "gpt-4o", "max_completion_tokens": 10, "tool_choice": "required",
                    "messages": [
                        {"role": "assistant", "content": null, "tool_calls": [{"id": "toolu_9", "type": "function",
                            "function": {"name": "ls", "arguments": "{}"}}]},
                        {"role": "tool", "tool_call_id": "toolu_9", "content": "Error: permission denied"}]}),
            ),
        ];
        for (case, body, expected) in table {
            assert_eq!(translate(body, "gpt-4o"), expected, "{case}");
        }
    }

    #[test]
    fn thinking_becomes_reasoning_effort_only_for_reasoning_models() {
        let body = json!({"model": "claude-opus-4-1", "max_tokens": 20000,
            "thinking": {"type": "enabled", "budget_tokens": 10000},
            "messages": [{"role": "user", "content": "Think"}]});
        assert_eq!(translate(body.clone(), "o3")["reasoning_effort"], "medium");
        assert_eq!(translate(body, "gpt-4o").get("reasoning_effort"), None);
    }

    #[test]
    fn server_tools_are_a_400_naming_the_tool() {
        let body = json!({"model": "claude-sonnet-4-5", "max_tokens": 10,
            "tools": [{"type": "web_search_20250305", "name": "web_search"}],
            "messages": [{"role": "user", "content": "x"}]});
        let anthropic: MessagesRequest = serde_json::from_value(body).expect("a request");
        let error = request(anthropic, "gpt-4o").expect_err("refused");
        assert_eq!(error.status, 400);
        assert!(error.message.contains("web_search"), "{}", error.message);
    }

    #[test]
    fn completions_become_anthropic_answers() {
        let table: Vec<(&str, Value, Value)> = vec![
            (
                "text with cached prompt tokens",
                json!({"id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT", "object": "chat.completion",
                    "created": 1741569952, "model": "gpt-4o-2024-08-06", "choices": [{"index": 0,
                    "message": {"role": "assistant", "content": "Hello! How can I help?", "refusal": null},
                    "logprobs": null, "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 2006, "completion_tokens": 10, "total_tokens": 2016,
                        "prompt_tokens_details": {"cached_tokens": 1920, "audio_tokens": 0}}}),
                json!({"id": "msg_B9MBs8CjcvOU2jLn4n570S5qMJKcT", "type": "message", "role": "assistant",
                    "model": "claude-sonnet-4-5", "content": [{"type": "text", "text": "Hello! How can I help?"}],
                    "stop_reason": "end_turn", "stop_sequence": null,
                    "usage": {"input_tokens": 86, "output_tokens": 10,
                        "cache_creation_input_tokens": 0, "cache_read_input_tokens": 1920}}),
            ),
            (
                "tool calls",
                json!({"id": "chatcmpl-2", "object": "chat.completion", "created": 1, "model": "gpt-4o",
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": null,
                        "tool_calls": [{"id": "call_abc", "type": "function",
                            "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]},
                        "finish_reason": "tool_calls"}],
                    "usage": {"prompt_tokens": 80, "completion_tokens": 17, "total_tokens": 97}}),
                json!({"id": "msg_2", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
                    "content": [{"type": "tool_use", "id": "call_abc", "name": "get_weather", "input": {"city": "Paris"}}],
                    "stop_reason": "tool_use", "stop_sequence": null,
                    "usage": {"input_tokens": 80, "output_tokens": 17,
                        "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}}),
            ),
            (
                "cut short",
                json!({"id": "chatcmpl-3", "object": "chat.completion", "created": 1, "model": "gpt-4o",
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Once"},
                        "finish_reason": "length"}],
                    "usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6}}),
                json!({"id": "msg_3", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
                    "content": [{"type": "text", "text": "Once"}], "stop_reason": "max_tokens",
                    "stop_sequence": null, "usage": {"input_tokens": 5, "output_tokens": 1,
                        "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}}),
            ),
        ];
        for (case, upstream, expected) in table {
            let completion: ChatCompletion =
                serde_json::from_value(upstream).expect("a completion");
            let got = serde_json::to_value(answer(completion, "claude-sonnet-4-5")).expect("JSON");
            assert_eq!(got, expected, "{case}");
        }
    }
}
