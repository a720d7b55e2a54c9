//! Live request events across instances: this instance's events, batched into `NOTIFY`s on
//! [`EVENTS_CHANNEL`] every [`BATCH_EVERY`], re-published by the others on their local bus.
//!
//! Batching keeps thousands of requests per second at about 20 notices per second per
//! instance; each payload stays under PostgreSQL's 8000-byte limit and a batch that does not
//! fit is split.

use std::{sync::Arc, time::Duration};

use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;

use super::notify::notify;
use crate::{events::RequestEvent, state::AppState};

/// The PostgreSQL channel of batched request events.
pub const EVENTS_CHANNEL: &str = "amp_pool_events";
/// How long events wait to share a notice.
const BATCH_EVERY: Duration = Duration::from_millis(50);
/// The most bytes of one payload (PostgreSQL refuses 8000 and more).
const PAYLOAD_LIMIT: usize = 7900;

/// A payload as it arrives.
#[derive(Deserialize)]
struct Batch {
    from: String,
    events: Vec<RequestEvent>,
}

/// Sends this instance's request events to the others until shutdown.
pub(super) async fn send(state: AppState) {
    let mut own = state.events.subscribe_own_requests();
    let mut ticks = tokio::time::interval(BATCH_EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut pending: Vec<String> = Vec::new();
    loop {
        tokio::select! {
            event = own.recv() => match event {
                Ok(event) => {
                    if let Some(json) = encode(&event) {
                        pending.push(json);
                    }
                }
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "request events not passed on to other instances");
                }
                Err(RecvError::Closed) => return,
            },
            _ = ticks.tick() => {
                for payload in pack(state.cluster.instance_id(), &pending) {
                    notify(&state.db, EVENTS_CHANNEL, payload).await;
                }
                pending.clear();
            }
            () = state.shutdown.cancelled() => return,
        }
    }
}

/// Re-publishes another instance's batch on this instance's bus; ignores its own.
pub(super) fn receive(state: &AppState, payload: &str) {
    match serde_json::from_str::<Batch>(payload) {
        Ok(batch) if batch.from != state.cluster.instance_id() => {
            for event in batch.events {
                state.events.publish_peer_request(event);
            }
        }
        Ok(_) => {}
        Err(error) => {
            tracing::warn!(error = %error, "ignoring request events this version cannot read")
        }
    }
}

/// One event as JSON, or `None` (logged) when it alone would not fit a payload.
fn encode(event: &Arc<RequestEvent>) -> Option<String> {
    let json = serde_json::to_string(&**event).ok()?;
    if json.len() + envelope_len("") > PAYLOAD_LIMIT {
        tracing::warn!(
            bytes = json.len(),
            "a request event too large to pass on to other instances"
        );
        return None;
    }
    Some(json)
}

fn envelope_len(from: &str) -> usize {
    r#"{"from":"","events":[]}"#.len() + from.len() + 64
}

/// Packs JSON events into as few payloads of at most [`PAYLOAD_LIMIT`] bytes as they fit.
fn pack(from: &str, events: &[String]) -> Vec<String> {
    let Ok(from_json) = serde_json::to_string(from) else {
        return Vec::new();
    };
    let mut payloads = Vec::new();
    let mut current = String::new();
    for event in events {
        if !current.is_empty() && current.len() + 1 + event.len() + 2 > PAYLOAD_LIMIT {
            current.push_str("]}");
            payloads.push(std::mem::take(&mut current));
        }
        if current.is_empty() {
            current = format!(r#"{{"from":{from_json},"events":["#);
        } else {
            current.push(',');
        }
        current.push_str(event);
    }
    if !current.is_empty() {
        current.push_str("]}");
        payloads.push(current);
    }
    payloads
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(i: usize) -> String {
        format!(r#"{{"n":{i},"pad":"{}"}}"#, "x".repeat(300))
    }

    #[test]
    fn events_are_packed_into_payloads_under_the_limit_in_order() {
        let events: Vec<String> = (0..100).map(event).collect();

        let payloads = pack("one-ab", &events);

        assert!(payloads.len() > 1);
        let mut seen = Vec::new();
        for payload in &payloads {
            assert!(payload.len() <= PAYLOAD_LIMIT, "{}", payload.len());
            let value: serde_json::Value = serde_json::from_str(payload).unwrap();
            assert_eq!(value["from"], "one-ab");
            for event in value["events"].as_array().unwrap() {
                seen.push(event["n"].as_u64().unwrap() as usize);
            }
        }
        assert_eq!(seen, (0..100).collect::<Vec<_>>());
    }

    #[test]
    fn nothing_to_send_sends_nothing() {
        assert!(pack("one", &[]).is_empty());
    }
}
