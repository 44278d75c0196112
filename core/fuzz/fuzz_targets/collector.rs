//! The collector's batches (untrusted JSON from applications): every accepted event is
//! within the documented limits, and its time agrees with a strict RFC 3339 reading.
#![no_main]

use libfuzzer_sys::fuzz_target;
use llmobserve_core::attribution::{SectionPath, MAX_ATTEMPT};
use llmobserve_core::collector::{parse_batch, ReportedEvent, MAX_BATCH};
use llmobserve_core::time::UnixMillis;
use llmobserve_core::usage::UsageSource;
use serde_json::Value;

#[path = "common.rs"]
mod common;

const NOW: UnixMillis = UnixMillis(1_795_900_000_000);
const DAY_MS: i64 = 86_400_000;

fn check_event(raw: &Value, e: &ReportedEvent) {
    let s = |k: &str| raw.get(k).and_then(Value::as_str);
    assert_eq!(Some(e.client_id.as_str()), s("id"));
    assert!(!e.client_id.is_empty() && e.client_id.len() <= 128);
    assert!(e.client_id.bytes().all(|b| b.is_ascii_alphanumeric() || b"._:-/".contains(&b)));
    assert_eq!(Some(e.provider.as_str()), s("provider"));
    assert!(!e.provider.is_empty() && e.provider.len() <= 64 && !e.provider.bytes().any(|b| b.is_ascii_uppercase()));
    assert!(!e.model.is_empty() && e.model.len() <= 128 && !e.model.chars().any(char::is_control));
    assert!(e.endpoint.len() <= 128 && !e.endpoint.chars().any(char::is_control));
    assert!((100..=599).contains(&e.status_code));
    assert!(e.started_at.0 >= 0 && e.started_at.0 <= NOW.0 + DAY_MS);
    match raw.get("started_at") {
        Some(Value::String(t)) => {
            assert_eq!(Some(e.started_at.0), common::ref_rfc3339(t, usize::MAX, true), "started_at {t:?}");
        }
        Some(v) => assert_eq!(v.as_i64(), Some(e.started_at.0)),
        None => panic!("an event without started_at was accepted"),
    }
    match &e.usage {
        None => assert_eq!(e.usage_source, UsageSource::Missing),
        Some(u) => {
            assert_ne!(e.usage_source, UsageSource::Missing);
            for n in [u.input_tokens, u.cached_input_tokens, u.output_tokens, u.reasoning_tokens, u.audio_input_tokens,
                u.audio_output_tokens, u.cache_write_tokens, u.cache_write_1h_tokens, u.audio_duration_ms, u.characters] {
                assert!(n <= 1 << 40);
            }
            assert!(u.cached_input_tokens + u.cache_write_tokens + u.cache_write_1h_tokens <= u.input_tokens);
            assert!(u.audio_input_tokens <= u.input_tokens);
            assert!(u.reasoning_tokens <= u.output_tokens && u.audio_output_tokens <= u.output_tokens);
        }
    }
    let a = &e.attribution;
    assert_eq!(a.tenant, e.tenant);
    for (id, key) in [
        (a.tenant.as_ref().map(|t| t.as_str()), "tenant_id"),
        (a.customer.as_ref().map(|t| t.as_str()), "customer_id"),
        (a.run_id.as_ref().map(|t| t.as_str()), "run_id"),
    ] {
        assert_eq!(id, s(key));
        if let Some(id) = id {
            assert!(common::ref_id(id, 128, b"-._:@+"), "{key} {id:?}");
        }
    }
    assert_eq!(a.section.as_ref().map(SectionPath::as_str), s("section"));
    if let Some(sec) = &a.section {
        assert!(common::ref_section(sec.as_str()));
    }
    if let Some(n) = a.attempt {
        assert!((1..=MAX_ATTEMPT).contains(&n));
    }
    let given = raw.get("properties").and_then(Value::as_object).map_or(0, |m| m.len());
    assert_eq!(a.properties.iter().count(), given);
}

fn check(body: &[u8]) {
    let Ok(results) = parse_batch(body, NOW) else { return };
    let v: Value = serde_json::from_slice(body).expect("a batch that is not JSON");
    let events = v.get("events").and_then(Value::as_array).expect("a batch without events");
    assert!(results.len() <= MAX_BATCH);
    assert_eq!(results.len(), events.len());
    for (i, (r, raw)) in results.iter().zip(events).enumerate() {
        match r {
            Ok(e) => check_event(raw, e),
            Err(err) => assert!(err.param.starts_with(&format!("events[{i}]")), "{err:?}"),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    check(data);
    // The same bytes as the time of an otherwise valid event: times are what the fuzzer
    // would otherwise rarely reach.
    if let Ok(t) = std::str::from_utf8(data) {
        let body = serde_json::json!({"events": [{"id": "e1", "provider": "openai", "model": "gpt-4o", "started_at": t}]});
        let body = body.to_string();
        check(body.as_bytes());
        let accepted = parse_batch(body.as_bytes(), NOW).ok().and_then(|mut r| r.pop()).and_then(Result::ok);
        let want = common::ref_rfc3339(t, usize::MAX, true).filter(|ms| *ms >= 0 && *ms <= NOW.0 + DAY_MS);
        assert_eq!(accepted.map(|e| e.started_at.0), want, "started_at {t:?}");
    }
});
