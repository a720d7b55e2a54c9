//! Admin sessions as HS256 JWTs.

use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, errors::ErrorKind};
use serde::{Deserialize, Serialize};

use crate::error::ServiceError;

/// The claims inside an admin JWT.
#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    /// Admin user id.
    sub: String,
    /// Admin username, for display.
    name: String,
    iat: i64,
    exp: i64,
}

/// A verified admin, carried in each GraphQL request's data.
#[derive(Clone, Debug)]
pub struct AdminSession {
    pub user_id: i32,
    pub username: String,
}

/// What the request's credentials amount to; resolvers and the guard read it.
#[derive(Clone, Debug)]
pub enum Authentication {
    /// A valid admin JWT.
    Admin(AdminSession),
    /// No usable JWT; the reason is shown to the client.
    Anonymous(&'static str),
}

/// Signing and verifying keys, and how long a session lasts.
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    ttl: Duration,
}

impl JwtKeys {
    /// Keys from a shared secret.
    pub fn new(secret: &[u8], ttl_hours: u32) -> Self {
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            ttl: Duration::hours(i64::from(ttl_hours)),
        }
    }

    /// Issues a session token; returns it with its expiry.
    pub fn issue(
        &self,
        user_id: i32,
        username: &str,
    ) -> Result<(String, DateTime<Utc>), ServiceError> {
        let now = Utc::now();
        let expires_at = now + self.ttl;
        let claims = Claims {
            sub: user_id.to_string(),
            name: username.to_string(),
            iat: now.timestamp(),
            exp: expires_at.timestamp(),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(ServiceError::internal)?;
        Ok((token, expires_at))
    }

    /// Checks an `Authorization` header value (or a bare token).
    pub fn authenticate(&self, header: Option<&str>) -> Authentication {
        let Some(value) = header.map(str::trim).filter(|value| !value.is_empty()) else {
            return Authentication::Anonymous(
                "missing bearer token: log in and send Authorization: Bearer <token>",
            );
        };
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .unwrap_or(value)
            .trim();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub"]);
        match jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation) {
            Ok(data) => match data.claims.sub.parse() {
                Ok(user_id) => Authentication::Admin(AdminSession {
                    user_id,
                    username: data.claims.name,
                }),
                Err(_) => Authentication::Anonymous("invalid token"),
            },
            Err(error) if matches!(error.kind(), ErrorKind::ExpiredSignature) => {
                Authentication::Anonymous("token expired: log in again")
            }
            Err(_) => Authentication::Anonymous("invalid token"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_issued_token_authenticates() {
        let keys = JwtKeys::new(b"0123456789abcdef0123", 1);
        let (token, _) = keys.issue(7, "admin").expect("issues");
        match keys.authenticate(Some(&format!("Bearer {token}"))) {
            Authentication::Admin(session) => {
                assert_eq!(session.user_id, 7);
                assert_eq!(session.username, "admin");
            }
            Authentication::Anonymous(why) => unreachable!("rejected: {why}"),
        }
    }

    #[test]
    fn a_token_signed_with_another_secret_is_invalid() {
        let (token, _) = JwtKeys::new(b"another-secret-0123456", 1)
            .issue(1, "admin")
            .expect("issues");
        let keys = JwtKeys::new(b"0123456789abcdef0123", 1);
        assert!(matches!(
            keys.authenticate(Some(&token)),
            Authentication::Anonymous("invalid token")
        ));
    }
}
