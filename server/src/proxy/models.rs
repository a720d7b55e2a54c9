//! `GET /v1/models`: the models the pool can serve now, in OpenAI's list format, or
//! Anthropic's when the client sends `anthropic-version`.

use std::collections::BTreeSet;

use axum::{
    Json,
    extract::State,
    http::HeaderMap,
    response::{IntoResponse, Response},
};
use serde_json::json;

use super::{error::ProxyError, forward::client_secret};
use crate::{pool::WireFormat, state::AppState};

/// Lists the models of every provider that has an enabled key, minus those the client's token
/// may not use.
pub async fn list(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let format = if headers.contains_key("anthropic-version") {
        WireFormat::Anthropic
    } else {
        WireFormat::OpenAi
    };
    let token = match state.access.authenticate(client_secret(&headers)) {
        Ok(token) => token,
        Err(denied) => return ProxyError::from(denied).into_response(format),
    };
    let live = state.live.current();
    let snapshot = state.pool.snapshot();
    let mut models = BTreeSet::new();
    for key in snapshot
        .keys()
        .filter(|key| key.enabled && !key.health.is_auto_disabled())
    {
        for model in live.models.for_provider(key.provider) {
            if token.may_use(model) {
                models.insert(model.to_string());
            }
        }
    }
    match format {
        WireFormat::OpenAi => Json(json!({
            "object": "list",
            "data": models.iter().map(|id| json!({
                "id": id, "object": "model", "created": 0, "owned_by": owner(id)
            })).collect::<Vec<_>>(),
        }))
        .into_response(),
        WireFormat::Anthropic => {
            let data: Vec<_> = models
                .iter()
                .map(|id| {
                    json!({
                        "type": "model", "id": id, "display_name": id,
                        "created_at": "1970-01-01T00:00:00Z"
                    })
                })
                .collect();
            Json(json!({
                "data": data,
                "has_more": false,
                "first_id": models.first(),
                "last_id": models.last(),
            }))
            .into_response()
        }
    }
}

fn owner(model: &str) -> &'static str {
    if model.starts_with("claude") {
        "anthropic"
    } else {
        "openai"
    }
}
