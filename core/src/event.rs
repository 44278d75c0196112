//! The event: one row per call, with its attribution, raw usage, cost and provenance.
//!
//! Invariant: an event is built only here, so that every event states where its numbers
//! came from (`usage_source`, `pricing_status`, `price_version`) and an unknown cost is
//! `None`, never zero.

use crate::attribution::{Attribution, TenantId};
use crate::gateway::UpstreamFacts;
use crate::money::NanoUsd;
use crate::pricing::{Costing, PriceBook, UnpricedReason};
use crate::time::UnixMillis;
use crate::usage::{Usage, UsageSource};

/// How a call ended, as far as the gateway could see.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Outcome {
    /// Upstream answered and the whole response reached the client (any status).
    #[default]
    Completed,
    /// The client went away before the end of a stream; upstream was aborted.
    StreamCancelled,
    /// Upstream's stream broke off or ended without its final event.
    StreamInterrupted,
    /// Upstream could not be reached.
    UpstreamUnreachable,
    /// Upstream sent no response headers in time.
    UpstreamTimeout,
}

impl Outcome {
    pub fn parse(text: &str) -> Option<Outcome> {
        [
            Outcome::Completed,
            Outcome::StreamCancelled,
            Outcome::StreamInterrupted,
            Outcome::UpstreamUnreachable,
            Outcome::UpstreamTimeout,
        ]
        .into_iter()
        .find(|o| o.as_str() == text)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Completed => "completed",
            Outcome::StreamCancelled => "stream_cancelled",
            Outcome::StreamInterrupted => "stream_interrupted",
            Outcome::UpstreamUnreachable => "upstream_unreachable",
            Outcome::UpstreamTimeout => "upstream_timeout",
        }
    }
}

/// Everything the gateway (or the collector) knows about one finished call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallRecord {
    /// Minted at request entry, so a retried write of the same event can never double-count.
    pub id: String,
    pub tenant: TenantId,
    pub attribution: Attribution,
    /// The gateway key that made the call (its public id, never the secret).
    pub key_id: Option<String>,
    pub provider: String,
    /// The API path, e.g. `/v1/chat/completions` (no query string).
    pub endpoint: String,
    pub method: String,
    pub request_model: Option<String>,
    /// The model that actually served the call (often a dated snapshot).
    pub response_model: Option<String>,
    pub is_stream: bool,
    /// HTTP status the client saw (502 when upstream could not be reached).
    pub status_code: u16,
    /// Set when the call failed before upstream answered.
    pub error: Option<String>,
    pub usage: Option<Usage>,
    pub usage_source: UsageSource,
    pub started_at: UnixMillis,
    /// From request entry to the last byte of the upstream response.
    pub latency_ms: u64,
    /// From request entry to upstream's response headers.
    pub ttfb_ms: Option<u64>,
    pub outcome: Outcome,
    pub upstream: UpstreamFacts,
    /// SHA-256 of the request body, to recognise the same request sent again.
    pub request_hash: Option<String>,
    /// This call repeats an earlier attempt (explicitly numbered, or detected).
    pub is_retry: bool,
    /// The event id of the failed attempt this call retried, when known.
    pub retry_of: Option<String>,
    /// The id the application gave a reported event (collector only).
    pub client_event_id: Option<String>,
}

/// A priced call: the row stored in `events`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub call: CallRecord,
    /// `None` when unpriced, never a silent zero.
    pub cost: Option<NanoUsd>,
    pub unpriced_reason: Option<UnpricedReason>,
    /// The entry that priced the call (`openai/gpt-4o@2024-10-02`,
    /// `override:openai/gpt-4o@2026-12-01`, `openai/gpt-5@2025-08-07#flex`), for provenance.
    pub price_ref: Option<String>,
    /// The price list (registry version, plus override revision) the call was priced from.
    pub price_version: Option<String>,
}

impl Event {
    pub fn id(&self) -> &str {
        &self.call.id
    }

    pub fn pricing_status(&self) -> &'static str {
        if self.cost.is_some() { "priced" } else { "unpriced" }
    }
}

/// Prices a call with the compiled registry alone. See [`price_event_with`].
pub fn price_event(call: CallRecord) -> Event {
    price_event_with(call, &PriceBook::registry())
}

/// Prices a call with a deployment's price book (registry + overrides) and turns it into
/// its event. The model that served the call (from the response) is priced when known,
/// else the requested one, as of the day the call started. An unpriced event still names
/// the price list it was tried against, so that a re-pricing run can report it.
pub fn price_event_with(call: CallRecord, book: &PriceBook) -> Event {
    let costing = costing_for(
        book,
        &call.provider,
        call.response_model.as_deref(),
        call.request_model.as_deref(),
        call.started_at,
        call.usage.as_ref(),
    );
    let price_ref = costing.price_ref();
    let price_version = Some(book.version().to_owned());
    match costing {
        Costing::Priced { cost, .. } => Event { call, cost: Some(cost), unpriced_reason: None, price_ref, price_version },
        Costing::Unpriced(reason) => Event { call, cost: None, unpriced_reason: Some(reason), price_ref: None, price_version },
    }
}

/// The pricing rule of an event, shared by [`price_event_with`] and re-pricing (which
/// rebuilds `usage` from the stored raw columns): the served model if known, else the
/// requested one, priced as of the day the call started.
pub fn costing_for<'b>(
    book: &'b PriceBook,
    provider: &str,
    response_model: Option<&str>,
    request_model: Option<&str>,
    started_at: UnixMillis,
    usage: Option<&Usage>,
) -> Costing<'b> {
    match response_model.or(request_model) {
        Some(m) => book.price(provider, m, started_at.day(), usage),
        None if usage.is_none() => Costing::Unpriced(UnpricedReason::NoUsage),
        None => Costing::Unpriced(UnpricedReason::UnknownModel),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A chat completion call of tenant `acme-corp` on 2026-11-18 (also used by `event_row`'s tests).
    pub(crate) fn call(model: Option<&str>, usage: Option<Usage>) -> CallRecord {
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
            ttfb_ms: Some(5),
            outcome: Outcome::Completed,
            upstream: UpstreamFacts::default(),
            request_hash: None,
            is_retry: false,
            retry_of: None,
            client_event_id: None,
        }
    }

    #[test]
    fn priced_event_records_provenance() {
        let u = Usage { input_tokens: 1000, cached_input_tokens: 200, output_tokens: 100, ..Usage::default() };
        let e = price_event(call(Some("gpt-4o-mini-2024-07-18"), Some(u)));
        // 800 x $0.15 + 200 x $0.075 + 100 x $0.60 per million = 120000 + 15000 + 60000 nano.
        assert_eq!(e.cost.map(NanoUsd::nanos), Some(195_000));
        assert_eq!(e.pricing_status(), "priced");
        assert_eq!(e.price_version.as_deref(), Some(crate::pricing::REGISTRY_VERSION));
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
