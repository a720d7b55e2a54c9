//! Service errors, and how each surface shows them.
//!
//! Services return [`ServiceError`]. GraphQL turns it into an error with a stable
//! `extensions.code`; an internal cause is logged once here and never shown to the client.

use async_graphql::ErrorExtensions as _;
use sea_orm::{DbErr, SqlErr};

/// What went wrong in a domain operation.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// Input that fails validation; `field` names the offending input field.
    #[error("{field}: {message}")]
    InvalidInput { field: String, message: String },
    /// The thing asked for does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// The change would duplicate something unique.
    #[error("{0}")]
    Conflict(String),
    /// No valid admin session.
    #[error("{0}")]
    Unauthenticated(String),
    /// Too many attempts; try again later.
    #[error("{0}")]
    RateLimited(String),
    /// A fault of the server or its database. The cause is logged, not shown.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl ServiceError {
    /// Invalid input in `field`.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::InvalidInput {
            field: field.into(),
            message: message.into(),
        }
    }

    /// An internal fault from any error type.
    pub fn internal(error: impl Into<anyhow::Error>) -> Self {
        Self::Internal(error.into())
    }

    /// The stable `extensions.code` of this error.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidInput { .. } => "BAD_USER_INPUT",
            Self::NotFound(_) => "NOT_FOUND",
            Self::Conflict(_) => "CONFLICT",
            Self::Unauthenticated(_) => "UNAUTHENTICATED",
            Self::RateLimited(_) => "RATE_LIMITED",
            Self::Internal(_) => "INTERNAL",
        }
    }
}

impl From<DbErr> for ServiceError {
    fn from(error: DbErr) -> Self {
        match error.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => {
                Self::Conflict("an entry with the same unique value already exists".into())
            }
            _ => Self::Internal(error.into()),
        }
    }
}

/// A [`ServiceError`] on its way to a GraphQL client.
///
/// It deliberately has no `Display`: async-graphql converts anything displayable into an error
/// *without* extensions, and that silent path would lose the `code`. Resolvers return
/// [`GqlResult`], so `?` on a service call always goes through the mapping below.
#[derive(Clone, Debug)]
pub struct GqlError(std::sync::Arc<ServiceError>);

/// The result type of every resolver.
pub type GqlResult<T> = Result<T, GqlError>;

impl From<ServiceError> for GqlError {
    fn from(error: ServiceError) -> Self {
        Self(std::sync::Arc::new(error))
    }
}

impl From<DbErr> for GqlError {
    fn from(error: DbErr) -> Self {
        ServiceError::from(error).into()
    }
}

impl From<GqlError> for async_graphql::Error {
    fn from(GqlError(error): GqlError) -> Self {
        if let ServiceError::Internal(cause) = error.as_ref() {
            tracing::error!(
                error = format!("{cause:#}"),
                "internal error in a GraphQL operation"
            );
        }
        let code = error.code();
        let field = match error.as_ref() {
            ServiceError::InvalidInput { field, .. } => Some(field.clone()),
            _ => None,
        };
        async_graphql::Error::new(error.to_string()).extend_with(|_, extensions| {
            extensions.set("code", code);
            if let Some(field) = field {
                extensions.set("field", field);
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_hide_their_cause() {
        let error: async_graphql::Error = GqlError::from(ServiceError::internal(anyhow::anyhow!(
            "disk /secret/path is full"
        )))
        .into();
        assert_eq!(error.message, "internal error");
        let extensions = error.extensions.expect("code is set");
        assert_eq!(
            extensions.get("code"),
            Some(&async_graphql::Value::from("INTERNAL"))
        );
    }

    #[test]
    fn invalid_input_names_the_field() {
        let error: async_graphql::Error =
            GqlError::from(ServiceError::invalid("proxyIp", "bad scheme")).into();
        assert_eq!(error.message, "proxyIp: bad scheme");
        let extensions = error.extensions.expect("code is set");
        assert_eq!(
            extensions.get("field"),
            Some(&async_graphql::Value::from("proxyIp"))
        );
    }
}
