//! What ties a request to one key: the conversation it belongs to (session affinity, so the
//! upstream's per-account prompt cache keeps serving it) and, for the Responses API, the key
//! that created the response it refers to (the state lives in that key's account only).
//!
//! Both tables are bounded in memory; the response table is warmed from the log at start, so
//! a restart does not strand conversations that were under way.

use std::sync::Arc;

use quick_cache::sync::Cache;
use sea_orm::{ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, prelude::*};

use crate::{entity::api_request_log, error::ServiceError};

/// Conversations remembered at once; the least recently used make room for new ones.
pub const MAX_SESSIONS: usize = 100_000;
/// Responses remembered at once (about 100 bytes each).
pub const MAX_RESPONSES: usize = 50_000;

/// A conversation's key, until its stickiness lapses.
#[derive(Clone, Copy)]
struct Sticky {
    key_id: i32,
    until_ms: i64,
}

/// The key that created a response, the client token it was created for, and the model.
#[derive(Clone, Debug, PartialEq)]
pub struct Owner {
    pub key_id: i32,
    /// Only this client token may refer to the response.
    pub token_id: Option<i32>,
    pub model: Arc<str>,
}

/// The affinity tables.
pub struct Affinity {
    sessions: Cache<u128, Sticky>,
    responses: Cache<Arc<str>, Owner>,
}

impl Default for Affinity {
    fn default() -> Self {
        Self::new(MAX_SESSIONS, MAX_RESPONSES)
    }
}

impl Affinity {
    /// Tables holding at most `sessions` conversations and `responses` response ids.
    pub fn new(sessions: usize, responses: usize) -> Self {
        Self {
            sessions: Cache::new(sessions.max(1)),
            responses: Cache::new(responses.max(1)),
        }
    }

    /// The key conversation `session` is stuck to at `now_ms`, if its stickiness holds.
    pub fn sticky_key(&self, session: u128, now_ms: i64) -> Option<i32> {
        let sticky = self.sessions.get(&session)?;
        if sticky.until_ms > now_ms {
            Some(sticky.key_id)
        } else {
            self.sessions.remove(&session);
            None
        }
    }

    /// Sticks conversation `session` to `key_id` until `until_ms` (each served turn renews it).
    pub fn stick(&self, session: u128, key_id: i32, until_ms: i64) {
        self.sessions.insert(session, Sticky { key_id, until_ms });
    }

    /// Conversations remembered now.
    pub fn sessions(&self) -> usize {
        self.sessions.len()
    }

    /// Remembers that `owner` created response `id`.
    pub fn remember_response(&self, id: &str, owner: Owner) {
        self.responses.insert(Arc::from(id), owner);
    }

    /// The key that created response `id`, if the pool made it and still remembers it.
    pub fn response_owner(&self, id: &str) -> Option<Owner> {
        self.responses.get(id)
    }

    /// Fills the response table from the most recent log rows that created a response, so
    /// follow-ups after a restart still reach their key. Returns how many were loaded.
    pub async fn warm(&self, db: &impl ConnectionTrait) -> Result<usize, ServiceError> {
        use api_request_log::Column;
        let rows: Vec<(String, Option<i32>, Option<i32>, String)> = api_request_log::Entity::find()
            .select_only()
            .column(Column::ResponseId)
            .column(Column::KeyId)
            .column(Column::AccessTokenId)
            .column(Column::Model)
            .filter(Column::ResponseId.is_not_null())
            .order_by_desc(Column::Id)
            .limit(self.responses.capacity())
            .into_tuple()
            .all(db)
            .await?;
        let mut loaded = 0;
        // Oldest first, so the most recent are the last to be evicted.
        for (id, key_id, token_id, model) in rows.into_iter().rev() {
            if let Some(key_id) = key_id {
                let model = Arc::from(model);
                self.remember_response(
                    &id,
                    Owner {
                        key_id,
                        token_id,
                        model,
                    },
                );
                loaded += 1;
            }
        }
        Ok(loaded)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner() -> Owner {
        Owner {
            key_id: 1,
            token_id: Some(2),
            model: Arc::from("gpt-4o"),
        }
    }

    #[test]
    fn a_session_sticks_until_its_time_runs_out() {
        let affinity = Affinity::new(10, 10);
        assert_eq!(affinity.sticky_key(7, 0), None);
        affinity.stick(7, 3, 1_000);
        assert_eq!(affinity.sticky_key(7, 999), Some(3));
        assert_eq!(affinity.sticky_key(7, 1_000), None);
        // A lapsed entry is gone, not kept around.
        assert_eq!(affinity.sessions(), 0);
    }

    #[test]
    fn the_tables_stay_bounded() {
        let affinity = Affinity::new(100, 100);
        for session in 0..10_000u128 {
            affinity.stick(session, 1, i64::MAX);
            affinity.remember_response(&format!("resp_{session}"), owner());
        }
        assert!(affinity.sessions() <= 100, "{}", affinity.sessions());
        assert!(affinity.responses.len() <= 100);
        assert_eq!(affinity.response_owner("resp_9999"), Some(owner()));
    }
}
