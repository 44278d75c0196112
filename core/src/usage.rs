//! Usage extraction from provider response bodies.
//!
//! Invariant: a count is taken only from what the provider reported; a field that is
//! absent is zero, a body without a usage object yields `None` (never a guessed zero).

use serde::Deserialize;

/// Token counts of one call, in the provider's own accounting: `input_tokens` includes
/// `cached_input_tokens` and `audio_input_tokens`; `output_tokens` includes
/// `reasoning_tokens` and `audio_output_tokens`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    pub input_tokens: u64,
    pub cached_input_tokens: u64,
    pub output_tokens: u64,
    pub reasoning_tokens: u64,
    pub audio_input_tokens: u64,
    pub audio_output_tokens: u64,
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
    pub usage: Option<Usage>,
}

#[derive(Deserialize)]
struct Body {
    model: Option<String>,
    usage: Option<RawUsage>,
}

/// Both OpenAI shapes: Chat Completions / Completions / Embeddings (`prompt_tokens`,
/// `completion_tokens`, `*_tokens_details`) and the Responses API (`input_tokens`,
/// `output_tokens`, `input_tokens_details`, `output_tokens_details`).
#[derive(Deserialize)]
pub(crate) struct RawUsage {
    prompt_tokens: Option<u64>,
    completion_tokens: Option<u64>,
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    prompt_tokens_details: Option<InputDetails>,
    input_tokens_details: Option<InputDetails>,
    completion_tokens_details: Option<OutputDetails>,
    output_tokens_details: Option<OutputDetails>,
}

#[derive(Deserialize)]
struct InputDetails {
    cached_tokens: Option<u64>,
    audio_tokens: Option<u64>,
}

#[derive(Deserialize)]
struct OutputDetails {
    reasoning_tokens: Option<u64>,
    audio_tokens: Option<u64>,
}

impl RawUsage {
    pub(crate) fn into_usage(self) -> Option<Usage> {
        let input = self.prompt_tokens.or(self.input_tokens);
        let output = self.completion_tokens.or(self.output_tokens);
        if input.is_none() && output.is_none() {
            return None;
        }
        let inp = self.prompt_tokens_details.or(self.input_tokens_details);
        let out = self.completion_tokens_details.or(self.output_tokens_details);
        Some(Usage {
            input_tokens: input.unwrap_or(0),
            output_tokens: output.unwrap_or(0),
            cached_input_tokens: inp.as_ref().and_then(|d| d.cached_tokens).unwrap_or(0),
            audio_input_tokens: inp.as_ref().and_then(|d| d.audio_tokens).unwrap_or(0),
            reasoning_tokens: out.as_ref().and_then(|d| d.reasoning_tokens).unwrap_or(0),
            audio_output_tokens: out.as_ref().and_then(|d| d.audio_tokens).unwrap_or(0),
        })
    }
}

/// Reads `model` and `usage` from a JSON response body. Anything that is not such a JSON
/// object (an error page, binary data, a truncated body) yields empty facts, not an error:
/// the call still happened and is still recorded.
pub fn response_facts(body: &[u8]) -> ResponseFacts {
    match serde_json::from_slice::<Body>(body) {
        Ok(b) => ResponseFacts { model: b.model, usage: b.usage.and_then(RawUsage::into_usage) },
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
            reasoning_tokens: 128, audio_input_tokens: 0, audio_output_tokens: 0 }));
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
