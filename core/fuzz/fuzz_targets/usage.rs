//! Upstream's response bodies (untrusted JSON): the usage read from them against what a
//! generic JSON reading of the same body says, per endpoint (`call_usage`), finished
//! batches, and the normalisation of Anthropic's and Gemini's usage.
#![no_main]

use libfuzzer_sys::fuzz_target;
use llmobserve_core::endpoints::{call_usage, BatchBilling};
use llmobserve_core::gateway::RequestFacts;
use llmobserve_core::pricing::price_usage;
use llmobserve_core::time::Day;
use llmobserve_core::usage::{response_facts, ServiceTier, Usage, UsageSource};
use serde_json::Value;

#[path = "common.rs"]
mod common;

const ENDPOINTS: &[&str] = &[
    "/v1/chat/completions",
    "/v1/responses",
    "/v1/embeddings",
    "/v1/images/generations",
    "/v1/audio/transcriptions",
    "/v1/audio/speech",
    "/v1/moderations",
    "/v1/batches/batch_1",
];

/// The first of `keys` that is present and not null in `obj`.
fn first<'a>(obj: &'a Value, keys: &[&str]) -> Option<&'a Value> {
    keys.iter().find_map(|k| obj.get(*k).filter(|v| !v.is_null()))
}

fn count(obj: Option<&Value>, key: &str) -> u64 {
    obj.and_then(|o| o.get(key)).and_then(Value::as_u64).unwrap_or(0)
}

/// The usage a body reports, read from a generic JSON value.
fn check_usage(body: &Value, u: &Usage) {
    let raw = body.get("usage").expect("usage without a usage member");
    let input = first(raw, &["prompt_tokens", "input_tokens"]).and_then(Value::as_u64);
    let output = first(raw, &["completion_tokens", "output_tokens"]).and_then(Value::as_u64);
    let seconds = raw.get("seconds").filter(|v| !v.is_null());
    assert!(input.is_some() || output.is_some() || seconds.is_some(), "usage from a usage object without counts");
    assert_eq!(u.input_tokens, input.unwrap_or(0));
    assert_eq!(u.output_tokens, output.unwrap_or(0));
    let inp = first(raw, &["prompt_tokens_details", "input_tokens_details", "input_token_details"]);
    let out = first(raw, &["completion_tokens_details", "output_tokens_details"]);
    assert_eq!(u.cached_input_tokens, count(inp, "cached_tokens"));
    assert_eq!(u.audio_input_tokens, count(inp, "audio_tokens"));
    assert_eq!(u.image_input_tokens, count(inp, "image_tokens"));
    assert_eq!(u.cache_write_tokens, count(inp, "cache_write_tokens"));
    let cached = inp.and_then(|d| d.get("cached_tokens_details"));
    assert_eq!(u.cached_audio_input_tokens, count(cached, "audio_tokens"));
    assert_eq!(u.cached_image_input_tokens, count(cached, "image_tokens"));
    assert_eq!(u.reasoning_tokens, count(out, "reasoning_tokens"));
    assert_eq!(u.audio_output_tokens, count(out, "audio_tokens"));
    assert_eq!(u.image_output_tokens, count(out, "image_tokens"));
    if let Some(s) = seconds.and_then(Value::as_u64) {
        assert_eq!(Some(u.audio_duration_ms), s.checked_mul(1000).or(Some(0)));
    }
    let tier = body.get("service_tier").and_then(Value::as_str);
    let want = match tier.map(str::to_ascii_lowercase).as_deref() {
        None => ServiceTier::Standard,
        Some("default" | "auto" | "standard" | "on_demand") => ServiceTier::Standard,
        Some("batch") => ServiceTier::Batch,
        Some("flex") => ServiceTier::Flex,
        Some("priority") => ServiceTier::Priority,
        Some(_) => ServiceTier::Other,
    };
    assert_eq!(u.service_tier, want);
}

fuzz_target!(|data: &[u8]| {
    let facts = response_facts(data);
    // serde skips ignored members without checking their UTF-8, so the reference reads
    // the body with invalid UTF-8 replaced.
    let value: Option<Value> = serde_json::from_str(&String::from_utf8_lossy(data)).ok();
    if let (Some(v), true) = (&value, facts.model.is_some() || facts.usage.is_some()) {
        assert_eq!(facts.model.as_deref(), v.get("model").and_then(Value::as_str));
        if let Some(u) = &facts.usage {
            check_usage(v, u);
        }
    }

    let request = RequestFacts::from_body(data);
    for endpoint in ENDPOINTS {
        for response in [Some(data), None] {
            let (f, source) = call_usage(endpoint, &request, response);
            assert_eq!(source == UsageSource::Reported, f.usage.is_some());
            if endpoint.starts_with("/v1/batches") {
                assert_eq!(f.usage, None, "a batch call is billed by its own event");
            }
            if response.is_none() && !matches!(*endpoint, "/v1/images/generations" | "/v1/audio/speech") {
                assert_eq!(f.usage, None, "usage without a response on {endpoint}");
            }
            if matches!(*endpoint, "/v1/chat/completions" | "/v1/responses" | "/v1/embeddings") {
                assert_eq!(f, if response.is_some() { facts.clone() } else { Default::default() });
            }
            if let Some(u) = f.usage {
                // Whatever the body says, pricing it never panics and never overflows.
                let _ = price_usage("openai", "gpt-4o-mini", Day(20260101), Some(&u));
            }
        }
    }

    if let (Some(b), Some(v)) = (BatchBilling::from_response(data), &value) {
        assert_eq!(v.get("object").and_then(Value::as_str), Some("batch"));
        assert!(matches!(v.get("status").and_then(Value::as_str), Some("completed" | "expired" | "cancelled")));
        assert_eq!(v.get("id").and_then(Value::as_str), Some(b.batch_id.as_str()));
        assert_eq!(b.usage.service_tier, ServiceTier::Batch);
        assert!(b.usage.input_tokens > 0 || b.usage.output_tokens > 0);
    }

    // Anthropic and Gemini report their counts apart; normalised, every part is within
    // its whole (saturating, never wrapping).
    let n = common::tail_u64s(data, 5);
    let a = Usage::from_anthropic(n[0], n[1], n[2], n[3], n[4]);
    assert_eq!(u128::from(a.input_tokens), (u128::from(n[0]) + u128::from(n[1]) + u128::from(n[2]) + u128::from(n[3])).min(u128::from(u64::MAX)));
    assert!(a.cached_input_tokens <= a.input_tokens && a.cache_write_tokens <= a.input_tokens);
    assert_eq!(a.output_tokens, n[4]);
    let g = Usage::from_gemini(n[0], n[1], n[2], n[3]);
    assert_eq!(g.output_tokens, n[2].saturating_add(n[3]));
    assert!(g.reasoning_tokens <= g.output_tokens);
    for (provider, model, u) in [("anthropic", "claude-sonnet-4-5", a), ("google", "gemini-2.5-pro", g)] {
        let _ = price_usage(provider, model, Day(20260101), Some(&u));
    }
});
