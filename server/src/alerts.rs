//! Webhook alerts: key auto-disabled, balance below its threshold, every key of a provider
//! unavailable, and recovered. A task of its own listens to the key events and posts JSON (no
//! secret ever) with retries and backoff, so the proxy never waits on a webhook.

use std::{collections::HashSet, sync::Arc, time::Duration};

use backon::{ExponentialBuilder, Retryable};
use chrono::Utc;
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;

use crate::{
    events::{KeyEvent, KeyEventKind},
    provider::Provider,
    secret::webhook_for_log,
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
    let mut ticks =
        tokio::time::interval(state.settings.job_period_override.unwrap_or(CHECK_EVERY));
    loop {
        tokio::select! {
            received = events.recv() => match received {
                Ok(event) => {
                    // The instance that saw it sends its alert; this one only re-checks.
                    if !event.relayed
                        && let Some(alert) = alert_for(&state, &event)
                    {
                        send(&state, &client, alert);
                    }
                    let _ = check_providers(&state, &client, &mut unavailable);
                }
                Err(RecvError::Lagged(skipped)) => {
                    tracing::warn!(skipped, "the alert task fell behind and skipped key events");
                }
                Err(RecvError::Closed) => return,
            },
            _ = ticks.tick() => {
                if check_providers(&state, &client, &mut unavailable) {
                    state.metrics.job_ran("provider_check");
                }
            }
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
/// again. Returns whether it checked (this instance speaks for the cluster).
fn check_providers(
    state: &AppState,
    client: &reqwest::Client,
    unavailable: &mut HashSet<Provider>,
) -> bool {
    // Every instance sees the same key health; one of them speaks for the cluster.
    if !state.cluster.leads_jobs() {
        return false;
    }
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
    true
}

/// Why one delivery failed.
#[derive(Debug, thiserror::Error)]
enum Delivery {
    #[error("webhook answered HTTP {0}")]
    Refused(u16),
    #[error("webhook unreachable: {0}")]
    Unreachable(reqwest::Error),
}

/// Posts `alert` to every webhook that wants its kind, each in a task of its own, retried with
/// exponential backoff. Logs show a webhook only as `scheme://host/…`: its path often is the
/// token.
fn send(state: &AppState, client: &reqwest::Client, alert: Value) {
    let settings = state.live.current().alerts.clone();
    let kind = alert["event"].as_str().unwrap_or_default().to_string();
    if !settings.events.contains(&kind) {
        return;
    }
    let allow_link_local = state.live.current().network.allow_link_local_upstreams;
    for url in settings.webhooks {
        // The network policy may have been tightened since the webhook was set.
        if crate::service::validate::outbound_destination("webhook", &url, allow_link_local)
            .is_err()
        {
            tracing::warn!(webhook = ?webhook_for_log(&url), "skipping a webhook at a link-local or metadata address");
            continue;
        }
        let client = client.clone();
        let alert = alert.clone();
        let retries = usize::try_from(settings.max_attempts.max(1) - 1).unwrap_or(0);
        tokio::spawn(async move {
            let webhook = webhook_for_log(&url);
            let backoff = ExponentialBuilder::new()
                .with_min_delay(Duration::from_millis(250))
                .with_max_delay(Duration::from_secs(30))
                .with_max_times(retries);
            let post = || async {
                match client.post(&url).json(&alert).send().await {
                    Ok(answer) if answer.status().is_success() => Ok(()),
                    Ok(answer) => Err(Delivery::Refused(answer.status().as_u16())),
                    Err(error) => Err(Delivery::Unreachable(error.without_url())),
                }
            };
            let delivered = post
                .retry(backoff)
                .sleep(tokio::time::sleep)
                .notify(|error, wait| {
                    tracing::warn!(webhook = ?webhook, error = %error, retry_in_ms = wait.as_millis(), "alert delivery failed");
                })
                .await;
            if let Err(error) = delivered {
                tracing::error!(webhook = ?webhook, error = %error, attempts = retries + 1, "giving up on an alert");
            }
        });
    }
}
