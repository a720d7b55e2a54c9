//! Routed requests: a client of one format served by a key of the other, translated both
//! ways (answers, streams, tool calls, errors), with the upstream's real tokens in the log;
//! and requests no route matches, passed on byte for byte as before.

use serde_json::{Value, json};

use crate::{
    helpers::{TestApp, data},
    mock::{
        ANTHROPIC_CALL_ID, ANTHROPIC_USAGE, MockUpstream, OPENAI_CALL_ID, OPENAI_USAGE, PIECES,
        TOOL_ARGUMENTS,
    },
};

/// Sets the `routing` setting through the console's API.
async fn route(app: &TestApp, routing: Value) {
    let set = app
        .graphql(
            "mutation($v: JSON!) { setConfig(key: \"routing\", value: $v) { key } }",
            json!({"v": routing}),
        )
        .await;
    assert_eq!(data(&set)["setConfig"]["key"], "routing", "{set}");
}

/// An app whose only key is one `provider` key, with `gpt-4o*` routed to Anthropic's
/// `claude-sonnet-4-5` and `claude-*` to OpenAI's `gpt-4o`.
async fn routed_app(provider: &str, secret: &str) -> (TestApp, MockUpstream, String) {
    let app = TestApp::spawn().await;
    let upstream = MockUpstream::start().await;
    app.add_key(provider, secret, json!({"baseUrl": upstream.url}))
        .await;
    route(
        &app,
        json!({"routes": [
            {"match": "gpt-4o*", "provider": "anthropic", "model": "claude-sonnet-4-5"},
            {"match": "claude-*", "provider": "openai", "model": "gpt-4o"}]}),
    )
    .await;
    let token = app.client_token(json!({})).await;
    (app, upstream, token)
}

async fn messages_call(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    app.http
        .post(app.url("/v1/messages"))
        .header("x-api-key", token)
        .header("anthropic-version", "2023-06-01")
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// The `data:` payloads of an SSE body, and the event names (empty for none).
fn events(body: &str) -> Vec<(String, String)> {
    body.split("\n\n")
        .filter(|frame| !frame.trim().is_empty())
        .map(|frame| {
            let mut name = String::new();
            let mut data = String::new();
            for line in frame.lines() {
                if let Some(v) = line.strip_prefix("event: ") {
                    name = v.to_string();
                } else if let Some(v) = line.strip_prefix("data: ") {
                    data = v.to_string();
                }
            }
            (name, data)
        })
        .collect()
}

fn weather_tool_openai() -> Value {
    json!([{"type": "function", "function": {"name": "get_weather", "description": "Weather now",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}])
}

fn weather_tool_anthropic() -> Value {
    json!([{"name": "get_weather", "description": "Weather now",
        "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}])
}

#[tokio::test]
async fn an_openai_client_is_answered_by_an_anthropic_key_with_its_real_tokens_logged() {
    let (app, upstream, token) = routed_app("ANTHROPIC", "sk-ok-anthropic-t").await;

    let response = app
        .v1(
            "/v1/chat/completions",
            &token,
            json!({"model": "gpt-4o", "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "hi"}], "user": "u-1"}),
        )
        .await;

    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    let (input, output, cache_creation, cache_read) = ANTHROPIC_USAGE;
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(body["model"], "gpt-4o");
    assert_eq!(body["choices"][0]["message"]["content"], PIECES.concat());
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
    let prompt = input + cache_creation + cache_read;
    assert_eq!(
        body["usage"],
        json!({"prompt_tokens": prompt, "completion_tokens": output, "total_tokens": prompt + output,
            "prompt_tokens_details": {"cached_tokens": cache_read}})
    );
    let seen = &upstream.seen()[0];
    assert_eq!(seen.path, "/v1/messages");
    assert_eq!(seen.headers["x-api-key"], "sk-ok-anthropic-t");
    assert_eq!(seen.headers["anthropic-version"], "2023-06-01");
    assert_eq!(
        seen.body,
        json!({"model": "claude-sonnet-4-5", "max_tokens": 64000, "system": "Be brief.",
            "metadata": {"user_id": "u-1"},
            "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]})
    );
    let rows = app.log_rows().await;
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(
        (
            row.provider.as_str(),
            row.endpoint.as_str(),
            row.model.as_str()
        ),
        ("anthropic", "chat_completions", "claude-sonnet-4-5")
    );
    assert_eq!(
        (
            row.client_format.as_deref(),
            row.upstream_format.as_deref(),
            row.client_model.as_deref()
        ),
        (Some("openai"), Some("anthropic"), Some("gpt-4o"))
    );
    let logs = app
        .graphql(
            "{ requestLogs(first: 1) { edges { node { model clientModel clientFormat upstreamFormat } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        data(&logs)["requestLogs"]["edges"][0]["node"],
        json!({"model": "claude-sonnet-4-5", "clientModel": "gpt-4o",
            "clientFormat": "openai", "upstreamFormat": "anthropic"})
    );
    assert_eq!(
        (
            row.input_tokens,
            row.output_tokens,
            row.cache_creation_tokens,
            row.cache_read_tokens
        ),
        (input, output, cache_creation, cache_read)
    );
    // claude-sonnet-4-5: 50×3 + 20×15 + 200×3.75 + 1000×0.3 micro-USD = 1500 micro-USD.
    assert_eq!(row.cost, 1_500_000);
}

#[tokio::test]
async fn an_openai_stream_from_an_anthropic_key_has_a_role_chunk_text_usage_and_done() {
    let (app, _upstream, token) = routed_app("ANTHROPIC", "sk-ok-anthropic-t").await;

    let response = app
        .v1(
            "/v1/chat/completions",
            &token,
            json!({"model": "gpt-4o-mini", "stream": true, "stream_options": {"include_usage": true},
                "messages": [{"role": "user", "content": "hi"}]}),
        )
        .await;

    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let body = response.text().await.unwrap();
    let data: Vec<String> = events(&body).into_iter().map(|(_, d)| d).collect();
    assert_eq!(data.last().map(String::as_str), Some("[DONE]"));
    let chunks: Vec<Value> = data[..data.len() - 1]
        .iter()
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    assert!(chunks.iter().all(|c| c["model"] == "gpt-4o-mini"));
    let text: String = chunks
        .iter()
        .filter_map(|c| {
            c.pointer("/choices/0/delta/content")
                .and_then(Value::as_str)
        })
        .collect();
    assert_eq!(text, PIECES.concat());
    let finish: Vec<&Value> = chunks
        .iter()
        .filter_map(|c| c.pointer("/choices/0/finish_reason"))
        .filter(|f| !f.is_null())
        .collect();
    assert_eq!(finish, [&json!("stop")]);
    let (input, output, cache_creation, cache_read) = ANTHROPIC_USAGE;
    let usage = &chunks.last().unwrap()["usage"];
    assert_eq!(usage["prompt_tokens"], input + cache_creation + cache_read);
    assert_eq!(usage["completion_tokens"], output);
    let row = &app.log_rows().await[0];
    assert_eq!((row.status.as_str(), row.is_stream), ("success", true));
    assert_eq!(
        (row.input_tokens, row.output_tokens, row.cache_read_tokens),
        (input, output, cache_read)
    );
    assert_eq!(row.cost, 1_500_000);
}

#[tokio::test]
async fn an_anthropic_client_is_answered_by_an_openai_key_stream_and_not() {
    let (app, upstream, token) = routed_app("OPENAI", "sk-ok-openai-t").await;
    let (prompt, completion, cached) = OPENAI_USAGE;

    let response = messages_call(
        &app,
        &token,
        json!({"model": "claude-sonnet-4-5", "max_tokens": 100,
            "system": [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}],
            "messages": [{"role": "user", "content": "hi"}]}),
    )
    .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({"id": "msg_mock", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
            "content": [{"type": "text", "text": PIECES.concat()}], "stop_reason": "end_turn",
            "stop_sequence": null, "usage": {"input_tokens": prompt - cached, "output_tokens": completion,
                "cache_creation_input_tokens": 0, "cache_read_input_tokens": cached}})
    );
    let seen = &upstream.seen()[0];
    assert_eq!(seen.path, "/v1/chat/completions");
    assert_eq!(seen.headers["authorization"], "Bearer sk-ok-openai-t");
    assert_eq!(
        seen.body,
        json!({"model": "gpt-4o", "max_completion_tokens": 100, "messages": [
            {"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}]})
    );

    let response = messages_call(
        &app,
        &token,
        json!({"model": "claude-sonnet-4-5", "max_tokens": 100, "stream": true,
            "messages": [{"role": "user", "content": "hi"}]}),
    )
    .await;
    assert_eq!(response.status(), 200);
    let body = response.text().await.unwrap();
    let events = events(&body);
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "message_start",
            "content_block_start",
            "content_block_delta",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
    let text: String = events
        .iter()
        .filter_map(|(_, d)| {
            let v: Value = serde_json::from_str(d).ok()?;
            v.pointer("/delta/text")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .collect();
    assert_eq!(text, PIECES.concat());
    let delta: Value = serde_json::from_str(&events[6].1).unwrap();
    assert_eq!(delta["delta"]["stop_reason"], "end_turn");
    assert_eq!(delta["usage"]["input_tokens"], prompt - cached);
    assert_eq!(delta["usage"]["cache_read_input_tokens"], cached);
    assert_eq!(delta["usage"]["output_tokens"], completion);
    assert_eq!(
        upstream.seen()[1].body["stream_options"],
        json!({"include_usage": true}),
        "the pool asks for the usage chunk it needs"
    );
    let rows = app.log_rows().await;
    assert_eq!(rows.len(), 2);
    for row in &rows {
        assert_eq!(
            (row.provider.as_str(), row.model.as_str()),
            ("openai", "gpt-4o")
        );
        assert_eq!(row.client_model.as_deref(), Some("claude-sonnet-4-5"));
        assert_eq!(
            (row.client_format.as_deref(), row.upstream_format.as_deref()),
            (Some("anthropic"), Some("openai"))
        );
        assert_eq!(
            (row.input_tokens, row.cache_read_tokens, row.output_tokens),
            (prompt - cached, cached, completion)
        );
        // gpt-4o: 20 × $2.50 + 30 × $10 + 100 × $1.25 per million = $0.000475.
        assert_eq!(row.cost, 475_000);
    }
}

#[tokio::test]
async fn an_openai_client_makes_a_full_tool_round_trip_through_an_anthropic_key() {
    let (app, upstream, token) = routed_app("ANTHROPIC", "sk-ok-anthropic-t").await;
    let ask = json!({"role": "user", "content": "Weather in Paris?"});

    let first = app
        .v1(
            "/v1/chat/completions",
            &token,
            json!({"model": "gpt-4o", "messages": [ask], "tools": weather_tool_openai(),
                "tool_choice": "auto"}),
        )
        .await;
    assert_eq!(first.status(), 200);
    let first: Value = first.json().await.unwrap();
    let message = &first["choices"][0]["message"];
    assert_eq!(first["choices"][0]["finish_reason"], "tool_calls");
    assert_eq!(message["content"], "Let me check.");
    assert_eq!(
        message["tool_calls"],
        json!([{"id": ANTHROPIC_CALL_ID, "type": "function",
            "function": {"name": "get_weather", "arguments": TOOL_ARGUMENTS}}])
    );
    assert_eq!(
        upstream.seen()[0].body["tools"],
        json!([{"name": "get_weather", "description": "Weather now",
            "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}])
    );

    // The same call streamed: the arguments arrive in pieces under one index.
    let streamed = app
        .v1(
            "/v1/chat/completions",
            &token,
            json!({"model": "gpt-4o", "messages": [ask], "tools": weather_tool_openai(), "stream": true}),
        )
        .await
        .text()
        .await
        .unwrap();
    let mut arguments = String::new();
    let mut ids = Vec::new();
    for (_, data) in events(&streamed) {
        let Ok(chunk) = serde_json::from_str::<Value>(&data) else {
            continue;
        };
        if let Some(call) = chunk.pointer("/choices/0/delta/tool_calls/0") {
            assert_eq!(call["index"], 0);
            if let Some(id) = call["id"].as_str() {
                ids.push(id.to_string());
            }
            arguments.push_str(call["function"]["arguments"].as_str().unwrap_or(""));
        }
    }
    assert_eq!(
        (ids, arguments.as_str()),
        (vec![ANTHROPIC_CALL_ID.to_string()], TOOL_ARGUMENTS)
    );

    let second = app
        .v1(
            "/v1/chat/completions",
            &token,
            json!({"model": "gpt-4o", "tools": weather_tool_openai(), "messages": [ask, message,
                {"role": "tool", "tool_call_id": ANTHROPIC_CALL_ID, "content": "18C and sunny"}]}),
        )
        .await;
    assert_eq!(second.status(), 200);
    let second: Value = second.json().await.unwrap();
    assert_eq!(second["choices"][0]["message"]["content"], PIECES.concat());
    assert_eq!(
        upstream.seen()[2].body["messages"],
        json!([
            {"role": "user", "content": [{"type": "text", "text": "Weather in Paris?"}]},
            {"role": "assistant", "content": [{"type": "text", "text": "Let me check."},
                {"type": "tool_use", "id": ANTHROPIC_CALL_ID, "name": "get_weather", "input": {"city": "Paris"}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": ANTHROPIC_CALL_ID,
                "content": "18C and sunny"}]}])
    );
}

#[tokio::test]
async fn an_anthropic_client_makes_a_full_tool_round_trip_through_an_openai_key() {
    let (app, upstream, token) = routed_app("OPENAI", "sk-ok-openai-t").await;
    let ask = json!({"role": "user", "content": "Weather in Paris?"});

    let streamed = messages_call(
        &app,
        &token,
        json!({"model": "claude-sonnet-4-5", "max_tokens": 200, "stream": true,
            "tools": weather_tool_anthropic(), "messages": [ask]}),
    )
    .await
    .text()
    .await
    .unwrap();
    let events = events(&streamed);
    let parsed: Vec<Value> = events
        .iter()
        .map(|(_, d)| serde_json::from_str(d).unwrap())
        .collect();
    assert_eq!(
        parsed[1],
        json!({"type": "content_block_start", "index": 0, "content_block":
            {"type": "tool_use", "id": OPENAI_CALL_ID, "name": "get_weather", "input": {}}})
    );
    let arguments: String = parsed
        .iter()
        .filter_map(|e| e.pointer("/delta/partial_json").and_then(Value::as_str))
        .collect();
    assert_eq!(arguments, TOOL_ARGUMENTS);
    let delta = parsed
        .iter()
        .find(|e| e["type"] == "message_delta")
        .unwrap();
    assert_eq!(delta["delta"]["stop_reason"], "tool_use");

    let second = messages_call(
        &app,
        &token,
        json!({"model": "claude-sonnet-4-5", "max_tokens": 200, "tools": weather_tool_anthropic(),
            "messages": [ask,
                {"role": "assistant", "content": [{"type": "tool_use", "id": OPENAI_CALL_ID,
                    "name": "get_weather", "input": {"city": "Paris"}}]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": OPENAI_CALL_ID,
                    "content": "18C and sunny"}]}]}),
    )
    .await;
    assert_eq!(second.status(), 200);
    let second: Value = second.json().await.unwrap();
    assert_eq!(
        second["content"],
        json!([{"type": "text", "text": PIECES.concat()}])
    );
    assert_eq!(
        upstream.seen()[1].body["messages"],
        json!([
            {"role": "user", "content": "Weather in Paris?"},
            {"role": "assistant", "content": null, "tool_calls": [{"id": OPENAI_CALL_ID,
                "type": "function", "function": {"name": "get_weather", "arguments": TOOL_ARGUMENTS}}]},
            {"role": "tool", "tool_call_id": OPENAI_CALL_ID, "content": "18C and sunny"}])
    );
}

#[tokio::test]
async fn upstream_errors_reach_the_client_in_its_own_format() {
    let (app, _upstream, token) = routed_app("OPENAI", "sk-bad400-openai").await;

    let response = messages_call(
        &app,
        &token,
        json!({"model": "claude-sonnet-4-5", "max_tokens": 10,
            "messages": [{"role": "user", "content": "hi"}]}),
    )
    .await;

    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({"type": "error", "error": {"type": "invalid_request_error",
            "message": "messages: field required"}})
    );
}

#[tokio::test]
async fn a_request_no_route_matches_reaches_its_own_format_byte_for_byte() {
    let app = TestApp::spawn().await;
    let upstream = MockUpstream::start().await;
    app.add_key("OPENAI", "sk-ok-openai-b", json!({"baseUrl": upstream.url}))
        .await;
    route(
        &app,
        json!({"routes": [{"match": "claude-*", "provider": "anthropic"}]}),
    )
    .await;
    let token = app.client_token(json!({})).await;
    // Odd spacing, key order and a vendor field: exactly what re-serialising would change.
    let sent = "{ \"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\n  \"model\" : \"gpt-4o\", \"x_vendor\": 1.50 }";

    let response = app
        .http
        .post(app.url("/v1/chat/completions"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(sent)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 200);
    assert_eq!(upstream.seen()[0].raw, sent.as_bytes());
    let row = &app.log_rows().await[0];
    assert_eq!(row.model, "gpt-4o");
    assert_eq!(
        (row.client_format.as_ref(), row.client_model.as_ref()),
        (None, None),
        "a request served as it came is not marked as routed"
    );
}

#[tokio::test]
async fn count_tokens_for_an_openai_key_is_an_estimate_answered_by_the_pool() {
    let (app, upstream, token) = routed_app("OPENAI", "sk-ok-openai-t").await;
    let body = json!({"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "x".repeat(400)}]});
    let size = serde_json::to_vec(&body).unwrap().len();

    let response = app
        .http
        .post(app.url("/v1/messages/count_tokens"))
        .header("x-api-key", &token)
        .header("anthropic-version", "2023-06-01")
        .json(&body)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer, json!({"input_tokens": size.div_ceil(4)}));
    assert!(upstream.seen().is_empty(), "OpenAI has no count_tokens");
}

#[tokio::test]
async fn a_stream_cut_mid_way_ends_in_the_clients_error_event() {
    let (app, _upstream, token) = routed_app("OPENAI", "sk-cut-openai").await;

    let body = messages_call(
        &app,
        &token,
        json!({"model": "claude-sonnet-4-5", "max_tokens": 10, "stream": true,
            "messages": [{"role": "user", "content": "hi"}]}),
    )
    .await
    .text()
    .await
    .unwrap();

    let events = events(&body);
    let (name, data) = events.last().unwrap();
    assert_eq!(name, "error", "{body}");
    let error: Value = serde_json::from_str(data).unwrap();
    assert_eq!(error["type"], "error");
    assert_eq!(error["error"]["type"], "api_error");
    let text: String = events
        .iter()
        .filter_map(|(_, d)| {
            let v: Value = serde_json::from_str(d).ok()?;
            v.pointer("/delta/text")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .collect();
    assert_eq!(
        text,
        PIECES[..2].concat(),
        "what arrived before the cut is passed on"
    );
    let row = &app.log_rows().await[0];
    assert_eq!(row.status, "interrupted");
}

#[tokio::test]
async fn a_routed_model_without_keys_of_its_provider_is_a_503_naming_the_route() {
    // Only an OpenAI key: `gpt-4o*` is routed to Anthropic, so that key must not serve it.
    let (app, upstream, token) = routed_app("OPENAI", "sk-ok-openai-t").await;

    let response = app
        .v1(
            "/v1/chat/completions",
            &token,
            json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}),
        )
        .await;

    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.unwrap();
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("ANTHROPIC keys"), "{message}");
    assert!(message.contains("routing"), "{message}");
    assert!(upstream.seen().is_empty());
}
