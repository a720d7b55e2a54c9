//! An upstream on 127.0.0.1:0 that answers coding agents (Claude Code, Codex CLI) the way the
//! real APIs do, and records every request it gets, including the ones it has no answer for.
//!
//! It speaks what those clients need and nothing more: Anthropic Messages (an SSE stream of
//! `message_start` … `message_stop`, or JSON) and OpenAI Responses (an SSE stream of
//! `response.created` … `response.completed`, or the response object). Its usage numbers are
//! distinct from the general mock's, so a test can tell whose answer it got.

use std::sync::{Arc, Mutex};

use axum::{
    Router,
    body::{Body, Bytes},
    extract::State,
    http::{HeaderMap, Method, StatusCode, Uri},
    response::{IntoResponse, Response},
    routing::post,
};
use serde_json::{Value, json};
use tokio::net::TcpListener;

/// The answer text, streamed in these pieces.
pub const AGENT_PIECES: [&str; 3] = ["Hi there", ", agent", " — from the mock"];
/// Anthropic usage: input, output, cache creation, cache read.
pub const AGENT_ANTHROPIC_USAGE: (i64, i64, i64, i64) = (31, 17, 211, 1234);
/// OpenAI Responses usage: input (cached included), cached, output (reasoning included),
/// reasoning.
pub const AGENT_RESPONSES_USAGE: (i64, i64, i64, i64) = (2400, 2048, 57, 40);

/// The whole answer text.
pub fn agent_text() -> String {
    AGENT_PIECES.concat()
}

/// A request the upstream received.
#[derive(Clone, Debug)]
pub struct AgentCall {
    pub method: Method,
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: Value,
}

impl AgentCall {
    /// The value of header `name`, or "" when it is absent.
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

type Calls = Arc<Mutex<Vec<AgentCall>>>;

/// The agents' upstream.
pub struct AgentUpstream {
    pub url: String,
    calls: Calls,
}

impl AgentUpstream {
    pub async fn start() -> AgentUpstream {
        let calls = Calls::default();
        let app = Router::new()
            .route("/v1/messages", post(messages))
            .route("/api/provider/anthropic/v1/messages", post(messages))
            .route("/v1/responses", post(responses))
            .route("/api/provider/openai/v1/responses", post(responses))
            .fallback(unknown)
            .with_state(calls.clone());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        AgentUpstream { url, calls }
    }

    /// Every request received so far, oldest first.
    pub fn calls(&self) -> Vec<AgentCall> {
        self.calls.lock().unwrap().clone()
    }
}

fn record(calls: &Calls, method: Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Value {
    let body: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    calls.lock().unwrap().push(AgentCall {
        method,
        path: uri.path().to_string(),
        query: uri.query().map(str::to_string),
        headers: headers.clone(),
        body: body.clone(),
    });
    body
}

async fn unknown(
    State(calls): State<Calls>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    record(&calls, method, &uri, &headers, &body);
    let message = format!("agent mock: no route for {}", uri.path());
    (
        StatusCode::NOT_FOUND,
        axum::Json(json!({"error": {"message": message, "type": "invalid_request_error"}})),
    )
        .into_response()
}

/// An SSE body, one chunk per event, as a real upstream flushes them.
fn sse(events: Vec<(&'static str, Value)>) -> Response {
    let chunks = events.into_iter().map(|(name, data)| {
        Ok::<_, std::io::Error>(Bytes::from(format!("event: {name}\ndata: {data}\n\n")))
    });
    Response::builder()
        .header("content-type", "text/event-stream")
        .header("cache-control", "no-cache")
        .body(Body::from_stream(futures::stream::iter(chunks)))
        .unwrap()
}

async fn messages(
    State(calls): State<Calls>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body = record(&calls, Method::POST, &uri, &headers, &body);
    let model = body["model"].as_str().unwrap_or("claude").to_string();
    let (input, output, cache_creation, cache_read) = AGENT_ANTHROPIC_USAGE;
    let usage = |output: i64| {
        json!({"input_tokens": input, "output_tokens": output,
               "cache_creation_input_tokens": cache_creation, "cache_read_input_tokens": cache_read})
    };
    let message = |content: Value, stop: Value, usage: Value| {
        json!({"id": "msg_agent_mock", "type": "message", "role": "assistant", "model": model,
               "content": content, "stop_reason": stop, "stop_sequence": null, "usage": usage})
    };
    if body["stream"] != true {
        return axum::Json(message(
            json!([{"type": "text", "text": agent_text()}]),
            json!("end_turn"),
            usage(output),
        ))
        .into_response();
    }
    let mut events = vec![
        (
            "message_start",
            json!({"type": "message_start", "message": message(json!([]), Value::Null, usage(1))}),
        ),
        (
            "content_block_start",
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        ),
        ("ping", json!({"type": "ping"})),
    ];
    for piece in AGENT_PIECES {
        events.push((
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": piece}}),
        ));
    }
    events.extend([
        (
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 0}),
        ),
        (
            "message_delta",
            json!({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null},
                   "usage": {"output_tokens": output}}),
        ),
        ("message_stop", json!({"type": "message_stop"})),
    ]);
    sse(events)
}

async fn responses(
    State(calls): State<Calls>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body = record(&calls, Method::POST, &uri, &headers, &body);
    let model = body["model"].as_str().unwrap_or("gpt").to_string();
    let (input, cached, output, reasoning) = AGENT_RESPONSES_USAGE;
    let text = agent_text();
    let item = |status: &str, content: Value| json!({"id": "msg_agent_mock", "type": "message", "status": status, "role": "assistant", "content": content});
    let part = |text: &str| json!({"type": "output_text", "text": text, "annotations": []});
    let response = |status: &str, output_items: Value, usage: Value| {
        json!({"id": "resp_agent_mock", "object": "response", "created_at": 1_700_000_000, "status": status,
               "model": model, "output": output_items, "usage": usage, "store": false})
    };
    let usage = json!({"input_tokens": input, "input_tokens_details": {"cached_tokens": cached},
                       "output_tokens": output, "output_tokens_details": {"reasoning_tokens": reasoning},
                       "total_tokens": input + output});
    let done_item = item("completed", json!([part(&text)]));
    let completed = response("completed", json!([done_item.clone()]), usage);
    if body["stream"] != true {
        return axum::Json(completed).into_response();
    }
    let started = response("in_progress", json!([]), Value::Null);
    let at = json!({"item_id": "msg_agent_mock", "output_index": 0, "content_index": 0});
    let with = |kind: &'static str, extra: Value| {
        let mut event = json!({"type": kind});
        event
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().cloned().unwrap_or_default());
        (kind, event)
    };
    let mut events = vec![
        with("response.created", json!({"response": started.clone()})),
        with("response.in_progress", json!({"response": started})),
        with(
            "response.output_item.added",
            json!({"output_index": 0, "item": item("in_progress", json!([]))}),
        ),
    ];
    let mut part_added = at.clone();
    part_added["part"] = part("");
    events.push(with("response.content_part.added", part_added));
    for piece in AGENT_PIECES {
        let mut delta = at.clone();
        delta["delta"] = json!(piece);
        events.push(with("response.output_text.delta", delta));
    }
    let mut text_done = at.clone();
    text_done["text"] = json!(text);
    events.push(with("response.output_text.done", text_done));
    let mut part_done = at;
    part_done["part"] = part(&text);
    events.push(with("response.content_part.done", part_done));
    events.push(with(
        "response.output_item.done",
        json!({"output_index": 0, "item": done_item}),
    ));
    events.push(with("response.completed", json!({"response": completed})));
    // Each event carries its place in the stream, as OpenAI's do.
    for (sequence, (_, event)) in events.iter_mut().enumerate() {
        event["sequence_number"] = json!(sequence);
    }
    sse(events)
}

/// A forward proxy that lets nothing through: it records the first line of every request (a
/// `CONNECT host:443` names where a client tried to go) and answers 403. Given to the agents
/// as their proxy for everything but 127.0.0.1, it shows any call they make to the outside
/// world, where a closed network would only make them slow or silent.
pub struct Wall {
    pub url: String,
    attempts: Arc<Mutex<Vec<String>>>,
}

impl Wall {
    pub async fn start() -> Wall {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let attempts = Arc::new(Mutex::new(Vec::new()));
        let recorded = attempts.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(refuse(stream, recorded.clone()));
            }
        });
        Wall { url, attempts }
    }

    /// The first request line of each attempt to get through, oldest first.
    pub fn attempts(&self) -> Vec<String> {
        self.attempts.lock().unwrap().clone()
    }
}

async fn refuse(
    mut stream: tokio::net::TcpStream,
    attempts: Arc<Mutex<Vec<String>>>,
) -> std::io::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut head = Vec::new();
    let mut chunk = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 65_536 {
        let read = stream.read(&mut chunk).await?;
        if read == 0 {
            break;
        }
        head.extend_from_slice(&chunk[..read]);
    }
    let text = String::from_utf8_lossy(&head);
    let line = text.lines().next().unwrap_or("(nothing)").to_string();
    attempts.lock().unwrap().push(line);
    stream
        .write_all(b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
        .await
}
