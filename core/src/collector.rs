//! The collector's input: a batch of events an application reports itself (calls that did
//! not go through the gateway). Each event is validated on its own, so that one bad event
//! is refused with its index and reason while the good ones are kept.
//!
//! Invariant: a `ReportedEvent` exists only if every field passed the same validation the
//! gateway applies to its headers.

use serde::Deserialize;

use crate::attribution::{Attribution, CustomerId, Properties, RunId, SectionPath, TenantId, MAX_ATTEMPT};
use crate::event::{CallRecord, Outcome};
use crate::gateway::UpstreamFacts;
use crate::keys::reported_event_id;
use crate::time::UnixMillis;
use crate::usage::{ServiceTier, Usage, UsageSource};

pub const MAX_BATCH: usize = 1000;
const MAX_TOKENS: u64 = 1 << 40;
/// Reported events may not claim to start more than a day in the future (clock skew aside).
const MAX_FUTURE_MS: i64 = 24 * 3600 * 1000;

/// One event that passed validation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportedEvent {
    pub client_id: String,
    pub provider: String,
    pub model: String,
    pub endpoint: String,
    pub started_at: UnixMillis,
    pub latency_ms: u64,
    pub status_code: u16,
    pub stream: bool,
    pub outcome: Outcome,
    pub usage: Option<Usage>,
    pub usage_source: UsageSource,
    pub tenant: Option<TenantId>,
    pub attribution: Attribution,
}

/// Why one event of a batch was refused: the JSON path of the bad field, and what to fix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventError {
    pub param: String,
    pub message: String,
}

#[derive(Deserialize)]
struct Batch {
    events: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEvent {
    id: String,
    provider: String,
    model: String,
    started_at: serde_json::Value,
    latency_ms: Option<u64>,
    endpoint: Option<String>,
    status_code: Option<u16>,
    stream: Option<bool>,
    outcome: Option<String>,
    usage: Option<RawUsage>,
    usage_source: Option<String>,
    service_tier: Option<String>,
    tenant_id: Option<String>,
    customer_id: Option<String>,
    section: Option<String>,
    run_id: Option<String>,
    attempt: Option<u32>,
    properties: Option<serde_json::Map<String, serde_json::Value>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUsage {
    input_tokens: Option<u64>,
    cached_input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    reasoning_tokens: Option<u64>,
    audio_input_tokens: Option<u64>,
    audio_output_tokens: Option<u64>,
    cache_write_tokens: Option<u64>,
    cache_write_1h_tokens: Option<u64>,
    audio_duration_ms: Option<u64>,
    characters: Option<u64>,
}

fn simple_id(text: &str, max: usize) -> bool {
    !text.is_empty()
        && text.len() <= max
        && text.bytes().all(|b| b.is_ascii_alphanumeric() || b"._:-/".contains(&b))
}

/// Parses `2026-11-28T10:00:00Z`-style RFC 3339 (UTC `Z` or a `+hh:mm` offset, optional
/// fraction, a leap second `:60`) or Unix milliseconds. Every field is exactly its digits
/// (no sign, no space) and the date exists.
fn parse_time(v: &serde_json::Value) -> Option<UnixMillis> {
    if let Some(ms) = v.as_i64() {
        return Some(UnixMillis(ms));
    }
    let s = v.as_str()?;
    let b = s.as_bytes();
    let digits = |t: Option<&str>| -> Option<i64> {
        let t = t.filter(|t| !t.is_empty() && t.bytes().all(|c| c.is_ascii_digit()))?;
        t.parse::<i64>().ok()
    };
    let num = |r: std::ops::Range<usize>| digits(s.get(r));
    if b.len() < 20 || b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') || !matches!(b.get(10), Some(b'T' | b't'))
        || b.get(13) != Some(&b':') || b.get(16) != Some(&b':')
    {
        return None;
    }
    let (y, mo, d, h, mi, sec) = (num(0..4)?, num(5..7)?, num(8..10)?, num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    if d < 1 || d > i64::from(crate::query::days_in_month(y, mo as u32)) {
        return None;
    }
    let mut rest = s.get(19..)?;
    let mut ms = 0i64;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let f = frac.get(..digits)?;
        ms = format!("{:0<3}", f.get(..digits.min(3))?).parse().ok()?;
        rest = frac.get(digits..)?;
    }
    let offset_min = match rest {
        "Z" | "z" => 0,
        r if r.len() == 6 && matches!(r.as_bytes()[0], b'+' | b'-') && r.as_bytes()[3] == b':' => {
            let sign = if r.starts_with('-') { -1 } else { 1 };
            let (oh, om) = (digits(r.get(1..3))?, digits(r.get(4..6))?);
            if oh > 23 || om > 59 {
                return None;
            }
            sign * (oh * 60 + om)
        }
        _ => return None,
    };
    let days = crate::query::days_from_civil(y, mo as u32, d as u32);
    Some(UnixMillis(((days * 24 + h) * 60 + mi - offset_min) * 60_000 + sec * 1000 + ms))
}

/// The JSON type a field of a reported event must have.
#[derive(Clone, Copy)]
enum Shape {
    Text,
    /// A whole number from 0 to the bound.
    Whole(u64),
    Flag,
    /// RFC 3339 text or Unix milliseconds.
    Instant,
    Usage,
    Properties,
}

/// Integers above this lose precision in JavaScript and in D1.
const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// Every field of a reported event: anything else is refused by name, like a misspelt
/// header, rather than dropped.
const EVENT_FIELDS: [(&str, Shape); 18] = [
    ("id", Shape::Text),
    ("provider", Shape::Text),
    ("model", Shape::Text),
    ("started_at", Shape::Instant),
    ("latency_ms", Shape::Whole(MAX_SAFE_INTEGER)),
    ("endpoint", Shape::Text),
    ("status_code", Shape::Whole(u16::MAX as u64)),
    ("stream", Shape::Flag),
    ("outcome", Shape::Text),
    ("usage", Shape::Usage),
    ("usage_source", Shape::Text),
    ("service_tier", Shape::Text),
    ("tenant_id", Shape::Text),
    ("customer_id", Shape::Text),
    ("section", Shape::Text),
    ("run_id", Shape::Text),
    ("attempt", Shape::Whole(u32::MAX as u64)),
    ("properties", Shape::Properties),
];

/// Every field of an event's `usage`.
pub const USAGE_FIELDS: [&str; 10] = [
    "input_tokens",
    "cached_input_tokens",
    "output_tokens",
    "reasoning_tokens",
    "audio_input_tokens",
    "audio_output_tokens",
    "cache_write_tokens",
    "cache_write_1h_tokens",
    "audio_duration_ms",
    "characters",
];

/// Fields without which an event is refused (the SDK fills `id` and `started_at`).
const REQUIRED: [&str; 4] = ["id", "provider", "model", "started_at"];

/// Checks the JSON shape of one event, field by field, so that a mistake is named by its
/// path (`usage.input_tokens`) before the typed parse. A `null` field counts as absent.
fn check_shape(raw: &serde_json::Value) -> Result<(), (String, String)> {
    use serde_json::Value;
    let err = |field: &str, message: &str| (field.to_owned(), message.to_owned());
    let whole = |field: &str, v: &Value, max: u64| match v.as_u64() {
        Some(n) if n <= max => Ok(()),
        _ => Err(err(field, &format!("must be a whole number from 0 to {max}"))),
    };
    let map = raw.as_object().ok_or_else(|| err("", "must be a JSON object (see docs/collector.md)"))?;
    for (key, v) in map {
        if v.is_null() {
            continue;
        }
        let Some((_, shape)) = EVENT_FIELDS.iter().find(|(name, _)| *name == key) else {
            return Err(err(key, "unknown field (see docs/collector.md for the fields of an event)"));
        };
        match shape {
            Shape::Text if !v.is_string() => return Err(err(key, "must be a string")),
            Shape::Whole(max) => whole(key, v, *max)?,
            Shape::Flag if !v.is_boolean() => return Err(err(key, "must be true or false")),
            Shape::Instant if !(v.is_string() || v.is_u64()) => {
                return Err(err(key, "must be RFC 3339 (2026-11-28T10:00:00Z) or Unix milliseconds"))
            }
            Shape::Usage => {
                let usage = v.as_object().ok_or_else(|| err(key, "must be an object of token counts"))?;
                for (name, n) in usage {
                    let field = format!("usage.{name}");
                    if !USAGE_FIELDS.contains(&name.as_str()) {
                        return Err(err(&field, &format!("unknown usage field; known: {}", USAGE_FIELDS.join(", "))));
                    }
                    if !n.is_null() {
                        whole(&field, n, MAX_SAFE_INTEGER)?;
                    }
                }
            }
            Shape::Properties => {
                let props = v.as_object().ok_or_else(|| err(key, "must be an object of string values"))?;
                if let Some((name, _)) = props.iter().find(|(_, p)| !p.is_string()) {
                    return Err(err(&format!("properties.{name}"), "values must be strings"));
                }
            }
            _ => {}
        }
    }
    match REQUIRED.iter().find(|f| map.get(**f).is_none_or(Value::is_null)) {
        Some(missing) => Err(err(missing, "is required")),
        None => Ok(()),
    }
}

/// Validates one reported event. `Err` names the bad field by its path within the event
/// (`usage.input_tokens`; empty when the event is not an object) and says what to fix.
/// The SDK runs this same function where the event is reported.
pub fn validate_event(raw: serde_json::Value, now: UnixMillis) -> Result<ReportedEvent, (String, String)> {
    validate(0, raw, now).map_err(|e| {
        let field = e.param.strip_prefix("events[0]").unwrap_or(&e.param);
        (field.strip_prefix('.').unwrap_or(field).to_owned(), e.message)
    })
}

fn validate(index: usize, raw: serde_json::Value, now: UnixMillis) -> Result<ReportedEvent, EventError> {
    let at = |field: &str, message: String| EventError { param: format!("events[{index}].{field}"), message };
    check_shape(&raw).map_err(|(field, message)| match field.as_str() {
        "" => EventError { param: format!("events[{index}]"), message },
        _ => at(&field, message),
    })?;
    let e: RawEvent = serde_json::from_value(raw).map_err(|e| EventError {
        param: format!("events[{index}]"),
        message: format!("{e}; see docs/collector.md for the fields of an event"),
    })?;
    if !simple_id(&e.id, 128) {
        return Err(at("id", "must be 1 to 128 of letters, digits and . _ : - /".into()));
    }
    if !simple_id(&e.provider, 64) || e.provider != e.provider.to_ascii_lowercase() {
        return Err(at("provider", "must be a lower-case id such as openai or anthropic".into()));
    }
    if e.model.is_empty() || e.model.len() > 128 || e.model.chars().any(char::is_control) {
        return Err(at("model", "must be 1 to 128 characters".into()));
    }
    let started_at = parse_time(&e.started_at)
        .ok_or_else(|| at("started_at", "must be RFC 3339 (2026-11-28T10:00:00Z) or Unix milliseconds".into()))?;
    if started_at.0 < 0 || started_at.0 > now.0 + MAX_FUTURE_MS {
        return Err(at("started_at", "is not a plausible time (before 1970 or more than a day ahead)".into()));
    }
    let endpoint = e.endpoint.unwrap_or_default();
    if endpoint.len() > 128 || endpoint.chars().any(char::is_control) || !(endpoint.is_empty() || endpoint.starts_with('/')) {
        return Err(at("endpoint", "must be a path such as /v1/messages, at most 128 characters".into()));
    }
    let status_code = e.status_code.unwrap_or(200);
    if !(100..=599).contains(&status_code) {
        return Err(at("status_code", "must be an HTTP status from 100 to 599".into()));
    }
    let outcome = match e.outcome.as_deref() {
        None => Outcome::Completed,
        Some(o) => Outcome::parse(o).ok_or_else(|| at("outcome", "must be completed, stream_cancelled, stream_interrupted, upstream_unreachable or upstream_timeout".into()))?,
    };
    let usage = e.usage.map(|u| Usage {
        input_tokens: u.input_tokens.unwrap_or(0),
        cached_input_tokens: u.cached_input_tokens.unwrap_or(0),
        output_tokens: u.output_tokens.unwrap_or(0),
        reasoning_tokens: u.reasoning_tokens.unwrap_or(0),
        audio_input_tokens: u.audio_input_tokens.unwrap_or(0),
        audio_output_tokens: u.audio_output_tokens.unwrap_or(0),
        cache_write_tokens: u.cache_write_tokens.unwrap_or(0),
        cache_write_1h_tokens: u.cache_write_1h_tokens.unwrap_or(0),
        audio_duration_ms: u.audio_duration_ms.unwrap_or(0),
        characters: u.characters.unwrap_or(0),
        service_tier: e.service_tier.as_deref().map(ServiceTier::parse).unwrap_or_default(),
        ..Usage::default()
    });
    if let Some(u) = &usage {
        let all = [u.input_tokens, u.cached_input_tokens, u.output_tokens, u.reasoning_tokens, u.audio_input_tokens,
            u.audio_output_tokens, u.cache_write_tokens, u.cache_write_1h_tokens, u.audio_duration_ms, u.characters];
        if all.iter().any(|&n| n > MAX_TOKENS) {
            return Err(at("usage", format!("token counts above {MAX_TOKENS} are not plausible")));
        }
        let cache = u.cached_input_tokens.saturating_add(u.cache_write_tokens).saturating_add(u.cache_write_1h_tokens);
        if cache > u.input_tokens || u.audio_input_tokens > u.input_tokens {
            return Err(at("usage.cached_input_tokens", "cached, cache-write and audio input tokens are part of input_tokens and cannot exceed it (for Anthropic, input_tokens = input + cache reads + cache writes)".into()));
        }
        if u.reasoning_tokens > u.output_tokens || u.audio_output_tokens > u.output_tokens {
            return Err(at("usage.reasoning_tokens", "reasoning and audio output tokens are part of output_tokens and cannot exceed it".into()));
        }
    }
    let usage_source = match (usage.is_some(), e.usage_source.as_deref()) {
        (false, None) => UsageSource::Missing,
        (false, Some(_)) => return Err(at("usage_source", "is given without usage".into())),
        (true, None | Some("reported")) => UsageSource::Reported,
        (true, Some("estimated")) => UsageSource::Estimated,
        (true, Some(_)) => return Err(at("usage_source", "must be reported or estimated".into())),
    };
    let field_err = |field: &'static str| move |err: crate::attribution::AttributionError| at(field, err.reason);
    let mut attribution = Attribution {
        tenant: e.tenant_id.as_deref().map(TenantId::parse).transpose().map_err(field_err("tenant_id"))?,
        customer: e.customer_id.as_deref().map(CustomerId::parse).transpose().map_err(field_err("customer_id"))?,
        section: e.section.as_deref().map(SectionPath::parse).transpose().map_err(field_err("section"))?,
        run_id: e.run_id.as_deref().map(RunId::parse).transpose().map_err(field_err("run_id"))?,
        attempt: None,
        properties: Properties::default(),
    };
    if let Some(n) = e.attempt {
        if !(1..=MAX_ATTEMPT).contains(&n) {
            return Err(at("attempt", format!("must be from 1 to {MAX_ATTEMPT}")));
        }
    }
    attribution.attempt = e.attempt.or_else(|| attribution.section.as_ref().and_then(SectionPath::retry_attempt));
    for (name, value) in e.properties.into_iter().flatten() {
        let value = value.as_str().ok_or_else(|| at(&format!("properties.{name}"), "values must be strings".into()))?;
        attribution.properties.insert("property", &name, value).map_err(|err| at(&format!("properties.{name}"), err.reason))?;
    }
    Ok(ReportedEvent {
        client_id: e.id,
        provider: e.provider,
        model: e.model,
        endpoint,
        started_at,
        latency_ms: e.latency_ms.unwrap_or(0),
        status_code,
        stream: e.stream.unwrap_or(false),
        outcome,
        usage,
        usage_source,
        tenant: attribution.tenant.clone(),
        attribution,
    })
}

impl ReportedEvent {
    /// The call record of this event for `tenant` (already resolved against the key). Its
    /// id is derived from the tenant and the client's id, which makes re-sends idempotent.
    pub fn into_call(self, tenant: TenantId, key_id: Option<String>) -> CallRecord {
        let is_retry = self.attribution.attempt.is_some_and(|n| n > 1);
        CallRecord {
            id: reported_event_id(tenant.as_str(), &self.client_id),
            tenant,
            attribution: self.attribution,
            key_id,
            provider: self.provider,
            endpoint: self.endpoint,
            method: String::new(),
            request_model: Some(self.model),
            response_model: None,
            is_stream: self.stream,
            status_code: self.status_code,
            error: None,
            usage: self.usage,
            usage_source: self.usage_source,
            started_at: self.started_at,
            latency_ms: self.latency_ms,
            ttfb_ms: None,
            outcome: self.outcome,
            upstream: UpstreamFacts::default(),
            request_hash: None,
            is_retry,
            retry_of: None,
            client_event_id: Some(self.client_id),
        }
    }
}

/// Parses a batch. `Err` when the body is not a batch at all; otherwise one result per
/// event, in order.
pub fn parse_batch(body: &[u8], now: UnixMillis) -> Result<Vec<Result<ReportedEvent, EventError>>, String> {
    let shape = |e: &dyn std::fmt::Display| format!("the body must be JSON like {{\"events\": [...]}}: {e}");
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|e| shape(&e))?;
    // Only the documented object: serde would also take a struct from a JSON array.
    if !value.is_object() {
        return Err(shape(&"it is not a JSON object"));
    }
    let batch: Batch = serde_json::from_value(value).map_err(|e| shape(&e))?;
    if batch.events.len() > MAX_BATCH {
        return Err(format!("at most {MAX_BATCH} events per request, got {}", batch.events.len()));
    }
    Ok(batch.events.into_iter().enumerate().map(|(i, v)| validate(i, v, now)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: UnixMillis = UnixMillis(1_795_900_000_000);

    fn one(json: &str) -> Result<ReportedEvent, EventError> {
        let body = format!("{{\"events\":[{json}]}}");
        parse_batch(body.as_bytes(), NOW).unwrap().remove(0)
    }

    #[test]
    fn a_full_event_parses() {
        let e = one(r#"{"id":"evt-1","provider":"anthropic","model":"claude-sonnet-4-5","started_at":"2026-11-28T10:00:00.250Z",
            "latency_ms":1840,"usage":{"input_tokens":1200,"cached_input_tokens":1000,"output_tokens":300},
            "tenant_id":"acme-corp","customer_id":"alice","section":"agent:a/retry:x:attempt_2","run_id":"run-1",
            "properties":{"Feature":"summary"}}"#).unwrap();
        assert_eq!(e.started_at, UnixMillis(1_795_860_000_250));
        assert_eq!(e.attribution.attempt, Some(2));
        assert_eq!(e.usage.unwrap().cached_input_tokens, 1000);
        assert_eq!(e.usage_source, UsageSource::Reported);
        assert_eq!(e.attribution.properties.to_json(), r#"{"feature":"summary"}"#);
        assert_eq!(e.tenant.unwrap().as_str(), "acme-corp");
    }

    #[test]
    fn times_in_every_accepted_form() {
        let t = |v: serde_json::Value| parse_time(&v);
        assert_eq!(t(serde_json::json!("1970-01-01T00:00:00Z")), Some(UnixMillis(0)));
        assert_eq!(t(serde_json::json!("1970-01-01T01:00:00+01:00")), Some(UnixMillis(0)));
        assert_eq!(t(serde_json::json!("2000-02-29T12:00:00.5Z")), Some(UnixMillis(951_825_600_500)));
        assert_eq!(t(serde_json::json!(1_795_860_000_250i64)), Some(UnixMillis(1_795_860_000_250)));
        assert_eq!(t(serde_json::json!("2016-12-31T23:59:60Z")), Some(UnixMillis(1_483_228_800_000)), "leap second");
        assert_eq!(t(serde_json::json!("2026-11-28T10:00:00.123456+05:30")), Some(UnixMillis(1_795_840_200_123)));
        // Found by fuzzing: signs and impossible dates were taken as numbers
        // (`T-3:59:60Z` was 3 hours before midnight, February 30 was March 2).
        for bad in ["2016-12-31T-3:59:60Z", "+026-11-28T10:00:00Z", "2026-+1-28T10:00:00Z", "2026-02-30T00:00:00Z",
                    "2026-11-28T10:00:00+-1:00", "2026-11-28T10:00:00+24:00", "2026-11-28T10:00:00+01:60"] {
            assert_eq!(t(serde_json::json!(bad)), None, "{bad}");
        }
        for bad in ["2026-13-01T00:00:00Z", "2026-11-28 10:00:00", "yesterday", "2026-11-28T10:00:00", "2026-11-28T10:00:00.Z"] {
            assert_eq!(t(serde_json::json!(bad)), None, "{bad}");
        }
    }

    #[test]
    fn bad_events_name_the_field() {
        let cases = [
            (r#"{"id":"","provider":"openai","model":"m","started_at":0}"#, "events[0].id"),
            (r#"{"id":"a","provider":"OpenAI","model":"m","started_at":0}"#, "events[0].provider"),
            (r#"{"id":"a","provider":"openai","model":"m","started_at":"soon"}"#, "events[0].started_at"),
            (r#"{"id":"a","provider":"openai","model":"m","started_at":0,"usage":{"input_tokens":1,"cached_input_tokens":2}}"#, "events[0].usage.cached_input_tokens"),
            (r#"{"id":"a","provider":"openai","model":"m","started_at":0,"tenant_id":"a b"}"#, "events[0].tenant_id"),
            (r#"{"id":"a","provider":"openai","model":"m","started_at":0,"cost":5}"#, "events[0].cost"),
            (r#"{"id":"a","provider":"openai","model":"m","started_at":0,"usage":{"input_tokens":1.5}}"#, "events[0].usage.input_tokens"),
            (r#"{"id":"a","provider":"openai","model":"m","started_at":0,"usage":{"prompt_tokens":1}}"#, "events[0].usage.prompt_tokens"),
            (r#"{"id":"a","provider":"openai","model":"m","started_at":0,"status_code":70000}"#, "events[0].status_code"),
            (r#"{"id":"a","provider":"openai","model":"m","started_at":0,"stream":"yes"}"#, "events[0].stream"),
            (r#"{"id":"a","provider":"openai","model":"m","started_at":0,"properties":{"feature":1}}"#, "events[0].properties.feature"),
            (r#"{"id":"a","provider":"openai","model":"m","started_at":0,"endpoint":"v1/chat"}"#, "events[0].endpoint"),
            (r#"{"provider":"openai","model":"m","started_at":0}"#, "events[0].id"),
            (r#"{"id":"a","provider":"openai","started_at":0}"#, "events[0].model"),
            (r#"[1]"#, "events[0]"),
            (r#"{"id":"a","provider":"openai","model":"m","started_at":0,"usage_source":"estimated"}"#, "events[0].usage_source"),
            (r#"{"id":"a","provider":"openai","model":"m","started_at":0,"attempt":0}"#, "events[0].attempt"),
            (r#"{"id":"a","provider":"openai","model":"m","started_at":99999999999999}"#, "events[0].started_at"),
        ];
        for (json, param) in cases {
            assert_eq!(one(json).unwrap_err().param, param, "{json}");
        }
    }

    #[test]
    fn every_usage_field_is_read_and_nulls_count_as_absent() {
        let counts: Vec<String> = USAGE_FIELDS.iter().map(|f| format!("\"{f}\":0")).collect();
        let json = format!(r#"{{"id":"a","provider":"openai","model":"m","started_at":0,"customer_id":null,"usage":{{{}}}}}"#, counts.join(","));
        let e = one(&json).unwrap();
        assert_eq!(e.attribution.customer, None);
        assert_eq!(e.usage, Some(Usage::default()));
    }

    #[test]
    fn batches_keep_good_events_next_to_bad_ones() {
        let body = br#"{"events":[{"id":"a","provider":"openai","model":"gpt-4o","started_at":0},{"id":"b"}]}"#;
        let r = parse_batch(body, NOW).unwrap();
        assert!(r[0].is_ok() && r[1].is_err());
        assert!(parse_batch(b"[]", NOW).is_err());
        // Found by fuzzing: serde reads a struct from an array too, so `[[]]` was an empty
        // batch. (An event given as an array of its fields is refused by its shape check.)
        assert!(parse_batch(b"[[]]", NOW).unwrap_err().contains("not a JSON object"));
        let positional = br#"{"events":[["a","openai","gpt-4o",0]]}"#;
        assert_eq!(parse_batch(positional, NOW).unwrap()[0].as_ref().unwrap_err().param, "events[0]");
        let big = format!("{{\"events\":[{}]}}", vec!["{}"; MAX_BATCH + 1].join(","));
        assert!(parse_batch(big.as_bytes(), NOW).unwrap_err().contains("at most 1000"));
    }
}
