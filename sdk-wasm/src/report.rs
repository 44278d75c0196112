//! Events that the application reports itself to the collector (`POST /v1/events`, see
//! docs/collector.md): checked here, at the call site, so that a mistake is an error where
//! it was made rather than a rejected event in a background batch later.
//!
//! Invariant: `prepare_event` returns only events in the collector's documented format,
//! with an id (so that a resent batch is idempotent) and the attribution of the context it
//! was reported in, unless the event states its own. Attribution fields are validated by
//! core's types, the same code the gateway and the collector run.

use llmobserve_core::attribution::{CustomerId, RunId, SectionPath, TenantId, MAX_ATTEMPT};
use llmobserve_core::event::Outcome;
use llmobserve_core::keys::event_id;
use llmobserve_core::time::UnixMillis;
use llmobserve_core::usage::UsageSource;
use serde_json::{Map, Value};

use crate::context::Context;

/// At most this many events per `POST /v1/events`.
pub const MAX_BATCH_EVENTS: usize = 1000;
const MAX_EVENT_ID_LEN: usize = 128;
const MAX_PROPERTIES: usize = 16;
/// Integers above this lose precision in JavaScript and in D1.
const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

const USAGE_FIELDS: [&str; 6] = [
    "input_tokens",
    "cached_input_tokens",
    "output_tokens",
    "reasoning_tokens",
    "audio_input_tokens",
    "audio_output_tokens",
];
const OUTCOMES: [Outcome; 5] = [
    Outcome::Completed,
    Outcome::StreamCancelled,
    Outcome::StreamInterrupted,
    Outcome::UpstreamUnreachable,
    Outcome::UpstreamTimeout,
];
/// `missing` is the collector's own verdict when there is no usage, not a value to send.
const USAGE_SOURCES: [UsageSource; 2] = [UsageSource::Reported, UsageSource::Estimated];

/// A bad reported event: the field (`usage.input_tokens`) and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventError {
    pub field: String,
    pub reason: String,
}

impl std::fmt::Display for EventError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid event field `{}`: {}", self.field, self.reason)
    }
}

impl std::error::Error for EventError {}

fn bad(field: &str, reason: impl Into<String>) -> EventError {
    EventError { field: field.to_owned(), reason: reason.into() }
}

fn string<'a>(field: &str, v: &'a Value) -> Result<&'a str, EventError> {
    v.as_str().ok_or_else(|| bad(field, "must be a string"))
}

fn whole(field: &str, v: &Value, max: u64) -> Result<u64, EventError> {
    v.as_u64()
        .filter(|n| *n <= max)
        .ok_or_else(|| bad(field, format!("must be a whole number from 0 to {max}")))
}

fn check_event_id(id: &str) -> Result<(), EventError> {
    let ok = (1..=MAX_EVENT_ID_LEN).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(bad("id", format!("must be 1 to {MAX_EVENT_ID_LEN} of letters, digits and . _ : -")))
    }
}

fn check_provider(p: &str) -> Result<(), EventError> {
    let ok = (1..=64).contains(&p.len())
        && p.as_bytes()[0].is_ascii_lowercase()
        && p.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(bad("provider", "must be a lower-case provider id such as `openai` or `anthropic`"))
    }
}

fn check_text(field: &str, v: &str, max: usize) -> Result<(), EventError> {
    if v.is_empty() || v.len() > max || v.chars().any(char::is_control) {
        return Err(bad(field, format!("must be 1 to {max} characters, without control characters")));
    }
    Ok(())
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)`: the shape, not the calendar; the
/// collector parses the instant.
fn looks_like_rfc3339(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| b.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    let head = b.len() >= 20
        && digits(0..4) && b[4] == b'-' && digits(5..7) && b[7] == b'-' && digits(8..10)
        && matches!(b[10], b'T' | b't') && digits(11..13) && b[13] == b':' && digits(14..16)
        && b[16] == b':' && digits(17..19);
    if !head {
        return false;
    }
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return false;
        }
        rest = &frac[n..];
    }
    matches!(rest, "Z" | "z")
        || (rest.len() == 6
            && matches!(rest.as_bytes()[0], b'+' | b'-')
            && rest.as_bytes()[3] == b':'
            && rest[1..3].bytes().chain(rest[4..6].bytes()).all(|c| c.is_ascii_digit()))
}

fn check_properties(v: &Value) -> Result<(), EventError> {
    let map = v.as_object().ok_or_else(|| bad("properties", "must be an object of string values"))?;
    if map.len() > MAX_PROPERTIES {
        return Err(bad("properties", format!("at most {MAX_PROPERTIES} properties")));
    }
    for (name, value) in map {
        let field = format!("properties.{name}");
        let name_ok = (1..=64).contains(&name.len())
            && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_-".contains(&b));
        if !name_ok {
            return Err(bad(&field, "a property name is 1 to 64 of a-z 0-9 _ -"));
        }
        let value = string(&field, value)?;
        if value.is_empty() || value.len() > 256 || !value.bytes().all(|b| (0x20..0x7f).contains(&b)) {
            return Err(bad(&field, "a property value is 1 to 256 printable ASCII characters"));
        }
    }
    Ok(())
}

fn check_usage(v: &Value) -> Result<(), EventError> {
    let map = v.as_object().ok_or_else(|| bad("usage", "must be an object"))?;
    for (k, n) in map {
        if !USAGE_FIELDS.contains(&k.as_str()) {
            return Err(bad(&format!("usage.{k}"), format!("unknown usage field; known: {}", USAGE_FIELDS.join(", "))));
        }
        whole(&format!("usage.{k}"), n, MAX_SAFE_INTEGER)?;
    }
    Ok(())
}

/// Checks one field of a reported event; an unknown field is an error, like a misspelt
/// header: it would otherwise be dropped silently.
fn check_field(key: &str, v: &Value) -> Result<(), EventError> {
    let attribution = |e: llmobserve_core::attribution::AttributionError| bad(key, e.reason);
    match key {
        "id" => check_event_id(string(key, v)?),
        "provider" => check_provider(string(key, v)?),
        "model" => check_text(key, string(key, v)?, 256),
        "endpoint" => {
            let e = string(key, v)?;
            check_text(key, e, 256)?;
            if e.starts_with('/') { Ok(()) } else { Err(bad(key, "must be a path starting with `/`")) }
        }
        "started_at" => match v {
            Value::String(s) if looks_like_rfc3339(s) => Ok(()),
            Value::Number(_) => whole(key, v, MAX_SAFE_INTEGER).map(drop),
            _ => Err(bad(key, "must be an RFC 3339 time (2026-11-28T10:00:00.000Z) or Unix milliseconds")),
        },
        "latency_ms" => whole(key, v, MAX_SAFE_INTEGER).map(drop),
        "status_code" => match whole(key, v, 599)? {
            100..=599 => Ok(()),
            _ => Err(bad(key, "must be an HTTP status from 100 to 599")),
        },
        "stream" => v.as_bool().map(drop).ok_or_else(|| bad(key, "must be true or false")),
        "outcome" => {
            let o = string(key, v)?;
            if OUTCOMES.iter().any(|x| x.as_str() == o) {
                Ok(())
            } else {
                let known: Vec<_> = OUTCOMES.iter().map(|x| x.as_str()).collect();
                Err(bad(key, format!("must be one of {}", known.join(", "))))
            }
        }
        "usage" => check_usage(v),
        "usage_source" => {
            let s = string(key, v)?;
            if USAGE_SOURCES.iter().any(|x| x.as_str() == s) {
                Ok(())
            } else {
                Err(bad(key, "must be `reported` or `estimated`"))
            }
        }
        "tenant_id" => TenantId::parse(string(key, v)?).map(drop).map_err(attribution),
        "customer_id" => CustomerId::parse(string(key, v)?).map(drop).map_err(attribution),
        "section" => SectionPath::parse(string(key, v)?).map(drop).map_err(attribution),
        "run_id" => RunId::parse(string(key, v)?).map(drop).map_err(attribution),
        "attempt" => match whole(key, v, u64::from(MAX_ATTEMPT))? {
            0 => Err(bad(key, format!("must be a whole number from 1 to {MAX_ATTEMPT}"))),
            _ => Ok(()),
        },
        "properties" => check_properties(v),
        _ => Err(bad(key, "unknown field (see docs/collector.md)")),
    }
}

/// Validates a reported event and completes it from its context: an id when it has none
/// (UUIDv7 from `unix_ms` and `random`), `started_at` (now), and the context's tenant,
/// customer, section, run id and retry attempt for each of those the event does not state.
pub fn prepare_event(event: Value, ctx: &Context, unix_ms: u64, random: &[u8; 10]) -> Result<Value, EventError> {
    let Value::Object(mut map) = event else {
        return Err(bad("event", "must be an object"));
    };
    // A JavaScript `undefined` or an explicit null means "not given".
    map.retain(|_, v| !v.is_null());
    for (k, v) in &map {
        check_field(k, v)?;
    }
    for required in ["provider", "model"] {
        if !map.contains_key(required) {
            return Err(bad(required, "is required"));
        }
    }
    let mut fill = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            map.entry(k.to_owned()).or_insert(v);
        }
    };
    fill("id", Some(Value::from(event_id(unix_ms, random))));
    fill("started_at", Some(Value::from(UnixMillis(i64::try_from(unix_ms).unwrap_or(i64::MAX)).to_rfc3339())));
    fill("tenant_id", ctx.tenant().map(Value::from));
    fill("customer_id", ctx.customer().map(Value::from));
    fill("section", ctx.section().map(Value::from));
    fill("run_id", ctx.run_id().map(Value::from));
    // The attempt follows the section the event ends up with, as in the gateway.
    let attempt = match map.get("section").and_then(Value::as_str) {
        Some(s) => SectionPath::parse(s).ok().and_then(|p| p.retry_attempt()),
        None => None,
    };
    if let Some(n) = attempt {
        map.entry("attempt".to_owned()).or_insert(Value::from(n));
    }
    Ok(Value::Object(map))
}

/// The body of one `POST /v1/events` from prepared events.
pub fn batch_body(events: Vec<Value>) -> Value {
    let mut body = Map::new();
    body.insert("events".to_owned(), Value::Array(events));
    Value::Object(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ctx() -> Context {
        Context::new_run(1_764_290_458_123, &[3; 10]).unwrap()
            .with_tenant("acme-corp").unwrap()
            .with_customer("alice").unwrap()
            .with_section("agent:a").unwrap()
            .with_retry_attempt("call", 2).unwrap()
    }

    #[test]
    fn an_event_is_completed_from_its_context() {
        let e = prepare_event(
            json!({"provider": "anthropic", "model": "claude-sonnet-4-5", "usage": {"input_tokens": 10, "output_tokens": 2}, "latency_ms": 5, "customer_id": null}),
            &ctx(), 1_764_290_458_123, &[9; 10]).unwrap();
        assert_eq!(e["tenant_id"], "acme-corp");
        assert_eq!(e["customer_id"], "alice", "null means not given");
        assert_eq!(e["section"], "agent:a/retry:call:attempt_2");
        assert_eq!(e["attempt"], 2);
        assert_eq!(e["run_id"], ctx().run_id().unwrap());
        assert_eq!(e["started_at"], "2025-11-28T00:40:58.123Z");
        assert_eq!(e["id"].as_str().unwrap().len(), 36);
    }

    #[test]
    fn what_the_event_states_wins_over_its_context() {
        let e = prepare_event(
            json!({"id": "evt-1", "provider": "openai", "model": "gpt-4o", "tenant_id": "bigco-inc", "section": "tool:x", "started_at": 1_700_000_000_000u64}),
            &ctx(), 0, &[0; 10]).unwrap();
        assert_eq!(e["id"], "evt-1");
        assert_eq!(e["tenant_id"], "bigco-inc");
        assert_eq!(e["section"], "tool:x");
        assert_eq!(e.get("attempt"), None, "the attempt follows the event's own section");
        assert_eq!(e["started_at"], 1_700_000_000_000u64);
    }

    #[test]
    fn mistakes_name_the_field() {
        let c = Context::new();
        let cases = [
            (json!([]), "event"),
            (json!({"model": "m"}), "provider"),
            (json!({"provider": "openai"}), "model"),
            (json!({"provider": "OpenAI", "model": "m"}), "provider"),
            (json!({"provider": "openai", "model": "m", "usage": {"input_tokens": -1}}), "usage.input_tokens"),
            (json!({"provider": "openai", "model": "m", "usage": {"input_tokens": 1.5}}), "usage.input_tokens"),
            (json!({"provider": "openai", "model": "m", "usage": {"prompt_tokens": 1}}), "usage.prompt_tokens"),
            (json!({"provider": "openai", "model": "m", "tenant_id": "acme corp"}), "tenant_id"),
            (json!({"provider": "openai", "model": "m", "section": "a//b"}), "section"),
            (json!({"provider": "openai", "model": "m", "attempt": 0}), "attempt"),
            (json!({"provider": "openai", "model": "m", "status_code": 42}), "status_code"),
            (json!({"provider": "openai", "model": "m", "outcome": "done"}), "outcome"),
            (json!({"provider": "openai", "model": "m", "usage_source": "missing"}), "usage_source"),
            (json!({"provider": "openai", "model": "m", "started_at": "yesterday"}), "started_at"),
            (json!({"provider": "openai", "model": "m", "endpoint": "v1/chat"}), "endpoint"),
            (json!({"provider": "openai", "model": "m", "id": "a b"}), "id"),
            (json!({"provider": "openai", "model": "m", "properties": {"Feature": "x"}}), "properties.Feature"),
            (json!({"provider": "openai", "model": "m", "properties": {"feature": "\u{7f}"}}), "properties.feature"),
            (json!({"provider": "openai", "model": "m", "tokens": 5}), "tokens"),
        ];
        for (event, field) in cases {
            let e = prepare_event(event.clone(), &c, 0, &[0; 10]).unwrap_err();
            assert_eq!(e.field, field, "{event} -> {e}");
        }
    }

    #[test]
    fn the_documented_example_is_accepted() {
        let e = json!({
            "id": "evt-2026-11-28-0001", "provider": "anthropic", "model": "claude-sonnet-4-5",
            "started_at": "2026-11-28T10:00:00.000Z", "latency_ms": 1840, "endpoint": "/v1/messages",
            "status_code": 200, "stream": false, "outcome": "completed",
            "usage": {"input_tokens": 1200, "cached_input_tokens": 1000, "output_tokens": 300,
                      "reasoning_tokens": 0, "audio_input_tokens": 0, "audio_output_tokens": 0},
            "usage_source": "reported", "tenant_id": "acme-corp", "customer_id": "alice",
            "section": "agent:research_assistant/tool:search", "run_id": "run-42", "attempt": 2,
            "properties": {"feature": "summary"}
        });
        assert_eq!(prepare_event(e.clone(), &Context::new(), 0, &[0; 10]).unwrap(), e);
    }

    #[test]
    fn rfc3339_shapes() {
        for ok in ["2026-11-28T10:00:00Z", "2026-11-28T10:00:00.123456+05:30", "2026-11-28t10:00:00.1-00:00"] {
            assert!(looks_like_rfc3339(ok), "{ok}");
        }
        for no in ["2026-11-28", "2026-11-28 10:00:00Z", "2026-11-28T10:00:00", "2026-11-28T10:00:00.Z", "2026-11-28T10:00:00+0530"] {
            assert!(!looks_like_rfc3339(no), "{no}");
        }
    }
}
