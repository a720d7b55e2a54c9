//! Client access tokens for `/v1`: listing, creating (the secret is shown once), updating and
//! revoking.

use async_graphql::{Context, InputObject, MaybeUndefined, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::state;
use crate::error::GqlResult;
use crate::{
    cluster::Change,
    entity::access_token,
    service::access_tokens::{self, NANOS_PER_USD, NewToken, TokenChanges},
};

/// A client token. The secret is never shown again after creation.
pub struct AccessToken(access_token::Model);

#[Object]
impl AccessToken {
    /// Token id.
    async fn id(&self) -> i32 {
        self.0.id
    }
    /// Display name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The first characters of the secret, to recognise it by (`ap-AbCdEfG…`).
    async fn token_prefix(&self) -> String {
        format!("{}…", self.0.token_prefix)
    }
    /// False once revoked or disabled.
    async fn enabled(&self) -> bool {
        self.0.enabled
    }
    /// When the token stops working; null for never.
    async fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.0.expires_at
    }
    /// Whether the expiry has passed.
    async fn expired(&self) -> bool {
        self.0.expires_at.is_some_and(|at| at <= Utc::now())
    }
    /// Models the token may use; null allows every model.
    async fn models(&self) -> Option<Vec<String>> {
        access_tokens::models_of(&self.0)
    }
    /// Spending limit in USD; null is unlimited.
    async fn budget(&self) -> Option<f64> {
        self.0.budget.map(|nanos| nanos as f64 / NANOS_PER_USD)
    }
    /// Spent so far, in USD.
    async fn spend(&self) -> f64 {
        self.0.spend as f64 / NANOS_PER_USD
    }
    /// Requests per minute allowed; null is unlimited.
    async fn rpm_limit(&self) -> Option<i32> {
        self.0.rpm_limit
    }
    /// When the token was last used.
    async fn last_used_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_used_at
    }
    /// A note for other admins.
    async fn memo(&self) -> &str {
        &self.0.memo
    }
    /// When the token was created.
    async fn create_time(&self) -> DateTime<Utc> {
        self.0.create_time
    }
    /// When the token last changed.
    async fn update_time(&self) -> DateTime<Utc> {
        self.0.update_time
    }
}

/// A token to create.
#[derive(InputObject)]
pub struct CreateAccessTokenInput {
    /// Display name, 1–128 characters.
    name: String,
    /// When the token stops working (must be in the future); null for never.
    expires_at: Option<DateTime<Utc>>,
    /// Models the token may use; null allows every model.
    models: Option<Vec<String>>,
    /// Spending limit in USD; null is unlimited.
    budget: Option<f64>,
    /// Requests per minute; null is unlimited.
    rpm_limit: Option<i32>,
    /// A note for other admins.
    memo: Option<String>,
}

/// Changes to a token; omitted fields stay as they are, and null clears a nullable field.
#[derive(InputObject)]
pub struct UpdateAccessTokenInput {
    /// Display name.
    name: Option<String>,
    /// Re-enable (true) or disable (false) the token.
    enabled: Option<bool>,
    /// New expiry; null for never.
    expires_at: MaybeUndefined<DateTime<Utc>>,
    /// New model allowlist; null allows every model.
    models: MaybeUndefined<Vec<String>>,
    /// New budget in USD; null is unlimited.
    budget: MaybeUndefined<f64>,
    /// New requests-per-minute limit; null is unlimited.
    rpm_limit: MaybeUndefined<i32>,
    /// A note for other admins.
    memo: Option<String>,
}

/// A new token and its secret.
#[derive(SimpleObject)]
pub struct CreatedAccessToken {
    /// The secret. Shown only this once: store it now.
    token: String,
    /// The stored token.
    access_token: AccessToken,
}

fn change<T>(value: MaybeUndefined<T>) -> Option<Option<T>> {
    match value {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(value) => Some(Some(value)),
    }
}

/// Reading tokens.
#[derive(Default)]
pub struct TokenQuery;

#[Object]
impl TokenQuery {
    /// Every client token, newest first.
    async fn access_tokens(&self, ctx: &Context<'_>) -> GqlResult<Vec<AccessToken>> {
        let tokens = access_tokens::list(&state(ctx)?.db).await?;
        Ok(tokens.into_iter().map(AccessToken).collect())
    }
}

/// Changing tokens.
#[derive(Default)]
pub struct TokenMutation;

#[Object]
impl TokenMutation {
    /// Creates a client token; the answer holds its secret, shown only this once.
    async fn create_access_token(
        &self,
        ctx: &Context<'_>,
        input: CreateAccessTokenInput,
    ) -> GqlResult<CreatedAccessToken> {
        let app = state(ctx)?;
        let (token, row) = access_tokens::create(
            &app.db,
            NewToken {
                name: input.name,
                expires_at: input.expires_at,
                models: input.models,
                budget_usd: input.budget,
                rpm_limit: input.rpm_limit,
                memo: input.memo,
            },
        )
        .await?;
        app.changed(Change::Tokens).await;
        tracing::info!(token_id = row.id, "access token created");
        Ok(CreatedAccessToken {
            token,
            access_token: AccessToken(row),
        })
    }

    /// Changes a token.
    async fn update_access_token(
        &self,
        ctx: &Context<'_>,
        id: i32,
        input: UpdateAccessTokenInput,
    ) -> GqlResult<AccessToken> {
        let app = state(ctx)?;
        let row = access_tokens::update(
            &app.db,
            id,
            TokenChanges {
                name: input.name,
                enabled: input.enabled,
                expires_at: change(input.expires_at),
                models: change(input.models),
                budget_usd: change(input.budget),
                rpm_limit: change(input.rpm_limit),
                memo: input.memo,
            },
        )
        .await?;
        app.changed(Change::Tokens).await;
        Ok(AccessToken(row))
    }

    /// Revokes a token: it stops working at once.
    async fn revoke_access_token(&self, ctx: &Context<'_>, id: i32) -> GqlResult<AccessToken> {
        let app = state(ctx)?;
        let row = access_tokens::revoke(&app.db, id).await?;
        app.changed(Change::Tokens).await;
        tracing::info!(token_id = id, "access token revoked");
        Ok(AccessToken(row))
    }
}
