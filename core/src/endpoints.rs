//! What each OpenAI endpoint is billed by, and where the gateway finds it: token usage in
//! the response for text, embeddings, Responses and GPT Image; images counted by size and
//! quality for DALL-E; audio length for transcription; input characters for speech;
//! nothing for moderation (free, priced at a legitimate $0).
//!
//! Invariant: a unit is taken from upstream's answer when upstream reports it, else from
//! the request when the request fixes it exactly (speech characters, DALL-E size); never
//! guessed. What cannot be known stays missing and the call is unpriced.

use serde::Deserialize;

use crate::attribution::{Attribution, TenantId};
use crate::event::{CallRecord, Outcome};
use crate::gateway::{RequestFacts, UpstreamFacts};
use crate::keys::reported_event_id;
use crate::time::UnixMillis;
use crate::pricing::{ImageQuality, ImageSize};
use crate::usage::{response_facts, Images, ResponseFacts, ServiceTier, Usage, UsageSource};

#[derive(Deserialize)]
struct Extra {
    data: Option<Vec<serde_json::Value>>,
    duration: Option<serde_json::Number>,
}

/// Usage of a finished, successful, non-streamed call to `endpoint`. `response` is the
/// JSON body when there was one (binary answers such as speech audio have none).
pub fn call_usage(endpoint: &str, request: &RequestFacts, response: Option<&[u8]>) -> (ResponseFacts, UsageSource) {
    let mut facts = response.map(response_facts).unwrap_or_default();
    let path = endpoint.trim_end_matches('/');
    match path {
        "/v1/images/generations" | "/v1/images/edits" | "/v1/images/variations" => {
            if let Some(u) = facts.usage.take() {
                facts.usage = Some(u.for_images_api());
            } else {
                let count = response
                    .and_then(|b| serde_json::from_slice::<Extra>(b).ok())
                    .and_then(|e| e.data.map(|d| d.len() as u64))
                    .or(request.n)
                    .unwrap_or(1);
                let size = ImageSize::parse(request.size.as_deref().unwrap_or("1024x1024")).ok();
                let quality = ImageQuality::parse(request.quality.as_deref().unwrap_or("standard")).ok();
                if let (Some(size), Some(quality)) = (size, quality) {
                    facts.usage = Some(Usage { images: Some(Images { count, size, quality }), ..Usage::default() });
                }
            }
        }
        "/v1/audio/transcriptions" | "/v1/audio/translations" if facts.usage.is_none() => {
            let duration = response
                .and_then(|b| serde_json::from_slice::<Extra>(b).ok())
                .and_then(|e| e.duration)
                .and_then(|d| crate::usage::seconds_to_ms(&d));
            if let Some(ms) = duration {
                facts.usage = Some(Usage { audio_duration_ms: ms, ..Usage::default() });
            }
        }
        "/v1/audio/speech" if facts.usage.is_none() => {
            if let Some(chars) = request.input_characters {
                facts.usage = Some(Usage { characters: chars, ..Usage::default() });
            }
        }
        "/v1/moderations" if facts.usage.is_none() && response.is_some() => {
            facts.usage = Some(Usage::default());
        }
        // Creating or polling a batch costs nothing itself; a finished batch's usage is
        // billed once, by its own event (see `BatchBilling`).
        p if p.starts_with("/v1/batches") => facts.usage = None,
        _ => {}
    }
    let source = if facts.usage.is_some() { UsageSource::Reported } else { UsageSource::Missing };
    (facts, source)
}

/// A finished batch as `GET /v1/batches/{id}` reports it: the usage of all its requests,
/// billed at the Batch tier. Recorded as one event whose id is derived from the batch id,
/// so polling the batch again never bills it twice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchBilling {
    pub batch_id: String,
    pub model: Option<String>,
    pub endpoint: String,
    pub usage: Usage,
    pub created_at: UnixMillis,
    pub finished_at: UnixMillis,
}

#[derive(Deserialize)]
struct BatchObject {
    id: String,
    object: String,
    status: String,
    endpoint: Option<String>,
    model: Option<String>,
    created_at: Option<i64>,
    completed_at: Option<i64>,
    expired_at: Option<i64>,
    cancelled_at: Option<i64>,
}

impl BatchBilling {
    /// The batch a call's answer reports, if the call is to the Batch API (`/v1/batches`
    /// and below): other answers are not parsed again.
    pub fn of_call(endpoint: &str, body: &[u8]) -> Option<BatchBilling> {
        let batches = endpoint.strip_prefix("/v1/batches")?;
        if !(batches.is_empty() || batches.starts_with('/')) {
            return None;
        }
        BatchBilling::from_response(body)
    }

    /// Reads a batch object; `Some` only for a finished batch (completed, expired or
    /// cancelled) that reports usage.
    pub fn from_response(body: &[u8]) -> Option<BatchBilling> {
        let b: BatchObject = serde_json::from_slice(body).ok()?;
        if b.object != "batch" || !matches!(b.status.as_str(), "completed" | "expired" | "cancelled") {
            return None;
        }
        let usage = response_facts(body).usage?;
        if usage.input_tokens == 0 && usage.output_tokens == 0 {
            return None;
        }
        let created = b.created_at.unwrap_or(0).saturating_mul(1000);
        let finished = b.completed_at.or(b.expired_at).or(b.cancelled_at).map_or(created, |t| t.saturating_mul(1000));
        Some(BatchBilling {
            batch_id: b.id,
            model: b.model.filter(|m| !m.is_empty()),
            endpoint: b.endpoint.unwrap_or_default(),
            usage: Usage { service_tier: ServiceTier::Batch, ..usage },
            created_at: UnixMillis(created),
            finished_at: UnixMillis(finished),
        })
    }

    /// The batch's own event, attributed like the call that found it finished.
    pub fn into_call(self, tenant: TenantId, attribution: Attribution, key_id: Option<String>) -> CallRecord {
        CallRecord {
            id: reported_event_id(tenant.as_str(), &format!("batch:{}", self.batch_id)),
            tenant,
            attribution,
            key_id,
            provider: "openai".to_owned(),
            endpoint: self.endpoint,
            method: "BATCH".to_owned(),
            request_model: self.model,
            response_model: None,
            is_stream: false,
            status_code: 200,
            error: None,
            usage: Some(self.usage),
            usage_source: UsageSource::Reported,
            started_at: self.created_at,
            latency_ms: u64::try_from(self.finished_at.0 - self.created_at.0).unwrap_or(0),
            ttfb_ms: None,
            outcome: Outcome::Completed,
            upstream: UpstreamFacts::default(),
            request_hash: None,
            is_retry: false,
            retry_of: None,
            client_event_id: Some(self.batch_id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(json: &str) -> RequestFacts {
        RequestFacts::from_body(json.as_bytes())
    }

    #[test]
    fn dall_e_is_counted_by_image_size_and_quality() {
        let (f, src) = call_usage("/v1/images/generations",
            &req(r#"{"model":"dall-e-3","prompt":"x","size":"1792x1024","quality":"hd","n":1}"#),
            Some(br#"{"created":1,"data":[{"url":"u"}]}"#));
        let img = f.usage.unwrap().images.unwrap();
        assert_eq!((img.count, img.size.to_text(), img.quality.as_str()), (1, "1792x1024".to_owned(), "hd"));
        assert_eq!(src, UsageSource::Reported);
        let (f, _) = call_usage("/v1/images/generations", &req(r#"{"model":"dall-e-2","prompt":"x","n":3}"#), Some(br#"{"data":[{},{},{}]}"#));
        assert_eq!(f.usage.unwrap().images.unwrap().count, 3);
    }

    #[test]
    fn gpt_image_uses_reported_tokens() {
        let body = br#"{"data":[{"b64_json":"x"}],"usage":{"input_tokens":50,"input_tokens_details":{"text_tokens":40,"image_tokens":10},"output_tokens":1056,"total_tokens":1106}}"#;
        let (f, _) = call_usage("/v1/images/edits", &RequestFacts::default(), Some(body));
        let u = f.usage.unwrap();
        assert_eq!(u.images, None);
        assert!(u.output_tokens == 1056 || u.image_output_tokens == 1056);
    }

    #[test]
    fn transcription_speech_and_moderation_units() {
        let (f, _) = call_usage("/v1/audio/transcriptions", &RequestFacts::default(), Some(br#"{"text":"hi","duration":12.25}"#));
        assert_eq!(f.usage.unwrap().audio_duration_ms, 12_250);
        let (f, _) = call_usage("/v1/audio/transcriptions", &RequestFacts::default(), Some(br#"{"text":"hi","usage":{"type":"duration","seconds":7}}"#));
        assert_eq!(f.usage.unwrap().audio_duration_ms, 7_000);
        let (f, src) = call_usage("/v1/audio/speech", &req(r#"{"model":"tts-1","input":"héllo","voice":"alloy"}"#), None);
        assert_eq!(f.usage.unwrap().characters, 5);
        assert_eq!(src, UsageSource::Reported);
        let (f, _) = call_usage("/v1/moderations", &RequestFacts::default(), Some(br#"{"id":"modr-1","results":[]}"#));
        assert_eq!(f.usage, Some(Usage::default()));
        let (f, src) = call_usage("/v1/audio/transcriptions", &RequestFacts::default(), None);
        assert_eq!((f.usage, src), (None, UsageSource::Missing));
    }

    #[test]
    fn a_finished_batch_is_billed_once_at_the_batch_tier() {
        let body = br#"{"id":"batch_1","object":"batch","endpoint":"/v1/chat/completions","model":"gpt-4o-mini","status":"completed",
            "created_at":1795831553,"completed_at":1795831556,"usage":{"input_tokens":1000,"input_tokens_details":{"cached_tokens":0},"output_tokens":200,"total_tokens":1200}}"#;
        let b = BatchBilling::from_response(body).unwrap();
        assert_eq!((b.usage.input_tokens, b.usage.output_tokens, b.usage.service_tier), (1000, 200, ServiceTier::Batch));
        let tenant = TenantId::parse("acme-corp").unwrap();
        let call = b.clone().into_call(tenant.clone(), Attribution::default(), None);
        assert_eq!(call.id, b.into_call(tenant, Attribution::default(), None).id, "polling again maps to the same event");
        assert_eq!(call.latency_ms, 3000);
        let running = br#"{"id":"batch_1","object":"batch","status":"in_progress","usage":{"input_tokens":5,"output_tokens":0}}"#;
        assert_eq!(BatchBilling::from_response(running), None);
        // Only answers of the Batch API are read for a batch.
        assert!(BatchBilling::of_call("/v1/batches/batch_abc", body).is_some());
        assert!(BatchBilling::of_call("/v1/batches", body).is_some());
        assert!(BatchBilling::of_call("/v1/chat/completions", body).is_none());
        assert!(BatchBilling::of_call("/v1/batchesx", body).is_none());
        let (f, _) = call_usage("/v1/batches/batch_1", &RequestFacts::default(), Some(body));
        assert_eq!(f.usage, None, "polling a batch is not itself billed");
    }
}
