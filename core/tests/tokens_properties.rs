//! Property tests: for random strings, the token counter gives tiktoken-rs's tokens, and the
//! model-to-encoding map is tiktoken-rs's.

use llmobserve_core::tokens::{estimate_output_tokens, Encoding};
use proptest::prelude::*;
use tiktoken_rs::tokenizer::{get_tokenizer, Tokenizer};
use tiktoken_rs::CoreBPE;

fn reference(enc: Encoding) -> &'static CoreBPE {
    match enc {
        Encoding::O200kBase => tiktoken_rs::o200k_base_singleton(),
        Encoding::Cl100kBase => tiktoken_rs::cl100k_base_singleton(),
    }
}

fn same_tokens(text: &str) -> Result<(), TestCaseError> {
    for enc in [Encoding::O200kBase, Encoding::Cl100kBase] {
        let theirs = reference(enc).encode_ordinary(text);
        prop_assert_eq!(enc.encode(text), Some(theirs.clone()), "{:?} {:?}", enc, text);
        prop_assert_eq!(enc.count(text), Some(theirs.len() as u64));
    }
    Ok(())
}

/// Fragments where the pre-tokenizer patterns make their decisions: contractions in every
/// case (and `ſ`, which `(?i)s` matches), each character kind, whitespace before words and
/// at the end, CR/LF runs, `/` after punctuation, marks at the start of a word.
const FRAGMENTS: &[&str] = &[
    "'", "'s", "'S", "'ſ", "'t", "'re", "'RE", "'rE", "'ve", "'m", "'ll", "'LL", "'d", "s", "re", "ll", " ", "  ",
    "\t", "\n", "\r", "\r\n", "\u{a0}", "\u{3000}", "\u{85}", "\u{2029}", "a", "z", "A", "Z", "ǅ", "ʰ", "々", "中",
    "カ", "한", "ع", "é", "É", "ß", "\u{301}", "\u{20dd}", "\u{93f}", "1", "12", "123", "٣", "½", "Ⅻ", "/", "//",
    ".", "!", "?", "-", "\"", "😀", "👍🏽", "\u{200d}", "\u{fe0f}", "\u{0}", "\u{7f}", "\u{ffff}", "hello", "World",
    "HTTP", "don't", "I'M", "aBc", "Σς", "İı", "K",
];

fn fragments() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(FRAGMENTS), 0..40).prop_map(|v| v.concat())
}

/// Characters from the blocks that real text uses, weighted towards the interesting ones.
fn script_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => prop::char::range(' ', '~'),
        1 => prop::char::range('\u{0}', '\u{20}'),
        2 => prop::char::range('\u{80}', '\u{24f}'),
        1 => prop::char::range('\u{250}', '\u{36f}'),
        1 => prop::char::range('\u{370}', '\u{52f}'),
        1 => prop::char::range('\u{590}', '\u{6ff}'),
        1 => prop::char::range('\u{900}', '\u{e7f}'),
        1 => prop::char::range('\u{1d00}', '\u{1fff}'),
        1 => prop::char::range('\u{2000}', '\u{2bff}'),
        1 => prop::char::range('\u{3000}', '\u{30ff}'),
        1 => prop::char::range('\u{4e00}', '\u{9fff}'),
        1 => prop::char::range('\u{ac00}', '\u{d7a3}'),
        1 => prop::char::range('\u{fe00}', '\u{ffff}'),
        1 => prop::char::range('\u{1d400}', '\u{1d7ff}'),
        1 => prop::char::range('\u{1f300}', '\u{1faff}'),
        1 => any::<char>(),
    ]
}

fn script_text() -> impl Strategy<Value = String> {
    prop::collection::vec(script_char(), 0..200).prop_map(|v| v.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn tokens_of_fragment_strings_match_tiktoken_rs(text in fragments()) {
        same_tokens(&text)?;
    }

    #[test]
    fn tokens_of_script_strings_match_tiktoken_rs(text in script_text()) {
        same_tokens(&text)?;
    }

    #[test]
    fn tokens_of_arbitrary_strings_match_tiktoken_rs(text in any::<String>()) {
        same_tokens(&text)?;
    }

    #[test]
    fn counts_of_fragment_strings_add_up_over_whole_prefixes(text in fragments(), cut in 0usize..400) {
        // A cancelled stream is counted on a prefix: any char boundary must work.
        let cut = (0..=cut.min(text.len())).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
        same_tokens(&text[..cut])?;
        prop_assert!(estimate_output_tokens("gpt-4o", &text[..cut], text.len() as u64).is_some());
    }

    #[test]
    fn model_names_map_to_tiktoken_rs_encodings(
        prefix in prop::sample::select(&["", "ft:", "ft:ft:", "gpt-", "o", "text-embedding-", "chatgpt-"][..]),
        base in prop::sample::select(&[
            "gpt-4", "gpt-4-", "gpt-4o", "gpt-4o-", "gpt-4.1", "gpt-4.1-", "gpt-4.5-", "gpt-5", "gpt-3.5",
            "gpt-3.5-turbo", "gpt-3.5-turbo-", "gpt-35-turbo", "gpt-35-turbo-", "o1", "o1-", "o3-", "o4-mini",
            "o4-mini-", "davinci-002", "babbage-002", "text-embedding-ada-002", "text-embedding-3-small",
            "text-embedding-3-large", "davinci", "gpt2", "gpt-oss-", "codex-mini", "claude-3", "", "4",
        ][..]),
        suffix in prop::sample::select(&["", "0613", "32k", "-2024-05-13", ":org:id", "mini", ":x"][..]),
    ) {
        let model = format!("{prefix}{base}{suffix}");
        let expected = match get_tokenizer(&model) {
            Some(Tokenizer::Cl100kBase) => Encoding::Cl100kBase,
            _ => Encoding::O200kBase,
        };
        prop_assert_eq!(Encoding::for_model(&model), expected, "{}", model);
    }
}
