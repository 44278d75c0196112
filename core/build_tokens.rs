//! Build step of `core::tokens`: turns tiktoken-rs's o200k_base and cl100k_base encoders
//! and regex-syntax's Unicode tables into static tables that the counter uses as they are,
//! with no parsing, hashing or allocation at first use.
//!
//! Written to `$OUT_DIR`:
//! - `<enc>_bytes.bin`: every ordinary token's bytes, concatenated in rank order;
//! - `<enc>_lens.bin`: per rank, the length of its bytes (gaps in the ranks, such as the
//!   special tokens', are zero-length and can never match);
//! - `<enc>_starts.bin`: per group of `START_EVERY` ranks, the 24-bit little-endian offset
//!   of the group's first token;
//! - `<enc>_slots.bin`, `<enc>_pilots.bin`: a perfect hash from a token's bytes to its rank
//!   (PTHash-style: a 16-bit pilot per bucket, a 24-bit rank per slot, 0xFFFFFF = empty);
//! - `<enc>_short.bin`: the 24-bit rank of every one- and two-byte key (0xFFFFFF = none),
//!   for the first pass of BPE, which looks up every adjacent pair of bytes;
//! - `unicode_kinds_{index,leaves}.bin`: the character classes of the pre-tokenizer
//!   regexes as a two-level table over code points;
//! - `tokens_tables.rs`: the constants and `include_bytes!` that tie them together.
//!
//! Both sources are the crates tiktoken-rs itself is built from (versions pinned by
//! Cargo.lock), so the tables cannot drift from the reference the tests compare against.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

#[path = "src/tokens/phf.rs"]
mod phf;

/// Keys per bucket (PTHash's lambda) and spare slots (1 in 16): together they keep every
/// pilot search short and every pilot within 16 bits.
const KEYS_PER_BUCKET: usize = 4;
const SPARE_SLOT_EVERY: usize = 16;
const EMPTY_SLOT: u32 = 0x00FF_FFFF;
/// Keys of one and two bytes have a direct table: 2^16 pairs, then 256 single bytes.
const SHORT_KEYS: usize = (1 << 16) + 256;
/// Ranks are probed up to here; the largest ordinary rank of o200k_base is 199997.
const RANK_PROBE_LIMIT: u32 = 1 << 18;
/// Ranks per stored start offset; a token's start is its group's start plus the lengths of
/// the tokens before it in the group. Lengths compress far better than offsets, and the
/// worker is limited by its compressed size.
const START_EVERY: usize = 8;
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

struct Phf {
    pilots: Vec<u16>,
    slot_ranks: Vec<u32>,
}

fn build_phf(tokens: &[(u32, Vec<u8>)]) -> Result<Phf, String> {
    let n = tokens.len();
    let hashes: Vec<u64> = tokens.iter().map(|(_, t)| phf::hash_bytes(t)).collect();
    let mut sorted = hashes.clone();
    sorted.sort_unstable();
    if sorted.windows(2).any(|w| w[0] == w[1]) {
        return Err("two tokens share a 64-bit hash: change phf::SEED".into());
    }
    let bucket_count = n.div_ceil(KEYS_PER_BUCKET);
    let slot_count = n + n / SPARE_SLOT_EVERY;
    let mut buckets: Vec<Vec<usize>> = vec![Vec::new(); bucket_count];
    for (key, &h) in hashes.iter().enumerate() {
        buckets[phf::bucket_of(h, bucket_count as u64) as usize].push(key);
    }
    let mut order: Vec<usize> = (0..bucket_count).collect();
    order.sort_by_key(|&b| (std::cmp::Reverse(buckets[b].len()), b));

    let mut pilots = vec![0u16; bucket_count];
    let mut slot_ranks = vec![EMPTY_SLOT; slot_count];
    let mut positions = Vec::new();
    for b in order {
        let keys = &buckets[b];
        if keys.is_empty() {
            break;
        }
        let mut placed = false;
        'pilot: for pilot in 0..=u16::MAX {
            positions.clear();
            for &key in keys {
                let slot = phf::slot_of(hashes[key], pilot, slot_count as u64) as usize;
                if slot_ranks[slot] != EMPTY_SLOT || positions.contains(&slot) {
                    continue 'pilot;
                }
                positions.push(slot);
            }
            for (&key, &slot) in keys.iter().zip(&positions) {
                slot_ranks[slot] = tokens[key].0;
            }
            pilots[b] = pilot;
            placed = true;
            break;
        }
        if !placed {
            return Err(format!("no 16-bit pilot places bucket {b}: add spare slots"));
        }
    }
    Ok(Phf { pilots, slot_ranks })
}

/// Writes one encoding's tables; returns the Rust item that describes them.
fn write_encoding(dir: &Path, name: &str, bpe: &tiktoken_rs::CoreBPE) -> Result<String, String> {
    let tokens = ordinary_tokens(bpe)?;
    let phf = build_phf(&tokens)?;
    let max_rank = tokens.last().map(|(r, _)| *r).unwrap_or(0);

    let mut bytes = Vec::new();
    let mut lens = Vec::new();
    let mut starts = Vec::new();
    let mut next = tokens.iter().peekable();
    for rank in 0..=max_rank {
        if (rank as usize).is_multiple_of(START_EVERY) {
            push_u24(&mut starts, bytes.len() as u32)?;
        }
        match next.next_if(|(r, _)| *r == rank) {
            Some((_, t)) => {
                let len = u8::try_from(t.len()).map_err(|_| format!("token {rank} is over 255 bytes"))?;
                bytes.extend_from_slice(t);
                lens.push(len);
            }
            None => lens.push(0),
        }
    }
    let mut slots = Vec::new();
    for &r in &phf.slot_ranks {
        push_u24(&mut slots, r)?;
    }
    let pilots: Vec<u8> = phf.pilots.iter().flat_map(|p| p.to_le_bytes()).collect();
    let mut short = vec![EMPTY_SLOT; SHORT_KEYS];
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
    write(dir, &format!("{name}_bytes.bin"), &bytes)?;
    write(dir, &format!("{name}_lens.bin"), &lens)?;
    write(dir, &format!("{name}_starts.bin"), &starts)?;
    write(dir, &format!("{name}_slots.bin"), &slots)?;
    write(dir, &format!("{name}_pilots.bin"), &pilots)?;
    write(dir, &format!("{name}_short.bin"), &short_bytes)?;

    let upper = name.to_uppercase();
    Ok(format!(
        "/// {name}: {count} ordinary tokens, ranks 0..={max_rank}.\n\
         pub(super) static {upper}: RankTable = RankTable {{\n\
         \x20   bytes: include_bytes!(concat!(env!(\"OUT_DIR\"), \"/{name}_bytes.bin\")),\n\
         \x20   lens: include_bytes!(concat!(env!(\"OUT_DIR\"), \"/{name}_lens.bin\")),\n\
         \x20   starts: include_bytes!(concat!(env!(\"OUT_DIR\"), \"/{name}_starts.bin\")),\n\
         \x20   slots: include_bytes!(concat!(env!(\"OUT_DIR\"), \"/{name}_slots.bin\")),\n\
         \x20   pilots: include_bytes!(concat!(env!(\"OUT_DIR\"), \"/{name}_pilots.bin\")),\n\
         \x20   short: include_bytes!(concat!(env!(\"OUT_DIR\"), \"/{name}_short.bin\")),\n\
         \x20   slot_count: {slot_count},\n\
         \x20   bucket_count: {bucket_count},\n\
         }};\n",
        count = tokens.len(),
        slot_count = phf.slot_ranks.len(),
        bucket_count = phf.pilots.len(),
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
    println!("cargo:rerun-if-changed=src/tokens/phf.rs");
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
    rust.push_str(&format!("pub(super) const START_EVERY: usize = {START_EVERY};\n"));
    rust.push_str(&contraction_letter_fn()?);
    write(&dir, "tokens_tables.rs", rust.as_bytes())
}
