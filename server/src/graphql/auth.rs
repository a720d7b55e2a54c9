//! `login`, `me`, `changePassword` and `revokeSessions`.

use async_graphql::{Context, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::{admin, state};
use crate::error::GqlResult;
use crate::{auth::ClientIp, error::ServiceError, service::admins};

/// A fresh admin session.
#[derive(SimpleObject)]
pub struct LoginPayload {
    /// The JWT to send as `Authorization: Bearer <token>` (and in `connection_init` over
    /// WebSocket).
    token: String,
    /// When the token stops working.
    expires_at: DateTime<Utc>,
    /// Who logged in.
    username: String,
}

/// The logged-in administrator.
#[derive(SimpleObject)]
pub struct Admin {
    /// Admin id.
    id: i32,
    /// Login name.
    username: String,
}

/// Queries about the current session.
#[derive(Default)]
pub struct AuthQuery;

#[Object]
impl AuthQuery {
    /// The administrator this request is authenticated as.
    async fn me(&self, ctx: &Context<'_>) -> GqlResult<Admin> {
        let session = admin(ctx)?;
        let found = admins::get(&state(ctx)?.db, session.user_id).await?;
        Ok(Admin {
            id: found.id,
            username: found.username,
        })
    }
}

/// Logging in and changing passwords.
#[derive(Default)]
pub struct AuthMutation;

#[Object]
impl AuthMutation {
    /// Exchanges a username and password for a JWT. The only operation allowed without one.
    /// Attempts are limited per client address and per username, and only a few passwords
    /// are checked at a time; past either limit the answer is `RATE_LIMITED`.
    async fn login(
        &self,
        ctx: &Context<'_>,
        username: String,
        password: String,
    ) -> GqlResult<LoginPayload> {
        let app = state(ctx)?;
        let client = ctx.data_opt::<ClientIp>().map(|client| client.0);
        if let Err(why) = app.login_limiter.allow(client, &username) {
            tracing::warn!(client = ?client, "admin login refused: {why}");
            return Err(ServiceError::RateLimited(why.into()).into());
        }
        let Some(found) = admins::authenticate(&app.db, &app.hasher, &username, &password).await?
        else {
            tracing::warn!(username = ?username.trim(), client = ?client, "failed admin login");
            return Err(ServiceError::Unauthenticated("wrong username or password".into()).into());
        };
        // The row just read is the newest word on the version (an admin the CLI created or
        // changed may not have reached the periodic reload yet).
        app.jwt.versions().set(found.id, found.token_version);
        let (token, expires_at) = app
            .jwt
            .issue(found.id, &found.username, found.token_version)?;
        tracing::info!(username = ?found.username, "admin logged in");
        Ok(LoginPayload {
            token,
            expires_at,
            username: found.username,
        })
    }

    /// Changes the current administrator's password; the current one must be given. Every
    /// session of this administrator ends, this one included: log in again with the new
    /// password.
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        current_password: String,
        new_password: String,
    ) -> GqlResult<bool> {
        let session = admin(ctx)?;
        let app = state(ctx)?;
        if admins::authenticate(&app.db, &app.hasher, &session.username, &current_password)
            .await?
            .is_none()
        {
            return Err(ServiceError::invalid("currentPassword", "is wrong").into());
        }
        let changed = admins::set_password(&app.db, &app.hasher, &session.username, &new_password)
            .await
            .map_err(|error| match error {
                ServiceError::InvalidInput { message, .. } => {
                    ServiceError::invalid("newPassword", message)
                }
                other => other,
            })?;
        app.jwt.versions().set(changed.id, changed.token_version);
        app.cluster.announce(crate::cluster::Change::Admins);
        tracing::info!(username = ?changed.username, "admin changed the password; sessions revoked");
        Ok(true)
    }

    /// Ends every session of the current administrator, this one included (log out
    /// everywhere).
    async fn revoke_sessions(&self, ctx: &Context<'_>) -> GqlResult<bool> {
        let session = admin(ctx)?;
        let app = state(ctx)?;
        let revoked = admins::revoke_sessions(&app.db, session.user_id).await?;
        app.jwt.versions().set(revoked.id, revoked.token_version);
        app.cluster.announce(crate::cluster::Change::Admins);
        tracing::info!(username = ?revoked.username, "admin revoked every session");
        Ok(true)
    }
}
