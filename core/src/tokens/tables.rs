//! The static tables that `build_tokens.rs` generates, and the two lookups made on them:
//! the rank of a token's bytes and the kind of a character. Nothing here is built at run
//! time: the tables are `include_bytes!` slices, read in place.
//!
//! Invariant: a lookup never panics; bytes that are not a token (or a corrupt table) give
//! `None`.

use super::phf;

/// One encoding's ordinary tokens: their bytes in rank order, and a perfect hash from bytes
/// to rank.
pub(super) struct RankTable {
    /// Every token's bytes, concatenated in rank order.
    bytes: &'static [u8],
    /// Per rank, the length of its bytes (0 for a rank that is no ordinary token).
    lens: &'static [u8],
    /// Per `START_EVERY` ranks, the 24-bit offset in `bytes` of the first one's bytes.
    starts: &'static [u8],
    /// Per slot, the 24-bit rank that the perfect hash places there (0xFFFFFF: none).
    slots: &'static [u8],
    /// Per bucket, the 16-bit pilot that places its keys.
    pilots: &'static [u8],
    /// The 24-bit rank of every two-byte key (index `a << 8 | b`), then of every single
    /// byte (index `65536 + a`); 0xFFFFFF: not a token.
    short: &'static [u8],
    slot_count: u64,
    bucket_count: u64,
}

include!(concat!(env!("OUT_DIR"), "/tokens_tables.rs"));

#[inline]
fn u24(data: &[u8], index: usize) -> Option<u32> {
    let b = data.get(index * 3..index * 3 + 3)?;
    Some(u32::from(b[0]) | u32::from(b[1]) << 8 | u32::from(b[2]) << 16)
}

impl RankTable {
    /// The bytes of a token whose length is known to be `len`.
    #[inline]
    fn token_of_len(&self, rank: usize, len: usize) -> Option<&'static [u8]> {
        let group = rank / START_EVERY;
        let before: usize = self.lens.get(group * START_EVERY..rank)?.iter().map(|&l| usize::from(l)).sum();
        let start = u24(self.starts, group)? as usize + before;
        self.bytes.get(start..start + len)
    }

    /// The bytes of a token (empty for a rank that is no ordinary token).
    pub(super) fn token(&self, rank: u32) -> Option<&'static [u8]> {
        let len = usize::from(*self.lens.get(rank as usize)?);
        self.token_of_len(rank as usize, len)
    }

    /// The rank of the token whose bytes are `key`: one table read for one or two bytes,
    /// else one hash, one slot, one comparison.
    #[inline]
    pub(super) fn rank(&self, key: &[u8]) -> Option<u32> {
        let short = match *key {
            [a, b] => Some(usize::from(a) << 8 | usize::from(b)),
            [a] => Some((1 << 16) + usize::from(a)),
            _ => None,
        };
        if let Some(index) = short {
            return u24(self.short, index).filter(|&r| r != 0x00FF_FFFF);
        }
        let hash = phf::hash_bytes(key);
        let bucket = phf::bucket_of(hash, self.bucket_count) as usize;
        let pilot = self.pilots.get(bucket * 2..bucket * 2 + 2)?;
        let slot = phf::slot_of(hash, u16::from_le_bytes([pilot[0], pilot[1]]), self.slot_count);
        let rank = u24(self.slots, slot as usize)?;
        // Most keys that BPE asks about are not tokens; their length usually differs from
        // the length of the token in their slot, which rejects them without a comparison.
        if usize::from(*self.lens.get(rank as usize)?) != key.len() {
            return None;
        }
        (self.token_of_len(rank as usize, key.len())? == key).then_some(rank)
    }
}

/// The only distinctions between characters that the o200k_base and cl100k_base
/// pre-tokenizer patterns make. The kinds are disjoint (the build checks it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    /// `\p{Lu}` or `\p{Lt}`.
    Upper,
    /// `\p{Ll}`.
    Lower,
    /// `\p{Lm}` or `\p{Lo}`: on both sides of o200k_base's case split.
    OtherLetter,
    /// `\p{M}`: not a letter, yet inside o200k_base's words.
    Mark,
    /// `\p{N}`.
    Number,
    /// `\s` other than CR and LF.
    Space,
    /// `\r` or `\n`.
    Newline,
    /// Everything else: punctuation, symbols, controls, unassigned code points.
    Other,
}

/// The kind of a character, as regex-syntax's Unicode tables (those of the pinned
/// fancy-regex under tiktoken-rs) classify it.
#[inline]
pub(super) fn kind(c: char) -> Kind {
    let cp = c as usize;
    let block = cp / KIND_BLOCK;
    let leaf = match KIND_INDEX.get(block * 2..block * 2 + 2) {
        Some(b) => usize::from(u16::from_le_bytes([b[0], b[1]])),
        None => return Kind::Other,
    };
    match KIND_LEAVES.get(leaf * KIND_BLOCK + cp % KIND_BLOCK) {
        Some(0) => Kind::Upper,
        Some(1) => Kind::Lower,
        Some(2) => Kind::OtherLetter,
        Some(3) => Kind::Mark,
        Some(4) => Kind::Number,
        Some(5) => Kind::Space,
        Some(6) => Kind::Newline,
        _ => Kind::Other,
    }
}
