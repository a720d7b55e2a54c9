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
    pub cache_creation: i64,
}

impl Usage {
    /// Every token of the attempt.
    pub fn total(&self) -> i64 {
        self.input + self.output + self.cache_read + self.cache_creation
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
            + part(self.output, price.output)
            + part(self.cache_read, price.cache_read)
            + part(self.cache_creation, price.cache_write);
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
            },
        );
        let usage = Usage {
            input: 1000,
            output: 200,
            cache_read: 5000,
            cache_creation: 2000,
        };
        // 1000×3 + 200×15 + 5000×0.3 + 2000×3.75 = 3000 + 3000 + 1500 + 7500 micro-USD.
        assert_eq!(
            usage.cost("claude-sonnet-4-5-20250929", &prices),
            (15_000_000, false)
        );
        assert_eq!(usage.total(), 8200);
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
