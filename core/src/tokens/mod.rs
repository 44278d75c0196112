//! Token estimates, for calls whose usage upstream never reported (a stream the client
//! cancelled). Counts are those of tiktoken with the model's own encoding (o200k_base or
//! cl100k_base), computed without building anything at first use: the token tables are
//! generated at build time (`build_tokens.rs`) and read in place, and the pre-tokenizer
//! regexes are matched by hand (`pretokenize`), so the first estimate in a fresh isolate
//! costs what any later one does.
//!
//! Invariants: an estimate is only ever used where no reported figure exists, and every
//! event that carries one says so (`usage_source = estimated`); `Encoding::encode` gives
//! exactly tiktoken-rs's `encode_ordinary` tokens (tests/tokens_*.rs compare them).

mod bpe;
mod pretokenize;
mod tables;

use serde::Deserialize;

use bpe::Merger;
use tables::RankTable;

/// The two encodings of current OpenAI models.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// GPT-4o, GPT-4.1, GPT-5 and later, the o-series.
    O200kBase,
    /// GPT-4, GPT-3.5, the text-embedding models.
    Cl100kBase,
}

/// Models that tiktoken maps to cl100k_base by exact name.
const CL100K_MODELS: &[&str] = &[
    "gpt-4",
    "gpt-3.5-turbo",
    "gpt-3.5",
    "gpt-35-turbo",
    "davinci-002",
    "babbage-002",
    "text-embedding-ada-002",
    "text-embedding-3-small",
    "text-embedding-3-large",
];

/// Model-name prefixes that tiktoken maps to cl100k_base. No model name that tiktoken maps
/// elsewhere, by name or by an earlier prefix, starts with one of these.
const CL100K_PREFIXES: &[&str] = &["gpt-4-", "gpt-3.5-turbo-", "gpt-35-turbo-"];

impl Encoding {
    /// The model's encoding; a model tiktoken does not know (a newer family, another
    /// provider's) is counted with o200k_base, the encoding of every current OpenAI model.
    /// Follows tiktoken-rs's `get_tokenizer` (fine-tuned `ft:<base>:...` names included).
    pub fn for_model(model: &str) -> Encoding {
        let mut model = model;
        while let Some(rest) = model.strip_prefix("ft:") {
            model = rest.split(':').next().unwrap_or(rest);
        }
        if CL100K_MODELS.contains(&model) || CL100K_PREFIXES.iter().any(|p| model.starts_with(p)) {
            Encoding::Cl100kBase
        } else {
            Encoding::O200kBase
        }
    }

    fn table(self) -> &'static RankTable {
        match self {
            Encoding::O200kBase => &tables::O200K,
            Encoding::Cl100kBase => &tables::CL100K,
        }
    }

    /// The end of the pre-tokenizer piece that starts at byte `pos`.
    fn piece_end(self, text: &str, pos: usize) -> Option<usize> {
        match self {
            Encoding::O200kBase => pretokenize::o200k_piece(text, pos),
            Encoding::Cl100kBase => pretokenize::cl100k_piece(text, pos),
        }
    }

    /// The pieces that the encoding's pre-tokenizer regex cuts `text` into (tiktoken's
    /// `regex.find_iter(text)`), each of which is then byte-pair encoded on its own.
    pub fn pieces(self, text: &str) -> Pieces<'_> {
        Pieces { encoding: self, text, pos: 0 }
    }

    /// Calls `emit(piece, start, end)` for each token of `text`.
    fn tokenize(self, text: &str, mut emit: impl FnMut(&[u8], usize, usize) -> Option<()>) -> Option<()> {
        let table = self.table();
        let mut merger = Merger::default();
        for piece in self.pieces(text) {
            let piece = piece.as_bytes();
            if table.rank(piece).is_some() {
                emit(piece, 0, piece.len())?;
            } else {
                merger.split(table, piece, |start, end| emit(piece, start, end))?;
            }
        }
        Some(())
    }

    /// The number of tokens in `text` (tiktoken's `encode_ordinary(text).len()`). `None`
    /// only if the embedded tables are corrupt.
    pub fn count(self, text: &str) -> Option<u64> {
        let mut n = 0u64;
        self.tokenize(text, |_, _, _| {
            n += 1;
            Some(())
        })?;
        Some(n)
    }

    /// The tokens of `text`, as tiktoken's `encode_ordinary` gives them (special tokens are
    /// ordinary text here). `None` only if the embedded tables are corrupt.
    pub fn encode(self, text: &str) -> Option<Vec<u32>> {
        let table = self.table();
        let mut out = Vec::new();
        self.tokenize(text, |piece, start, end| {
            out.push(table.rank(piece.get(start..end)?)?);
            Some(())
        })?;
        Some(out)
    }

    /// The rank of the ordinary token whose bytes are `bytes` (`None`: no such token).
    pub fn rank(self, bytes: &[u8]) -> Option<u32> {
        self.table().rank(bytes)
    }

    /// Every ordinary token as (rank, bytes), in bytewise order of the bytes; a `None` item
    /// means the embedded tables are corrupt. For verification: it decodes the whole table.
    /// (Counting needs only bytes to rank; the tables keep no index from rank to bytes.)
    pub fn tokens(self) -> impl Iterator<Item = Option<(u32, Vec<u8>)>> {
        self.table().tokens()
    }
}

/// The pre-tokenizer pieces of a text, in order; together they are the whole text.
pub struct Pieces<'a> {
    encoding: Encoding,
    text: &'a str,
    pos: usize,
}

impl<'a> Iterator for Pieces<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        while self.pos < self.text.len() {
            let start = self.pos;
            match self.encoding.piece_end(self.text, start).filter(|&end| end > start) {
                Some(end) => {
                    self.pos = end;
                    return self.text.get(start..end);
                }
                // No alternative matches here (the patterns cover every character, so this
                // does not happen): like `find_iter`, move on by one character.
                None => {
                    let len = self.text.get(start..)?.chars().next()?.len_utf8();
                    self.pos += len;
                }
            }
        }
        None
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
