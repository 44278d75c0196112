//! Property tests of the rules that take untrusted input or compute money.

use llmobserve_core::attribution::{parse_attribution, SectionPath, TenantId};
use llmobserve_core::money::{NanoUsd, PerMTok};
use llmobserve_core::pricing::{cost_of, snapshot_family, Price};
use llmobserve_core::usage::{response_facts, Usage};
use proptest::prelude::*;

fn price() -> impl Strategy<Value = Price> {
    (0u64..=100_000_000_000, 0u64..=100_000_000_000, 0u64..=300_000_000_000).prop_map(|(i, c, o)| Price {
        input: PerMTok(i),
        cached_input: PerMTok(c.min(i)),
        output: PerMTok(o),
    })
}

fn usage() -> impl Strategy<Value = Usage> {
    (0u64..=10_000_000, 0u64..=10_000_000, 0u64..=10_000_000).prop_map(|(input, cached, output)| Usage {
        input_tokens: input,
        cached_input_tokens: cached.min(input),
        output_tokens: output,
        ..Usage::default()
    })
}

proptest! {
    /// The cost is the exact rational sum rounded half up once: |cost x 10^6 - exact| <= 5 x 10^5.
    #[test]
    fn cost_is_the_exactly_rounded_sum(u in usage(), p in price()) {
        let exact = u128::from(u.input_tokens - u.cached_input_tokens) * u128::from(p.input.0)
            + u128::from(u.cached_input_tokens) * u128::from(p.cached_input.0)
            + u128::from(u.output_tokens) * u128::from(p.output.0);
        let cost = u128::from(cost_of(&u, &p).unwrap().nanos()) * 1_000_000;
        prop_assert!(cost + 500_000 > exact && cost <= exact + 500_000, "cost {cost} exact {exact}");
    }

    /// Caching never makes a call more expensive, and more tokens never cost less.
    #[test]
    fn cost_is_monotonic(u in usage(), p in price(), extra in 0u64..1000) {
        let base = cost_of(&u, &p).unwrap();
        let more_out = Usage { output_tokens: u.output_tokens + extra, ..u };
        prop_assert!(cost_of(&more_out, &p).unwrap() >= base);
        let uncached = Usage { cached_input_tokens: 0, ..u };
        prop_assert!(cost_of(&uncached, &p).unwrap() >= base);
    }

    #[test]
    fn usd_strings_round_trip(n in 0u64..=llmobserve_core::money::MAX_SAFE_INTEGER) {
        let c = NanoUsd::new(n).unwrap();
        prop_assert_eq!(NanoUsd::parse_usd(&c.to_usd_string()).unwrap(), c);
    }

    /// Untrusted text never panics the parsers; what they accept, they accept again.
    #[test]
    fn parsers_never_panic(s in "\\PC{0,80}", bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = snapshot_family(&s);
        let _ = response_facts(&bytes);
        let _ = response_facts(s.as_bytes());
        if let Ok(p) = SectionPath::parse(&s) {
            prop_assert_eq!(SectionPath::parse(p.as_str()).unwrap(), p.clone());
            let _ = p.retry_attempt();
        }
        let _ = TenantId::parse(&s);
        let _ = parse_attribution([("x-llmobserve-section", s.as_str()), ("X-LLMOBSERVE-ATTEMPT", s.as_str())]);
    }

    /// Any path built from valid segments is valid, and keeps its segments.
    #[test]
    fn valid_segments_make_valid_paths(segs in proptest::collection::vec("[a-z0-9][a-z0-9_:.-]{0,20}", 1..16)) {
        let path = segs.join("/");
        let p = SectionPath::parse(&path).unwrap();
        prop_assert_eq!(p.segments().collect::<Vec<_>>(), segs.iter().map(String::as_str).collect::<Vec<_>>());
    }
}
