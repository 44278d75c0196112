//! The token counter on untrusted text (request bodies, generated text): tiktoken-rs's
//! tokens exactly, tokens that spell the text back, and prompt estimates that never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use llmobserve_core::tokens::{estimate_input_tokens, estimate_output_tokens, Encoding};

/// Rank -> bytes, decoded once from the embedded tables (they keep no such index).
fn spelling(enc: Encoding) -> &'static std::collections::HashMap<u32, Vec<u8>> {
    use std::sync::OnceLock;
    static O200K: OnceLock<std::collections::HashMap<u32, Vec<u8>>> = OnceLock::new();
    static CL100K: OnceLock<std::collections::HashMap<u32, Vec<u8>>> = OnceLock::new();
    let cell = match enc {
        Encoding::O200kBase => &O200K,
        Encoding::Cl100kBase => &CL100K,
    };
    cell.get_or_init(|| enc.tokens().map(|t| t.expect("tables")).collect())
}

fn reference(enc: Encoding) -> &'static tiktoken_rs::CoreBPE {
    match enc {
        Encoding::O200kBase => tiktoken_rs::o200k_base_singleton(),
        Encoding::Cl100kBase => tiktoken_rs::cl100k_base_singleton(),
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for enc in [Encoding::O200kBase, Encoding::Cl100kBase] {
        let pieces: Vec<&str> = enc.pieces(&text).collect();
        assert!(pieces.iter().all(|p| !p.is_empty()));
        assert_eq!(pieces.concat(), text, "pieces do not make up the text");
        let tokens = enc.encode(&text).expect("tables");
        assert_eq!(enc.count(&text), Some(tokens.len() as u64));
        let spell = spelling(enc);
        let spelled: Vec<u8> = tokens.iter().flat_map(|t| spell.get(t).expect("a token without bytes").iter().copied()).collect();
        assert_eq!(spelled, text.as_bytes(), "tokens do not spell the text");
        assert_eq!(tokens, reference(enc).encode_ordinary(&text), "{enc:?} differs from tiktoken on {text:?}");
    }
    let counted = Encoding::O200kBase.count(&text).expect("tables");
    let total = text.len() as u64 + u64::from(data.first().copied().unwrap_or(0));
    let estimate = estimate_output_tokens("gpt-4o", &text, total).expect("tables");
    assert!(estimate >= counted);
    let _ = estimate_input_tokens("gpt-4o", data);
    let _ = estimate_input_tokens("gpt-3.5-turbo", data);
});
