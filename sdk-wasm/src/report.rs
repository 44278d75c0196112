//! Events that the application reports itself to the collector (`POST /v1/events`, see
//! docs/collector.md): checked here, at the call site, so that a mistake is an error where
//! it was made rather than a rejected event in a background batch later.
//!
//! Invariant: `prepare_event` returns only events in the collector's documented format,
//! with an id (so that a resent batch is idempotent) and the attribution of the context it
//! was reported in, unless the event states its own. Attribution fields are validated by
//! core's types, the same code the gateway and the collector run.

use llmobserve_core::attribution::SectionPath;
use llmobserve_core::collector::validate_event;
use llmobserve_core::keys::event_id;
use llmobserve_core::time::UnixMillis;
use serde_json::{Map, Value};

use crate::context::Context;

/// At most this many events per `POST /v1/events`.
pub const MAX_BATCH_EVENTS: usize = llmobserve_core::collector::MAX_BATCH;

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

/// Validates a reported event and completes it from its context: an id when it has none
/// (UUIDv7 from `unix_ms` and `random`), `started_at` (now), and the context's tenant,
/// customer, section, run id and retry attempt for each of those the event does not state.
pub fn prepare_event(event: Value, ctx: &Context, unix_ms: u64, random: &[u8; 10]) -> Result<Value, EventError> {
    let Value::Object(mut map) = event else {
        return Err(EventError { field: "event".into(), reason: "must be an object".into() });
    };
    // A JavaScript `undefined` or an explicit null means "not given".
    map.retain(|_, v| !v.is_null());
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
    // The collector's own rules, run here so that a mistake surfaces where it was made.
    let event = Value::Object(map);
    let now = UnixMillis(i64::try_from(unix_ms).unwrap_or(i64::MAX));
    match validate_event(event.clone(), now) {
        Ok(_) => Ok(event),
        Err((field, reason)) => Err(EventError { field: if field.is_empty() { "event".into() } else { field }, reason }),
    }
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

    /// 2026-11-28T12:00:00Z: "now" for events stamped in 2026.
    const NOW: u64 = 1_795_867_200_000;

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
            &ctx(), NOW, &[0; 10]).unwrap();
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
            (json!({"provider": "openai", "model": "m", "properties": {"fea ture": "x"}}), "properties.fea ture"),
            (json!({"provider": "openai", "model": "m", "properties": {"feature": "\u{7f}"}}), "properties.feature"),
            (json!({"provider": "openai", "model": "m", "tokens": 5}), "tokens"),
            (json!({"provider": "openai", "model": "m", "started_at": "2030-01-01T00:00:00Z"}), "started_at"),
        ];
        for (event, field) in cases {
            let e = prepare_event(event.clone(), &c, NOW, &[0; 10]).unwrap_err();
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
        assert_eq!(prepare_event(e.clone(), &Context::new(), NOW, &[0; 10]).unwrap(), e);
    }

    #[test]
    fn every_usage_field_the_collector_reads_is_accepted() {
        let usage: Map<String, Value> = llmobserve_core::collector::USAGE_FIELDS.iter().map(|f| ((*f).to_owned(), json!(0))).collect();
        let e = json!({"provider": "anthropic", "model": "claude-sonnet-4-5", "usage": usage});
        assert!(prepare_event(e, &Context::new(), NOW, &[0; 10]).is_ok());
        let cache_write = json!({"provider": "anthropic", "model": "claude-sonnet-4-5",
            "usage": {"input_tokens": 1200, "cache_write_tokens": 1000, "output_tokens": 10}});
        assert!(prepare_event(cache_write, &Context::new(), NOW, &[0; 10]).is_ok());
    }
}
