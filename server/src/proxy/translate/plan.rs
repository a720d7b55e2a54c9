//! Where a request goes upstream after routing: which keys, which endpoint, which body, and
//! whether the answer is translated back. Without a matching route it is today's path: keys of
//! the client's format and the client's bytes unchanged.

use std::sync::Arc;

use bytes::Bytes;

use super::{chat_to_messages, messages_to_chat, stream::Direction};
use crate::{
    live_config::Routing,
    pool::WireFormat,
    provider::Provider,
    proxy::{
        error::ProxyError,
        request::{ClientRequest, Endpoint},
    },
};

/// How a client request reaches its upstream.
#[derive(Debug)]
pub struct Leg {
    /// The endpoint called upstream.
    pub endpoint: Endpoint,
    /// The format of the keys that may serve it.
    pub format: WireFormat,
    /// The only provider whose keys may serve it, if restricted.
    pub only: Option<Provider>,
    /// The model named upstream.
    pub model: Arc<str>,
    /// The body sent upstream.
    pub body: Bytes,
    /// Set when the key's format differs from the client's.
    pub translation: Option<Translation>,
    /// Whether a route chose the keys.
    pub routed: bool,
}

/// What translating the answer back needs.
#[derive(Debug, Clone)]
pub struct Translation {
    /// The client's format.
    pub client: WireFormat,
    /// The model the client asked for, named in the answer.
    pub client_model: Arc<str>,
    /// An OpenAI client asked for the usage chunk.
    pub include_usage: bool,
}

impl Translation {
    /// The stream translator for this answer.
    pub fn direction(&self) -> Direction {
        match self.client {
            WireFormat::OpenAi => Direction::ToChat(super::stream_to_chat::ToChat::new(
                &self.client_model,
                self.include_usage,
            )),
            WireFormat::Anthropic => Direction::ToMessages(
                super::stream_to_messages::ToMessages::new(&self.client_model),
            ),
        }
    }

    /// A complete upstream answer as the client's answer; `None` if it does not parse.
    pub fn answer(&self, body: &[u8]) -> Option<Bytes> {
        let json = match self.client {
            WireFormat::OpenAi => serde_json::to_vec(&chat_to_messages::answer(
                serde_json::from_slice(body).ok()?,
                &self.client_model,
            )),
            WireFormat::Anthropic => serde_json::to_vec(&messages_to_chat::answer(
                serde_json::from_slice(body).ok()?,
                &self.client_model,
            )),
        };
        json.ok().map(Bytes::from)
    }
}

/// The leg for `request` on `endpoint` under `routing`.
pub fn plan(
    routing: &Routing,
    endpoint: Endpoint,
    request: &ClientRequest,
) -> Result<Leg, ProxyError> {
    let client = endpoint.format();
    let same = || Leg {
        endpoint,
        format: client,
        only: endpoint.only_provider(),
        model: Arc::from(request.model.as_str()),
        body: request.upstream_body.clone(),
        translation: None,
        routed: false,
    };
    let routable = matches!(
        endpoint,
        Endpoint::ChatCompletions | Endpoint::Messages | Endpoint::CountTokens
    );
    let Some((provider, route)) = routing.route(&request.model).filter(|_| routable) else {
        return Ok(same());
    };
    let model: Arc<str> = Arc::from(route.model.as_deref().unwrap_or(&request.model));
    let format = match provider {
        Provider::OpenAi => WireFormat::OpenAi,
        Provider::Anthropic => WireFormat::Anthropic,
        // Amp speaks both formats natively.
        Provider::Amp => client,
    };
    if format == client {
        let body = if *model == *request.model {
            request.upstream_body.clone()
        } else {
            renamed(&request.upstream_body, &model)?
        };
        return Ok(Leg {
            only: Some(provider),
            model,
            body,
            routed: true,
            ..same()
        });
    }
    let (upstream, body) = match (endpoint, format) {
        (Endpoint::ChatCompletions, _) => {
            let chat = serde_json::from_slice(&request.upstream_body).map_err(unreadable)?;
            let translated = chat_to_messages::request(chat, &model)?;
            (Endpoint::Messages, serde_json::to_vec(&translated))
        }
        // count_tokens on an OpenAI key is answered locally (an estimate): nothing is sent.
        (Endpoint::CountTokens, _) => (Endpoint::CountTokens, Ok(Vec::new())),
        _ => {
            let messages = serde_json::from_slice(&request.upstream_body).map_err(unreadable)?;
            let translated = messages_to_chat::request(messages, &model)?;
            (Endpoint::ChatCompletions, serde_json::to_vec(&translated))
        }
    };
    let body = body.map_err(|_| unreadable_text())?;
    Ok(Leg {
        endpoint: upstream,
        format,
        only: Some(provider),
        model,
        body: Bytes::from(body),
        translation: Some(Translation {
            client,
            client_model: Arc::from(request.model.as_str()),
            include_usage: request.client_wants_usage,
        }),
        routed: true,
    })
}

/// `body` with its `model` replaced.
fn renamed(body: &[u8], model: &str) -> Result<Bytes, ProxyError> {
    let mut value: serde_json::Value = serde_json::from_slice(body).map_err(unreadable)?;
    if let Some(object) = value.as_object_mut() {
        object.insert("model".into(), serde_json::Value::String(model.into()));
    }
    serde_json::to_vec(&value)
        .map(Bytes::from)
        .map_err(|_| unreadable_text())
}

fn unreadable(error: serde_json::Error) -> ProxyError {
    ProxyError::invalid(
        None,
        "invalid_request",
        format!("the request cannot be translated for the routed provider: {error}"),
    )
}

fn unreadable_text() -> ProxyError {
    ProxyError::invalid(
        None,
        "invalid_request",
        "the request cannot be translated for the routed provider",
    )
}

/// The `count_tokens` answer for an OpenAI key, which has no such endpoint: an estimate of
/// one token per four bytes of the request's JSON, not the upstream's count.
pub fn estimated_count(body: &[u8]) -> Bytes {
    let tokens = body.len().div_ceil(4);
    Bytes::from(format!("{{\"input_tokens\":{tokens}}}"))
}
