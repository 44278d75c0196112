//! What each OpenAI endpoint is billed by, and where the gateway finds it: token usage in
//! the response for text, embeddings, Responses and GPT Image; images counted by size and
//! quality for DALL-E; audio length for transcription; input characters for speech;
//! nothing for moderation (free, priced at a legitimate $0).
//!
//! Invariant: a unit is taken from upstream's answer when upstream reports it, else from
//! the request when the request fixes it exactly (speech characters, DALL-E size); never
//! guessed. What cannot be known stays missing and the call is unpriced.

use serde::Deserialize;

use crate::gateway::RequestFacts;
use crate::pricing::{ImageQuality, ImageSize};
use crate::usage::{response_facts, Images, ResponseFacts, Usage, UsageSource};

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
        _ => {}
    }
    let source = if facts.usage.is_some() { UsageSource::Reported } else { UsageSource::Missing };
    (facts, source)
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
}
