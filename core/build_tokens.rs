//! Build step of `core::tokens`: turns tiktoken-rs's o200k_base and cl100k_base encoders
//! and regex-syntax's Unicode tables into static tables that the counter uses as they are,
//! with no parsing, hashing or allocation at first use.
//!
//! Written to `$OUT_DIR`, per encoding (`<enc>` is `o200k` or `cl100k`):
//! - `<enc>_text.bin`: every ordinary token's bytes, sorted bytewise and front-coded in
//!   blocks of `BLOCK` tokens. A block's first token (its head) is stored whole, as its
//!   length and its bytes; each further token as the length `p` of the prefix it shares
//!   with the token before it and the length `s` of the rest, then the rest's bytes. `p`
//!   and `s` take one byte `p << 4 | s` when `p < 15` and `s < 16`, else three: `0xF0, p, s`;
//! - `<enc>_heads.bin`: per block, the 24-bit little-endian offset of its head in the text;
//! - `<enc>_index.bin`: per two-byte prefix `a << 8 | b`, the 16-bit little-endian number
//!   of the last block whose head is at most `[a, b]`: the binary search for a key starts
//!   there and ends at the next prefix's block;
//! - `<enc>_ranks.bin`: per token in sorted order, its rank, bit-packed little-endian in
//!   `RANK_BITS` bits (the smallest width that holds the largest rank), then 3 zero bytes
//!   so that a rank is always read as 4 whole bytes;
//! - `<enc>_short.bin`: the 24-bit rank of every one- and two-byte key (0xFFFFFF = none),
//!   for the first pass of BPE, which looks up every adjacent pair of bytes;
//! - `unicode_kinds_{index,leaves}.bin`: the character classes of the pre-tokenizer
//!   regexes as a two-level table over code points;
//! - `tokens_tables.rs`: the constants and `include_bytes!` that tie them together.
//!
//! Sorted, front-coded text is about a quarter the gzipped size of the tokens in rank order,
//! and the sorted-position-to-rank array replaces a perfect hash's slot-to-rank array, which
//! was as large: the worker's limit is its gzipped size.
//!
//! Both sources are the crates tiktoken-rs itself is built from (versions pinned by
//! Cargo.lock), so the tables cannot drift from the reference the tests compare against.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Tokens per front-coded block: a lookup binary-searches the heads, then scans at most
/// this many tokens. Blocks of 32 gzip 54 KB smaller (both encodings) and count about 15%
/// slower.
const BLOCK: usize = 16;
/// The escape of a front-coding header that does not fit in one byte.
const LONG_HEADER: u8 = 0xF0;
const NO_RANK: u32 = 0x00FF_FFFF;
/// Keys of one and two bytes have a direct table: 2^16 pairs, then 256 single bytes.
const SHORT_KEYS: usize = (1 << 16) + 256;
/// Ranks are probed up to here; the largest ordinary rank of o200k_base is 199997.
const RANK_PROBE_LIMIT: u32 = 1 << 18;
/// Code points per leaf of the Unicode kind table.
const KIND_BLOCK: usize = 128;

fn write(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), String> {
    let path = dir.join(name);
    std::fs::write(&path, bytes).map_err(|e| format!("{}: {e}", path.display()))
}

fn push_u24(out: &mut Vec<u8>, value: u32) -> Result<(), String> {
    if value > 0x00FF_FFFF {
        return Err(format!("{value} does not fit in 24 bits"));
    }
    out.extend_from_slice(&value.to_le_bytes()[..3]);
    Ok(())
}

/// Every ordinary token of an encoding, as (rank, bytes), in rank order. Special tokens are
/// not ordinary text and are left out, as `encode_ordinary` leaves them out.
fn ordinary_tokens(bpe: &tiktoken_rs::CoreBPE) -> Result<Vec<(u32, Vec<u8>)>, String> {
    let mut special = Vec::new();
    for s in bpe.special_tokens() {
        match bpe.encode_with_special_tokens(s).as_slice() {
            [rank] => special.push(*rank),
            other => return Err(format!("special token {s:?} encodes as {other:?}")),
        }
    }
    let mut tokens = Vec::new();
    for rank in 0..RANK_PROBE_LIMIT {
        if special.contains(&rank) {
            continue;
        }
        if let Ok(bytes) = bpe.decode_bytes(&[rank]) {
            tokens.push((rank, bytes));
        }
    }
    match tokens.last() {
        Some((last, _)) if *last < RANK_PROBE_LIMIT - 4096 => {}
        _ => return Err("ranks reach RANK_PROBE_LIMIT: raise it".into()),
    }
    for byte in 0..=255u8 {
        if !tokens.iter().any(|(_, t)| t.as_slice() == [byte]) {
            return Err(format!("byte {byte} is not a token: byte-level BPE needs all 256"));
        }
    }
    Ok(tokens)
}

/// The length of the prefix that `a` and `b` share.
fn shared_prefix(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// The front-coded text and the block heads of tokens sorted bytewise.
fn front_code(sorted: &[(u32, Vec<u8>)]) -> Result<(Vec<u8>, Vec<u8>), String> {
    let mut text = Vec::new();
    let mut heads = Vec::new();
    let mut previous: &[u8] = &[];
    for (i, (rank, t)) in sorted.iter().enumerate() {
        let len = u8::try_from(t.len()).map_err(|_| format!("token {rank} is over 255 bytes"))?;
        if i % BLOCK == 0 {
            push_u24(&mut heads, text.len() as u32)?;
            text.push(len);
            text.extend_from_slice(t);
        } else {
            let p = shared_prefix(previous, t);
            let s = t.len() - p;
            if s == 0 {
                return Err(format!("tokens are not strictly sorted at rank {rank}"));
            }
            if p < 15 && s < 16 {
                text.push((p as u8) << 4 | s as u8);
            } else {
                text.extend_from_slice(&[LONG_HEADER, p as u8, s as u8]);
            }
            text.extend_from_slice(&t[p..]);
        }
        previous = t;
    }
    Ok((text, heads))
}

/// Per two-byte prefix, the last block whose head is at most the prefix (0 if none).
fn prefix_index(sorted: &[(u32, Vec<u8>)]) -> Result<Vec<u8>, String> {
    let heads: Vec<&[u8]> = sorted.iter().step_by(BLOCK).map(|(_, t)| t.as_slice()).collect();
    let mut index = Vec::new();
    for prefix in 0..=u16::MAX {
        let key = prefix.to_be_bytes();
        let block = heads.partition_point(|h| *h <= &key[..]).saturating_sub(1);
        let block = u16::try_from(block).map_err(|_| format!("{} blocks: over 16 bits", heads.len()))?;
        index.extend_from_slice(&block.to_le_bytes());
    }
    Ok(index)
}

/// Ranks packed little-endian in `bits` bits each, then 3 zero bytes of padding.
fn pack_ranks(sorted: &[(u32, Vec<u8>)], bits: u32) -> Vec<u8> {
    let mut out = Vec::new();
    let (mut acc, mut filled) = (0u64, 0u32);
    for (rank, _) in sorted {
        acc |= u64::from(*rank) << filled;
        filled += bits;
        while filled >= 8 {
            out.push(acc as u8);
            acc >>= 8;
            filled -= 8;
        }
    }
    if filled > 0 {
        out.push(acc as u8);
    }
    out.extend_from_slice(&[0, 0, 0]);
    out
}

/// Writes one encoding's tables; returns the Rust item that describes them.
fn write_encoding(dir: &Path, name: &str, bpe: &tiktoken_rs::CoreBPE) -> Result<String, String> {
    let mut tokens = ordinary_tokens(bpe)?;
    let max_rank = tokens.last().map(|(r, _)| *r).unwrap_or(0);
    let rank_bits = 32 - max_rank.leading_zeros();
    // 4 bytes read at any bit offset within a byte must hold a whole rank.
    if rank_bits > 25 {
        return Err(format!("rank {max_rank} needs over 25 bits"));
    }
    let mut short = vec![NO_RANK; SHORT_KEYS];
    for (rank, t) in &tokens {
        match t.as_slice() {
            [a, b] => short[usize::from(*a) << 8 | usize::from(*b)] = *rank,
            [a] => short[(1 << 16) + usize::from(*a)] = *rank,
            _ => {}
        }
    }
    let mut short_bytes = Vec::new();
    for r in short {
        push_u24(&mut short_bytes, r)?;
    }

    tokens.sort_by(|a, b| a.1.cmp(&b.1));
    let (text, heads) = front_code(&tokens)?;
    let index = prefix_index(&tokens)?;
    let ranks = pack_ranks(&tokens, rank_bits);
    write(dir, &format!("{name}_text.bin"), &text)?;
    write(dir, &format!("{name}_heads.bin"), &heads)?;
    write(dir, &format!("{name}_index.bin"), &index)?;
    write(dir, &format!("{name}_ranks.bin"), &ranks)?;
    write(dir, &format!("{name}_short.bin"), &short_bytes)?;

    let upper = name.to_uppercase();
    Ok(format!(
        "/// {name}: {count} ordinary tokens, ranks 0..={max_rank}.\n\
         pub(super) static {upper}: RankTable = RankTable {{\n\
         \x20   text: include_bytes!(concat!(env!(\"OUT_DIR\"), \"/{name}_text.bin\")),\n\
         \x20   heads: include_bytes!(concat!(env!(\"OUT_DIR\"), \"/{name}_heads.bin\")),\n\
         \x20   index: include_bytes!(concat!(env!(\"OUT_DIR\"), \"/{name}_index.bin\")),\n\
         \x20   ranks: include_bytes!(concat!(env!(\"OUT_DIR\"), \"/{name}_ranks.bin\")),\n\
         \x20   short: include_bytes!(concat!(env!(\"OUT_DIR\"), \"/{name}_short.bin\")),\n\
         \x20   count: {count},\n\
         \x20   rank_bits: {rank_bits},\n\
         }};\n",
        count = tokens.len(),
    ))
}

fn class_ranges(pattern: &str) -> Result<Vec<(u32, u32)>, String> {
    use regex_syntax::hir::{Class, HirKind};
    let hir = regex_syntax::parse(pattern).map_err(|e| format!("{pattern}: {e}"))?;
    match hir.kind() {
        HirKind::Class(Class::Unicode(class)) => {
            Ok(class.ranges().iter().map(|r| (u32::from(r.start()), u32::from(r.end()))).collect())
        }
        _ => Err(format!("{pattern} is not a Unicode class")),
    }
}

/// The kind of every code point, numbered as `tables::Kind`: 0 Lu|Lt, 1 Ll, 2 Lm|Lo, 3 M,
/// 4 N, 5 White_Space other than CR and LF, 6 CR or LF, 7 anything else. These are the only
/// distinctions the o200k_base and cl100k_base patterns make, and they are disjoint.
fn write_unicode_kinds(dir: &Path) -> Result<(), String> {
    const OTHER: u8 = 7;
    let mut kinds = vec![OTHER; 0x11_0000];
    let classes: [(&str, u8); 9] = [
        (r"\p{Lu}", 0),
        (r"\p{Lt}", 0),
        (r"\p{Ll}", 1),
        (r"\p{Lm}", 2),
        (r"\p{Lo}", 2),
        (r"\p{M}", 3),
        (r"\p{N}", 4),
        (r"\s", 5),
        (r"[\r\n]", 6),
    ];
    for (pattern, kind) in classes {
        for (start, end) in class_ranges(pattern)? {
            for cp in start..=end {
                let cell = &mut kinds[cp as usize];
                let overwrite_space = *cell == 5 && kind == 6;
                if *cell != OTHER && !overwrite_space {
                    return Err(format!("U+{cp:04X} is in {pattern} and in kind {cell}"));
                }
                *cell = kind;
            }
        }
    }
    // \p{L} must be exactly the union of its five subcategories.
    let mut letters = 0usize;
    for (start, end) in class_ranges(r"\p{L}")? {
        for cp in start..=end {
            letters += 1;
            if kinds[cp as usize] > 2 {
                return Err(format!("U+{cp:04X} is in \\p{{L}} but in no letter subcategory"));
            }
        }
    }
    if letters != kinds.iter().filter(|&&k| k <= 2).count() {
        return Err("\\p{L} is not the union of Lu, Lt, Ll, Lm, Lo".into());
    }

    let mut index = Vec::new();
    let mut leaves: Vec<u8> = Vec::new();
    let mut seen: HashMap<&[u8], u16> = HashMap::new();
    for block in kinds.chunks(KIND_BLOCK) {
        let next = seen.len();
        let id = *seen.entry(block).or_insert_with(|| {
            leaves.extend_from_slice(block);
            next as u16
        });
        index.extend_from_slice(&id.to_le_bytes());
    }
    write(dir, "unicode_kinds_index.bin", &index)?;
    write(dir, "unicode_kinds_leaves.bin", &leaves)
}

/// `(?i)` in both patterns applies to the contraction letters only; each matches its
/// Unicode simple case-fold class (for `s` that includes U+017F LATIN SMALL LETTER LONG S).
fn contraction_letter_fn() -> Result<String, String> {
    use regex_syntax::hir::{ClassUnicode, ClassUnicodeRange};
    let mut arms = String::new();
    let mut all: Vec<char> = Vec::new();
    for letter in ['s', 't', 'r', 'e', 'v', 'm', 'l', 'd'] {
        let mut class = ClassUnicode::new([ClassUnicodeRange::new(letter, letter)]);
        class.try_case_fold_simple().map_err(|e| format!("case folding: {e}"))?;
        let mut chars = Vec::new();
        for r in class.ranges() {
            chars.extend(r.start()..=r.end());
        }
        if chars.iter().any(|c| all.contains(c)) {
            return Err(format!("case-fold classes overlap at {letter}"));
        }
        all.extend(&chars);
        let alternatives: Vec<String> = chars.iter().map(|c| format!("{c:?}")).collect();
        writeln!(arms, "        {} => Some(b'{letter}'),", alternatives.join(" | ")).ok();
    }
    Ok(format!(
        "/// The contraction letter (`s t r e v m l d`) that `c` matches case-insensitively.\n\
         pub(super) fn contraction_letter(c: char) -> Option<u8> {{\n\
         \x20   match c {{\n{arms}        _ => None,\n    }}\n}}\n"
    ))
}

/// Generates the token tables into `$OUT_DIR`. Called once from `build.rs`.
pub fn generate() -> Result<(), String> {
    println!("cargo:rerun-if-changed=build_tokens.rs");
    let dir = PathBuf::from(std::env::var("OUT_DIR").map_err(|e| e.to_string())?);

    let mut rust = String::from("// Generated by core/build_tokens.rs. Do not edit.\n\n");
    let o200k = tiktoken_rs::o200k_base().map_err(|e| format!("o200k_base: {e}"))?;
    rust.push_str(&write_encoding(&dir, "o200k", &o200k)?);
    drop(o200k);
    let cl100k = tiktoken_rs::cl100k_base().map_err(|e| format!("cl100k_base: {e}"))?;
    rust.push_str(&write_encoding(&dir, "cl100k", &cl100k)?);
    drop(cl100k);

    write_unicode_kinds(&dir)?;
    rust.push_str(
        "/// Per 128 code points, the 16-bit index of its leaf in `KIND_LEAVES`.\n\
         pub(super) static KIND_INDEX: &[u8] = include_bytes!(concat!(env!(\"OUT_DIR\"), \"/unicode_kinds_index.bin\"));\n\
         /// Leaves of 128 kinds, one byte per code point.\n\
         pub(super) static KIND_LEAVES: &[u8] = include_bytes!(concat!(env!(\"OUT_DIR\"), \"/unicode_kinds_leaves.bin\"));\n",
    );
    rust.push_str(&format!("pub(super) const KIND_BLOCK: usize = {KIND_BLOCK};\n"));
    rust.push_str(&format!("pub(super) const BLOCK: usize = {BLOCK};\n"));
    rust.push_str(&format!("pub(super) const LONG_HEADER: u8 = {LONG_HEADER:#04X};\n"));
    rust.push_str(&contraction_letter_fn()?);
    write(&dir, "tokens_tables.rs", rust.as_bytes())
}
