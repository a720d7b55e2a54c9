//! Key balances: read from the provider where it can tell (Amp's balance text, OpenAI's
//! billing endpoints), else counted down from the admin's `totalBalance` by the spend the pool
//! recorded. A failed refresh never disables a key — it leaves the balance marked stale with
//! the reason — but a balance at or below zero, or an "out of credit" answer, does.

pub mod amp;

use std::time::Duration;

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ActiveValue::Set};
use serde_json::{Value, json};

use crate::{
    entity::api_key,
    error::ServiceError,
    events::{KeyEvent, KeyEventKind},
    provider::Provider,
    service::{access_tokens::NANOS_PER_USD, keys},
    state::AppState,
};

/// How long one balance request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

/// A balance as read from a source.
#[derive(Debug, PartialEq)]
struct Reading {
    balance: f64,
    total: Option<f64>,
    detail: Value,
}

/// Why a refresh could not read a balance.
#[derive(Debug)]
enum Failed {
    /// The source could not be read; the balance goes stale.
    Unreadable(String),
    /// The source says the key has no credit left.
    OutOfCredit(String),
}

/// Refreshes key `id` now and returns it as stored afterwards.
pub async fn refresh(state: &AppState, id: i32) -> Result<api_key::Model, ServiceError> {
    let key = keys::get(&state.db, &state.vault, id).await?;
    let provider: Provider = key.provider.parse().map_err(ServiceError::internal)?;
    let client = state
        .pool
        .snapshot()
        .key(id)
        .and_then(|k| k.client.clone())
        .ok_or_else(|| ServiceError::internal(anyhow::anyhow!("key {id} has no HTTP client")))?;
    let base = state
        .pool
        .snapshot()
        .key(id)
        .map(|k| k.base_url.clone())
        .unwrap_or_default();
    let read = match provider {
        Provider::Amp => read_amp(&client, &base, &key.api_key).await,
        Provider::OpenAi => match read_openai(&client, &base, &key.api_key).await {
            Err(Failed::Unreadable(why)) => counted_down(&key).map_err(|fallback| match fallback {
                Failed::Unreadable(more) => Failed::Unreadable(format!("{why}; {more}")),
                other => other,
            }),
            other => other,
        },
        Provider::Anthropic => counted_down(&key),
    };
    store(state, key, read).await
}

/// Balance = total set by the admin − spend recorded since it was set.
fn counted_down(key: &api_key::Model) -> Result<Reading, Failed> {
    let Some(total) = key.total_balance else {
        return Err(Failed::Unreadable(
            "no balance API for this key: set totalBalance to count down from it".into(),
        ));
    };
    let spent = (key.spend - key.balance_spend_mark) as f64 / NANOS_PER_USD;
    Ok(Reading {
        balance: total - spent,
        total: Some(total),
        detail: json!([{"label": "counted by the pool", "remaining": total - spent, "total": total,
                        "text": format!("${total:.2} set by an admin, ${spent:.6} spent since")}]),
    })
}

async fn read_amp(client: &reqwest::Client, base: &str, secret: &str) -> Result<Reading, Failed> {
    let answer = client
        .post(format!("{base}/api/internal?userDisplayBalanceInfo"))
        .bearer_auth(secret)
        .json(&json!({"method": "userDisplayBalanceInfo", "params": {}}))
        .timeout(REQUEST_TIMEOUT)
        .send()
        .await
        .map_err(|e| Failed::Unreadable(format!("cannot reach Amp: {}", e.without_url())))?;
    let status = answer.status();
    let body: Value = answer.json().await.unwrap_or(Value::Null);
    if status.as_u16() == 402 {
        return Err(Failed::OutOfCredit(
            "Amp answered 402 Payment Required".into(),
        ));
    }
    if !status.is_success() || body["ok"] != true {
        return Err(Failed::Unreadable(format!(
            "Amp answered HTTP {} without a balance",
            status.as_u16()
        )));
    }
    let text = body["result"]["displayText"].as_str().unwrap_or_default();
    let lines = amp::parse(text);
    let detail = serde_json::to_value(&lines).unwrap_or(Value::Null);
    match amp::totals(&lines) {
        Some((balance, total)) => Ok(Reading {
            balance,
            total: Some(total),
            detail,
        }),
        None => Err(Failed::Unreadable(format!(
            "Amp's balance text has no dollar amount: {:?}",
            text.chars().take(200).collect::<String>()
        ))),
    }
}

async fn read_openai(
    client: &reqwest::Client,
    base: &str,
    secret: &str,
) -> Result<Reading, Failed> {
    let get = |path: String| {
        client
            .get(format!("{base}{path}"))
            .bearer_auth(secret)
            .timeout(REQUEST_TIMEOUT)
            .send()
    };
    // Credit grants: still answered by some accounts and by most resellers.
    if let Ok(answer) = get("/v1/dashboard/billing/credit_grants".into()).await {
        let status = answer.status().as_u16();
        let body: Value = answer.json().await.unwrap_or(Value::Null);
        if body.to_string().contains("insufficient_quota") || status == 402 {
            return Err(Failed::OutOfCredit(
                "OpenAI reports insufficient_quota".into(),
            ));
        }
        if let (true, Some(available)) = (status == 200, body["total_available"].as_f64()) {
            return Ok(Reading {
                balance: available,
                total: body["total_granted"].as_f64(),
                detail: json!([{"label": "credit grants", "remaining": available,
                                "total": body["total_granted"], "text": body.to_string()}]),
            });
        }
    }
    // Subscription limit minus this month's usage (in cents).
    let subscription = get("/v1/dashboard/billing/subscription".into()).await;
    let today = Utc::now().date_naive();
    let month_start = today.format("%Y-%m-01");
    let usage = get(format!(
        "/v1/dashboard/billing/usage?start_date={month_start}&end_date={}",
        today.succ_opt().unwrap_or(today)
    ))
    .await;
    if let (Ok(subscription), Ok(usage)) = (subscription, usage)
        && subscription.status().is_success()
        && usage.status().is_success()
    {
        let limit = subscription
            .json::<Value>()
            .await
            .ok()
            .and_then(|b| b["hard_limit_usd"].as_f64());
        let used = usage
            .json::<Value>()
            .await
            .ok()
            .and_then(|b| b["total_usage"].as_f64());
        if let (Some(limit), Some(used_cents)) = (limit, used) {
            let balance = limit - used_cents / 100.0;
            return Ok(Reading {
                balance,
                total: Some(limit),
                detail: json!([{"label": "subscription", "remaining": balance, "total": limit,
                                "text": format!("${limit:.2} limit, ${:.2} used this month", used_cents / 100.0)}]),
            });
        }
    }
    Err(Failed::Unreadable(
        "OpenAI's billing endpoints did not answer with a balance".into(),
    ))
}

/// Stores what a refresh found, disabling the key when it has no credit left.
async fn store(
    state: &AppState,
    key: api_key::Model,
    read: Result<Reading, Failed>,
) -> Result<api_key::Model, ServiceError> {
    let now = Utc::now();
    let previous = key.balance;
    let mut row: api_key::ActiveModel = key.clone().into();
    let mut disable = None;
    match read {
        Ok(reading) => {
            row.balance = Set(Some(reading.balance));
            if let Some(total) = reading.total
                && key.provider != Provider::Anthropic.as_str()
            {
                row.total_balance = Set(Some(total));
            }
            row.balance_detail = Set(Some(reading.detail.to_string()));
            row.balance_error = Set(None);
            row.balance_last_update = Set(Some(now));
            if reading.balance <= 0.0 {
                disable = Some(format!("balance is ${:.2}", reading.balance));
            }
        }
        Err(Failed::Unreadable(why)) => {
            tracing::warn!(key_id = key.id, reason = ?why, "balance refresh failed; the balance is stale");
            row.balance_error = Set(Some(why));
        }
        Err(Failed::OutOfCredit(why)) => {
            row.balance = Set(Some(0.0));
            row.balance_error = Set(None);
            row.balance_last_update = Set(Some(now));
            disable = Some(format!("out of credit: {why}"));
        }
    }
    row.update_time = Set(now);
    let updated = keys::open(&state.vault, row.update(&state.db).await?)?;
    let event = |kind, reason| KeyEvent {
        kind,
        key_id: updated.id,
        key_name: updated.name.clone(),
        provider: updated.provider.clone(),
        reason,
        automatic: true,
        until: None,
        balance: updated.balance,
        at: now,
        relayed: false,
    };
    if updated.balance != previous {
        state
            .events
            .publish_key(event(KeyEventKind::BalanceChanged, None));
    }
    match disable {
        Some(reason) if updated.enabled => {
            tracing::warn!(key_id = updated.id, reason = ?reason, "key disabled by its balance");
            if let Some(pooled) = state.pool.snapshot().key(updated.id) {
                pooled.health.disable();
            }
            let disabled =
                keys::disable_automatically(&state.db, &state.vault, updated.id, &reason).await?;
            state
                .events
                .publish_key(event(KeyEventKind::Disabled, Some(reason)));
            state.changed(crate::cluster::Change::Keys).await;
            Ok(disabled)
        }
        _ => Ok(updated),
    }
}

/// Refreshes every enabled key every `balance.refresh_interval_secs` (0 turns it off), until
/// shutdown.
pub async fn refresh_periodically(state: AppState) {
    let mut last_run: Option<tokio::time::Instant> = None;
    let period = state.settings.job_period_override;
    loop {
        tokio::select! {
            () = tokio::time::sleep(period.unwrap_or(Duration::from_secs(30))) => {}
            () = state.shutdown.cancelled() => return,
        }
        let interval = state.live.current().balance.refresh_interval_secs;
        let every = period.unwrap_or(Duration::from_secs(interval));
        if interval == 0
            || last_run.is_some_and(|at| at.elapsed() < every)
            || !state.cluster.leads_jobs()
        {
            continue;
        }
        last_run = Some(tokio::time::Instant::now());
        state.metrics.job_ran("balance_refresh");
        let ids: Vec<i32> = state
            .pool
            .snapshot()
            .keys()
            .filter(|key| key.enabled)
            .map(|key| key.id)
            .collect();
        for id in ids {
            if state.shutdown.is_cancelled() {
                return;
            }
            if let Err(error) = refresh(&state, id).await {
                tracing::warn!(key_id = id, error = %error, "balance refresh failed");
            }
        }
    }
}
