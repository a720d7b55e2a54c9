//! Translation overhead per request: an OpenAI chat request of about 2 KB translated to
//! Anthropic's format and its answer translated back, as the proxy does for a routed
//! non-stream request (parse, translate, serialise, both ways). Prints the time per request;
//! run with `cargo bench -p amp-pool --bench translate`.

use std::{hint::black_box, time::Instant};

use amp_pool::proxy::translate::{
    anthropic_wire::MessageAnswer, chat_to_messages, openai_wire::ChatRequest,
};
use serde_json::json;

fn request_body() -> Vec<u8> {
    let filler = "The quick brown fox jumps over the lazy dog. ".repeat(11);
    let body = json!({
        "model": "gpt-4o",
        "messages": [
            {"role": "system", "content": format!("You are a helpful assistant. {filler}")},
            {"role": "user", "content": format!("What is the weather in Paris? {filler}")},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function",
                "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "18C and sunny"},
            {"role": "user", "content": format!("And tomorrow? {filler}")}
        ],
        "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather now",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}],
        "temperature": 0.2,
        "max_tokens": 512
    });
    serde_json::to_vec(&body).unwrap_or_default()
}

fn answer_body() -> Vec<u8> {
    serde_json::to_vec(&json!({
        "id": "msg_01", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
        "content": [{"type": "text", "text": "Tomorrow in Paris: 20C, clear skies all day long."}],
        "stop_reason": "end_turn", "stop_sequence": null,
        "usage": {"input_tokens": 520, "output_tokens": 14, "cache_read_input_tokens": 0}
    }))
    .unwrap_or_default()
}

fn round_trip(request: &[u8], answer: &[u8]) -> usize {
    let Ok(chat) = serde_json::from_slice::<ChatRequest>(request) else {
        return 0;
    };
    let Ok(messages) = chat_to_messages::request(chat, "claude-sonnet-4-5") else {
        return 0;
    };
    let sent = serde_json::to_vec(&messages).map_or(0, |b| b.len());
    let Ok(message) = serde_json::from_slice::<MessageAnswer>(answer) else {
        return 0;
    };
    let back =
        serde_json::to_vec(&chat_to_messages::answer(message, "gpt-4o")).map_or(0, |b| b.len());
    sent + back
}

fn main() {
    let request = request_body();
    let answer = answer_body();
    assert!(
        round_trip(&request, &answer) > 0,
        "the bench payloads translate"
    );
    for _ in 0..2_000 {
        black_box(round_trip(black_box(&request), black_box(&answer)));
    }
    let rounds = 5;
    let per_round = 20_000;
    let mut results = Vec::new();
    for _ in 0..rounds {
        let started = Instant::now();
        for _ in 0..per_round {
            black_box(round_trip(black_box(&request), black_box(&answer)));
        }
        results.push(started.elapsed().as_secs_f64() * 1e6 / f64::from(per_round));
    }
    results.sort_by(f64::total_cmp);
    println!(
        "translate round trip, {} B request: median {:.2} µs, min {:.2} µs, max {:.2} µs per request ({rounds} rounds of {per_round})",
        request.len(),
        results[rounds / 2],
        results[0],
        results[rounds - 1],
    );
}
