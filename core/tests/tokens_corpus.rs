//! The token counter against tiktoken-rs on a corpus: English prose, code, JSON, a dozen
//! scripts, emoji, edge cases of the pre-tokenizer patterns, and a generated soup of
//! characters from every kind the patterns distinguish. Pieces, token ids and counts must
//! all be identical.

// Test helpers: a missing corpus file or a bad reference pattern should fail loudly.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use fancy_regex::Regex;
use llmobserve_core::tokens::Encoding;
use tiktoken_rs::CoreBPE;

/// tiktoken-rs's cl100k_base pattern (not exported by the crate).
const CL100K_PATTERN: &str = "'(?i:[sdmt]|ll|ve|re)|[^\\r\\n\\p{L}\\p{N}]?+\\p{L}++|\\p{N}{1,3}+| ?[^\\s\\p{L}\\p{N}]++[\\r\\n]*+|\\s++$|\\s*[\\r\\n]|\\s+(?!\\S)|\\s";

fn reference(enc: Encoding) -> &'static CoreBPE {
    match enc {
        Encoding::O200kBase => tiktoken_rs::o200k_base_singleton(),
        Encoding::Cl100kBase => tiktoken_rs::cl100k_base_singleton(),
    }
}

fn pattern(enc: Encoding) -> Regex {
    let p = match enc {
        Encoding::O200kBase => tiktoken_rs::O200K_BASE_PAT_STR,
        Encoding::Cl100kBase => CL100K_PATTERN,
    };
    Regex::new(p).unwrap()
}

const ENCODINGS: [Encoding; 2] = [Encoding::O200kBase, Encoding::Cl100kBase];

fn corpus() -> Vec<(String, String)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/tokens");
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    let mut out: Vec<(String, String)> = files
        .into_iter()
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read_to_string(&p).unwrap()))
        .collect();
    assert!(out.len() >= 5, "corpus files missing from {}", dir.display());
    out.push(("generated soup".into(), soup(200_000, 7)));
    out
}

/// Deterministic text from a weighted alphabet of every character kind the patterns
/// distinguish (and the characters they name: apostrophes, contraction letters, `/`).
fn soup(chars: usize, seed: u64) -> String {
    const ALPHABET: &[&str] = &[
        "a", "e", "s", "t", "r", "v", "m", "l", "d", "S", "T", "R", "E", "L", "D", "ſ", "'", "'", "/", " ", " ",
        " ", "\t", "\n", "\r", "\u{a0}", "\u{3000}", "\u{2028}", "\u{85}", "\u{b}", "A", "Z", "é", "É", "ß", "ǅ",
        "ᾈ", "ʰ", "々", "中", "文", "カ", "한", "ع", "ש", "क", "\u{301}", "\u{93f}", "\u{20dd}", "1", "2", "٣", "½",
        "Ⅻ", "①", ".", ",", "!", "?", "-", "_", "(", ")", "\"", "{", "}", "😀", "👍", "\u{1f3fb}", "\u{200d}",
        "\u{fe0f}", "\u{0}", "\u{1b}", "\u{ffff}", "\u{10ffff}", "𝐀", "𝟙", "Σ", "ς", "İ", "ı", "K",
    ];
    let mut state = seed;
    let mut s = String::new();
    for _ in 0..chars {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        // Runs: repeat the pick a few times now and then, so long pieces occur too.
        let pick = ALPHABET[(state % ALPHABET.len() as u64) as usize];
        let repeat = if state >> 60 == 0 { (state >> 40) % 40 } else { 1 };
        for _ in 0..repeat {
            s.push_str(pick);
        }
    }
    s
}

/// The first place where two piece lists differ, for a readable failure.
fn first_difference(ours: &[&str], theirs: &[&str]) -> String {
    let i = ours.iter().zip(theirs).position(|(a, b)| a != b).unwrap_or(ours.len().min(theirs.len()));
    let from = i.saturating_sub(3);
    format!("at piece {i}: ours {:?}\ntheirs {:?}", &ours[from..(i + 3).min(ours.len())], &theirs[from..(i + 3).min(theirs.len())])
}

#[test]
fn pieces_are_the_reference_regex_matches() {
    for (name, text) in corpus() {
        for enc in ENCODINGS {
            let re = pattern(enc);
            let theirs: Vec<&str> = re.find_iter(&text).map(|m| m.unwrap().as_str()).collect();
            let ours: Vec<&str> = enc.pieces(&text).collect();
            assert!(ours == theirs, "{enc:?} {name}: {}", first_difference(&ours, &theirs));
        }
    }
}

#[test]
fn token_ids_match_tiktoken_rs_on_the_corpus() {
    let mut tokens = 0;
    for (name, text) in corpus() {
        for enc in ENCODINGS {
            let theirs = reference(enc).encode_ordinary(&text);
            let ours = enc.encode(&text).unwrap();
            if ours != theirs {
                // Narrow it down to a line for the failure message.
                for line in text.split_inclusive('\n') {
                    let (o, t) = (enc.encode(line).unwrap(), reference(enc).encode_ordinary(line));
                    assert_eq!(o, t, "{enc:?} {name}: line {line:?}");
                }
                panic!("{enc:?} {name}: token ids differ");
            }
            assert_eq!(enc.count(&text), Some(theirs.len() as u64), "{enc:?} {name}");
            tokens += theirs.len();
        }
    }
    assert!(tokens > 100_000, "corpus too small: {tokens} tokens");
}

#[test]
fn counts_match_line_by_line() {
    // Many short texts: the start- and end-of-text cases of the patterns, many times over.
    for (name, text) in corpus() {
        for enc in ENCODINGS {
            for line in text.split_inclusive('\n').take(3000) {
                let theirs = reference(enc).encode_ordinary(line).len() as u64;
                assert_eq!(enc.count(line), Some(theirs), "{enc:?} {name}: {line:?}");
                let trimmed = line.trim_end();
                let theirs = reference(enc).encode_ordinary(trimmed).len() as u64;
                assert_eq!(enc.count(trimmed), Some(theirs), "{enc:?} {name}: {trimmed:?}");
            }
        }
    }
}

#[test]
fn every_token_round_trips_through_the_tables() {
    for enc in ENCODINGS {
        let reference = reference(enc);
        let mut ours = std::collections::HashMap::new();
        let mut previous: Option<Vec<u8>> = None;
        for item in enc.tokens() {
            let (rank, bytes) = item.unwrap();
            assert!(previous.as_ref().is_none_or(|p| *p < bytes), "{enc:?} rank {rank}: tokens out of order");
            previous = Some(bytes.clone());
            assert!(ours.insert(rank, bytes).is_none(), "{enc:?} rank {rank} twice");
        }
        let mut seen = 0;
        for rank in 0..210_000u32 {
            match (ours.remove(&rank), reference.decode_bytes(&[rank])) {
                (Some(ours), Ok(theirs)) => {
                    assert_eq!(ours, theirs.as_slice(), "{enc:?} rank {rank}");
                    // And back: the lookup that counting uses finds the rank from the bytes.
                    assert_eq!(enc.rank(&theirs), Some(rank), "{enc:?} bytes of rank {rank}");
                    seen += 1;
                }
                (None, Ok(theirs)) => {
                    // Only special tokens are missing from the ordinary table.
                    assert_eq!(enc.rank(&theirs), None, "{enc:?} special rank {rank}");
                    let text = String::from_utf8(theirs).unwrap();
                    assert!(reference.special_tokens().contains(text.as_str()), "{enc:?} rank {rank} missing");
                }
                (Some(_), Err(_)) => panic!("{enc:?} rank {rank} is not a tiktoken token"),
                (None, Err(_)) => {}
            }
        }
        assert!(ours.is_empty(), "{enc:?}: ranks past 210000: {:?}", ours.keys().take(5).collect::<Vec<_>>());
        assert!(seen >= 100_000, "{enc:?}: {seen} tokens");
    }
}

#[test]
fn bytes_next_to_a_token_are_found_only_if_tiktoken_has_them() {
    // Keys one byte longer or shorter than a token, or one byte off, are what BPE asks
    // about all the time; the lookup must give tiktoken's rank, or none where it has none.
    for enc in ENCODINGS {
        let reference = reference(enc);
        let special = reference.special_tokens();
        let ordinary: std::collections::HashMap<Vec<u8>, u32> = (0..210_000u32)
            .filter_map(|rank| reference.decode_bytes(&[rank]).ok().map(|bytes| (bytes, rank)))
            .filter(|(bytes, _)| !special.iter().any(|s| s.as_bytes() == bytes.as_slice()))
            .collect();
        assert!(ordinary.len() >= 100_000, "{enc:?}: {} tokens", ordinary.len());
        let mut found = 0;
        for bytes in ordinary.keys() {
            let mut off = bytes.clone();
            *off.last_mut().unwrap() ^= 1;
            let variants = [bytes[..bytes.len() - 1].to_vec(), [&bytes[..], b"s"].concat(), [b" ", &bytes[..]].concat(), off];
            for v in variants {
                let expected = ordinary.get(&v).copied();
                assert_eq!(enc.rank(&v), expected, "{enc:?} {v:?}");
                found += usize::from(expected.is_some());
            }
        }
        // Both outcomes are exercised many times over.
        assert!(found > 50_000, "{enc:?}: only {found} variants are tokens");
    }
}

#[test]
fn long_pieces_take_the_heap_path_and_agree() {
    // Pieces of 100 bytes and more are merged with a heap; around the switch and far past it.
    for len in [98, 99, 100, 101, 150, 1000, 5000] {
        for unit in ["a", "ab", "Ab", "=", "😀", "中", "xyz ", "0", " \u{301}"] {
            let text = unit.repeat(len / unit.len() + 1);
            for enc in ENCODINGS {
                assert_eq!(enc.encode(&text).unwrap(), reference(enc).encode_ordinary(&text), "{enc:?} {unit:?} x {len}");
            }
        }
    }
}
