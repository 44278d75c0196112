//! Usage extraction from provider response bodies.
//!
//! Invariant: a count is taken only from what the provider reported; a field that is
//! absent is zero, a body without a usage object yields `None` (never a guessed zero).

use serde::Deserialize;

pub use crate::pricing::spec::{ImageQuality, ImageSize};

/// What one call used, in OpenAI's accounting, which every provider's usage is normalised
/// to (see `core/prices/README.md`):
/// - `input_tokens` is every prompt token: it includes the cached, cache-write, audio and
///   image input tokens. `cached_input_tokens` (cache reads, any modality) includes
///   `cached_audio_input_tokens` and `cached_image_input_tokens`.
/// - `output_tokens` is every generated token: it includes `reasoning_tokens` (billed as
///   output), `audio_output_tokens` and `image_output_tokens`.
/// - `images`, `audio_duration_ms` and `characters` are the units of the models billed per
///   image, per minute of audio and per character.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    pub input_tokens: u64,
    pub cached_input_tokens: u64,
    pub output_tokens: u64,
    pub reasoning_tokens: u64,
    pub audio_input_tokens: u64,
    pub audio_output_tokens: u64,
    /// Prompt tokens written to the cache (Anthropic's 5-minute writes; OpenAI GPT-5.6+).
    pub cache_write_tokens: u64,
    /// Prompt tokens written to Anthropic's 1-hour cache.
    pub cache_write_1h_tokens: u64,
    pub cached_audio_input_tokens: u64,
    pub image_input_tokens: u64,
    pub cached_image_input_tokens: u64,
    pub image_output_tokens: u64,
    /// Length of the input audio (transcription, translation), in milliseconds.
    pub audio_duration_ms: u64,
    /// Input characters (speech).
    pub characters: u64,
    /// Generated images, when the model bills per image.
    pub images: Option<Images>,
    /// The tier that served the call, as the provider reported it.
    pub service_tier: ServiceTier,
}

/// `count` images of one size and quality (one Images API call).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Images {
    pub count: u64,
    pub size: ImageSize,
    pub quality: ImageQuality,
}

/// The service tier a call ran in. Each has its own prices; `Other` (e.g. OpenAI's
/// `scale`) has none in the registry, so such calls are unpriced rather than guessed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ServiceTier {
    #[default]
    Standard,
    Batch,
    Flex,
    Priority,
    Other,
}

impl ServiceTier {
    /// A provider's tier name: OpenAI's `default` (and `auto`) are `Standard`.
    pub fn parse(text: &str) -> ServiceTier {
        match text.to_ascii_lowercase().as_str() {
            "default" | "auto" | "standard" | "on_demand" => ServiceTier::Standard,
            "batch" => ServiceTier::Batch,
            "flex" => ServiceTier::Flex,
            "priority" => ServiceTier::Priority,
            _ => ServiceTier::Other,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ServiceTier::Standard => "standard",
            ServiceTier::Batch => "batch",
            ServiceTier::Flex => "flex",
            ServiceTier::Priority => "priority",
            ServiceTier::Other => "other",
        }
    }
}

impl Usage {
    /// Anthropic's usage, normalised: Anthropic's `input_tokens` excludes cache reads and
    /// writes, ours includes them.
    pub fn from_anthropic(input: u64, cache_read: u64, cache_write_5m: u64, cache_write_1h: u64, output: u64) -> Usage {
        Usage {
            input_tokens: input.saturating_add(cache_read).saturating_add(cache_write_5m).saturating_add(cache_write_1h),
            cached_input_tokens: cache_read,
            cache_write_tokens: cache_write_5m,
            cache_write_1h_tokens: cache_write_1h,
            output_tokens: output,
            ..Usage::default()
        }
    }

    /// Gemini's `usageMetadata`, normalised: thinking tokens are billed as output but
    /// reported apart from `candidatesTokenCount`.
    pub fn from_gemini(prompt: u64, cached: u64, candidates: u64, thoughts: u64) -> Usage {
        Usage {
            input_tokens: prompt,
            cached_input_tokens: cached,
            output_tokens: candidates.saturating_add(thoughts),
            reasoning_tokens: thoughts,
            ..Usage::default()
        }
    }

    /// Usage of an Images API call (`/v1/images/generations`, `/edits`): GPT Image models
    /// report `output_tokens` without a breakdown when every output token is an image
    /// token (gpt-image-1), so output tokens not reported as anything else are image
    /// tokens; a breakdown (gpt-image-1.5) is kept as reported.
    pub fn for_images_api(self) -> Usage {
        if self.image_output_tokens == 0 && self.audio_output_tokens == 0 {
            return Usage { image_output_tokens: self.output_tokens, ..self };
        }
        self
    }

    /// Whether any token count is reported (a model billed by tokens then ignores unit
    /// counts such as images or audio length, which are informational for it).
    pub fn has_tokens(&self) -> bool {
        self.input_tokens > 0 || self.output_tokens > 0
    }
}

/// Where an event's usage came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UsageSource {
    /// Reported by the provider in the response.
    Reported,
    /// Estimated by llmobserve (e.g. a cancelled stream), never overriding a reported figure.
    Estimated,
    /// Neither reported nor estimated.
    Missing,
}

impl UsageSource {
    pub fn as_str(self) -> &'static str {
        match self {
            UsageSource::Reported => "reported",
            UsageSource::Estimated => "estimated",
            UsageSource::Missing => "missing",
        }
    }
}

/// What a response body says about the call.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResponseFacts {
    /// The model that actually served the call (often a dated snapshot).
    pub model: Option<String>,
    /// Includes `service_tier` when the body reports one.
    pub usage: Option<Usage>,
}

#[derive(Deserialize)]
struct Body {
    model: Option<String>,
    usage: Option<RawUsage>,
    service_tier: Option<String>,
}

/// Both OpenAI shapes: Chat Completions / Completions / Embeddings (`prompt_tokens`,
/// `completion_tokens`, `*_tokens_details`) and the Responses API (`input_tokens`,
/// `output_tokens`, `input_tokens_details`, `output_tokens_details`).
/// (Transcriptions and Realtime spell it `input_token_details`; whisper-1 reports
/// `{"type":"duration","seconds":N}`.)
#[derive(Deserialize)]
pub(crate) struct RawUsage {
    prompt_tokens: Option<u64>,
    completion_tokens: Option<u64>,
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    prompt_tokens_details: Option<InputDetails>,
    #[serde(alias = "input_token_details")]
    input_tokens_details: Option<InputDetails>,
    completion_tokens_details: Option<OutputDetails>,
    output_tokens_details: Option<OutputDetails>,
    seconds: Option<serde_json::Number>,
}

#[derive(Deserialize)]
struct InputDetails {
    cached_tokens: Option<u64>,
    audio_tokens: Option<u64>,
    image_tokens: Option<u64>,
    cache_write_tokens: Option<u64>,
    cached_tokens_details: Option<CachedDetails>,
}

#[derive(Deserialize)]
struct CachedDetails {
    audio_tokens: Option<u64>,
    image_tokens: Option<u64>,
}

#[derive(Deserialize)]
struct OutputDetails {
    reasoning_tokens: Option<u64>,
    audio_tokens: Option<u64>,
    image_tokens: Option<u64>,
}

/// `3`, `3.2` seconds -> milliseconds, without going through a float.
pub(crate) fn seconds_to_ms(n: &serde_json::Number) -> Option<u64> {
    if let Some(s) = n.as_u64() {
        return s.checked_mul(1000);
    }
    let text = n.to_string();
    let (whole, frac) = text.split_once('.')?;
    let whole: u64 = whole.parse().ok()?;
    let mut ms = 0u64;
    for (i, b) in frac.bytes().take(3).enumerate() {
        if !b.is_ascii_digit() {
            return None;
        }
        ms += u64::from(b - b'0') * [100, 10, 1][i];
    }
    whole.checked_mul(1000)?.checked_add(ms)
}

impl RawUsage {
    pub(crate) fn into_usage(self) -> Option<Usage> {
        let input = self.prompt_tokens.or(self.input_tokens);
        let output = self.completion_tokens.or(self.output_tokens);
        let duration_ms = self.seconds.as_ref().and_then(seconds_to_ms);
        if input.is_none() && output.is_none() && duration_ms.is_none() {
            return None;
        }
        let inp = self.prompt_tokens_details.or(self.input_tokens_details);
        let out = self.completion_tokens_details.or(self.output_tokens_details);
        let cached = inp.as_ref().and_then(|d| d.cached_tokens_details.as_ref());
        Some(Usage {
            input_tokens: input.unwrap_or(0),
            output_tokens: output.unwrap_or(0),
            cached_input_tokens: inp.as_ref().and_then(|d| d.cached_tokens).unwrap_or(0),
            audio_input_tokens: inp.as_ref().and_then(|d| d.audio_tokens).unwrap_or(0),
            image_input_tokens: inp.as_ref().and_then(|d| d.image_tokens).unwrap_or(0),
            cache_write_tokens: inp.as_ref().and_then(|d| d.cache_write_tokens).unwrap_or(0),
            cached_audio_input_tokens: cached.and_then(|d| d.audio_tokens).unwrap_or(0),
            cached_image_input_tokens: cached.and_then(|d| d.image_tokens).unwrap_or(0),
            reasoning_tokens: out.as_ref().and_then(|d| d.reasoning_tokens).unwrap_or(0),
            audio_output_tokens: out.as_ref().and_then(|d| d.audio_tokens).unwrap_or(0),
            image_output_tokens: out.as_ref().and_then(|d| d.image_tokens).unwrap_or(0),
            audio_duration_ms: duration_ms.unwrap_or(0),
            ..Usage::default()
        })
    }
}

/// Reads `model` and `usage` from a JSON response body. Anything that is not such a JSON
/// object (an error page, binary data, a truncated body) yields empty facts, not an error:
/// the call still happened and is still recorded.
pub fn response_facts(body: &[u8]) -> ResponseFacts {
    match serde_json::from_slice::<Body>(body) {
        Ok(b) => {
            let tier = b.service_tier.as_deref().map(ServiceTier::parse).unwrap_or_default();
            let usage = b.usage.and_then(RawUsage::into_usage).map(|u| Usage { service_tier: tier, ..u });
            ResponseFacts { model: b.model, usage }
        }
        Err(_) => ResponseFacts::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chat_completion_usage_with_details() {
        let body = br#"{"id":"chatcmpl-1","object":"chat.completion","model":"gpt-4o-2024-08-06",
            "choices":[],"usage":{"prompt_tokens":1200,"completion_tokens":300,"total_tokens":1500,
            "prompt_tokens_details":{"cached_tokens":1024,"audio_tokens":0},
            "completion_tokens_details":{"reasoning_tokens":128,"audio_tokens":0}}}"#;
        let f = response_facts(body);
        assert_eq!(f.model.as_deref(), Some("gpt-4o-2024-08-06"));
        assert_eq!(f.usage, Some(Usage {
            input_tokens: 1200, cached_input_tokens: 1024, output_tokens: 300,
            reasoning_tokens: 128, audio_input_tokens: 0, audio_output_tokens: 0, ..Usage::default() }));
    }

    #[test]
    fn responses_api_usage() {
        let body = br#"{"object":"response","model":"o4-mini","usage":{"input_tokens":50,
            "input_tokens_details":{"cached_tokens":10},"output_tokens":70,
            "output_tokens_details":{"reasoning_tokens":64},"total_tokens":120}}"#;
        let u = response_facts(body).usage.unwrap();
        assert_eq!((u.input_tokens, u.cached_input_tokens, u.output_tokens, u.reasoning_tokens), (50, 10, 70, 64));
    }

    #[test]
    fn embeddings_usage_has_no_output() {
        let body = br#"{"object":"list","data":[],"model":"text-embedding-3-small","usage":{"prompt_tokens":8,"total_tokens":8}}"#;
        let u = response_facts(body).usage.unwrap();
        assert_eq!((u.input_tokens, u.output_tokens), (8, 0));
    }

    #[test]
    fn service_tier_and_modality_details_are_read() {
        let body = br#"{"model":"gpt-5","service_tier":"flex","usage":{"prompt_tokens":100,"completion_tokens":20,
            "prompt_tokens_details":{"cached_tokens":40,"cache_write_tokens":30,"audio_tokens":10,"image_tokens":5,
            "cached_tokens_details":{"audio_tokens":4,"image_tokens":1}},
            "completion_tokens_details":{"audio_tokens":7,"image_tokens":3}}}"#;
        let u = response_facts(body).usage.unwrap();
        assert_eq!(u.service_tier, ServiceTier::Flex);
        assert_eq!((u.cache_write_tokens, u.audio_input_tokens, u.image_input_tokens), (30, 10, 5));
        assert_eq!((u.cached_audio_input_tokens, u.cached_image_input_tokens), (4, 1));
        assert_eq!((u.audio_output_tokens, u.image_output_tokens), (7, 3));
        let default = br#"{"model":"gpt-5","service_tier":"default","usage":{"prompt_tokens":1,"completion_tokens":1}}"#;
        assert_eq!(response_facts(default).usage.unwrap().service_tier, ServiceTier::Standard);
        let scale = br#"{"model":"gpt-5","service_tier":"scale","usage":{"prompt_tokens":1,"completion_tokens":1}}"#;
        assert_eq!(response_facts(scale).usage.unwrap().service_tier, ServiceTier::Other);
    }

    #[test]
    fn transcription_usage_in_tokens_or_seconds() {
        let tokens = br#"{"text":"hi","usage":{"type":"tokens","input_tokens":120,"input_token_details":{"text_tokens":20,"audio_tokens":100},"output_tokens":30,"total_tokens":150}}"#;
        let u = response_facts(tokens).usage.unwrap();
        assert_eq!((u.input_tokens, u.audio_input_tokens, u.output_tokens), (120, 100, 30));
        let secs = br#"{"text":"hi","usage":{"type":"duration","seconds":61}}"#;
        assert_eq!(response_facts(secs).usage.unwrap().audio_duration_ms, 61_000);
        let frac = br#"{"text":"hi","usage":{"type":"duration","seconds":2.5}}"#;
        assert_eq!(response_facts(frac).usage.unwrap().audio_duration_ms, 2_500);
    }

    #[test]
    fn images_api_output_is_image_tokens_unless_broken_down() {
        let body = br#"{"created":1,"data":[{"b64_json":"x"}],"usage":{"input_tokens":50,"input_tokens_details":{"text_tokens":50,"image_tokens":0},"output_tokens":4160,"total_tokens":4210}}"#;
        let u = response_facts(body).usage.unwrap().for_images_api();
        assert_eq!((u.input_tokens, u.output_tokens, u.image_output_tokens), (50, 4160, 4160));
        let split = Usage { output_tokens: 1100, image_output_tokens: 1000, ..Usage::default() }.for_images_api();
        assert_eq!(split.image_output_tokens, 1000);
    }

    #[test]
    fn null_details_are_zero() {
        let body = br#"{"model":"gpt-4","usage":{"prompt_tokens":3,"completion_tokens":4,"prompt_tokens_details":null}}"#;
        assert_eq!(response_facts(body).usage.unwrap().cached_input_tokens, 0);
    }

    #[test]
    fn body_without_usage_is_none_not_zero() {
        assert_eq!(response_facts(br#"{"model":"gpt-4o","choices":[]}"#).usage, None);
        assert_eq!(response_facts(br#"{"model":"gpt-4o","usage":{}}"#).usage, None);
        assert_eq!(response_facts(b"<html>bad gateway</html>"), ResponseFacts::default());
        assert_eq!(response_facts(br#"{"usage":{"prompt_tokens":-1}}"#), ResponseFacts::default());
        assert_eq!(response_facts(b"[1,2]"), ResponseFacts::default());
    }
}
