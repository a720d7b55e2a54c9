//! Which conversation a request belongs to, so that its turns stay on one key: prompt caches
//! live per upstream account, and a conversation that hops between keys pays full price for
//! its cached prefix on every hop.
//!
//! The session comes from what clients already send — Anthropic's `metadata.user_id` (Claude
//! Code sends one per session), OpenAI's `prompt_cache_key`, `user` or `previous_response_id`
//! — and otherwise from the conversation's opening: the system prompt (or `instructions`) and
//! the turns up to the first user message, which every later turn repeats unchanged.

use std::{borrow::Cow, fmt, marker::PhantomData};

use serde::{
    Deserialize, Deserializer,
    de::{IgnoredAny, MapAccess, SeqAccess, Visitor},
};
use serde_json::value::RawValue;
use xxhash_rust::xxh3::Xxh3;

use super::request::Dialect;

/// A conversation's identity: a 128-bit hash, never the text it was made from.
pub type SessionId = u128;

/// The fields of a request body that can say which conversation it belongs to.
#[derive(Default)]
pub struct Clues<'a> {
    /// Anthropic `metadata` (its `user_id`).
    pub metadata: Option<&'a RawValue>,
    pub prompt_cache_key: Option<&'a RawValue>,
    pub user: Option<&'a RawValue>,
    pub previous_response_id: Option<&'a RawValue>,
    /// Anthropic `system`, or the Responses API's `instructions`.
    pub system: Option<&'a RawValue>,
    /// `messages`, or the Responses API's `input`, up to the first user turn.
    pub opening: Option<Opening<'a>>,
}

/// Where a session id came from, most explicit first.
#[derive(Clone, Copy)]
#[repr(u8)]
enum Source {
    AnthropicUser = 1,
    PromptCacheKey = 2,
    User = 3,
    PreviousResponse = 4,
    Opening = 5,
}

/// The session of a request in `dialect`, if it names or implies one.
pub fn identify(dialect: Dialect, clues: &Clues<'_>) -> Option<SessionId> {
    let mut hash = Xxh3::new();
    hash.update(&[dialect as u8]);
    let explicit = [
        (Source::AnthropicUser, clues.metadata.and_then(user_id)),
        (
            Source::PromptCacheKey,
            clues.prompt_cache_key.filter(|r| is_text(r)),
        ),
        (Source::User, clues.user.filter(|r| is_text(r))),
        (
            Source::PreviousResponse,
            clues.previous_response_id.filter(|r| is_text(r)),
        ),
    ];
    if let Some((source, raw)) = explicit
        .into_iter()
        .find_map(|(source, raw)| raw.map(|raw| (source, raw)))
    {
        part(&mut hash, source as u8, raw.get().as_bytes());
        return Some(hash.digest128());
    }
    let turns = match clues.opening.as_ref()? {
        Opening::Text(text) => {
            part(&mut hash, Source::Opening as u8, text.as_bytes());
            1
        }
        Opening::Turns(turns) => {
            for turn in turns {
                part(&mut hash, Source::Opening as u8, turn.get().as_bytes());
            }
            turns.len()
        }
        Opening::Other => 0,
    };
    if turns == 0 {
        return None;
    }
    if let Some(system) = clues.system {
        part(&mut hash, 0, system.get().as_bytes());
    }
    Some(hash.digest128())
}

/// Adds one length-prefixed field, so that no two different field lists hash alike by
/// running into each other.
fn part(hash: &mut Xxh3, tag: u8, bytes: &[u8]) {
    hash.update(&[tag]);
    hash.update(&(bytes.len() as u64).to_le_bytes());
    hash.update(bytes);
}

/// A JSON string with something in it (its raw, still-escaped text is what gets hashed).
fn is_text(raw: &RawValue) -> bool {
    let text = raw.get();
    text.len() > 2 && text.starts_with('"')
}

fn user_id(metadata: &RawValue) -> Option<&RawValue> {
    #[derive(Deserialize)]
    struct Metadata<'a> {
        #[serde(default, borrow)]
        user_id: Option<&'a RawValue>,
    }
    serde_json::from_str::<Metadata<'_>>(metadata.get())
        .ok()?
        .user_id
        .filter(|r| is_text(r))
}

/// Turns kept at most while looking for the first user turn: a list without one (an
/// embeddings `input` of thousands of texts) costs a bounded amount of memory.
const MAX_OPENING_TURNS: usize = 16;

/// The opening of a conversation: a plain text input, or the turns up to and including the
/// first user turn (the turns after it are skipped without being kept).
pub enum Opening<'a> {
    Text(Cow<'a, str>),
    Turns(Vec<&'a RawValue>),
    /// Anything else; the upstream judges whether it is valid.
    Other,
}

fn is_user_turn(turn: &RawValue) -> bool {
    #[derive(Deserialize)]
    struct Turn<'a> {
        #[serde(default, borrow)]
        role: Option<Cow<'a, str>>,
    }
    serde_json::from_str::<Turn<'_>>(turn.get())
        .ok()
        .and_then(|t| t.role)
        .is_some_and(|role| role == "user")
}

impl<'de: 'a, 'a> Deserialize<'de> for Opening<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(OpeningVisitor(PhantomData))
    }
}

struct OpeningVisitor<'a>(PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for OpeningVisitor<'a> {
    type Value = Opening<'a>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of turns or a text")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut turns = Vec::new();
        while let Some(turn) = seq.next_element::<&'de RawValue>()? {
            turns.push(turn);
            if is_user_turn(turn) || turns.len() == MAX_OPENING_TURNS {
                break;
            }
        }
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Opening::Turns(turns))
    }

    fn visit_borrowed_str<E>(self, text: &'de str) -> Result<Self::Value, E> {
        Ok(Opening::Text(Cow::Borrowed(text)))
    }

    fn visit_str<E>(self, text: &str) -> Result<Self::Value, E> {
        Ok(Opening::Text(Cow::Owned(text.to_string())))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Opening::Other)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Opening::Other)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Opening::Other)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Opening::Other)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Opening::Other)
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Opening::Other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Body<'a> {
        #[serde(default, borrow)]
        metadata: Option<&'a RawValue>,
        #[serde(default, borrow)]
        prompt_cache_key: Option<&'a RawValue>,
        #[serde(default, borrow)]
        user: Option<&'a RawValue>,
        #[serde(default, borrow)]
        system: Option<&'a RawValue>,
        #[serde(default, borrow)]
        messages: Option<Opening<'a>>,
    }

    fn session(dialect: Dialect, body: &str) -> Option<SessionId> {
        let body: Body<'_> = serde_json::from_str(body).expect("valid test body");
        identify(
            dialect,
            &Clues {
                metadata: body.metadata,
                prompt_cache_key: body.prompt_cache_key,
                user: body.user,
                system: body.system,
                opening: body.messages,
                ..Clues::default()
            },
        )
    }

    #[test]
    fn later_turns_of_a_conversation_share_its_session() {
        let first = r#"{"system":"be brief","messages":[{"role":"user","content":"hi"}]}"#;
        let third = r#"{"system":"be brief","messages":[{"role":"user","content":"hi"},
            {"role":"assistant","content":"hello"},{"role":"user","content":"more"}]}"#;
        let other = r#"{"system":"be brief","messages":[{"role":"user","content":"bye"}]}"#;
        let a = session(Dialect::Anthropic, first);
        assert!(a.is_some());
        assert_eq!(a, session(Dialect::Anthropic, third));
        assert_ne!(a, session(Dialect::Anthropic, other));
        // The same opening in the other format is another session (another set of keys).
        assert_ne!(a, session(Dialect::Chat, first));
    }

    #[test]
    fn chat_system_turns_before_the_first_user_turn_count() {
        let a = r#"{"messages":[{"role":"system","content":"A"},{"role":"user","content":"q"}]}"#;
        let b = r#"{"messages":[{"role":"system","content":"B"},{"role":"user","content":"q"}]}"#;
        assert_ne!(session(Dialect::Chat, a), session(Dialect::Chat, b));
    }

    #[test]
    fn an_explicit_session_wins_over_the_opening() {
        let one =
            r#"{"metadata":{"user_id":"session-1"},"messages":[{"role":"user","content":"a"}]}"#;
        let two =
            r#"{"metadata":{"user_id":"session-1"},"messages":[{"role":"user","content":"b"}]}"#;
        assert_eq!(
            session(Dialect::Anthropic, one),
            session(Dialect::Anthropic, two)
        );
        let keyed = r#"{"prompt_cache_key":"k","user":"u","messages":[]}"#;
        let same_key = r#"{"prompt_cache_key":"k","user":"v","messages":[]}"#;
        assert_eq!(
            session(Dialect::Chat, keyed),
            session(Dialect::Chat, same_key)
        );
    }

    #[test]
    fn a_long_list_without_a_user_turn_keeps_only_its_start() {
        let texts: Vec<String> = (0..5000).map(|i| format!("text {i}")).collect();
        let body = serde_json::json!({ "messages": texts }).to_string();
        let parsed: Body<'_> = serde_json::from_str(&body).expect("valid");
        let Some(Opening::Turns(turns)) = parsed.messages else {
            panic!("a list of turns");
        };
        assert_eq!(turns.len(), MAX_OPENING_TURNS);
    }

    #[test]
    fn requests_without_any_clue_have_no_session() {
        assert_eq!(session(Dialect::Chat, r#"{"messages":[]}"#), None);
        assert_eq!(session(Dialect::Chat, r#"{"messages":42}"#), None);
        assert_eq!(session(Dialect::Chat, r#"{"user":""}"#), None);
        assert_eq!(
            session(Dialect::Anthropic, r#"{"metadata":{"user_id":null}}"#),
            None
        );
    }
}
