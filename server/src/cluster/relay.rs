//! Live request events across instances: this instance's events, batched into `NOTIFY`s on
//! [`EVENTS_CHANNEL`] every [`BATCH_EVERY`], re-published by the others on their local bus.
//!
//! Batching makes the notices grow with the bytes, not the requests: one per instance per
//! 50 ms while a batch fits PostgreSQL's 8000-byte limit (about 16 events), split beyond
//! (400 requests per second are about 60 notices; see BENCHMARKS.md). The same notices carry
//! the affinity entries this instance made (which key holds a new response, which key a
//! conversation sticks to), so a follow-up or the next turn that lands on another instance
//! goes to the same key.

use std::{sync::Arc, time::Duration};

use serde::Deserialize;
use tokio::sync::{
    broadcast::{self, error::RecvError},
    mpsc,
};

use super::notify::notify;
use crate::{events::RequestEvent, pool::Learnt, state::AppState};

/// The PostgreSQL channel of batched request events.
pub const EVENTS_CHANNEL: &str = "amp_pool_events";
/// How long events wait to share a notice.
const BATCH_EVERY: Duration = Duration::from_millis(50);
/// The most bytes of one payload (PostgreSQL refuses 8000 and more).
const PAYLOAD_LIMIT: usize = 7900;

/// Affinity entries waiting for the next batch at most; past that they stay local.
pub(super) const LEARNT_CAPACITY: usize = 4096;

/// A payload as it arrives.
#[derive(Deserialize)]
struct Batch {
    from: String,
    events: Vec<RequestEvent>,
    /// Absent from the payloads of versions that did not share affinity.
    #[serde(default)]
    affinity: Vec<Learnt>,
}

/// What waits for the next tick, as JSON.
#[derive(Default)]
struct Pending {
    events: Vec<String>,
    affinity: Vec<String>,
}

/// Sends this instance's request events and affinity entries to the others until shutdown.
pub(super) async fn send(state: AppState, mut learnt: mpsc::Receiver<Learnt>) {
    // Without a receiver the proxy does not even build its events for the others.
    let mut own = state
        .settings
        .relay_request_events
        .then(|| state.events.subscribe_own_requests());
    let mut ticks = tokio::time::interval(BATCH_EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut pending = Pending::default();
    let mut entries = Vec::new();
    loop {
        tokio::select! {
            Some(event) = next(&mut own) => match event {
                Ok(event) => {
                    if let Some(json) = encode(&*event) {
                        pending.events.push(json);
                    }
                }
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "request events not passed on to other instances");
                }
                Err(RecvError::Closed) => return,
            },
            Some(entry) = learnt.recv() => entries.push(entry),
            _ = ticks.tick() => {
                pending.affinity = latest(std::mem::take(&mut entries));
                for payload in pack(state.cluster.instance_id(), &pending) {
                    notify(&state.db, EVENTS_CHANNEL, payload).await;
                }
                pending.events.clear();
                pending.affinity.clear();
            }
            () = state.shutdown.cancelled() => return,
        }
    }
}

/// The entries of a batch as JSON, each conversation's latest only (every turn renews it).
fn latest(entries: Vec<Learnt>) -> Vec<String> {
    let mut sessions = std::collections::HashSet::new();
    let mut kept: Vec<String> = entries
        .iter()
        .rev()
        .filter(|entry| match entry {
            Learnt::Session { session, .. } => sessions.insert(session.as_str()),
            Learnt::Response { .. } => true,
        })
        .filter_map(encode)
        .collect();
    kept.reverse();
    kept
}

/// The next of this instance's own events, or never when they are not relayed.
async fn next(
    own: &mut Option<broadcast::Receiver<Arc<RequestEvent>>>,
) -> Option<Result<Arc<RequestEvent>, RecvError>> {
    match own {
        Some(own) => Some(own.recv().await),
        None => std::future::pending().await,
    }
}

/// Re-publishes another instance's batch on this instance's bus and takes in its affinity
/// entries; ignores its own.
pub(super) fn receive(state: &AppState, payload: &str) {
    match serde_json::from_str::<Batch>(payload) {
        Ok(batch) if batch.from != state.cluster.instance_id() => {
            let affinity = state.pool.affinity();
            for entry in batch.affinity {
                affinity.learn(entry);
            }
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

/// One item as JSON, or `None` (logged) when it alone would not fit a payload.
fn encode(item: &impl serde::Serialize) -> Option<String> {
    let json = serde_json::to_string(item).ok()?;
    if json.len() + ENVELOPE_LEN > PAYLOAD_LIMIT {
        tracing::warn!(
            bytes = json.len(),
            "a request event too large to pass on to other instances"
        );
        return None;
    }
    Some(json)
}

/// Room kept for `{"from":…,"events":[],"affinity":[]}` around the items (an instance id is
/// a name and a short suffix).
const ENVELOPE_LEN: usize = r#"{"from":"","events":[],"affinity":[]}"#.len() + 128;

/// Packs JSON events and affinity entries into as few payloads of at most [`PAYLOAD_LIMIT`]
/// bytes as they fit, each list in order.
fn pack(from: &str, pending: &Pending) -> Vec<String> {
    let Ok(from_json) = serde_json::to_string(from) else {
        return Vec::new();
    };
    let mut payloads = Vec::new();
    let (mut events, mut affinity) = (Vec::new(), Vec::new());
    let mut size = ENVELOPE_LEN;
    let items = pending
        .events
        .iter()
        .map(|item| (true, item))
        .chain(pending.affinity.iter().map(|item| (false, item)));
    for (is_event, item) in items {
        if size + item.len() + 1 > PAYLOAD_LIMIT {
            payloads.push(payload(&from_json, &events, &affinity));
            (events, affinity, size) = (Vec::new(), Vec::new(), ENVELOPE_LEN);
        }
        size += item.len() + 1;
        if is_event {
            events.push(item.as_str());
        } else {
            affinity.push(item.as_str());
        }
    }
    if !events.is_empty() || !affinity.is_empty() {
        payloads.push(payload(&from_json, &events, &affinity));
    }
    payloads
}

fn payload(from_json: &str, events: &[&str], affinity: &[&str]) -> String {
    let (events, affinity) = (events.join(","), affinity.join(","));
    if affinity.is_empty() {
        format!(r#"{{"from":{from_json},"events":[{events}]}}"#)
    } else {
        format!(r#"{{"from":{from_json},"events":[{events}],"affinity":[{affinity}]}}"#)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(i: usize) -> String {
        format!(r#"{{"n":{i},"pad":"{}"}}"#, "x".repeat(300))
    }

    #[test]
    fn events_are_packed_into_payloads_under_the_limit_in_order() {
        let pending = Pending {
            events: (0..100).map(event).collect(),
            affinity: Vec::new(),
        };

        let payloads = pack("one-ab", &pending);

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
    fn affinity_entries_travel_with_the_events_and_are_read_back() {
        let learnt = Learnt::Session {
            session: format!("{:032x}", u128::MAX),
            key_id: 7,
            until_ms: 1_000,
        };
        let pending = Pending {
            events: (0..30).map(event).collect(),
            affinity: (0..100).map(|_| encode(&learnt).unwrap()).collect(),
        };

        let payloads = pack("one-ab", &pending);

        let (mut events, mut entries) = (0, Vec::new());
        for payload in &payloads {
            assert!(payload.len() <= PAYLOAD_LIMIT, "{}", payload.len());
            let value: serde_json::Value = serde_json::from_str(payload).unwrap();
            events += value["events"].as_array().unwrap().len();
            if let Some(affinity) = value.get("affinity") {
                let batch: Vec<Learnt> = serde_json::from_value(affinity.clone()).unwrap();
                entries.extend(batch);
            }
        }
        assert_eq!(events, 30);
        assert_eq!(entries, vec![learnt; 100]);
    }

    #[test]
    fn a_batch_carries_only_the_latest_renewal_of_a_conversation() {
        let session = |key_id, until_ms| Learnt::Session {
            session: "0a".into(),
            key_id,
            until_ms,
        };
        let response = Learnt::Response {
            id: "resp_1".into(),
            key_id: 1,
            token_id: Some(2),
            model: "gpt-5".into(),
        };

        let kept = latest(vec![session(1, 10), response.clone(), session(3, 30)]);

        let kept: Vec<Learnt> = kept
            .iter()
            .map(|json| serde_json::from_str(json).unwrap())
            .collect();
        assert_eq!(kept, vec![response, session(3, 30)]);
    }

    #[test]
    fn nothing_to_send_sends_nothing() {
        assert!(pack("one", &Pending::default()).is_empty());
    }
}
