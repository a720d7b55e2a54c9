//! Webhook alerts: key auto-disabled, balance below its threshold, every key of a provider
//! unavailable, and recovered. A task of its own listens to the key events and posts JSON (no
//! secret ever) with retries and backoff, so the proxy never waits on a webhook.

use std::{collections::HashSet, sync::Arc, time::Duration};

use chrono::Utc;
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;

use crate::{
    events::{KeyEvent, KeyEventKind},
    provider::Provider,
    state::AppState,
};

/// How often provider availability is re-checked (cooldowns end without an event).
const CHECK_EVERY: Duration = Duration::from_secs(5);

/// Runs until shutdown, reading `events` (subscribed before the task starts, so no event is
/// missed).
pub async fn run(state: AppState, mut events: tokio::sync::broadcast::Receiver<Arc<KeyEvent>>) {
    let client = match reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .user_agent(concat!("amp-pool/", env!("CARGO_PKG_VERSION")))
        .build()
    {
        Ok(client) => client,
        Err(error) => {
            tracing::error!(error = %error, "cannot build the webhook client; alerts are off");
            return;
        }
    };
    let mut unavailable: HashSet<Provider> = HashSet::new();
    let mut ticks = tokio::time::interval(CHECK_EVERY);
    loop {
        tokio::select! {
            received = events.recv() => match received {
                Ok(event) => {
                    if let Some(alert) = alert_for(&state, &event) {
                        send(&state, &client, alert);
                    }
                    check_providers(&state, &client, &mut unavailable);
                }
                Err(RecvError::Lagged(skipped)) => {
                    tracing::warn!(skipped, "the alert task fell behind and skipped key events");
                }
                Err(RecvError::Closed) => return,
            },
            _ = ticks.tick() => check_providers(&state, &client, &mut unavailable),
            () = state.shutdown.cancelled() => return,
        }
    }
}

fn alert_for(state: &AppState, event: &Arc<KeyEvent>) -> Option<Value> {
    let key = json!({"id": event.key_id, "name": event.key_name, "provider": event.provider});
    match event.kind {
        KeyEventKind::Disabled if event.automatic => Some(json!({
            "event": "key_disabled", "key": key, "reason": event.reason, "at": event.at,
        })),
        KeyEventKind::BalanceChanged => {
            let balance = event.balance?;
            let threshold = state.live.current().alerts.threshold_for(event.key_id)?;
            (balance <= threshold).then(|| json!({
                "event": "balance_low", "key": key, "balance": balance, "threshold": threshold,
                "reason": format!("balance ${balance:.2} is at or below ${threshold:.2}"), "at": event.at,
            }))
        }
        _ => None,
    }
}

/// Raises `provider_unavailable` when no key of a provider can serve, `recovered` when one can
/// again.
fn check_providers(
    state: &AppState,
    client: &reqwest::Client,
    unavailable: &mut HashSet<Provider>,
) {
    let snapshot = state.pool.snapshot();
    let now_ms = Utc::now().timestamp_millis();
    for provider in Provider::ALL {
        let mut keys = snapshot
            .keys()
            .filter(|key| key.provider == provider)
            .peekable();
        if keys.peek().is_none() {
            unavailable.remove(&provider);
            continue;
        }
        let any_available = keys.any(|key| key.available(now_ms));
        let was_unavailable = unavailable.contains(&provider);
        if !any_available && !was_unavailable {
            unavailable.insert(provider);
            send(
                state,
                client,
                json!({
                    "event": "provider_unavailable", "provider": provider.as_str(),
                    "reason": format!("every {provider} key is disabled or cooling down"), "at": Utc::now(),
                }),
            );
        } else if any_available && was_unavailable {
            unavailable.remove(&provider);
            send(
                state,
                client,
                json!({
                    "event": "recovered", "provider": provider.as_str(),
                    "reason": format!("an {provider} key is available again"), "at": Utc::now(),
                }),
            );
        }
    }
}

/// Posts `alert` to every webhook that wants its kind, each in a task of its own.
fn send(state: &AppState, client: &reqwest::Client, alert: Value) {
    let settings = state.live.current().alerts.clone();
    let kind = alert["event"].as_str().unwrap_or_default().to_string();
    if !settings.events.contains(&kind) {
        return;
    }
    for url in settings.webhooks {
        let client = client.clone();
        let alert = alert.clone();
        let attempts = settings.max_attempts.max(1);
        tokio::spawn(async move {
            let mut backoff = Duration::from_millis(250);
            for attempt in 1..=attempts {
                match client.post(&url).json(&alert).send().await {
                    Ok(answer) if answer.status().is_success() => return,
                    Ok(answer) => {
                        tracing::warn!(%url, attempt, status = answer.status().as_u16(), "webhook refused an alert")
                    }
                    Err(error) => {
                        tracing::warn!(%url, attempt, error = %error.without_url(), "webhook unreachable")
                    }
                }
                if attempt < attempts {
                    tokio::time::sleep(backoff).await;
                    backoff *= 2;
                }
            }
            tracing::error!(%url, "giving up on an alert after {attempts} attempts");
        });
    }
}
