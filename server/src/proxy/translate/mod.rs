//! OpenAI chat completions ⇄ Anthropic messages: requests, answers, streams and errors, so a
//! key of either format can serve a client of the other. Pure functions over the two wire
//! formats; the proxy decides when to call them (only when the key's format differs).

pub mod anthropic_wire;
pub mod chat_to_messages;
pub mod errors;
pub mod messages_to_chat;
pub mod openai_wire;
pub(crate) mod plan;
pub mod stream;
pub mod stream_to_chat;
pub mod stream_to_messages;

use anthropic_wire::Usage;
use openai_wire::{ChatUsage, PromptDetails};

/// Anthropic's `stop_reason` as OpenAI's `finish_reason`.
pub fn finish_reason(stop_reason: &str) -> &'static str {
    match stop_reason {
        "max_tokens" | "model_context_window_exceeded" => "length",
        "tool_use" => "tool_calls",
        "refusal" => "content_filter",
        // end_turn, stop_sequence, pause_turn
        _ => "stop",
    }
}

/// OpenAI's `finish_reason` as Anthropic's `stop_reason`.
pub fn stop_reason(finish_reason: &str) -> &'static str {
    match finish_reason {
        "length" => "max_tokens",
        "tool_calls" | "function_call" => "tool_use",
        "content_filter" => "refusal",
        _ => "end_turn",
    }
}

/// Anthropic usage as OpenAI usage: the prompt counts every input token, cached or not.
pub fn chat_usage(usage: &Usage) -> ChatUsage {
    let cache_read = usage.cache_read_input_tokens.unwrap_or(0);
    let prompt = usage
        .input_tokens
        .saturating_add(usage.cache_creation_input_tokens.unwrap_or(0))
        .saturating_add(cache_read);
    ChatUsage {
        prompt_tokens: prompt,
        completion_tokens: usage.output_tokens,
        total_tokens: prompt.saturating_add(usage.output_tokens),
        prompt_tokens_details: Some(PromptDetails {
            cached_tokens: cache_read,
        }),
    }
}

/// OpenAI usage as Anthropic usage: cached prompt tokens are cache reads, the rest is input.
pub fn anthropic_usage(usage: &ChatUsage) -> Usage {
    let cached = usage
        .prompt_tokens_details
        .as_ref()
        .map_or(0, |details| details.cached_tokens);
    Usage {
        input_tokens: usage.prompt_tokens.saturating_sub(cached),
        output_tokens: usage.completion_tokens,
        cache_creation_input_tokens: Some(0),
        cache_read_input_tokens: Some(cached),
    }
}

/// The current time in seconds, for `created`.
fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_reasons_map_both_ways() {
        let table = [
            ("end_turn", "stop", "end_turn"),
            ("stop_sequence", "stop", "end_turn"),
            ("max_tokens", "length", "max_tokens"),
            ("tool_use", "tool_calls", "tool_use"),
            ("refusal", "content_filter", "refusal"),
        ];
        for (anthropic, openai, back) in table {
            assert_eq!(finish_reason(anthropic), openai, "{anthropic}");
            assert_eq!(stop_reason(openai), back, "{openai}");
        }
    }

    #[test]
    fn anthropic_usage_counts_cache_tokens_into_the_prompt() {
        let usage = Usage {
            input_tokens: 20,
            output_tokens: 7,
            cache_creation_input_tokens: Some(100),
            cache_read_input_tokens: Some(300),
        };
        assert_eq!(
            chat_usage(&usage),
            ChatUsage {
                prompt_tokens: 420,
                completion_tokens: 7,
                total_tokens: 427,
                prompt_tokens_details: Some(PromptDetails { cached_tokens: 300 }),
            }
        );
    }

    #[test]
    fn openai_usage_splits_cached_tokens_out_of_the_input() {
        let usage = ChatUsage {
            prompt_tokens: 1200,
            completion_tokens: 50,
            total_tokens: 1250,
            prompt_tokens_details: Some(PromptDetails {
                cached_tokens: 1024,
            }),
        };
        assert_eq!(
            anthropic_usage(&usage),
            Usage {
                input_tokens: 176,
                output_tokens: 50,
                cache_creation_input_tokens: Some(0),
                cache_read_input_tokens: Some(1024),
            }
        );
    }
}
