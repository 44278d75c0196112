//! The price registry and the cost engine.
//!
//! Invariants: a cost is computed once, exactly, in integers, and rounded once (half up,
//! to the nano-USD) at the very end; an unknown model is `Unpriced`, never $0; cached
//! prompt tokens are charged at the cached rate only, never also at the full rate.

use crate::money::{NanoUsd, PerMTok};
use crate::time::Day;
use crate::usage::Usage;

/// Per-token-kind prices of one model from one day on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Price {
    pub input: PerMTok,
    pub cached_input: PerMTok,
    pub output: PerMTok,
}

/// One row of the registry (`core/prices/registry.toml`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PriceEntry {
    pub provider: &'static str,
    pub model: &'static str,
    pub effective_from: Day,
    pub price: Price,
    pub source: &'static str,
}

include!(concat!(env!("OUT_DIR"), "/registry.rs"));

/// Whether an event has a cost, and if not, why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PricingStatus {
    Priced,
    Unpriced,
}

impl PricingStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PricingStatus::Priced => "priced",
            PricingStatus::Unpriced => "unpriced",
        }
    }
}

/// Why an event could not be priced: kept on the event so that a user can fix it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnpricedReason {
    UnknownModel,
    NoUsage,
    /// Audio tokens need audio rates, which this model's entry does not have.
    AudioNotPriced,
    /// The usage is self-contradictory (more cached than prompt tokens) or too large.
    InvalidUsage,
}

impl UnpricedReason {
    pub fn as_str(self) -> &'static str {
        match self {
            UnpricedReason::UnknownModel => "unknown_model",
            UnpricedReason::NoUsage => "no_usage",
            UnpricedReason::AudioNotPriced => "audio_not_priced",
            UnpricedReason::InvalidUsage => "invalid_usage",
        }
    }
}

/// The outcome of pricing one call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Costing {
    Priced { cost: NanoUsd, entry: &'static PriceEntry },
    Unpriced(UnpricedReason),
}

impl Costing {
    pub fn status(&self) -> PricingStatus {
        match self {
            Costing::Priced { .. } => PricingStatus::Priced,
            Costing::Unpriced(_) => PricingStatus::Unpriced,
        }
    }
    pub fn cost(&self) -> Option<NanoUsd> {
        match self {
            Costing::Priced { cost, .. } => Some(*cost),
            Costing::Unpriced(_) => None,
        }
    }
}

/// The registry entry in force for `model` on `day`: the model's own entry if it has one,
/// else its family's when `model` is a dated snapshot (`gpt-4o-mini-2024-07-18`,
/// `gpt-4-0613`). Among entries of one model, the latest `effective_from <= day` wins.
pub fn find_price(provider: &str, model: &str, day: Day) -> Option<&'static PriceEntry> {
    find_exact(provider, model, day).or_else(|| {
        let family = snapshot_family(model)?;
        find_exact(provider, family, day)
    })
}

fn find_exact(provider: &str, model: &str, day: Day) -> Option<&'static PriceEntry> {
    let key = (provider, model);
    let end = REGISTRY.partition_point(|e| (e.provider, e.model) <= key);
    REGISTRY[..end]
        .iter()
        .rev()
        .take_while(|e| (e.provider, e.model) == key)
        .find(|e| e.effective_from <= day)
}

/// `gpt-4o-2024-08-06` -> `gpt-4o`; `gpt-4-0613` -> `gpt-4`; otherwise `None`.
pub fn snapshot_family(model: &str) -> Option<&str> {
    // Works on bytes: `model` comes from a request body and may hold any UTF-8.
    let b = model.as_bytes();
    let n = b.len();
    let digit = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
    let dash = |i: usize| b.get(i) == Some(&b'-');
    // -YYYY-MM-DD
    if n > 11 {
        let s = n - 11;
        if dash(s) && dash(s + 5) && dash(s + 8)
            && [1, 2, 3, 4, 6, 7, 9, 10].iter().all(|&k| digit(s + k))
        {
            return model.get(..s);
        }
    }
    // -MMDD (OpenAI's older snapshots)
    if n > 5 {
        let s = n - 5;
        if dash(s) && (1..5).all(|k| digit(s + k)) {
            return model.get(..s);
        }
    }
    None
}

/// Prices `usage` at `price`. Exact: the sum of tokens x nano-USD-per-million is formed in
/// 128-bit integers and divided by one million once, rounding half up.
pub fn cost_of(usage: &Usage, price: &Price) -> Result<NanoUsd, UnpricedReason> {
    if usage.audio_input_tokens > 0 || usage.audio_output_tokens > 0 {
        return Err(UnpricedReason::AudioNotPriced);
    }
    if usage.cached_input_tokens > usage.input_tokens {
        return Err(UnpricedReason::InvalidUsage);
    }
    let uncached = u128::from(usage.input_tokens - usage.cached_input_tokens);
    let micro_nanos = uncached * u128::from(price.input.0)
        + u128::from(usage.cached_input_tokens) * u128::from(price.cached_input.0)
        + u128::from(usage.output_tokens) * u128::from(price.output.0);
    let nanos = (micro_nanos + 500_000) / 1_000_000;
    u64::try_from(nanos).ok().and_then(NanoUsd::new).ok_or(UnpricedReason::InvalidUsage)
}

/// Prices one call: looks the model up as of `day` and applies [`cost_of`].
pub fn price_usage(provider: &str, model: &str, day: Day, usage: Option<&Usage>) -> Costing {
    let Some(entry) = find_price(provider, model, day) else {
        return Costing::Unpriced(UnpricedReason::UnknownModel);
    };
    let Some(usage) = usage else {
        return Costing::Unpriced(UnpricedReason::NoUsage);
    };
    match cost_of(usage, &entry.price) {
        Ok(cost) => Costing::Priced { cost, entry },
        Err(reason) => Costing::Unpriced(reason),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(input: u64, cached: u64, output: u64) -> Usage {
        Usage { input_tokens: input, cached_input_tokens: cached, output_tokens: output, ..Usage::default() }
    }

    const GPT4O: Price = Price {
        input: PerMTok(2_500_000_000),
        cached_input: PerMTok(1_250_000_000),
        output: PerMTok(10_000_000_000),
    };

    #[test]
    fn cost_is_exact_integer_arithmetic() {
        // 1000 in at $2.50/M = 2_500_000 nano; 500 out at $10/M = 5_000_000 nano.
        assert_eq!(cost_of(&usage(1000, 0, 500), &GPT4O), Ok(NanoUsd::new(7_500_000).unwrap()));
        // One token at $2.50/M is 2500 nano-USD exactly.
        assert_eq!(cost_of(&usage(1, 0, 0), &GPT4O).unwrap().nanos(), 2500);
    }

    #[test]
    fn cached_tokens_are_not_charged_twice() {
        // 1000 prompt tokens of which 800 cached: 200 x 2.5 + 800 x 1.25 = 1500 per-M units.
        let c = cost_of(&usage(1000, 800, 0), &GPT4O).unwrap();
        assert_eq!(c.nanos(), 200 * 2500 + 800 * 1250);
    }

    #[test]
    fn rounding_is_half_up_once_at_the_end() {
        // $0.075/M cached: one token = 75 nano; $0.0375/M: 37.5 nano -> rounds to 38,
        // but two tokens are exactly 75 (rounded once, not per token).
        let p = Price { input: PerMTok(37_500_000), cached_input: PerMTok(37_500_000), output: PerMTok(0) };
        assert_eq!(cost_of(&usage(1, 0, 0), &p).unwrap().nanos(), 38);
        assert_eq!(cost_of(&usage(2, 0, 0), &p).unwrap().nanos(), 75);
        let q = Price { input: PerMTok(1), cached_input: PerMTok(1), output: PerMTok(1) };
        assert_eq!(cost_of(&usage(499_999, 0, 0), &q).unwrap().nanos(), 0);
        assert_eq!(cost_of(&usage(500_000, 0, 0), &q).unwrap().nanos(), 1);
    }

    #[test]
    fn impossible_usage_is_unpriced_not_guessed() {
        assert_eq!(cost_of(&usage(10, 11, 0), &GPT4O), Err(UnpricedReason::InvalidUsage));
        let audio = Usage { audio_input_tokens: 5, ..usage(10, 0, 0) };
        assert_eq!(cost_of(&audio, &GPT4O), Err(UnpricedReason::AudioNotPriced));
        assert_eq!(cost_of(&usage(u64::MAX, 0, u64::MAX), &GPT4O), Err(UnpricedReason::InvalidUsage));
    }

    #[test]
    fn snapshots_resolve_to_their_family() {
        assert_eq!(snapshot_family("gpt-4o-mini-2024-07-18"), Some("gpt-4o-mini"));
        assert_eq!(snapshot_family("gpt-4-0613"), Some("gpt-4"));
        assert_eq!(snapshot_family("gpt-3.5-turbo-0125"), Some("gpt-3.5-turbo"));
        assert_eq!(snapshot_family("gpt-4o"), None);
        assert_eq!(snapshot_family("o3-mini"), None);
        assert_eq!(snapshot_family("gpt-4.1-nano"), None);
    }

    #[test]
    fn unknown_model_is_unpriced_never_zero() {
        let day = Day(20261128);
        let c = price_usage("openai", "no-such-model-2099", day, Some(&usage(10, 0, 10)));
        assert_eq!(c, Costing::Unpriced(UnpricedReason::UnknownModel));
        assert_eq!(c.cost(), None);
    }

    #[test]
    fn registry_is_sorted_and_complete_for_core_models() {
        assert!(REGISTRY.windows(2).all(|w| (w[0].provider, w[0].model, w[0].effective_from)
            < (w[1].provider, w[1].model, w[1].effective_from)));
        let day = Day(20261128);
        for m in ["gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano", "o3", "o4-mini", "gpt-5", "gpt-5-mini", "gpt-5-nano"] {
            let e = find_price("openai", m, day).unwrap_or_else(|| panic!("{m} has no price"));
            assert!(e.price.cached_input <= e.price.input, "{m}");
            assert!(e.price.input.0 > 0 && e.price.output.0 > 0, "{m}");
        }
    }

    #[test]
    fn published_prices_of_reference_models() {
        // Pinned against OpenAI's pricing page; a change here must be a deliberate edit.
        let day = Day(20261128);
        let p = |m: &str| find_price("openai", m, day).unwrap().price;
        assert_eq!(p("gpt-4o"), GPT4O);
        assert_eq!(p("gpt-4o-mini-2024-07-18"), Price {
            input: PerMTok(150_000_000), cached_input: PerMTok(75_000_000), output: PerMTok(600_000_000) });
        assert_eq!(p("gpt-4.1").input, PerMTok(2_000_000_000));
        assert_eq!(p("gpt-4.1").cached_input, PerMTok(500_000_000));
    }

    #[test]
    fn later_effective_date_supersedes() {
        // o3 was cut from $10/$40 to $2/$8 on 2025-06-10.
        let before = find_price("openai", "o3", Day(20250601)).unwrap();
        let after = find_price("openai", "o3", Day(20250611)).unwrap();
        assert_eq!(before.price.input, PerMTok(10_000_000_000));
        assert_eq!(after.price.input, PerMTok(2_000_000_000));
        assert!(find_price("openai", "o3", Day(20200101)).is_none());
    }
}
