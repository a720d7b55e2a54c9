//! The upstream providers a key can belong to.

use std::{fmt, str::FromStr};

/// An upstream provider. AMP keys serve both wire formats through Amp's provider routes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, async_graphql::Enum)]
pub enum Provider {
    /// OpenAI (`/v1/chat/completions`).
    #[graphql(name = "OPENAI")]
    OpenAi,
    /// Anthropic (`/v1/messages`).
    #[graphql(name = "ANTHROPIC")]
    Anthropic,
    /// Amp (`/api/provider/openai/…` and `/api/provider/anthropic/…`).
    #[graphql(name = "AMP")]
    Amp,
}

impl Provider {
    /// Every provider, in display order.
    pub const ALL: [Provider; 3] = [Provider::OpenAi, Provider::Anthropic, Provider::Amp];

    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::OpenAi => "openai",
            Provider::Anthropic => "anthropic",
            Provider::Amp => "amp",
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A provider name that is not one of ours.
#[derive(Debug, thiserror::Error)]
#[error("unknown provider {0:?}: expected openai, anthropic or amp")]
pub struct UnknownProvider(pub String);

impl FromStr for Provider {
    type Err = UnknownProvider;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value.to_ascii_lowercase().as_str() {
            "openai" => Ok(Provider::OpenAi),
            "anthropic" => Ok(Provider::Anthropic),
            "amp" => Ok(Provider::Amp),
            _ => Err(UnknownProvider(value.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for provider in Provider::ALL {
            assert_eq!(provider.as_str().parse::<Provider>().ok(), Some(provider));
        }
        assert!("gemini".parse::<Provider>().is_err());
    }
}
