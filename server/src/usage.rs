//! Token usage of one upstream attempt and what it costs.
//!
//! `input` never includes cached tokens: cache reads and cache writes are counted (and priced)
//! separately, so nothing is billed twice.

use crate::live_config::PriceTable;

/// Tokens of one attempt.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// Prompt tokens that were neither read from nor written to the cache.
    pub input: i64,
    pub output: i64,
    pub cache_read: i64,
    /// Cache writes of every kind.
    pub cache_creation: i64,
    /// Of `cache_creation`, the writes to Anthropic's one-hour cache (priced apart).
    pub cache_creation_1h: i64,
    /// Of `output`, the tokens spent on reasoning (priced as output, counted for insight).
    pub reasoning: i64,
}

/// The most tokens of one kind a single attempt may count; an upstream that reports more (or
/// a negative count) is cut to `0..=MAX_TOKENS`, so one bad report cannot overflow a sum.
pub const MAX_TOKENS: i64 = 1_000_000_000;

impl Usage {
    /// Every count cut to `0..=MAX_TOKENS` (and the one-hour writes to the writes), and
    /// whether anything had to be cut.
    pub fn clamped(self) -> (Usage, bool) {
        let cut = |v: i64| v.clamp(0, MAX_TOKENS);
        let cache_creation = cut(self.cache_creation);
        let usage = Usage {
            input: cut(self.input),
            output: cut(self.output),
            cache_read: cut(self.cache_read),
            cache_creation,
            cache_creation_1h: cut(self.cache_creation_1h).min(cache_creation),
            reasoning: cut(self.reasoning).min(cut(self.output)),
        };
        (usage, usage != self)
    }

    /// Every token of the attempt.
    pub fn total(&self) -> i64 {
        self.input
            .saturating_add(self.output)
            .saturating_add(self.cache_read)
            .saturating_add(self.cache_creation)
    }

    /// Cost in nano-USD, and whether the model had no price (then 0).
    pub fn cost(&self, model: &str, prices: &PriceTable) -> (i64, bool) {
        let Some(price) = prices.price_of(model) else {
            return (0, self.total() > 0);
        };
        // USD per million tokens is exactly nano-USD per thousandth of a token: tokens × price
        // × 1000, rounded once per component.
        let part = |tokens: i64, usd_per_million: f64| {
            (tokens as f64 * usd_per_million * 1000.0).round() as i64
        };
        let cost = part(self.input, price.input)
            .saturating_add(part(self.output, price.output))
            .saturating_add(part(self.cache_read, price.cache_read))
            .saturating_add(part(
                self.cache_creation.saturating_sub(self.cache_creation_1h),
                price.cache_write,
            ))
            .saturating_add(part(self.cache_creation_1h, price.cache_write_1h()));
        (cost, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live_config::ModelPrice;

    #[test]
    fn each_kind_of_token_has_its_own_price() {
        let mut prices = PriceTable::default();
        prices.0.insert(
            "claude-sonnet-4-5".into(),
            ModelPrice {
                input: 3.0,
                output: 15.0,
                cache_read: 0.3,
                cache_write: 3.75,
                cache_write_1h: Some(6.0),
            },
        );
        let usage = Usage {
            input: 1000,
            output: 200,
            cache_read: 5000,
            cache_creation: 2000,
            cache_creation_1h: 0,
            // Reasoning is part of the output, never priced twice.
            reasoning: 150,
        };
        // 1000×3 + 200×15 + 5000×0.3 + 2000×3.75 = 3000 + 3000 + 1500 + 7500 micro-USD.
        assert_eq!(
            usage.cost("claude-sonnet-4-5-20250929", &prices),
            (15_000_000, false)
        );
        assert_eq!(usage.total(), 8200);
        // The same writes, half of them to the one-hour cache at 6.0: 3750 micro-USD less
        // 1000×3.75 plus 1000×6.
        let one_hour = Usage {
            cache_creation_1h: 1000,
            ..usage
        };
        assert_eq!(
            one_hour.cost("claude-sonnet-4-5", &prices),
            (17_250_000, false)
        );
    }

    #[test]
    fn absurd_counts_are_clamped_and_flagged() {
        let reported = Usage {
            input: i64::MAX,
            output: 5,
            cache_read: -1,
            ..Usage::default()
        };
        assert_eq!(
            reported.clamped(),
            (
                Usage {
                    input: MAX_TOKENS,
                    output: 5,
                    ..Usage::default()
                },
                true
            )
        );
        let fine = Usage {
            input: 3,
            ..Usage::default()
        };
        assert_eq!(fine.clamped(), (fine, false));
    }

    #[test]
    fn an_unknown_model_costs_nothing_and_is_flagged() {
        let usage = Usage {
            input: 10,
            ..Usage::default()
        };
        assert_eq!(
            usage.cost("mystery-model", &PriceTable::default()),
            (0, true)
        );
    }
}
