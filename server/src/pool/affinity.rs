//! What ties a request to one key: the conversation it belongs to (session affinity, so the
//! upstream's per-account prompt cache keeps serving it) and, for the Responses API, the key
//! that created the response it refers to (the state lives in that key's account only).
//!
//! Both tables are bounded in memory; the response table is warmed from the log at start, so
//! a restart does not strand conversations that were under way. With several instances each
//! entry made here is also handed to the cluster ([`Affinity::share_with`]), which passes it
//! on to the others with the request events; alone (SQLite) nothing is shared.

use std::{
    sync::{Arc, OnceLock},
    time::Duration,
};

use quick_cache::sync::Cache;
use sea_orm::{ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, prelude::*};
use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, mpsc};

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

/// An entry of one instance's tables that the others learn, as it crosses between them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum Learnt {
    /// `owner` created response `id`.
    Response {
        id: Arc<str>,
        key_id: i32,
        token_id: Option<i32>,
        model: Arc<str>,
    },
    /// Conversation `session` (hex, as JSON has no 128-bit numbers) sticks to `key_id`.
    Session {
        session: String,
        key_id: i32,
        until_ms: i64,
    },
}

/// The affinity tables.
pub struct Affinity {
    sessions: Cache<u128, Sticky>,
    responses: Cache<Arc<str>, Owner>,
    /// Where new entries go for the other instances; unset when there are none.
    peers: OnceLock<mpsc::Sender<Learnt>>,
    /// Woken when another instance's response owner arrives.
    arrived: Notify,
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
            peers: OnceLock::new(),
            arrived: Notify::new(),
        }
    }

    /// From now on, hands each new entry to `peers` (the cluster relay) as well.
    pub fn share_with(&self, peers: mpsc::Sender<Learnt>) {
        let _ = self.peers.set(peers);
    }

    /// Never waits: when the relay is behind, the entry stays local (a follow-up that lands on
    /// another instance then finds its owner in the log).
    fn share(&self, learnt: impl FnOnce() -> Learnt) {
        if let Some(peers) = self.peers.get() {
            let _ = peers.try_send(learnt());
        }
    }

    /// Takes in an entry another instance made, without passing it on again.
    pub fn learn(&self, learnt: Learnt) {
        match learnt {
            Learnt::Response {
                id,
                key_id,
                token_id,
                model,
            } => {
                self.responses.insert(
                    id,
                    Owner {
                        key_id,
                        token_id,
                        model,
                    },
                );
                self.arrived.notify_waiters();
            }
            Learnt::Session {
                session,
                key_id,
                until_ms,
            } => {
                if let Ok(session) = u128::from_str_radix(&session, 16) {
                    self.sessions.insert(session, Sticky { key_id, until_ms });
                }
            }
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
        self.share(|| Learnt::Session {
            session: format!("{session:032x}"),
            key_id,
            until_ms,
        });
    }

    /// Conversations remembered now.
    pub fn sessions(&self) -> usize {
        self.sessions.len()
    }

    /// Remembers that `owner` created response `id`.
    pub fn remember_response(&self, id: &str, owner: Owner) {
        let id: Arc<str> = Arc::from(id);
        self.share(|| Learnt::Response {
            id: id.clone(),
            key_id: owner.key_id,
            token_id: owner.token_id,
            model: owner.model.clone(),
        });
        self.responses.insert(id, owner);
    }

    /// The key that created response `id`, if the pool made it and still remembers it.
    pub fn response_owner(&self, id: &str) -> Option<Owner> {
        self.responses.get(id)
    }

    /// The owner of response `id` once another instance's entry for it arrives, waiting at most
    /// `patience`.
    pub async fn await_response(&self, id: &str, patience: Duration) -> Option<Owner> {
        let deadline = tokio::time::Instant::now() + patience;
        loop {
            let arrived = self.arrived.notified();
            tokio::pin!(arrived);
            // Registered before looking, so an entry learnt in between still wakes this.
            arrived.as_mut().enable();
            if let Some(owner) = self.response_owner(id) {
                return Some(owner);
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                return None;
            }
        }
    }

    /// The owner of response `id` from the log, remembered when found: for a follow-up of a
    /// response another instance created, before (or without) its entry arriving here.
    pub async fn find_response(
        &self,
        db: &impl ConnectionTrait,
        id: &str,
    ) -> Result<Option<Owner>, ServiceError> {
        use api_request_log::Column;
        let row: Option<(Option<i32>, Option<i32>, String)> = api_request_log::Entity::find()
            .select_only()
            .column(Column::KeyId)
            .column(Column::AccessTokenId)
            .column(Column::Model)
            .filter(Column::ResponseId.eq(id))
            .filter(Column::KeyId.is_not_null())
            .order_by_desc(Column::Id)
            .limit(1)
            .into_tuple()
            .one(db)
            .await?;
        let Some((Some(key_id), token_id, model)) = row else {
            return Ok(None);
        };
        let owner = Owner {
            key_id,
            token_id,
            model: Arc::from(model),
        };
        self.responses.insert(Arc::from(id), owner.clone());
        Ok(Some(owner))
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
                self.responses.insert(
                    Arc::from(id),
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

    #[test]
    fn entries_made_here_are_shared_and_learnt_ones_are_not_passed_on() {
        let here = Affinity::new(10, 10);
        let there = Affinity::new(10, 10);
        let (tx, mut rx) = mpsc::channel(8);
        here.share_with(tx);
        let session = u128::MAX - 5;

        here.remember_response("resp_1", owner());
        here.stick(session, 3, 1_000);
        let mut shared = Vec::new();
        while let Ok(learnt) = rx.try_recv() {
            // Through JSON, as between instances.
            let json = serde_json::to_string(&learnt).unwrap();
            shared.push(serde_json::from_str::<Learnt>(&json).unwrap());
        }
        for learnt in shared.iter().cloned() {
            there.learn(learnt);
        }

        assert_eq!(shared.len(), 2);
        assert_eq!(there.response_owner("resp_1"), Some(owner()));
        assert_eq!(there.sticky_key(session, 999), Some(3));
        here.learn(shared[1].clone());
        assert!(rx.try_recv().is_err(), "a learnt entry is not shared again");
    }

    #[tokio::test(start_paused = true)]
    async fn a_follow_up_waits_for_the_owner_to_arrive_and_no_longer() {
        let affinity = Arc::new(Affinity::new(10, 10));
        let learner = affinity.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(40)).await;
            learner.learn(Learnt::Response {
                id: Arc::from("resp_late"),
                key_id: 1,
                token_id: Some(2),
                model: Arc::from("gpt-4o"),
            });
        });
        let begun = tokio::time::Instant::now();
        let found = affinity
            .await_response("resp_late", Duration::from_millis(250))
            .await;
        assert_eq!(found, Some(owner()));
        assert_eq!(
            begun.elapsed(),
            Duration::from_millis(40),
            "woken on arrival"
        );

        let begun = tokio::time::Instant::now();
        let missing = affinity
            .await_response("resp_never", Duration::from_millis(250))
            .await;
        assert_eq!(missing, None);
        assert_eq!(begun.elapsed(), Duration::from_millis(250));
    }
}
