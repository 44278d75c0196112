//! Token estimates, for calls whose usage upstream never reported (a stream the client
//! cancelled). Counts come from tiktoken-rs with the model's own encoding.
//!
//! Invariant: an estimate is only ever used where no reported figure exists, and every
//! event that carries one says so (`usage_source = estimated`).

use std::sync::OnceLock;

use serde::Deserialize;
use tiktoken_rs::tokenizer::{get_tokenizer, Tokenizer};
use tiktoken_rs::CoreBPE;

/// The two encodings of current OpenAI models.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// GPT-4o, GPT-4.1, GPT-5 and later, the o-series.
    O200kBase,
    /// GPT-4, GPT-3.5, the text-embedding models.
    Cl100kBase,
}

impl Encoding {
    /// The model's encoding; a model tiktoken does not know (a newer family, another
    /// provider's) is counted with o200k_base, the encoding of every current OpenAI model.
    pub fn for_model(model: &str) -> Encoding {
        match get_tokenizer(model) {
            Some(Tokenizer::Cl100kBase) => Encoding::Cl100kBase,
            _ => Encoding::O200kBase,
        }
    }

    /// The encoder, built on first use and kept for the life of the isolate. `None` only if
    /// the embedded tables are corrupt.
    fn bpe(self) -> Option<&'static CoreBPE> {
        static O200K: OnceLock<Option<CoreBPE>> = OnceLock::new();
        static CL100K: OnceLock<Option<CoreBPE>> = OnceLock::new();
        match self {
            Encoding::O200kBase => O200K.get_or_init(|| tiktoken_rs::o200k_base().ok()).as_ref(),
            Encoding::Cl100kBase => CL100K.get_or_init(|| tiktoken_rs::cl100k_base().ok()).as_ref(),
        }
    }

    pub fn count(self, text: &str) -> Option<u64> {
        if text.is_empty() {
            return Some(0);
        }
        Some(self.bpe()?.encode_ordinary(text).len() as u64)
    }
}

/// Tokens of generated text. When only the first `text.len()` of `total_bytes` bytes were
/// kept, the count is scaled up in proportion (rounded up).
pub fn estimate_output_tokens(model: &str, text: &str, total_bytes: u64) -> Option<u64> {
    let counted = Encoding::for_model(model).count(text)?;
    let kept = text.len() as u64;
    if total_bytes <= kept || kept == 0 {
        return Some(counted);
    }
    Some((u128::from(counted) * u128::from(total_bytes)).div_ceil(u128::from(kept)) as u64)
}

#[derive(Deserialize)]
struct PromptBody {
    messages: Option<Vec<Message>>,
    prompt: Option<serde_json::Value>,
    input: Option<serde_json::Value>,
    instructions: Option<String>,
}

#[derive(Deserialize)]
struct Message {
    role: Option<String>,
    content: Option<serde_json::Value>,
    name: Option<String>,
}

/// Every string under a content value: a plain string, `[{type, text}]` parts, Responses
/// input items (`{"content": ...}`), lists of strings.
fn collect_text(value: &serde_json::Value, out: &mut String) {
    match value {
        serde_json::Value::String(s) => {
            out.push_str(s);
            out.push('\n');
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect_text(v, out)),
        serde_json::Value::Object(map) => {
            for key in ["text", "content", "input_text", "output"] {
                if let Some(v) = map.get(key) {
                    collect_text(v, out);
                }
            }
        }
        _ => {}
    }
}

/// Prompt tokens of a request body (chat `messages`, completions `prompt`, Responses
/// `input` + `instructions`), counted the way OpenAI's cookbook counts chat messages:
/// 3 tokens of framing per message, 1 per name, 3 to prime the reply. Images, audio and
/// files are not counted. `None` when the body is not a JSON request with a prompt.
pub fn estimate_input_tokens(model: &str, body: &[u8]) -> Option<u64> {
    let b: PromptBody = serde_json::from_slice(body).ok()?;
    let enc = Encoding::for_model(model);
    if let Some(messages) = b.messages {
        let mut total = 3u64;
        for m in &messages {
            let mut text = String::new();
            if let Some(c) = &m.content {
                collect_text(c, &mut text);
            }
            total += 3 + enc.count(m.role.as_deref().unwrap_or(""))? + enc.count(text.trim_end())?;
            if let Some(n) = &m.name {
                total += 1 + enc.count(n)?;
            }
        }
        return Some(total);
    }
    let mut text = String::new();
    for v in [b.prompt.as_ref(), b.input.as_ref()].into_iter().flatten() {
        collect_text(v, &mut text);
    }
    if let Some(i) = &b.instructions {
        text.push_str(i);
    }
    if text.is_empty() {
        return None;
    }
    enc.count(text.trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_match_tiktoken_reference_values() {
        // Reference counts from OpenAI's tiktoken (Python) for the same strings.
        assert_eq!(Encoding::O200kBase.count("hello world"), Some(2));
        assert_eq!(Encoding::Cl100kBase.count("hello world"), Some(2));
        assert_eq!(Encoding::Cl100kBase.count("tiktoken is great!"), Some(6));
        assert_eq!(Encoding::O200kBase.count(""), Some(0));
    }

    #[test]
    fn model_families_pick_their_encoding() {
        assert_eq!(Encoding::for_model("gpt-4o-mini-2024-07-18"), Encoding::O200kBase);
        assert_eq!(Encoding::for_model("gpt-4-0613"), Encoding::Cl100kBase);
        assert_eq!(Encoding::for_model("gpt-3.5-turbo"), Encoding::Cl100kBase);
        assert_eq!(Encoding::for_model("some-future-model"), Encoding::O200kBase);
    }

    #[test]
    fn chat_prompt_estimate_follows_the_cookbook_formula() {
        let body = br#"{"model":"gpt-4o","messages":[{"role":"system","content":"hello world"},{"role":"user","content":[{"type":"text","text":"hello world"}]}]}"#;
        // 3 priming + 2 x (3 framing + role + 2 content tokens)
        let system = Encoding::O200kBase.count("system").unwrap();
        let user = Encoding::O200kBase.count("user").unwrap();
        assert_eq!(estimate_input_tokens("gpt-4o", body), Some(3 + (3 + system + 2) + (3 + user + 2)));
        assert_eq!(estimate_input_tokens("gpt-4o", br#"{"input":"hello world"}"#), Some(2));
        assert_eq!(estimate_input_tokens("gpt-4o", b"not json"), None);
    }

    #[test]
    fn truncated_text_is_scaled_in_proportion() {
        let t = "hello world";
        assert_eq!(estimate_output_tokens("gpt-4o", t, t.len() as u64), Some(2));
        assert_eq!(estimate_output_tokens("gpt-4o", t, 2 * t.len() as u64), Some(4));
        assert_eq!(estimate_output_tokens("gpt-4o", "", 0), Some(0));
    }
}
