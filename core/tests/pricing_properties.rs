//! Properties of the cost engine over random usage and random prices: a call costs the sum
//! of its parts, a cost is never negative and never decreases when tokens are added, and a
//! model without a price never yields $0.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::borrow::Cow;

use llmobserve_core::money::PerMTok;
use llmobserve_core::pricing::{quote, round_exact, LongContext, PriceBook, Rates, Tariff, REGISTRY};
use llmobserve_core::time::Day;
use llmobserve_core::usage::{ServiceTier, Usage};
use proptest::prelude::*;

fn rate() -> impl Strategy<Value = PerMTok> {
    (0u64..=200_000_000_000).prop_map(PerMTok)
}

/// A tariff with every token rate (cached rates at most their full rate), a per-minute and
/// a per-character price, and optionally long-context rates that are never cheaper.
fn tariff() -> impl Strategy<Value = Tariff> {
    (proptest::collection::vec(rate(), 13), proptest::option::of((1u64..400_000, proptest::collection::vec(0u64..3, 5))))
        .prop_map(|(r, long)| {
            let rates = Rates {
                input: Some(r[0]),
                cached_input: Some(PerMTok(r[1].0.min(r[0].0))),
                cache_write: Some(r[2]),
                cache_write_1h: Some(r[3]),
                output: Some(r[4]),
                audio_input: Some(r[5]),
                cached_audio_input: Some(PerMTok(r[6].0.min(r[5].0))),
                audio_output: Some(r[7]),
                image_input: Some(r[8]),
                cached_image_input: Some(PerMTok(r[9].0.min(r[8].0))),
                image_output: Some(r[10]),
                per_minute: Some(r[11].0 / 1000),
                per_1m_characters: Some(r[12]),
                images: Cow::Owned(Vec::new()),
            };
            let long_context = match long {
                None => LongContext::None,
                Some((above, m)) => {
                    let up = |p: Option<PerMTok>, k: u64| p.map(|p| PerMTok(p.0 + p.0 * k / 2));
                    LongContext::Above {
                        above,
                        rates: Rates {
                            input: up(rates.input, m[0]),
                            cached_input: up(rates.cached_input, m[1]),
                            cache_write: up(rates.cache_write, m[2]),
                            output: up(rates.output, m[3]),
                            audio_input: up(rates.audio_input, m[4]),
                            ..Rates::default()
                        },
                    }
                }
            };
            Tariff { rates, long_context }
        })
}

/// The independent parts of a call, each a usage of one kind.
#[derive(Clone, Debug)]
struct Parts {
    text: u64,
    cached_text: u64,
    cache_write: u64,
    cache_write_1h: u64,
    audio: u64,
    cached_audio: u64,
    image: u64,
    cached_image: u64,
    text_out: u64,
    audio_out: u64,
    image_out: u64,
    reasoning: u64,
    ms: u64,
    chars: u64,
}

fn parts() -> impl Strategy<Value = Parts> {
    let n = || 0u64..2_000_000;
    (
        (n(), n(), n(), n(), n(), n(), n()),
        (n(), n(), n(), n(), n(), 0u64..10_000_000, n()),
    )
        .prop_map(|((text, cached_text, cache_write, cache_write_1h, audio, cached_audio, image), (cached_image, text_out, audio_out, image_out, reasoning, ms, chars))| Parts {
            text, cached_text, cache_write, cache_write_1h, audio, cached_audio, image, cached_image,
            text_out, audio_out, image_out, reasoning: reasoning.min(text_out), ms, chars,
        })
}

impl Parts {
    fn usage(&self) -> Usage {
        Usage {
            input_tokens: self.text + self.cached_text + self.cache_write + self.cache_write_1h + self.audio + self.cached_audio + self.image + self.cached_image,
            cached_input_tokens: self.cached_text + self.cached_audio + self.cached_image,
            cache_write_tokens: self.cache_write,
            cache_write_1h_tokens: self.cache_write_1h,
            audio_input_tokens: self.audio + self.cached_audio,
            cached_audio_input_tokens: self.cached_audio,
            image_input_tokens: self.image + self.cached_image,
            cached_image_input_tokens: self.cached_image,
            output_tokens: self.text_out + self.audio_out + self.image_out,
            reasoning_tokens: self.reasoning,
            audio_output_tokens: self.audio_out,
            image_output_tokens: self.image_out,
            audio_duration_ms: self.ms,
            characters: self.chars,
            ..Usage::default()
        }
    }

    /// Each part alone, as its own usage.
    fn split(&self) -> Vec<Usage> {
        let p = |f: &dyn Fn(&mut Parts)| {
            let mut z = Parts { text: 0, cached_text: 0, cache_write: 0, cache_write_1h: 0, audio: 0, cached_audio: 0, image: 0,
                                cached_image: 0, text_out: 0, audio_out: 0, image_out: 0, reasoning: 0, ms: 0, chars: 0 };
            f(&mut z);
            z.usage()
        };
        vec![
            p(&|z| z.text = self.text), p(&|z| z.cached_text = self.cached_text), p(&|z| z.cache_write = self.cache_write),
            p(&|z| z.cache_write_1h = self.cache_write_1h), p(&|z| z.audio = self.audio), p(&|z| z.cached_audio = self.cached_audio),
            p(&|z| z.image = self.image), p(&|z| z.cached_image = self.cached_image),
            p(&|z| { z.text_out = self.text_out; z.reasoning = self.reasoning; }),
            p(&|z| z.audio_out = self.audio_out), p(&|z| z.image_out = self.image_out),
            // Units are billed when the usage has no tokens, or always when priced per unit
            // (the tariffs here have both prices).
            p(&|z| z.ms = self.ms), p(&|z| z.chars = self.chars),
        ]
    }
}

fn short(t: &Tariff) -> Tariff {
    Tariff { rates: t.rates.clone(), long_context: LongContext::None }
}

proptest! {
    /// Pricing a call equals the sum of pricing each of its parts: exactly before rounding,
    /// and the cost is that exact sum rounded once.
    #[test]
    fn a_call_costs_the_sum_of_its_parts(parts in parts(), t in tariff()) {
        let t = short(&t);
        let whole = quote(&parts.usage(), &t).unwrap();
        let sum: u128 = parts.split().iter().map(|u| quote(u, &t).unwrap().exact).sum();
        prop_assert_eq!(whole.exact, sum);
        prop_assert_eq!(whole.exact, whole.lines.iter().map(|l| l.exact).sum::<u128>());
        prop_assert_eq!(Some(whole.cost), round_exact(sum));
    }

    /// Two calls priced together cost what they cost apart (below the long-context
    /// threshold, where the rate does not depend on the size of the call).
    #[test]
    fn pricing_is_additive_across_calls(a in parts(), b in parts(), t in tariff()) {
        let t = short(&t);
        let (ua, ub) = (a.usage(), b.usage());
        let both = Usage {
            input_tokens: ua.input_tokens + ub.input_tokens,
            cached_input_tokens: ua.cached_input_tokens + ub.cached_input_tokens,
            cache_write_tokens: ua.cache_write_tokens + ub.cache_write_tokens,
            cache_write_1h_tokens: ua.cache_write_1h_tokens + ub.cache_write_1h_tokens,
            audio_input_tokens: ua.audio_input_tokens + ub.audio_input_tokens,
            cached_audio_input_tokens: ua.cached_audio_input_tokens + ub.cached_audio_input_tokens,
            image_input_tokens: ua.image_input_tokens + ub.image_input_tokens,
            cached_image_input_tokens: ua.cached_image_input_tokens + ub.cached_image_input_tokens,
            output_tokens: ua.output_tokens + ub.output_tokens,
            reasoning_tokens: ua.reasoning_tokens + ub.reasoning_tokens,
            audio_output_tokens: ua.audio_output_tokens + ub.audio_output_tokens,
            image_output_tokens: ua.image_output_tokens + ub.image_output_tokens,
            audio_duration_ms: ua.audio_duration_ms + ub.audio_duration_ms,
            characters: ua.characters + ub.characters,
            ..Usage::default()
        };
        let q = |u: &Usage| quote(u, &t).unwrap().exact;
        prop_assert_eq!(q(&both), q(&ua) + q(&ub));
    }

    /// Adding tokens of any kind (or audio time, or characters) never lowers the cost, and
    /// no cost is negative, long-context rates included.
    #[test]
    fn cost_is_monotonic_in_every_kind_of_usage(parts in parts(), t in tariff(), extra in 1u64..300_000, kind in 0usize..13) {
        let base = quote(&parts.usage(), &t).unwrap();
        let mut more = parts.clone();
        let slot = [&mut more.text, &mut more.cached_text, &mut more.cache_write, &mut more.cache_write_1h, &mut more.audio,
                    &mut more.cached_audio, &mut more.image, &mut more.cached_image, &mut more.text_out, &mut more.audio_out,
                    &mut more.image_out, &mut more.ms, &mut more.chars];
        *slot.into_iter().nth(kind).unwrap() += extra;
        let after = quote(&more.usage(), &t).unwrap();
        prop_assert!(after.exact >= base.exact, "{kind}: {} < {}", after.exact, base.exact);
        prop_assert!(after.cost >= base.cost);
    }

    /// A model that is not in the book is unpriced whatever the usage, the day or the tier:
    /// never a silent $0.
    #[test]
    fn an_unpriced_model_never_yields_zero(parts in parts(), suffix in "[a-z0-9-]{1,20}", day in 20200101u32..20301231, tier in 0usize..5) {
        let book = PriceBook::registry();
        let tiers = [ServiceTier::Standard, ServiceTier::Batch, ServiceTier::Flex, ServiceTier::Priority, ServiceTier::Other];
        let u = Usage { service_tier: tiers[tier], ..parts.usage() };
        let model = format!("zz-not-a-model-{suffix}");
        let c = book.price("openai", &model, Day(day), Some(&u));
        prop_assert_eq!(c.cost(), None);
        let c = book.price("openai", &model, Day(day), None);
        prop_assert_eq!(c.cost(), None);
    }

    /// Every registry entry prices any usage without panicking; a paid model with paid
    /// tokens never comes out at $0.
    #[test]
    fn registry_entries_price_any_usage(idx in 0usize..10_000, text in 0u64..5_000_000, out in 0u64..5_000_000) {
        let e = &REGISTRY[idx % REGISTRY.len()];
        let u = Usage { input_tokens: text, output_tokens: out, ..Usage::default() };
        if let Ok(q) = quote(&u, &e.standard) {
            let paid_in = e.standard.rates.input.is_some_and(|p| p.0 >= 1_000) && text > 0;
            prop_assert!(!paid_in || q.cost.nanos() > 0, "{} priced {text} input tokens at 0", e.reference());
        }
    }
}
