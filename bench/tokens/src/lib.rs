//! wasm-bindgen exports for run.mjs: a text held in wasm memory (so that timing excludes
//! the copy from JavaScript), and a count of it with either counter.

use std::cell::RefCell;

use llmobserve_core::tokens::Encoding;
use wasm_bindgen::prelude::*;

thread_local! {
    static TEXT: RefCell<String> = const { RefCell::new(String::new()) };
}

fn encoding(name: &str) -> Encoding {
    if name == "cl100k" {
        Encoding::Cl100kBase
    } else {
        Encoding::O200kBase
    }
}

/// Keeps `text` for the counts that follow.
#[wasm_bindgen]
pub fn load(text: &str) {
    TEXT.with(|t| *t.borrow_mut() = text.to_owned());
}

/// Tokens in the loaded text, counted by llmobserve-core (what the worker runs).
#[cfg(feature = "ours")]
#[wasm_bindgen]
pub fn count_ours(enc: &str) -> u32 {
    TEXT.with(|t| encoding(enc).count(&t.borrow()).unwrap_or(0) as u32)
}

/// The worker's own entry point for a cancelled stream, on a short text.
#[cfg(feature = "ours")]
#[wasm_bindgen]
pub fn estimate_output(model: &str, text: &str) -> u32 {
    llmobserve_core::tokens::estimate_output_tokens(model, text, text.len() as u64).unwrap_or(0) as u32
}

/// Tokens in the loaded text, counted by unmodified tiktoken-rs 0.12.1.
#[cfg(feature = "tiktoken")]
#[wasm_bindgen]
pub fn count_tiktoken(enc: &str) -> u32 {
    let bpe = match encoding(enc) {
        Encoding::O200kBase => tiktoken_rs::o200k_base_singleton(),
        Encoding::Cl100kBase => tiktoken_rs::cl100k_base_singleton(),
    };
    TEXT.with(|t| bpe.encode_ordinary(&t.borrow()).len() as u32)
}

/// Bytes of linear memory: the heap that a counter's first use has grown it to.
#[wasm_bindgen]
pub fn memory_bytes() -> u32 {
    (core::arch::wasm32::memory_size(0) * 65536) as u32
}
