//! Admin sessions as HS256 JWTs.
//!
//! Every token carries its admin's token version. Changing the password (or `revokeSessions`)
//! bumps the version, so tokens issued before stop working at once. The versions are held in
//! memory ([`TokenVersions`]), so checking a token never touches the database.

use std::{collections::HashMap, sync::Arc, time::Duration as StdDuration};

use arc_swap::ArcSwap;
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
    /// The admin's token version when the token was issued; tokens from before versions
    /// existed count as version 0, the version every admin starts at.
    #[serde(default)]
    ver: i64,
    iat: i64,
    exp: i64,
}

/// A verified admin, carried in each GraphQL request's data.
#[derive(Clone, Debug)]
pub struct AdminSession {
    pub user_id: i32,
    pub username: String,
    /// The token version the session was issued with.
    pub token_version: i64,
    /// When the session ends (Unix seconds).
    pub expires_at: i64,
}

/// What the request's credentials amount to; resolvers and the guard read it.
#[derive(Clone, Debug)]
pub enum Authentication {
    /// A valid admin JWT.
    Admin(AdminSession),
    /// No usable JWT; the reason is shown to the client.
    Anonymous(&'static str),
}

/// The current token version of every admin, by id. Loaded at start, updated when a version
/// changes here, and re-read periodically to pick up changes made by the CLI.
#[derive(Default)]
pub struct TokenVersions {
    current: ArcSwap<HashMap<i32, i64>>,
}

impl TokenVersions {
    /// Replaces every version (after reading them from the database).
    pub fn replace_all(&self, versions: HashMap<i32, i64>) {
        self.current.store(Arc::new(versions));
    }

    /// Records `admin`'s new version.
    pub fn set(&self, admin: i32, version: i64) {
        self.current.rcu(|current| {
            let mut next = HashMap::clone(current);
            next.insert(admin, version);
            next
        });
    }

    /// Whether tokens of `admin` issued with `version` are still good; false for an admin that
    /// no longer exists.
    pub fn accepts(&self, admin: i32, version: i64) -> bool {
        self.current.load().get(&admin) == Some(&version)
    }
}

/// Signing and verifying keys, how long a session lasts, and the admins' token versions.
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    ttl: Duration,
    versions: TokenVersions,
}

impl JwtKeys {
    /// Keys from a shared secret; sessions last `ttl`.
    pub fn new(secret: &[u8], ttl: StdDuration) -> Self {
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            ttl: Duration::from_std(ttl).unwrap_or(Duration::hours(24)),
            versions: TokenVersions::default(),
        }
    }

    /// The admins' token versions.
    pub fn versions(&self) -> &TokenVersions {
        &self.versions
    }

    /// Issues a session token for an admin at token version `version`; returns it with its
    /// expiry.
    pub fn issue(
        &self,
        user_id: i32,
        username: &str,
        version: i64,
    ) -> Result<(String, DateTime<Utc>), ServiceError> {
        let now = Utc::now();
        let expires_at = now + self.ttl;
        let claims = Claims {
            sub: user_id.to_string(),
            name: username.to_string(),
            ver: version,
            iat: now.timestamp(),
            exp: expires_at.timestamp(),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(ServiceError::internal)?;
        Ok((token, expires_at))
    }

    /// Whether `session` is still good: not expired, and its version not revoked.
    pub fn still_valid(&self, session: &AdminSession) -> bool {
        // As the JWT check: a token is good up to and including its `exp` second.
        Utc::now().timestamp() <= session.expires_at
            && self
                .versions
                .accepts(session.user_id, session.token_version)
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
                Ok(user_id) => {
                    let session = AdminSession {
                        user_id,
                        username: data.claims.name,
                        token_version: data.claims.ver,
                        expires_at: data.claims.exp,
                    };
                    if self.versions.accepts(user_id, session.token_version) {
                        Authentication::Admin(session)
                    } else {
                        Authentication::Anonymous(
                            "session revoked (password changed or sessions revoked): log in again",
                        )
                    }
                }
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

    fn keys() -> JwtKeys {
        let keys = JwtKeys::new(b"0123456789abcdef0123", StdDuration::from_secs(3600));
        keys.versions().replace_all(HashMap::from([(7, 0)]));
        keys
    }

    #[test]
    fn an_issued_token_authenticates() {
        let keys = keys();
        let (token, _) = keys.issue(7, "admin", 0).expect("issues");
        match keys.authenticate(Some(&format!("Bearer {token}"))) {
            Authentication::Admin(session) => {
                assert_eq!(session.user_id, 7);
                assert_eq!(session.username, "admin");
            }
            Authentication::Anonymous(why) => unreachable!("rejected: {why}"),
        }
    }

    #[test]
    fn a_token_of_an_older_version_is_revoked() {
        let keys = keys();
        let (token, _) = keys.issue(7, "admin", 0).expect("issues");
        keys.versions().set(7, 1);
        assert!(matches!(
            keys.authenticate(Some(&token)),
            Authentication::Anonymous(why) if why.starts_with("session revoked")
        ));
    }

    #[test]
    fn a_token_signed_with_another_secret_is_invalid() {
        let (token, _) = JwtKeys::new(b"another-secret-0123456", StdDuration::from_secs(3600))
            .issue(7, "admin", 0)
            .expect("issues");
        assert!(matches!(
            keys().authenticate(Some(&token)),
            Authentication::Anonymous("invalid token")
        ));
    }
}
