//! The event: one row per call, with its attribution, raw usage, cost and provenance.
//!
//! Invariant: an event is built only here, so that every event states where its numbers
//! came from (`usage_source`, `pricing_status`, `price_version`) and an unknown cost is
//! `None`, never zero.

use crate::attribution::{Attribution, CustomerId, RunId, SectionPath, TenantId};
use crate::money::NanoUsd;
use crate::pricing::{price_usage, Costing, UnpricedReason, REGISTRY_VERSION};
use crate::time::UnixMillis;
use crate::usage::{Usage, UsageSource};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub id: String,
    pub tenant_id: TenantId,
    pub customer_id: Option<CustomerId>,
    pub section_path: Option<SectionPath>,
    pub run_id: Option<RunId>,
    pub attempt: Option<u32>,
    /// The gateway key that made the call (its public id, never the secret).
    pub key_id: Option<String>,
    pub provider: String,
    /// The API path, e.g. `/v1/chat/completions` (no query string).
    pub endpoint: String,
    pub method: String,
    pub request_model: Option<String>,
    pub response_model: Option<String>,
    pub is_stream: bool,
    /// HTTP status the client saw (502 when upstream could not be reached).
    pub status_code: u16,
    /// Set when the call failed before upstream answered.
    pub error: Option<String>,
    pub usage: Usage,
    pub usage_source: UsageSource,
    pub cost: Option<NanoUsd>,
    pub unpriced_reason: Option<UnpricedReason>,
    /// The registry entry that priced the call (`openai/gpt-4o@2024-05-13`), for provenance.
    pub price_ref: Option<String>,
    pub price_version: Option<&'static str>,
    pub started_at: UnixMillis,
    /// From request entry to the last byte of the upstream response.
    pub latency_ms: u64,
}

impl Event {
    pub fn pricing_status(&self) -> &'static str {
        if self.cost.is_some() { "priced" } else { "unpriced" }
    }
}

/// Everything the gateway knows about one finished call.
#[derive(Clone, Debug)]
pub struct CallRecord {
    pub id: String,
    pub tenant: TenantId,
    pub attribution: Attribution,
    pub key_id: Option<String>,
    pub provider: String,
    pub endpoint: String,
    pub method: String,
    pub request_model: Option<String>,
    pub response_model: Option<String>,
    pub is_stream: bool,
    pub status_code: u16,
    pub error: Option<String>,
    pub usage: Option<Usage>,
    pub usage_source: UsageSource,
    pub started_at: UnixMillis,
    pub latency_ms: u64,
}

/// Prices a call and turns it into its event. The model that served the call (from the
/// response) is priced when known, else the requested one. Only successful calls are
/// priced from their usage: an error response has no billable usage.
pub fn price_event(call: CallRecord) -> Event {
    let model = call.response_model.as_deref().or(call.request_model.as_deref());
    let costing = match model {
        Some(m) => price_usage(&call.provider, m, call.started_at.day(), call.usage.as_ref()),
        None if call.usage.is_none() => Costing::Unpriced(UnpricedReason::NoUsage),
        None => Costing::Unpriced(UnpricedReason::UnknownModel),
    };
    let (cost, unpriced_reason, price_ref, price_version) = match costing {
        Costing::Priced { cost, entry } => (
            Some(cost),
            None,
            Some(format!("{}/{}@{}", entry.provider, entry.model, entry.effective_from.to_iso())),
            Some(REGISTRY_VERSION),
        ),
        Costing::Unpriced(reason) => (None, Some(reason), None, None),
    };
    Event {
        id: call.id,
        tenant_id: call.tenant,
        customer_id: call.attribution.customer,
        section_path: call.attribution.section,
        run_id: call.attribution.run_id,
        attempt: call.attribution.attempt,
        key_id: call.key_id,
        provider: call.provider,
        endpoint: call.endpoint,
        method: call.method,
        request_model: call.request_model,
        response_model: call.response_model,
        is_stream: call.is_stream,
        status_code: call.status_code,
        error: call.error,
        usage: call.usage.unwrap_or_default(),
        usage_source: call.usage_source,
        cost,
        unpriced_reason,
        price_ref,
        price_version,
        started_at: call.started_at,
        latency_ms: call.latency_ms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(model: Option<&str>, usage: Option<Usage>) -> CallRecord {
        CallRecord {
            id: "e1".into(),
            tenant: TenantId::parse("acme-corp").unwrap(),
            attribution: Attribution::default(),
            key_id: None,
            provider: "openai".into(),
            endpoint: "/v1/chat/completions".into(),
            method: "POST".into(),
            request_model: Some("gpt-4o-mini".into()),
            response_model: model.map(str::to_owned),
            is_stream: false,
            status_code: 200,
            error: None,
            usage_source: if usage.is_some() { UsageSource::Reported } else { UsageSource::Missing },
            usage,
            started_at: UnixMillis(1_795_000_000_000), // 2026-11-18
            latency_ms: 12,
        }
    }

    #[test]
    fn priced_event_records_provenance() {
        let u = Usage { input_tokens: 1000, cached_input_tokens: 200, output_tokens: 100, ..Usage::default() };
        let e = price_event(call(Some("gpt-4o-mini-2024-07-18"), Some(u)));
        // 800 x $0.15 + 200 x $0.075 + 100 x $0.60 per million = 120000 + 15000 + 60000 nano.
        assert_eq!(e.cost.map(NanoUsd::nanos), Some(195_000));
        assert_eq!(e.pricing_status(), "priced");
        assert_eq!(e.price_version, Some(REGISTRY_VERSION));
        assert!(e.price_ref.as_deref().unwrap().starts_with("openai/gpt-4o-mini@"));
    }

    #[test]
    fn unknown_model_and_missing_usage_are_unpriced_with_reason() {
        let u = Usage { input_tokens: 10, ..Usage::default() };
        let e = price_event(call(Some("my-local-llama"), Some(u)));
        assert_eq!((e.cost, e.unpriced_reason), (None, Some(UnpricedReason::UnknownModel)));
        let e = price_event(call(None, None));
        assert_eq!((e.cost, e.unpriced_reason), (None, Some(UnpricedReason::NoUsage)));
        assert_eq!(e.pricing_status(), "unpriced");
    }
}
