//! Upstream keys: queries, mutations and the `ApiKey` output type (which never exposes the
//! secret).

use async_graphql::{Context, Enum, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::state;
use crate::error::GqlResult;
use crate::{
    balance::amp::BalanceLine as AmpLine,
    cluster::Change,
    entity::api_key,
    error::ServiceError,
    events::{KeyEvent, KeyEventKind},
    provider::Provider,
    secret::{mask, mask_url_credentials},
    service::{
        key_import::{self, ImportReport, ImportRequest, SkippedLine},
        keys::{self, DISABLED_BY_ADMIN, KeyChanges, KeyFilter as ServiceKeyFilter, NewKey},
        validate,
    },
};

/// Who disabled a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
pub enum DisabledBy {
    /// An administrator; the pool never re-enables it by itself.
    Admin,
    /// The pool's health checks (auth failure, no credit, repeated errors).
    Auto,
}

/// An upstream key. The secret itself is never exposed, only `apiKeyMasked`.
pub struct ApiKey(api_key::Model);

impl From<api_key::Model> for ApiKey {
    fn from(model: api_key::Model) -> Self {
        Self(model)
    }
}

#[Object]
impl ApiKey {
    /// Key id.
    async fn id(&self) -> i32 {
        self.0.id
    }
    /// Display name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The upstream provider.
    async fn provider(&self) -> GqlResult<Provider> {
        self.0
            .provider
            .parse()
            .map_err(|error| ServiceError::internal(error).into())
    }
    /// The secret, masked (`sk-a…9f3c`).
    async fn api_key_masked(&self) -> String {
        mask(&self.0.api_key)
    }
    /// User-Agent sent upstream; empty means the pool's default.
    async fn ua(&self) -> &str {
        &self.0.ua
    }
    /// Outbound proxy with its password masked; empty means direct.
    async fn proxy_ip(&self) -> String {
        mask_url_credentials(&self.0.proxy_ip)
    }
    /// Upstream base URL override with its password masked; null means the provider's default.
    async fn base_url(&self) -> Option<String> {
        self.0.base_url.as_deref().map(mask_url_credentials)
    }
    /// Whether the pool may use this key.
    async fn enabled(&self) -> bool {
        self.0.enabled
    }
    /// Lower tiers are used first.
    async fn priority(&self) -> i32 {
        self.0.priority
    }
    /// Share of traffic within its priority tier.
    async fn weight(&self) -> i32 {
        self.0.weight
    }
    /// Remaining balance in USD, when known.
    async fn balance(&self) -> Option<f64> {
        self.0.balance
    }
    /// Total balance in USD, when known or set by an admin.
    async fn total_balance(&self) -> Option<f64> {
        self.0.total_balance
    }
    /// When the balance was last refreshed.
    async fn balance_last_update(&self) -> Option<DateTime<Utc>> {
        self.0.balance_last_update
    }
    /// The balance as the provider broke it down (Amp's lines), or how it was counted.
    async fn balance_detail(&self) -> Vec<BalanceLine> {
        self.0
            .balance_detail
            .as_deref()
            .and_then(|text| serde_json::from_str::<Vec<AmpLine>>(text).ok())
            .unwrap_or_default()
            .into_iter()
            .map(|line| BalanceLine {
                label: line.label,
                remaining: line.remaining,
                total: line.total,
                percent: line.percent,
                text: line.text,
            })
            .collect()
    }
    /// Why the last refresh failed; while set, `balance` is stale.
    async fn balance_error(&self) -> Option<&str> {
        self.0.balance_error.as_deref()
    }
    /// Whether `balance` may be out of date because the last refresh failed.
    async fn balance_stale(&self) -> bool {
        self.0.balance_error.is_some()
    }
    /// What the pool has spent on this key, in USD.
    async fn spend(&self) -> f64 {
        self.0.spend as f64 / crate::service::access_tokens::NANOS_PER_USD
    }
    /// A note for other admins.
    async fn memo(&self) -> &str {
        &self.0.memo
    }
    /// Why the key is disabled.
    async fn disabled_reason(&self) -> Option<&str> {
        self.0.disabled_reason.as_deref()
    }
    /// When the key was disabled.
    async fn disabled_at(&self) -> Option<DateTime<Utc>> {
        self.0.disabled_at
    }
    /// Until when the key is out of rotation after a rate limit or error (null when it is not).
    async fn cooldown_until(&self, ctx: &Context<'_>) -> GqlResult<Option<DateTime<Utc>>> {
        let until = state(ctx)?
            .pool
            .snapshot()
            .key(self.0.id)
            .map(|key| key.health.cooldown_until_ms())
            .filter(|until| *until > Utc::now().timestamp_millis());
        Ok(until.and_then(DateTime::from_timestamp_millis))
    }
    /// Whether the pool would hand this key out right now (enabled, not cooling down).
    async fn available(&self, ctx: &Context<'_>) -> GqlResult<bool> {
        let now = Utc::now().timestamp_millis();
        Ok(state(ctx)?
            .pool
            .snapshot()
            .key(self.0.id)
            .is_some_and(|key| key.available(now)))
    }
    /// Who disabled the key, when it is disabled.
    async fn disabled_by(&self) -> Option<DisabledBy> {
        match self.0.disabled_by.as_deref() {
            None => None,
            Some(DISABLED_BY_ADMIN) => Some(DisabledBy::Admin),
            Some(_) => Some(DisabledBy::Auto),
        }
    }
    /// When the key was added.
    async fn create_time(&self) -> DateTime<Utc> {
        self.0.create_time
    }
    /// When the key last changed.
    async fn update_time(&self) -> DateTime<Utc> {
        self.0.update_time
    }
}

/// One line of a key's balance.
#[derive(SimpleObject)]
pub struct BalanceLine {
    /// What the line is about (`Amp Free`, `Individual credits`).
    label: String,
    /// Dollars remaining.
    remaining: Option<f64>,
    /// Dollars in total.
    total: Option<f64>,
    /// Percent remaining, when that is all the provider says.
    percent: Option<f64>,
    /// The line as the provider wrote it.
    text: String,
}

/// Which keys to list.
#[derive(InputObject, Default)]
pub struct KeyFilter {
    /// Only this provider's keys.
    provider: Option<Provider>,
    /// Only enabled (true) or disabled (false) keys.
    enabled: Option<bool>,
    /// Text found in the name or memo, ignoring case.
    search: Option<String>,
}

/// A key to add.
#[derive(InputObject)]
pub struct CreateKeyInput {
    /// Display name, 1–128 characters.
    name: String,
    /// The upstream provider.
    provider: Provider,
    /// The upstream secret.
    api_key: String,
    /// User-Agent sent upstream; empty for the pool's default.
    ua: Option<String>,
    /// Outbound proxy (`http://`, `https://`, `socks5://`, `socks5h://` with host and port);
    /// empty for direct.
    proxy_ip: Option<String>,
    /// Upstream base URL override; empty for the provider's default.
    base_url: Option<String>,
    /// Whether the pool may use the key (default true).
    enabled: Option<bool>,
    /// Priority tier, -1000–1000, lower first (default 0).
    priority: Option<i32>,
    /// Weight in its tier, 1–1000 (default 1).
    weight: Option<i32>,
    /// Total balance in USD, for providers without a balance API.
    total_balance: Option<f64>,
    /// A note for other admins.
    memo: Option<String>,
}

/// Changes to a key; omitted fields stay as they are.
#[derive(InputObject)]
pub struct UpdateKeyInput {
    /// Display name.
    name: Option<String>,
    /// A replacement secret.
    api_key: Option<String>,
    /// User-Agent; empty for the pool's default.
    ua: Option<String>,
    /// Outbound proxy; empty for direct.
    proxy_ip: Option<String>,
    /// Upstream base URL override; empty for the provider's default.
    base_url: Option<String>,
    /// Whether the pool may use the key.
    enabled: Option<bool>,
    /// Priority tier.
    priority: Option<i32>,
    /// Weight in its tier.
    weight: Option<i32>,
    /// Total balance in USD.
    total_balance: Option<f64>,
    /// A note for other admins.
    memo: Option<String>,
}

/// Many keys at once.
#[derive(InputObject)]
pub struct ImportKeysInput {
    /// The provider of every key.
    provider: Provider,
    /// One key per line, `KEY` or `NAME,KEY`; blank lines and lines starting with `#` are
    /// skipped. At most 20,000 lines.
    keys: String,
    /// Names for lines without one: `{namePrefix}-{last four characters}` (default: the
    /// provider).
    name_prefix: Option<String>,
    /// User-Agent for every key.
    ua: Option<String>,
    /// Outbound proxy for every key.
    proxy_ip: Option<String>,
    /// Upstream base URL override for every key.
    base_url: Option<String>,
    /// Whether the keys start enabled (default true).
    enabled: Option<bool>,
    /// Priority tier of every key.
    priority: Option<i32>,
    /// Weight of every key.
    weight: Option<i32>,
}

/// A line an import skipped.
#[derive(SimpleObject)]
pub struct SkippedImportLine {
    /// 1-based line number.
    line: i32,
    /// The key on that line, masked.
    key_masked: String,
    /// Why it was skipped.
    reason: String,
}

/// What an import did.
#[derive(SimpleObject)]
pub struct ImportKeysReport {
    /// How many keys were added.
    created: i32,
    /// Lines whose key was already in the pool or repeated in the import.
    duplicates: Vec<SkippedImportLine>,
    /// Lines that could not be read as a key.
    invalid: Vec<SkippedImportLine>,
}

impl From<SkippedLine> for SkippedImportLine {
    fn from(line: SkippedLine) -> Self {
        Self {
            line: i32::try_from(line.line).unwrap_or(i32::MAX),
            key_masked: line.key_masked,
            reason: line.reason,
        }
    }
}

impl From<ImportReport> for ImportKeysReport {
    fn from(report: ImportReport) -> Self {
        Self {
            created: i32::try_from(report.created).unwrap_or(i32::MAX),
            duplicates: report.duplicates.into_iter().map(Into::into).collect(),
            invalid: report.invalid.into_iter().map(Into::into).collect(),
        }
    }
}

/// Tells subscribers an admin enabled or disabled a key.
fn publish_admin_change(app: &crate::state::AppState, key: &api_key::Model) {
    app.events.publish_key(KeyEvent {
        kind: if key.enabled {
            KeyEventKind::Enabled
        } else {
            KeyEventKind::Disabled
        },
        key_id: key.id,
        key_name: key.name.clone(),
        provider: key.provider.clone(),
        reason: key.disabled_reason.clone(),
        automatic: false,
        until: None,
        balance: None,
        at: Utc::now(),
        relayed: false,
    });
}

/// Reading keys.
#[derive(Default)]
pub struct KeyQuery;

#[Object]
impl KeyQuery {
    /// Keys by priority tier, then id.
    async fn keys(&self, ctx: &Context<'_>, filter: Option<KeyFilter>) -> GqlResult<Vec<ApiKey>> {
        let filter = filter.unwrap_or_default();
        let app = state(ctx)?;
        let found = keys::list(
            &app.db,
            &app.vault,
            &ServiceKeyFilter {
                provider: filter.provider,
                enabled: filter.enabled,
                search: filter.search,
            },
        )
        .await?;
        Ok(found.into_iter().map(ApiKey).collect())
    }

    /// One key, or null when there is none with this id.
    async fn key(&self, ctx: &Context<'_>, id: i32) -> GqlResult<Option<ApiKey>> {
        let app = state(ctx)?;
        match keys::get(&app.db, &app.vault, id).await {
            Ok(key) => Ok(Some(ApiKey(key))),
            Err(ServiceError::NotFound(_)) => Ok(None),
            Err(error) => Err(error.into()),
        }
    }
}

/// Refuses a proxy or base URL at a link-local or cloud metadata address, unless the
/// `network` setting allows them.
fn upstream_destinations(
    ctx: &Context<'_>,
    proxy_ip: Option<&str>,
    base_url: Option<&str>,
) -> Result<(), ServiceError> {
    let allow = state(ctx)?
        .live
        .current()
        .network
        .allow_link_local_upstreams;
    validate::outbound_destination("proxyIp", proxy_ip.unwrap_or_default(), allow)?;
    validate::outbound_destination("baseUrl", base_url.unwrap_or_default(), allow)
}

/// Changing keys.
#[derive(Default)]
pub struct KeyMutation;

#[Object]
impl KeyMutation {
    /// Adds a key. A key already in the pool for that provider is a `CONFLICT`.
    async fn create_key(&self, ctx: &Context<'_>, input: CreateKeyInput) -> GqlResult<ApiKey> {
        upstream_destinations(ctx, input.proxy_ip.as_deref(), input.base_url.as_deref())?;
        let app = state(ctx)?;
        let key = keys::create(
            &app.db,
            &app.vault,
            NewKey {
                name: input.name,
                provider: Some(input.provider),
                api_key: input.api_key,
                ua: input.ua,
                proxy_ip: input.proxy_ip,
                base_url: input.base_url,
                enabled: input.enabled,
                priority: input.priority,
                weight: input.weight,
                total_balance: input.total_balance,
                memo: input.memo,
            },
        )
        .await?;
        state(ctx)?.changed(Change::Keys).await;
        tracing::info!(key_id = key.id, provider = %key.provider, "key created");
        Ok(ApiKey(key))
    }

    /// Changes a key.
    async fn update_key(
        &self,
        ctx: &Context<'_>,
        id: i32,
        input: UpdateKeyInput,
    ) -> GqlResult<ApiKey> {
        let app = state(ctx)?;
        upstream_destinations(ctx, input.proxy_ip.as_deref(), input.base_url.as_deref())?;
        let enable = input.enabled == Some(true);
        let key = keys::update(
            &app.db,
            &app.vault,
            id,
            KeyChanges {
                name: input.name,
                api_key: input.api_key,
                ua: input.ua,
                proxy_ip: input.proxy_ip,
                base_url: input.base_url,
                enabled: input.enabled,
                priority: input.priority,
                weight: input.weight,
                total_balance: input.total_balance,
                memo: input.memo,
            },
        )
        .await?;
        // Reload first, so whoever reacts to the event sees the key as it now is.
        app.changed(if enable {
            Change::KeyEnabled { id }
        } else {
            Change::Keys
        })
        .await;
        if input.enabled.is_some() {
            publish_admin_change(app, &key);
        }
        Ok(ApiKey(key))
    }

    /// Deletes a key; its request log rows stay.
    async fn delete_key(&self, ctx: &Context<'_>, id: i32) -> GqlResult<bool> {
        let app = state(ctx)?;
        keys::delete(&app.db, id).await?;
        app.changed(Change::Keys).await;
        tracing::info!(key_id = id, "key deleted");
        Ok(true)
    }

    /// Enables or disables a key. An admin's disable is never undone automatically; enabling
    /// clears any disable reason.
    async fn set_key_enabled(
        &self,
        ctx: &Context<'_>,
        id: i32,
        enabled: bool,
    ) -> GqlResult<ApiKey> {
        let app = state(ctx)?;
        let key = keys::set_enabled(&app.db, &app.vault, id, enabled).await?;
        app.changed(if enabled {
            Change::KeyEnabled { id }
        } else {
            Change::Keys
        })
        .await;
        publish_admin_change(app, &key);
        Ok(ApiKey(key))
    }

    /// Reads the key's balance from its provider now (Amp's balance text, OpenAI's billing
    /// endpoints; Anthropic and the fallback count down from `totalBalance`). A failure
    /// leaves the balance stale with `balanceError`; a balance at or below zero disables the key.
    async fn refresh_balance(&self, ctx: &Context<'_>, id: i32) -> GqlResult<ApiKey> {
        let app = state(ctx)?;
        Ok(ApiKey(crate::balance::refresh(app, id).await?))
    }

    /// Adds many keys in one call and reports the lines it skipped.
    async fn import_keys(
        &self,
        ctx: &Context<'_>,
        input: ImportKeysInput,
    ) -> GqlResult<ImportKeysReport> {
        let app = state(ctx)?;
        upstream_destinations(ctx, input.proxy_ip.as_deref(), input.base_url.as_deref())?;
        let report = key_import::import(
            &app.db,
            &app.vault,
            ImportRequest {
                provider: Some(input.provider),
                text: input.keys,
                name_prefix: input.name_prefix,
                ua: input.ua,
                proxy_ip: input.proxy_ip,
                base_url: input.base_url,
                enabled: input.enabled,
                priority: input.priority,
                weight: input.weight,
            },
        )
        .await?;
        app.changed(Change::Keys).await;
        tracing::info!(
            created = report.created,
            duplicates = report.duplicates.len(),
            invalid = report.invalid.len(),
            "keys imported"
        );
        Ok(report.into())
    }
}
