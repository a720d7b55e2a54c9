//! The mock upstream's OpenAI APIs beyond chat completions: the Responses API (stateful, as
//! upstream: a response is visible only to the key that created it), embeddings and legacy
//! completions. Behaviours come from the key, as in `mock.rs`.

use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};

use axum::{
    Router,
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, StatusCode, Uri},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use base64::Engine;
use serde_json::{Value, json};

use crate::mock::{
    PIECES, Shared, behaviour, failure, record, record_call, secret, send, stream_body,
};

/// What Responses answers report: input (of which cached), output (of which reasoning).
pub const RESPONSES_USAGE: (i64, i64, i64, i64) = (300, 200, 50, 20);
/// Prompt tokens every embeddings answer reports.
pub const EMBEDDING_TOKENS: i64 = 8;
/// What legacy completions report: prompt, completion.
pub const COMPLETION_USAGE: (i64, i64) = (12, 6);

pub fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/v1/responses", post(create))
        .route("/api/provider/openai/v1/responses", post(create))
        .route("/v1/responses/{id}", get(retrieve).delete(delete))
        .route(
            "/api/provider/openai/v1/responses/{id}",
            get(retrieve).delete(delete),
        )
        .route("/v1/responses/{id}/cancel", post(cancel))
        .route("/v1/responses/{id}/input_items", get(input_items))
        .route("/v1/embeddings", post(embeddings))
        .route("/v1/completions", post(completions))
}

fn error(status: u16, message: String, param: Option<&str>, code: Option<&str>) -> Response {
    (
        StatusCode::from_u16(status).unwrap(),
        axum::Json(json!({"error": {"message": message, "type": "invalid_request_error", "param": param, "code": code}})),
    )
        .into_response()
}

fn usage() -> Value {
    let (input, cached, output, reasoning) = RESPONSES_USAGE;
    json!({"input_tokens": input, "input_tokens_details": {"cached_tokens": cached},
           "output_tokens": output, "output_tokens_details": {"reasoning_tokens": reasoning},
           "total_tokens": input + output})
}

fn response_object(id: &str, model: &str, status: &str, with_output: bool) -> Value {
    let output = if with_output {
        json!([{"type": "message", "id": format!("msg_{id}"), "status": "completed", "role": "assistant",
                "content": [{"type": "output_text", "text": PIECES.concat(), "annotations": []}]}])
    } else {
        json!([])
    };
    json!({"id": id, "object": "response", "created_at": 1_764_000_000, "status": status,
           "model": model, "output": output, "parallel_tool_calls": true, "tool_choice": "auto", "tools": [],
           "usage": if with_output { usage() } else { Value::Null }})
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

async fn create(
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
    if let Some(previous) = body["previous_response_id"].as_str() {
        let known = shared
            .responses
            .lock()
            .unwrap()
            .get(previous)
            .map(|(owner, _)| owner == &secret);
        if known != Some(true) {
            return error(
                400,
                format!("Previous response with id '{previous}' not found."),
                Some("previous_response_id"),
                Some("previous_response_not_found"),
            );
        }
    }
    let model = body["model"].as_str().unwrap_or("gpt-5").to_string();
    let id = format!("resp_mock{}", NEXT_ID.fetch_add(1, Ordering::Relaxed));
    let complete = response_object(&id, &model, "completed", true);
    shared
        .responses
        .lock()
        .unwrap()
        .insert(id.clone(), (secret.clone(), complete.clone()));
    if body["stream"] != true {
        return axum::Json(complete).into_response();
    }
    stream_body(move |mut sender| async move {
        let mut sequence = 0;
        let mut event = |name: &str, mut data: Value| {
            data["type"] = json!(name);
            data["sequence_number"] = json!(sequence);
            sequence += 1;
            format!("event: {name}\ndata: {data}\n\n")
        };
        let pending = response_object(&id, &model, "in_progress", false);
        let item_id = format!("msg_{id}");
        let script = [
            event("response.created", json!({"response": pending})),
            event("response.in_progress", json!({"response": pending})),
            event(
                "response.output_item.added",
                json!({"output_index": 0, "item": {"type": "message", "id": item_id, "status": "in_progress", "role": "assistant", "content": []}}),
            ),
            event(
                "response.content_part.added",
                json!({"item_id": item_id, "output_index": 0, "content_index": 0, "part": {"type": "output_text", "text": "", "annotations": []}}),
            ),
        ];
        for text in script {
            send(&mut sender, text).await;
        }
        for (i, piece) in PIECES.iter().enumerate() {
            let delta = event(
                "response.output_text.delta",
                json!({"item_id": item_id, "output_index": 0, "content_index": 0, "delta": piece}),
            );
            send(&mut sender, delta).await;
            if i == 0 && behaviour == "gate" {
                shared.gate.notified().await;
            }
            if i == 1 && behaviour == "cut" {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                let _ = futures::SinkExt::send(
                    &mut sender,
                    Err(std::io::Error::other("mock cut the stream")),
                )
                .await;
                return;
            }
        }
        let text = PIECES.concat();
        let done = [
            event(
                "response.output_text.done",
                json!({"item_id": item_id, "output_index": 0, "content_index": 0, "text": text}),
            ),
            event(
                "response.content_part.done",
                json!({"item_id": item_id, "output_index": 0, "content_index": 0, "part": {"type": "output_text", "text": text, "annotations": []}}),
            ),
            event(
                "response.output_item.done",
                json!({"output_index": 0, "item": complete["output"][0]}),
            ),
            event("response.completed", json!({"response": complete})),
        ];
        for text in done {
            send(&mut sender, text).await;
        }
    })
}

/// The response `id` if the key of this request created it, else upstream's 404.
fn owned(
    shared: &Shared,
    uri: &Uri,
    headers: &HeaderMap,
    id: &str,
) -> Result<Value, Box<Response>> {
    let secret = secret(uri, headers)?;
    match shared.responses.lock().unwrap().get(id) {
        Some((owner, object)) if owner == &secret => Ok(object.clone()),
        _ => Err(Box::new(error(
            404,
            format!("Response with id '{id}' not found."),
            None,
            None,
        ))),
    }
}

/// A call on a stored response: recorded, refused with upstream's 404 unless the request's
/// key created the response, else answered with `answer` of the stored object.
fn stored_call(
    shared: &Shared,
    method: &str,
    uri: &Uri,
    headers: &HeaderMap,
    id: &str,
    answer: impl FnOnce(Value) -> Value,
) -> Response {
    record_call(shared, method, uri, headers, &Bytes::new());
    match owned(shared, uri, headers, id) {
        Ok(object) => axum::Json(answer(object)).into_response(),
        Err(response) => *response,
    }
}

async fn retrieve(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    stored_call(&shared, "GET", &uri, &headers, &id, |object| object)
}

async fn delete(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    stored_call(&shared, "DELETE", &uri, &headers, &id, |_| {
        shared.responses.lock().unwrap().remove(&id);
        json!({"id": id, "object": "response.deleted", "deleted": true})
    })
}

async fn cancel(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    stored_call(&shared, "POST", &uri, &headers, &id, |mut object| {
        object["status"] = json!("cancelled");
        object
    })
}

async fn input_items(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    stored_call(&shared, "GET", &uri, &headers, &id, |_| {
        json!({"object": "list", "data": [
            {"type": "message", "id": "msg_in_1", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}],
            "first_id": "msg_in_1", "last_id": "msg_in_1", "has_more": false})
    })
}

async fn embeddings(
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
    if let Some(response) = failure(behaviour(&secret), &secret).await {
        return response;
    }
    let vector = [0.25f32, -0.5, 1.0];
    // The official SDKs ask for base64 (little-endian f32s) unless told otherwise.
    let embedding = if body["encoding_format"] == "base64" {
        let bytes: Vec<u8> = vector.iter().flat_map(|v| v.to_le_bytes()).collect();
        json!(base64::engine::general_purpose::STANDARD.encode(bytes))
    } else {
        json!(vector)
    };
    axum::Json(json!({"object": "list", "model": body["model"],
        "data": [{"object": "embedding", "index": 0, "embedding": embedding}],
        "usage": {"prompt_tokens": EMBEDDING_TOKENS, "total_tokens": EMBEDDING_TOKENS}}))
    .into_response()
}

async fn completions(
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
    if let Some(response) = failure(behaviour(&secret), &secret).await {
        return response;
    }
    let (prompt, completion) = COMPLETION_USAGE;
    let usage = json!({"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion});
    let model = body["model"].clone();
    if body["stream"] != true {
        return axum::Json(json!({"id": "cmpl-mock", "object": "text_completion", "created": 1, "model": model,
            "choices": [{"text": PIECES.concat(), "index": 0, "logprobs": null, "finish_reason": "stop"}],
            "usage": usage}))
        .into_response();
    }
    let include_usage = body["stream_options"]["include_usage"] == true;
    stream_body(move |mut sender| async move {
        for (i, piece) in PIECES.iter().enumerate() {
            let finish = if i + 1 == PIECES.len() {
                json!("stop")
            } else {
                Value::Null
            };
            let chunk = json!({"id": "cmpl-mock", "object": "text_completion", "created": 1, "model": model,
                "choices": [{"text": piece, "index": 0, "logprobs": null, "finish_reason": finish}]});
            send(&mut sender, format!("data: {chunk}\n\n")).await;
        }
        if include_usage {
            let last = json!({"id": "cmpl-mock", "object": "text_completion", "created": 1, "model": model,
                "choices": [], "usage": usage});
            send(&mut sender, format!("data: {last}\n\n")).await;
        }
        send(&mut sender, "data: [DONE]\n\n".into()).await;
    })
}
