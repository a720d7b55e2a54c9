//! Test doubles on 127.0.0.1:0: an upstream that speaks OpenAI, Anthropic and AMP, an HTTP
//! forward proxy and a SOCKS5 proxy that record what crossed them.
//!
//! The upstream's behaviour is chosen by the key it is called with: `sk-<behaviour>-<anything>`.
//! Besides the honest failures (rate limits, 5xx, auth) there are hostile ones: absurd
//! `retry-after` values, error bodies that echo the key or quote billing words, redirects,
//! headers that name the account, events without end and usage that overflows.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Router,
    body::{Body, Bytes},
    extract::State,
    http::{HeaderMap, StatusCode, Uri},
    response::{IntoResponse, Response},
    routing::post,
};
use futures::{SinkExt, channel::mpsc};
use serde_json::{Value, json};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    sync::Notify,
};

/// What OpenAI-format answers report: 120 prompt tokens of which 100 cached, 30 completion.
pub const OPENAI_USAGE: (i64, i64, i64) = (120, 30, 100);
/// What Anthropic-format answers report: input, output, cache creation, cache read.
pub const ANTHROPIC_USAGE: (i64, i64, i64, i64) = (50, 20, 200, 1000);
/// The arguments of the tool call the mock makes when a request offers tools.
pub const TOOL_ARGUMENTS: &str = r#"{"city":"Paris"}"#;
/// The id of that call (each format's own style).
pub const OPENAI_CALL_ID: &str = "call_mock_1";
pub const ANTHROPIC_CALL_ID: &str = "toolu_mock_1";

/// The tool the mock calls: `get_weather` when it is offered, unless the conversation already
/// ends with a tool result (then it answers with text). Other tools (a coding agent's) are
/// never called, so agents get the text answer.
fn tool_to_call(body: &Value) -> Option<String> {
    let last = body["messages"].as_array()?.last()?;
    let answered = last["role"] == "tool"
        || last["content"]
            .as_array()
            .is_some_and(|blocks| blocks.iter().any(|b| b["type"] == "tool_result"));
    if answered {
        return None;
    }
    body["tools"]
        .as_array()?
        .iter()
        .filter_map(|tool| tool.pointer("/function/name").or_else(|| tool.get("name")))
        .find(|name| *name == "get_weather")
        .map(|_| "get_weather".to_string())
}

/// The text every answer holds, streamed in these pieces.
pub const PIECES: [&str; 3] = ["Hello", " from", " the mock"];

/// A request the upstream received.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: Value,
    /// The body's bytes as they arrived.
    pub raw: Bytes,
}

#[derive(Default)]
pub(crate) struct Shared {
    seen: Mutex<Vec<Seen>>,
    /// Streams with the `gate` behaviour wait here after their first event.
    pub(crate) gate: Notify,
    /// Responses created, by id: the secret of the key that created each (as upstream, only
    /// that key's account can see it) and the response object.
    pub(crate) responses: Mutex<std::collections::HashMap<String, (String, Value)>>,
}

/// The mock upstream.
#[derive(Clone)]
pub struct MockUpstream {
    pub url: String,
    shared: Arc<Shared>,
}

impl MockUpstream {
    pub async fn start() -> MockUpstream {
        let shared = Arc::new(Shared::default());
        let app = Router::new()
            .route("/v1/chat/completions", post(openai))
            .route("/api/provider/openai/v1/chat/completions", post(openai))
            .route("/v1/messages", post(anthropic))
            .route("/api/provider/anthropic/v1/messages", post(anthropic))
            .route("/v1/messages/count_tokens", post(count_tokens))
            .route(
                "/api/provider/anthropic/v1/messages/count_tokens",
                post(count_tokens),
            )
            .merge(crate::mock_openai::routes())
            .route("/api/internal", post(amp_balance))
            .route("/v1/redirected", axum::routing::any(redirected))
            .route(
                "/v1/dashboard/billing/credit_grants",
                axum::routing::get(openai_credit),
            )
            .with_state(shared.clone());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        MockUpstream { url, shared }
    }

    /// Every request received so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.shared.seen.lock().unwrap().clone()
    }

    /// Lets gated streams send the rest.
    pub fn open_gate(&self) {
        self.shared.gate.notify_waiters();
    }
}

pub(crate) fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The key the request was made with, checking the auth headers the path's provider expects.
pub(crate) fn secret(uri: &Uri, headers: &HeaderMap) -> Result<String, Box<Response>> {
    let bearer = header(headers, "authorization").and_then(|v| v.strip_prefix("Bearer "));
    let x_api_key = header(headers, "x-api-key");
    let path = uri.path();
    let found = if path.starts_with("/api/provider/") {
        // AMP takes both, and they must agree.
        match (bearer, x_api_key) {
            (Some(a), Some(b)) if a == b => Some(a),
            _ => None,
        }
    } else if path.starts_with("/v1/messages") {
        x_api_key
    } else {
        bearer
    };
    found.map(str::to_string).ok_or_else(|| {
        Box::new(
            (
                StatusCode::UNAUTHORIZED,
                axum::Json(json!({"error": {"message": "mock: wrong auth headers"}})),
            )
                .into_response(),
        )
    })
}

pub(crate) fn behaviour(secret: &str) -> &str {
    secret.split('-').nth(1).unwrap_or("ok")
}

/// Answers for the failure behaviours; `None` means answer normally.
pub(crate) async fn failure(behaviour: &str, secret: &str) -> Option<Response> {
    let json = |status: u16, body: Value| {
        (StatusCode::from_u16(status).unwrap(), axum::Json(body)).into_response()
    };
    Some(match behaviour {
        "r429" => {
            let mut response = json(
                429,
                json!({"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}}),
            );
            response
                .headers_mut()
                .insert("retry-after", "0.3".parse().unwrap());
            response
        }
        "r429long" => {
            let mut response = json(
                429,
                json!({"error": {"message": "Rate limit reached", "type": "requests"}}),
            );
            response
                .headers_mut()
                .insert("retry-after", "120".parse().unwrap());
            response
        }
        "e500" => json(
            500,
            json!({"error": {"message": "mock upstream exploded", "type": "server_error"}}),
        ),
        "e529" => json(
            529,
            json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
        ),
        "e401" => json(
            401,
            json!({"error": {"message": "Incorrect API key provided", "type": "invalid_request_error", "code": "invalid_api_key"}}),
        ),
        "quota" => json(
            429,
            json!({"error": {"message": "You exceeded your current quota", "type": "insufficient_quota", "code": "insufficient_quota"}}),
        ),
        "credit" => json(
            400,
            json!({"type": "error", "error": {"type": "billing_error", "message": "Your credit balance is too low to access the Anthropic API."}}),
        ),
        // A request error whose message quotes billing words (as one echoing the client's
        // input would).
        "echo400" => json(
            400,
            json!({"error": {"message": "invalid model 'insufficient_quota billing_error Your credit balance is too low'", "type": "invalid_request_error", "param": "model", "code": null}}),
        ),
        "echo500" => json(
            500,
            json!({"error": {"message": "cannot handle 'insufficient_quota billing_error Your credit balance is too low'", "type": "server_error"}}),
        ),
        "echokey" => json(
            500,
            json!({"error": {"message": format!("internal error for key {secret}"), "type": "server_error", "key": secret}}),
        ),
        "retryinf" | "resetinf" => {
            let mut response = json(
                429,
                json!({"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}}),
            );
            let (name, value) = if behaviour == "retryinf" {
                ("retry-after", "1e300")
            } else {
                ("x-ratelimit-reset-requests", "99999999999999999999h")
            };
            response.headers_mut().insert(name, value.parse().unwrap());
            response
        }
        "redirect" => Response::builder()
            .status(307)
            .header("location", "/v1/redirected")
            .body(Body::empty())
            .unwrap(),
        "bad400" => json(
            400,
            json!({"error": {"message": "messages: field required", "type": "invalid_request_error", "param": "messages", "code": null}}),
        ),
        "hang" => {
            tokio::time::sleep(Duration::from_secs(60)).await;
            return None;
        }
        "slow" => {
            tokio::time::sleep(Duration::from_millis(300)).await;
            return None;
        }
        _ => return None,
    })
}

/// Where the `redirect` behaviour points; it records whatever arrives.
async fn redirected(
    State(shared): State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    record(&shared, &uri, &headers, &body);
    axum::Json(json!({"error": {"message": "followed a redirect"}})).into_response()
}

pub(crate) fn record(shared: &Shared, uri: &Uri, headers: &HeaderMap, body: &Bytes) -> Value {
    record_call(shared, "POST", uri, headers, body)
}

pub(crate) fn record_call(
    shared: &Shared,
    method: &str,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
) -> Value {
    let raw = body.clone();
    let body: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    shared.seen.lock().unwrap().push(Seen {
        raw,
        method: method.to_string(),
        path: uri.path().to_string(),
        query: uri.query().map(str::to_string),
        headers: headers.clone(),
        body: body.clone(),
    });
    body
}

pub(crate) type Sender = mpsc::Sender<Result<Bytes, std::io::Error>>;

/// A streamed body fed by `produce`.
pub(crate) fn stream_body<F, Fut>(produce: F) -> Response
where
    F: FnOnce(Sender) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (sender, receiver) = mpsc::channel(16);
    tokio::spawn(produce(sender));
    Response::builder()
        .header("content-type", "text/event-stream")
        .header("x-request-id", "req_mock_1")
        .body(Body::from_stream(receiver))
        .unwrap()
}

pub(crate) async fn send(sender: &mut Sender, text: String) {
    let _ = sender.send(Ok(Bytes::from(text))).await;
}

async fn openai(
    State(shared): State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body = record(&shared, &uri, &headers, &body);
    let secret = match secret(&uri, &headers) {
        Ok(secret) => secret,
        Err(response) => return *response,
    };
    let behaviour = behaviour(&secret).to_string();
    if let Some(response) = failure(&behaviour, &secret).await {
        return response;
    }
    let model = body["model"].as_str().unwrap_or("gpt-4o").to_string();
    let (prompt, completion, cached) = OPENAI_USAGE;
    let mut usage = json!({"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion,
                       "prompt_tokens_details": {"cached_tokens": cached}});
    if behaviour == "overflow" {
        usage = json!({"prompt_tokens": i64::MAX, "completion_tokens": 10, "total_tokens": i64::MAX,
                       "prompt_tokens_details": {"cached_tokens": -1}});
    }
    if let Some(tool) = tool_to_call(&body) {
        return openai_tool_call(&body, &model, &tool, usage);
    }
    if body["stream"] != true || behaviour == "jsononly" {
        let mut response = axum::Json(json!({
            "id": "chatcmpl-mock", "object": "chat.completion", "created": 1, "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": PIECES.concat()}, "finish_reason": "stop"}],
            "usage": usage,
        }))
        .into_response();
        response
            .headers_mut()
            .insert("x-request-id", "req_mock_1".parse().unwrap());
        response
            .headers_mut()
            .insert("x-ratelimit-remaining-requests", "99".parse().unwrap());
        if behaviour == "leaky" {
            for (name, value) in [
                ("openai-organization", "org-secret-pool-account"),
                ("openai-project", "proj_secret"),
                ("anthropic-organization-id", "0000-secret"),
                ("set-cookie", "__cf_bm=secret; path=/"),
                ("openai-processing-ms", "42"),
            ] {
                response.headers_mut().insert(name, value.parse().unwrap());
            }
        }
        return response;
    }
    let include_usage = body["stream_options"]["include_usage"] == true;
    stream_body(move |mut sender| async move {
        let chunk = |delta: Value, finish: Value| {
            let mut chunk = json!({"id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": 1, "model": model,
                                   "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]});
            if include_usage {
                chunk["usage"] = Value::Null;
            }
            format!("data: {chunk}\n\n")
        };
        send(
            &mut sender,
            chunk(
                json!({"role": "assistant", "content": PIECES[0]}),
                Value::Null,
            ),
        )
        .await;
        if behaviour == "gate" {
            shared.gate.notified().await;
        }
        if behaviour == "bigevent" {
            // An event that never ends: 64 KiB pieces without a blank line, up to 8 MiB.
            let piece = "x".repeat(64 * 1024);
            let _ = sender
                .send(Ok(Bytes::from(
                    "data: {\"choices\":[{\"delta\":{\"content\":\"",
                )))
                .await;
            for _ in 0..128 {
                if sender.send(Ok(Bytes::from(piece.clone()))).await.is_err() {
                    return;
                }
            }
            return;
        }
        send(
            &mut sender,
            chunk(json!({"content": PIECES[1]}), Value::Null),
        )
        .await;
        if behaviour == "cut" {
            // Let what was sent reach the wire before the connection is cut.
            tokio::time::sleep(Duration::from_millis(100)).await;
            let _ = sender
                .send(Err(std::io::Error::other("mock cut the stream")))
                .await;
            return;
        }
        send(
            &mut sender,
            chunk(json!({"content": PIECES[2]}), json!("stop")),
        )
        .await;
        if include_usage {
            let last = json!({"id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": 1, "model": model,
                              "choices": [], "usage": usage});
            send(&mut sender, format!("data: {last}\n\n")).await;
        }
        send(&mut sender, "data: [DONE]\n\n".into()).await;
    })
}

async fn anthropic(
    State(shared): State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body = record(&shared, &uri, &headers, &body);
    let secret = match secret(&uri, &headers) {
        Ok(secret) => secret,
        Err(response) => return *response,
    };
    if header(&headers, "anthropic-version").is_none() {
        return (
            StatusCode::BAD_REQUEST,
            "mock: anthropic-version is required",
        )
            .into_response();
    }
    let behaviour = behaviour(&secret).to_string();
    if let Some(response) = failure(&behaviour, &secret).await {
        return response;
    }
    let model = body["model"]
        .as_str()
        .unwrap_or("claude-sonnet-4-5")
        .to_string();
    let (input, output, cache_creation, cache_read) = ANTHROPIC_USAGE;
    if let Some(tool) = tool_to_call(&body) {
        return anthropic_tool_call(&body, &model, &tool);
    }
    if body["stream"] != true {
        return axum::Json(json!({
            "id": "msg_mock", "type": "message", "role": "assistant", "model": model,
            "content": [{"type": "text", "text": PIECES.concat()}],
            "stop_reason": "end_turn", "stop_sequence": null,
            "usage": {"input_tokens": input, "output_tokens": output,
                      "cache_creation_input_tokens": cache_creation, "cache_read_input_tokens": cache_read},
        }))
        .into_response();
    }
    stream_body(move |mut sender| async move {
        let event = |name: &str, data: Value| format!("event: {name}\ndata: {data}\n\n");
        send(&mut sender, event("message_start", json!({"type": "message_start", "message": {
            "id": "msg_mock", "type": "message", "role": "assistant", "model": model, "content": [],
            "stop_reason": null, "stop_sequence": null,
            "usage": {"input_tokens": input, "output_tokens": 1,
                      "cache_creation_input_tokens": cache_creation, "cache_read_input_tokens": cache_read}}}))).await;
        send(&mut sender, event("content_block_start", json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}))).await;
        for (i, piece) in PIECES.iter().enumerate() {
            send(&mut sender, event("content_block_delta", json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": piece}}))).await;
            if i == 0 && behaviour == "gate" {
                shared.gate.notified().await;
            }
            if i == 1 && behaviour == "cut" {
                send(&mut sender, event("message_delta", json!({"type": "message_delta", "delta": {"stop_reason": null}, "usage": {"output_tokens": 7}}))).await;
                tokio::time::sleep(Duration::from_millis(100)).await;
                let _ = sender
                    .send(Err(std::io::Error::other("mock cut the stream")))
                    .await;
                return;
            }
        }
        send(
            &mut sender,
            event(
                "content_block_stop",
                json!({"type": "content_block_stop", "index": 0}),
            ),
        )
        .await;
        send(&mut sender, event("message_delta", json!({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null}, "usage": {"output_tokens": output}}))).await;
        send(
            &mut sender,
            event("message_stop", json!({"type": "message_stop"})),
        )
        .await;
    })
}

/// An OpenAI answer that calls `tool`, whole or streamed (arguments in two pieces).
fn openai_tool_call(body: &Value, model: &str, tool: &str, usage: Value) -> Response {
    let call = json!({"id": OPENAI_CALL_ID, "type": "function",
        "function": {"name": tool, "arguments": TOOL_ARGUMENTS}});
    if body["stream"] != true {
        return axum::Json(json!({
            "id": "chatcmpl-mock", "object": "chat.completion", "created": 1, "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": null,
                "tool_calls": [call]}, "finish_reason": "tool_calls"}],
            "usage": usage,
        }))
        .into_response();
    }
    let include_usage = body["stream_options"]["include_usage"] == true;
    let (model, tool) = (model.to_string(), tool.to_string());
    stream_body(move |mut sender| async move {
        let chunk = |delta: Value, finish: Value| {
            let chunk = json!({"id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": 1, "model": model,
                               "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]});
            format!("data: {chunk}\n\n")
        };
        let (first, second) = TOOL_ARGUMENTS.split_at(5);
        send(&mut sender, chunk(json!({"role": "assistant", "content": null, "tool_calls": [
            {"index": 0, "id": OPENAI_CALL_ID, "type": "function", "function": {"name": tool, "arguments": ""}}]}), Value::Null)).await;
        for piece in [first, second] {
            send(
                &mut sender,
                chunk(
                    json!({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}),
                    Value::Null,
                ),
            )
            .await;
        }
        send(&mut sender, chunk(json!({}), json!("tool_calls"))).await;
        if include_usage {
            let last = json!({"id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": 1, "model": model,
                              "choices": [], "usage": usage});
            send(&mut sender, format!("data: {last}\n\n")).await;
        }
        send(&mut sender, "data: [DONE]\n\n".into()).await;
    })
}

/// An Anthropic answer that calls `tool`, whole or streamed (arguments in two pieces).
fn anthropic_tool_call(body: &Value, model: &str, tool: &str) -> Response {
    let (input, output, cache_creation, cache_read) = ANTHROPIC_USAGE;
    let arguments: Value = serde_json::from_str(TOOL_ARGUMENTS).unwrap();
    if body["stream"] != true {
        return axum::Json(json!({
            "id": "msg_mock", "type": "message", "role": "assistant", "model": model,
            "content": [{"type": "text", "text": "Let me check."},
                        {"type": "tool_use", "id": ANTHROPIC_CALL_ID, "name": tool, "input": arguments}],
            "stop_reason": "tool_use", "stop_sequence": null,
            "usage": {"input_tokens": input, "output_tokens": output,
                      "cache_creation_input_tokens": cache_creation, "cache_read_input_tokens": cache_read},
        }))
        .into_response();
    }
    let (model, tool) = (model.to_string(), tool.to_string());
    stream_body(move |mut sender| async move {
        let event = |name: &str, data: Value| format!("event: {name}\ndata: {data}\n\n");
        send(&mut sender, event("message_start", json!({"type": "message_start", "message": {
            "id": "msg_mock", "type": "message", "role": "assistant", "model": model, "content": [],
            "stop_reason": null, "stop_sequence": null,
            "usage": {"input_tokens": input, "output_tokens": 1,
                      "cache_creation_input_tokens": cache_creation, "cache_read_input_tokens": cache_read}}}))).await;
        send(&mut sender, event("content_block_start", json!({"type": "content_block_start", "index": 0,
            "content_block": {"type": "tool_use", "id": ANTHROPIC_CALL_ID, "name": tool, "input": {}}}))).await;
        let (first, second) = TOOL_ARGUMENTS.split_at(5);
        for piece in [first, second] {
            send(
                &mut sender,
                event(
                    "content_block_delta",
                    json!({"type": "content_block_delta", "index": 0,
                "delta": {"type": "input_json_delta", "partial_json": piece}}),
                ),
            )
            .await;
        }
        send(
            &mut sender,
            event(
                "content_block_stop",
                json!({"type": "content_block_stop", "index": 0}),
            ),
        )
        .await;
        send(&mut sender, event("message_delta", json!({"type": "message_delta",
            "delta": {"stop_reason": "tool_use", "stop_sequence": null}, "usage": {"output_tokens": output}}))).await;
        send(
            &mut sender,
            event("message_stop", json!({"type": "message_stop"})),
        )
        .await;
    })
}

async fn count_tokens(
    State(shared): State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    record(&shared, &uri, &headers, &body);
    match secret(&uri, &headers) {
        Ok(_) => axum::Json(json!({"input_tokens": 42})).into_response(),
        Err(response) => *response,
    }
}

type Crossed = Arc<Mutex<Vec<String>>>;
type Handler =
    fn(
        TcpStream,
        Crossed,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = std::io::Result<()>> + Send>>;

/// A forward proxy (HTTP absolute-form and CONNECT, or SOCKS5) that records each connection's
/// first request head or target.
#[derive(Clone)]
pub struct ForwardProxy {
    pub url: String,
    crossed: Arc<Mutex<Vec<String>>>,
}

impl ForwardProxy {
    /// An HTTP proxy (`http://127.0.0.1:port`).
    pub async fn http() -> ForwardProxy {
        Self::start("http", |stream, crossed| {
            Box::pin(http_connection(stream, crossed))
        })
        .await
    }

    /// A SOCKS5 proxy without authentication (`socks5://127.0.0.1:port`).
    pub async fn socks5() -> ForwardProxy {
        Self::start("socks5", |stream, crossed| {
            Box::pin(socks5_connection(stream, crossed))
        })
        .await
    }

    async fn start(scheme: &str, handle: Handler) -> ForwardProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("{scheme}://{}", listener.local_addr().unwrap());
        let crossed = Arc::new(Mutex::new(Vec::new()));
        let recorded = crossed.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(handle(stream, recorded.clone()));
            }
        });
        ForwardProxy { url, crossed }
    }

    /// What crossed: HTTP request heads, or SOCKS5 targets.
    pub fn crossed(&self) -> Vec<String> {
        self.crossed.lock().unwrap().clone()
    }
}

async fn http_connection(
    mut client: TcpStream,
    crossed: Arc<Mutex<Vec<String>>>,
) -> std::io::Result<()> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let read = client.read(&mut chunk).await?;
        if read == 0 || buffer.len() > 65_536 {
            return Ok(());
        }
        buffer.extend_from_slice(&chunk[..read]);
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let target = head
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_string();
    crossed.lock().unwrap().push(head.clone());
    if head.starts_with("CONNECT ") {
        let mut upstream = TcpStream::connect(&target).await?;
        client
            .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
            .await?;
        tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
    } else {
        let authority = target
            .trim_start_matches("http://")
            .split('/')
            .next()
            .unwrap_or_default()
            .to_string();
        let mut upstream = TcpStream::connect(authority).await?;
        upstream.write_all(&buffer).await?;
        tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
    }
    Ok(())
}

async fn socks5_connection(
    mut client: TcpStream,
    crossed: Arc<Mutex<Vec<String>>>,
) -> std::io::Result<()> {
    let mut greeting = [0u8; 2];
    client.read_exact(&mut greeting).await?;
    let mut methods = vec![0u8; usize::from(greeting[1])];
    client.read_exact(&mut methods).await?;
    client.write_all(&[5, 0]).await?;
    let mut request = [0u8; 4];
    client.read_exact(&mut request).await?;
    let host = match request[3] {
        1 => {
            let mut ip = [0u8; 4];
            client.read_exact(&mut ip).await?;
            std::net::Ipv4Addr::from(ip).to_string()
        }
        3 => {
            let mut len = [0u8; 1];
            client.read_exact(&mut len).await?;
            let mut name = vec![0u8; usize::from(len[0])];
            client.read_exact(&mut name).await?;
            String::from_utf8_lossy(&name).into_owned()
        }
        _ => return Ok(()),
    };
    let mut port = [0u8; 2];
    client.read_exact(&mut port).await?;
    let target = format!("{host}:{}", u16::from_be_bytes(port));
    crossed.lock().unwrap().push(target.clone());
    let mut upstream = TcpStream::connect(&target).await?;
    client.write_all(&[5, 0, 0, 1, 0, 0, 0, 0, 0, 0]).await?;
    tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
    Ok(())
}

/// Amp's balance endpoint: `ok` keys have two dollar lines, `broke` none left, `percent` only a
/// percentage, `e500` fails.
async fn amp_balance(uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if uri.query() != Some("userDisplayBalanceInfo") || body["method"] != "userDisplayBalanceInfo" {
        return (StatusCode::BAD_REQUEST, "mock: wrong balance request").into_response();
    }
    let Some(secret) = header(&headers, "authorization").and_then(|v| v.strip_prefix("Bearer "))
    else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let text = match behaviour(secret) {
        "e500" => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        "broke" => "Amp Free: $0/$20 remaining (replenishes +$0.83/hour)",
        "percent" => "Amp Free: 45% remaining today",
        _ => {
            "Signed in as dev@example.com\nAmp Free: $17.59/$20 remaining (replenishes +$0.83/hour)\nIndividual credits: $50 remaining"
        }
    };
    axum::Json(json!({"ok": true, "result": {"displayText": text}})).into_response()
}

/// OpenAI's legacy credit grants: `ok` keys have $74.50 of $100 left; `nobill` keys get 404.
async fn openai_credit(headers: HeaderMap) -> Response {
    let secret = header(&headers, "authorization")
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    match behaviour(secret) {
        "nobill" => StatusCode::NOT_FOUND.into_response(),
        _ => axum::Json(json!({"object": "credit_summary", "total_granted": 100.0, "total_used": 25.5, "total_available": 74.5}))
            .into_response(),
    }
}
