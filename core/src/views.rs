//! What the read API returns, as values: events (JSON, CSV), sums of usage and cost, and
//! the `/costs` groups. The worker reads rows from D1 into these and serialises them.
//!
//! Invariant: money stays an integer of nano-USD all the way to the response, where it
//! is rendered twice: `cost_nanousd` (an integer) and `cost_usd` (an exact decimal
//! string); sums are `u128`, so no total can overflow or round.

use serde_json::{json, Value};

use crate::query::Dimension;
use crate::time::UnixMillis;

/// Full-precision USD of an amount of nano-USD: `1_250_000` -> `"0.00125"`.
pub fn usd_string(nanos: u128) -> String {
    let whole = nanos / 1_000_000_000;
    let frac = nanos % 1_000_000_000;
    if frac == 0 {
        return whole.to_string();
    }
    let digits = format!("{frac:09}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

/// A sum that D1 returned as text (see `read_sql`): a non-negative integer.
pub fn parse_sum(text: Option<&str>) -> u128 {
    text.and_then(|t| t.parse::<u128>().ok()).unwrap_or(0)
}

/// An integer as JSON: a number while JavaScript can hold it exactly, else a string.
pub fn int_json(n: u128) -> Value {
    if n <= u128::from(crate::money::MAX_SAFE_INTEGER) {
        json!(n as u64)
    } else {
        json!(n.to_string())
    }
}

fn iso(ms: u64) -> String {
    UnixMillis(i64::try_from(ms).unwrap_or(i64::MAX)).to_rfc3339()
}

/// One stored event as read back from `events`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StoredEvent {
    pub id: String,
    pub tenant_id: String,
    pub customer_id: Option<String>,
    pub section_path: Option<String>,
    pub run_id: Option<String>,
    pub attempt: Option<u32>,
    pub key_id: Option<String>,
    pub provider: String,
    pub endpoint: String,
    pub method: String,
    pub request_model: Option<String>,
    pub response_model: Option<String>,
    pub is_stream: bool,
    pub status_code: u16,
    pub error: Option<String>,
    pub input_tokens: u64,
    pub cached_input_tokens: u64,
    pub output_tokens: u64,
    pub reasoning_tokens: u64,
    pub audio_input_tokens: u64,
    pub audio_output_tokens: u64,
    pub usage_source: String,
    pub pricing_status: String,
    pub unpriced_reason: Option<String>,
    pub cost_nanousd: Option<u64>,
    pub price_ref: Option<String>,
    pub price_version: Option<String>,
    pub started_at: u64,
    pub latency_ms: u64,
    /// How the call ended: `completed`, `stream_cancelled`, `stream_interrupted`, ...
    pub outcome: String,
    pub ttfb_ms: Option<u64>,
    pub upstream_request_id: Option<String>,
    pub error_type: Option<String>,
    pub retry_after_ms: Option<u64>,
    pub ratelimit_limit_requests: Option<u64>,
    pub ratelimit_remaining_requests: Option<u64>,
    pub ratelimit_limit_tokens: Option<u64>,
    pub ratelimit_remaining_tokens: Option<u64>,
    /// Free-form attribution properties, as stored (a JSON object).
    pub properties: Option<String>,
    pub client_event_id: Option<String>,
    pub request_hash: Option<String>,
    pub is_retry: bool,
    pub retry_of: Option<String>,
    pub more_usage: MoreUsage,
}

/// The usage of modalities beyond text tokens (migration 0002).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MoreUsage {
    pub cache_write_tokens: u64,
    pub cache_write_1h_tokens: u64,
    pub cached_audio_input_tokens: u64,
    pub image_input_tokens: u64,
    pub cached_image_input_tokens: u64,
    pub image_output_tokens: u64,
    pub audio_duration_ms: u64,
    pub characters: u64,
    pub images: u64,
    pub image_size: Option<String>,
    pub image_quality: Option<String>,
    pub service_tier: Option<String>,
}

impl StoredEvent {
    /// The model that served the call, else the one requested.
    pub fn model(&self) -> Option<&str> {
        self.response_model.as_deref().or(self.request_model.as_deref())
    }

    /// Marked a retry by the gateway or collector (an attempt above 1, or the same
    /// request again after a failure).
    pub fn is_retry(&self) -> bool {
        self.is_retry
    }

    pub fn is_error(&self) -> bool {
        !(200..=299).contains(&self.status_code)
    }

    pub fn to_json(&self) -> Value {
        let u = &self.more_usage;
        let usage = json!({
            "input_tokens": self.input_tokens,
            "cached_input_tokens": self.cached_input_tokens,
            "output_tokens": self.output_tokens,
            "reasoning_tokens": self.reasoning_tokens,
            "audio_input_tokens": self.audio_input_tokens,
            "audio_output_tokens": self.audio_output_tokens,
            "cache_write_tokens": u.cache_write_tokens,
            "cache_write_1h_tokens": u.cache_write_1h_tokens,
            "cached_audio_input_tokens": u.cached_audio_input_tokens,
            "image_input_tokens": u.image_input_tokens,
            "cached_image_input_tokens": u.cached_image_input_tokens,
            "image_output_tokens": u.image_output_tokens,
            "audio_duration_ms": u.audio_duration_ms,
            "characters": u.characters,
            "images": u.images,
            "image_size": u.image_size,
            "image_quality": u.image_quality,
            "service_tier": u.service_tier,
        });
        let upstream = json!({
            "request_id": self.upstream_request_id,
            "error_type": self.error_type,
            "retry_after_ms": self.retry_after_ms,
            "ratelimit": {
                "limit_requests": self.ratelimit_limit_requests,
                "remaining_requests": self.ratelimit_remaining_requests,
                "limit_tokens": self.ratelimit_limit_tokens,
                "remaining_tokens": self.ratelimit_remaining_tokens,
            },
        });
        let attribution = json!({
            "id": self.id,
            "tenant_id": self.tenant_id,
            "customer_id": self.customer_id,
            "section_path": self.section_path,
            "run_id": self.run_id,
            "attempt": self.attempt,
            "is_retry": self.is_retry(),
            "retry_of": self.retry_of,
            "client_event_id": self.client_event_id,
            "request_hash": self.request_hash,
            "properties": self.properties.as_deref().and_then(|p| serde_json::from_str::<Value>(p).ok()),
            "key_id": self.key_id,
        });
        let call = json!({
            "provider": self.provider,
            "endpoint": self.endpoint,
            "method": self.method,
            "model": self.model(),
            "request_model": self.request_model,
            "response_model": self.response_model,
            "is_stream": self.is_stream,
            "status_code": self.status_code,
            "error": self.error,
            "usage": usage,
            "usage_source": self.usage_source,
            "pricing_status": self.pricing_status,
            "unpriced_reason": self.unpriced_reason,
            "cost_usd": self.cost_nanousd.map(|c| usd_string(u128::from(c))),
            "cost_nanousd": self.cost_nanousd,
            "price_ref": self.price_ref,
            "price_version": self.price_version,
            "started_at": iso(self.started_at),
            "latency_ms": self.latency_ms,
            "ttfb_ms": self.ttfb_ms,
            "outcome": self.outcome,
            "upstream": upstream,
        });
        let mut out = match attribution {
            Value::Object(m) => m,
            _ => serde_json::Map::new(),
        };
        if let Value::Object(m) = call {
            out.extend(m);
        }
        Value::Object(out)
    }

    /// One CSV record (without line end), in the order of [`EVENT_CSV_HEADER`].
    pub fn to_csv_record(&self) -> String {
        let n = |v: u64| v.to_string();
        let o = |v: &Option<String>| csv_text(v.as_deref().unwrap_or(""));
        let fields = [
            csv_text(&self.id),
            csv_text(&self.tenant_id),
            o(&self.customer_id),
            o(&self.section_path),
            o(&self.run_id),
            self.attempt.map(|a| a.to_string()).unwrap_or_default(),
            self.is_retry().to_string(),
            o(&self.key_id),
            csv_text(&self.provider),
            csv_text(&self.endpoint),
            csv_text(&self.method),
            csv_text(self.model().unwrap_or("")),
            o(&self.request_model),
            o(&self.response_model),
            self.is_stream.to_string(),
            self.status_code.to_string(),
            o(&self.error),
            n(self.input_tokens),
            n(self.cached_input_tokens),
            n(self.output_tokens),
            n(self.reasoning_tokens),
            n(self.audio_input_tokens),
            n(self.audio_output_tokens),
            csv_text(&self.usage_source),
            csv_text(&self.pricing_status),
            o(&self.unpriced_reason),
            self.cost_nanousd.map(|c| usd_string(u128::from(c))).unwrap_or_default(),
            self.cost_nanousd.map(n).unwrap_or_default(),
            o(&self.price_ref),
            o(&self.price_version),
            iso(self.started_at),
            n(self.latency_ms),
            self.ttfb_ms.map(n).unwrap_or_default(),
            csv_text(&self.outcome),
            o(&self.upstream_request_id),
            o(&self.error_type),
            self.retry_after_ms.map(n).unwrap_or_default(),
            self.ratelimit_limit_requests.map(n).unwrap_or_default(),
            self.ratelimit_remaining_requests.map(n).unwrap_or_default(),
            self.ratelimit_limit_tokens.map(n).unwrap_or_default(),
            self.ratelimit_remaining_tokens.map(n).unwrap_or_default(),
            o(&self.properties),
            o(&self.client_event_id),
            o(&self.request_hash),
            o(&self.retry_of),
            n(self.more_usage.cache_write_tokens),
            n(self.more_usage.cache_write_1h_tokens),
            n(self.more_usage.cached_audio_input_tokens),
            n(self.more_usage.image_input_tokens),
            n(self.more_usage.cached_image_input_tokens),
            n(self.more_usage.image_output_tokens),
            n(self.more_usage.audio_duration_ms),
            n(self.more_usage.characters),
            n(self.more_usage.images),
            o(&self.more_usage.image_size),
            o(&self.more_usage.image_quality),
            o(&self.more_usage.service_tier),
        ];
        fields.join(",")
    }
}

/// The CSV header of `GET /events?format=csv`. An empty field is NULL.
pub const EVENT_CSV_HEADER: &str = "id,tenant_id,customer_id,section_path,run_id,attempt,is_retry,key_id,provider,endpoint,\
method,model,request_model,response_model,is_stream,status_code,error,input_tokens,cached_input_tokens,output_tokens,\
reasoning_tokens,audio_input_tokens,audio_output_tokens,usage_source,pricing_status,unpriced_reason,cost_usd,\
cost_nanousd,price_ref,price_version,started_at,latency_ms,ttfb_ms,outcome,upstream_request_id,error_type,retry_after_ms,\
ratelimit_limit_requests,ratelimit_remaining_requests,ratelimit_limit_tokens,ratelimit_remaining_tokens,properties,\
client_event_id,request_hash,retry_of,cache_write_tokens,cache_write_1h_tokens,cached_audio_input_tokens,image_input_tokens,\
cached_image_input_tokens,image_output_tokens,audio_duration_ms,characters,images,image_size,image_quality,service_tier";

/// A text field of a CSV record (RFC 4180): quoted when it holds `,` `"` or a line
/// break. A field that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab,
/// CR first) is prefixed with `'`: model names and errors come from callers.
pub fn csv_text(s: &str) -> String {
    let guarded;
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        guarded = format!("'{s}");
        guarded.as_str()
    } else {
        s
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// Counts and sums over a set of events.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sums {
    pub calls: u64,
    pub priced_calls: u64,
    pub error_calls: u64,
    pub cost_nanousd: u128,
    pub input_tokens: u128,
    pub cached_input_tokens: u128,
    pub output_tokens: u128,
    pub reasoning_tokens: u128,
}

impl Sums {
    pub fn of(e: &StoredEvent) -> Sums {
        Sums {
            calls: 1,
            priced_calls: u64::from(e.cost_nanousd.is_some()),
            error_calls: u64::from(e.is_error()),
            cost_nanousd: u128::from(e.cost_nanousd.unwrap_or(0)),
            input_tokens: u128::from(e.input_tokens),
            cached_input_tokens: u128::from(e.cached_input_tokens),
            output_tokens: u128::from(e.output_tokens),
            reasoning_tokens: u128::from(e.reasoning_tokens),
        }
    }

    pub fn add(&mut self, o: &Sums) {
        self.calls += o.calls;
        self.priced_calls += o.priced_calls;
        self.error_calls += o.error_calls;
        self.cost_nanousd += o.cost_nanousd;
        self.input_tokens += o.input_tokens;
        self.cached_input_tokens += o.cached_input_tokens;
        self.output_tokens += o.output_tokens;
        self.reasoning_tokens += o.reasoning_tokens;
    }

    /// The sums as JSON fields, merged into `into`.
    pub fn write_json(&self, into: &mut serde_json::Map<String, Value>) {
        into.insert("calls".into(), json!(self.calls));
        into.insert("priced_calls".into(), json!(self.priced_calls));
        into.insert("unpriced_calls".into(), json!(self.calls - self.priced_calls.min(self.calls)));
        into.insert("error_calls".into(), json!(self.error_calls));
        into.insert("cost_usd".into(), json!(usd_string(self.cost_nanousd)));
        into.insert("cost_nanousd".into(), int_json(self.cost_nanousd));
        into.insert("input_tokens".into(), int_json(self.input_tokens));
        into.insert("cached_input_tokens".into(), int_json(self.cached_input_tokens));
        into.insert("output_tokens".into(), int_json(self.output_tokens));
        into.insert("reasoning_tokens".into(), int_json(self.reasoning_tokens));
        into.insert("total_tokens".into(), int_json(self.input_tokens + self.output_tokens));
    }

    pub fn to_json(&self) -> Value {
        let mut m = serde_json::Map::new();
        self.write_json(&mut m);
        Value::Object(m)
    }
}

/// One `/costs` group: its keys (in `group_by` order; `None` is NULL) and its sums.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CostGroup {
    pub keys: Vec<Option<String>>,
    pub sums: Sums,
}

/// The first `depth` segments of a section path.
pub fn section_at_depth(path: &str, depth: usize) -> &str {
    match path.match_indices('/').nth(depth.saturating_sub(1)) {
        Some((i, _)) if depth > 0 => &path[..i],
        _ => path,
    }
}

/// Turns the groups that SQL returned into the answer: day keys become `YYYY-MM-DD`,
/// sections are cut to `section_depth` and merged, and the groups are ordered by day
/// (when grouped by day), then by cost, most expensive first, then by key.
pub fn fold_cost_groups(group_by: &[Dimension], section_depth: Option<usize>, rows: Vec<CostGroup>) -> Vec<CostGroup> {
    let mut merged: std::collections::BTreeMap<Vec<Option<String>>, Sums> = std::collections::BTreeMap::new();
    for mut row in rows {
        for (key, dim) in row.keys.iter_mut().zip(group_by) {
            match dim {
                Dimension::Day => {
                    *key = key
                        .as_deref()
                        .and_then(|d| d.parse::<i64>().ok())
                        .map(|d| UnixMillis(d.saturating_mul(86_400_000)).day().to_iso());
                }
                Dimension::Section => {
                    if let (Some(depth), Some(path)) = (section_depth, key.as_deref()) {
                        *key = Some(section_at_depth(path, depth).to_owned());
                    }
                }
                _ => {}
            }
        }
        merged.entry(row.keys).or_default().add(&row.sums);
    }
    let day_at = group_by.iter().position(|d| *d == Dimension::Day);
    let mut out: Vec<CostGroup> = merged.into_iter().map(|(keys, sums)| CostGroup { keys, sums }).collect();
    out.sort_by(|a, b| {
        let by_day = day_at.map(|i| a.keys[i].cmp(&b.keys[i])).unwrap_or(std::cmp::Ordering::Equal);
        by_day.then(b.sums.cost_nanousd.cmp(&a.sums.cost_nanousd)).then(b.sums.calls.cmp(&a.sums.calls)).then(a.keys.cmp(&b.keys))
    });
    out
}

impl CostGroup {
    pub fn to_json(&self, group_by: &[Dimension]) -> Value {
        let mut m = serde_json::Map::new();
        for (dim, key) in group_by.iter().zip(&self.keys) {
            m.insert(dim.field().into(), json!(key));
        }
        self.sums.write_json(&mut m);
        Value::Object(m)
    }
}

/// One row of `GET /tenants/{tenant}/customers`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CustomerSummary {
    /// `None`: calls that named no customer.
    pub customer_id: Option<String>,
    pub sums: Sums,
    pub latency_ms_sum: u128,
    /// Nearest-rank percentiles of the calls' latencies.
    pub p50_latency_ms: Option<u64>,
    pub p95_latency_ms: Option<u64>,
    pub max_latency_ms: Option<u64>,
    pub first_seen: u64,
    pub last_seen: u64,
}

impl CustomerSummary {
    /// Average latency to one decimal, rounded half up.
    pub fn avg_latency_ms(&self) -> Option<f64> {
        (self.sums.calls > 0).then(|| {
            let tenths = (self.latency_ms_sum * 20 / u128::from(self.sums.calls)).div_ceil(2);
            tenths as f64 / 10.0
        })
    }

    pub fn to_json(&self) -> Value {
        let mut m = serde_json::Map::new();
        m.insert("customer_id".into(), json!(self.customer_id));
        self.sums.write_json(&mut m);
        m.insert("avg_latency_ms".into(), json!(self.avg_latency_ms()));
        m.insert("p50_latency_ms".into(), json!(self.p50_latency_ms));
        m.insert("p95_latency_ms".into(), json!(self.p95_latency_ms));
        m.insert("max_latency_ms".into(), json!(self.max_latency_ms));
        m.insert("first_seen".into(), json!(iso(self.first_seen)));
        m.insert("last_seen".into(), json!(iso(self.last_seen)));
        Value::Object(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usd_strings_of_sums_keep_full_precision_past_2_pow_53() {
        assert_eq!(usd_string(0), "0");
        assert_eq!(usd_string(1_250_000), "0.00125");
        assert_eq!(usd_string(12_345_678_901), "12.345678901");
        assert_eq!(usd_string(u128::from(u64::MAX) * 4), "73786976294.83820646");
        assert_eq!(int_json(1 << 53), json!("9007199254740992"));
        assert_eq!(int_json(5), json!(5));
    }

    #[test]
    fn csv_quotes_and_defuses_formulas() {
        assert_eq!(csv_text("gpt-4o"), "gpt-4o");
        assert_eq!(csv_text("a,b"), "\"a,b\"");
        assert_eq!(csv_text("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_text("line\nbreak"), "\"line\nbreak\"");
        assert_eq!(csv_text("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_text("+1"), "'+1");
        assert_eq!(csv_text("@x"), "'@x");
    }

    #[test]
    fn csv_record_has_a_field_per_header_column() {
        let e = StoredEvent { id: "e1".into(), error: Some("a,\"b\"".into()), cost_nanousd: Some(1_500), ..StoredEvent::default() };
        let rec = e.to_csv_record();
        assert!(rec.contains(",0.0000015,1500,"), "{rec}");
        // Parse the record back, honouring quotes.
        let mut fields = 1;
        let mut quoted = false;
        for c in rec.chars() {
            match c {
                '"' => quoted = !quoted,
                ',' if !quoted => fields += 1,
                _ => {}
            }
        }
        assert_eq!(fields, EVENT_CSV_HEADER.split(',').count());
    }

    #[test]
    fn average_latency_is_rounded_to_a_tenth() {
        let c = |sum: u128, calls: u64| CustomerSummary { latency_ms_sum: sum, sums: Sums { calls, ..Sums::default() }, ..CustomerSummary::default() };
        assert_eq!(c(10, 3).avg_latency_ms(), Some(3.3));
        assert_eq!(c(20, 3).avg_latency_ms(), Some(6.7));
        assert_eq!(c(1, 4).avg_latency_ms(), Some(0.3), "0.25 rounds half up");
        assert_eq!(c(0, 0).avg_latency_ms(), None);
    }

    #[test]
    fn section_depth_cuts_paths() {
        assert_eq!(section_at_depth("agent:a/tool:b/step:c", 1), "agent:a");
        assert_eq!(section_at_depth("agent:a/tool:b/step:c", 2), "agent:a/tool:b");
        assert_eq!(section_at_depth("agent:a", 3), "agent:a");
    }

    #[test]
    fn folding_merges_cut_sections_and_orders_by_day_then_cost() {
        let g = |day: &str, sec: &str, cost: u128| CostGroup {
            keys: vec![Some(day.into()), Some(sec.into())],
            sums: Sums { calls: 1, priced_calls: 1, cost_nanousd: cost, ..Sums::default() },
        };
        let rows = vec![g("20420", "a/x", 5), g("20420", "a/y", 7), g("20419", "b", 1), g("20420", "c", 20)];
        let out = fold_cost_groups(&[Dimension::Day, Dimension::Section], Some(1), rows);
        let keys: Vec<_> = out.iter().map(|r| (r.keys[0].clone().unwrap(), r.keys[1].clone().unwrap(), r.sums.cost_nanousd)).collect();
        assert_eq!(keys, vec![
            ("2025-11-27".into(), "b".into(), 1),
            ("2025-11-28".into(), "c".into(), 20),
            ("2025-11-28".into(), "a".into(), 12),
        ]);
        assert_eq!(out[2].sums.calls, 2);
    }
}
