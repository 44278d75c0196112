//! Price override documents (`PUT /pricing/{model}`, untrusted JSON from an admin): what
//! compiles holds exactly the decimals written, tiers scale exactly, and pricing any usage
//! with it never panics or overflows: each line is quantity x rate, the cost their sum
//! rounded once.
#![no_main]

use libfuzzer_sys::fuzz_target;
use llmobserve_core::money::MAX_SAFE_INTEGER;
use llmobserve_core::pricing::spec::{EntrySpec, Origin, PriceEntry, Rates, RatesSpec};
use llmobserve_core::pricing::{entry_json, quote, PriceBook, Tariff, EXACT_PER_NANO};
use llmobserve_core::time::Day;
use llmobserve_core::usage::Usage;
use serde_json::Value;

#[path = "common.rs"]
mod common;

fn check_rates(spec: &RatesSpec, r: &Rates) {
    let per_m = |s: &Option<String>| s.as_deref().map(|t| common::ref_billionths(t).expect("compiled a bad decimal"));
    assert_eq!(r.input.map(|p| p.0), per_m(&spec.input));
    assert_eq!(r.cached_input.map(|p| p.0), per_m(&spec.cached_input));
    assert_eq!(r.output.map(|p| p.0), per_m(&spec.output));
    assert_eq!(r.cache_write.map(|p| p.0), per_m(&spec.cache_write));
    assert_eq!(r.audio_input.map(|p| p.0), per_m(&spec.audio_input));
    assert_eq!(r.per_minute, per_m(&spec.per_minute));
    assert_eq!(r.images.len(), spec.images.as_ref().map_or(0, Vec::len));
    if let (Some(c), Some(i)) = (r.cached_input, r.input) {
        assert!(c <= i);
    }
}

fn usages(n: &[u64]) -> Vec<Usage> {
    let small = |x: u64| x % 2_000_000;
    let a = Usage {
        input_tokens: small(n[0]) + small(n[1]),
        cached_input_tokens: small(n[1]),
        output_tokens: small(n[2]) + small(n[3]),
        reasoning_tokens: small(n[3]),
        audio_duration_ms: small(n[4]),
        characters: small(n[5]),
        ..Usage::default()
    };
    let b = Usage {
        input_tokens: n[0],
        cached_input_tokens: n[1].min(n[0]),
        output_tokens: n[2],
        audio_duration_ms: n[4],
        characters: n[5],
        ..Usage::default()
    };
    vec![a, b, Usage::default()]
}

fn check_quote(u: &Usage, t: &Tariff) {
    if let Ok(q) = quote(u, t) {
        let mut sum = 0u128;
        for l in &q.lines {
            assert!(l.quantity > 0);
            sum += l.exact;
            // Per million units, per minute or hour of milliseconds, or per unit.
            let qr = u128::from(l.quantity) * u128::from(l.rate);
            let per = [EXACT_PER_NANO / 1_000_000, EXACT_PER_NANO / 60_000, EXACT_PER_NANO / 3_600_000, EXACT_PER_NANO];
            assert!(per.iter().any(|p| qr * p == l.exact), "line {l:?}");
        }
        assert_eq!(q.exact, sum);
        assert_eq!(u128::from(q.cost.nanos()), (sum + EXACT_PER_NANO / 2) / EXACT_PER_NANO);
        assert!(q.cost.nanos() <= MAX_SAFE_INTEGER);
    }
}

fn check_entry(spec: &EntrySpec, e: &PriceEntry, n: &[u64]) {
    assert_eq!(e.model, spec.model.as_str());
    assert_eq!(e.provider, spec.provider.as_str());
    assert_eq!(e.effective_from.to_iso(), spec.effective_from);
    check_rates(&spec.rates(), &e.standard.rates);
    let _ = entry_json(e);
    for (tier, t) in [(&spec.batch, &e.batch), (&spec.flex, &e.flex), (&spec.priority, &e.priority)] {
        assert_eq!(tier.is_some(), t.is_some());
        if let (Some(llmobserve_core::pricing::spec::TierSpec::Percent(p)), Some(t)) = (tier, t) {
            // A percentage tier is the standard rates scaled exactly.
            let pct = common::ref_billionths(p.trim_end_matches('%')).expect("percent");
            for (s, x) in [(e.standard.rates.input, t.rates.input), (e.standard.rates.output, t.rates.output)] {
                if let (Some(s), Some(x)) = (s, x) {
                    assert_eq!(u128::from(x.0) * 100 * 1_000_000_000, u128::from(s.0) * u128::from(pct));
                }
            }
        }
    }
    for u in usages(n) {
        for t in [Some(&e.standard), e.batch.as_ref(), e.flex.as_ref(), e.priority.as_ref()].into_iter().flatten() {
            check_quote(&u, t);
        }
        let book = PriceBook::with_overrides(vec![e.clone()], 1);
        let _ = book.price(&e.provider, &e.model, Day(99991231), Some(&u));
    }
}

fuzz_target!(|data: &[u8]| {
    let n = common::tail_u64s(data, 6);
    if let Ok(spec) = serde_json::from_slice::<EntrySpec>(data) {
        if let Ok(e) = spec.compile(Origin::Override) {
            check_entry(&spec, &e, &n);
        }
    }
    // As `PUT /pricing/{model}` reads it: the path gives the model, provider and source
    // default, so the fuzzer reaches the prices themselves.
    if let Ok(mut body) = serde_json::from_slice::<serde_json::Map<String, Value>>(data) {
        body.entry("model").or_insert_with(|| Value::from("gpt-fuzz"));
        body.entry("provider").or_insert_with(|| Value::from("openai"));
        body.entry("source").or_insert_with(|| Value::from("fuzz"));
        body.entry("effective_from").or_insert_with(|| Value::from("2026-01-01"));
        if let Ok(spec) = serde_json::from_value::<EntrySpec>(Value::Object(body)) {
            if let Ok(e) = spec.compile(Origin::Override) {
                check_entry(&spec, &e, &n);
            }
        }
    }
});
