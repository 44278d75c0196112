//! The static tables that `build_tokens.rs` generates, and the two lookups made on them:
//! the rank of a token's bytes and the kind of a character. Nothing here is built at run
//! time: the tables are `include_bytes!` slices, read in place.
//!
//! Invariant: a lookup never panics; bytes that are not a token (or a corrupt table) give
//! `None`.

use std::cmp::Ordering;

/// One encoding's ordinary tokens, sorted bytewise and front-coded in blocks (the layout is
/// `build_tokens.rs`'s), with the rank of each.
pub(super) struct RankTable {
    /// The front-coded tokens: per block of `BLOCK`, a head (length, bytes), then per token
    /// a header (shared prefix length `p`, suffix length `s`) and the suffix's bytes.
    text: &'static [u8],
    /// Per block, the 24-bit offset of its head in `text`.
    heads: &'static [u8],
    /// Per two-byte prefix `a << 8 | b`, the 16-bit number of the last block whose head is
    /// at most `[a, b]`.
    index: &'static [u8],
    /// Per token in sorted order, its rank in `rank_bits` bits, then 3 bytes of padding.
    ranks: &'static [u8],
    /// The 24-bit rank of every two-byte key (index `a << 8 | b`), then of every single
    /// byte (index `65536 + a`); 0xFFFFFF: not a token.
    short: &'static [u8],
    count: usize,
    rank_bits: u32,
}

include!(concat!(env!("OUT_DIR"), "/tokens_tables.rs"));

#[inline]
fn u24(data: &[u8], index: usize) -> Option<u32> {
    let b = data.get(index * 3..index * 3 + 3)?;
    Some(u32::from(b[0]) | u32::from(b[1]) << 8 | u32::from(b[2]) << 16)
}

/// The length of the prefix that `a` and `b` share.
#[inline]
fn shared_prefix(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

impl RankTable {
    /// The rank of the token at sorted position `index`.
    #[inline]
    fn rank_at(&self, index: usize) -> Option<u32> {
        let bit = index * self.rank_bits as usize;
        let b = self.ranks.get(bit / 8..bit / 8 + 4)?;
        let word = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        let mask = 1u32.checked_shl(self.rank_bits).map_or(u32::MAX, |m| m - 1);
        Some((word >> (bit % 8)) & mask)
    }

    /// The head of block `block`, and the offset in `text` just after it.
    #[inline]
    fn head(&self, block: usize) -> Option<(&'static [u8], usize)> {
        let at = u24(self.heads, block)? as usize;
        let len = usize::from(*self.text.get(at)?);
        Some((self.text.get(at + 1..at + 1 + len)?, at + 1 + len))
    }

    /// The header of a non-head token at `at`: (shared prefix, suffix length, suffix start).
    #[inline]
    fn header(&self, at: usize) -> Option<(usize, usize, usize)> {
        match *self.text.get(at)? {
            LONG_HEADER => Some((usize::from(*self.text.get(at + 1)?), usize::from(*self.text.get(at + 2)?), at + 3)),
            b => Some((usize::from(b >> 4), usize::from(b & 0x0F), at + 1)),
        }
    }

    /// The rank of the token whose bytes are `key`: one table read for one or two bytes,
    /// else a binary search over the block heads and a scan of one block.
    pub(super) fn rank(&self, key: &[u8]) -> Option<u32> {
        let short = match *key {
            [a, b] => Some(usize::from(a) << 8 | usize::from(b)),
            [a] => Some((1 << 16) + usize::from(a)),
            _ => None,
        };
        if let Some(index) = short {
            return u24(self.short, index).filter(|&r| r != 0x00FF_FFFF);
        }
        // The last block whose head is at most `key`: at or after the last block whose head
        // is at most `key`'s first two bytes, and before the first block whose head is above
        // them plus one (every key that starts with them is below that head).
        let blocks = self.count.div_ceil(BLOCK);
        let prefix = usize::from(*key.first()?) << 8 | usize::from(*key.get(1)?);
        let block_at = |p: usize| self.index.get(p * 2..p * 2 + 2).map(|b| usize::from(u16::from_le_bytes([b[0], b[1]])));
        let mut lo = block_at(prefix)?;
        let mut hi = if prefix == 0xFFFF { blocks } else { (block_at(prefix + 1)? + 1).min(blocks) };
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.head(mid)?.0.cmp(key) {
                Ordering::Less => lo = mid + 1,
                Ordering::Equal => return self.rank_at(mid * BLOCK),
                Ordering::Greater => hi = mid,
            }
        }
        let block = lo.checked_sub(1)?;
        let (head, mut at) = self.head(block)?;
        // Invariant of the scan: the current token is below `key` and shares its first
        // `matched` bytes. A next token that shares more with the current one is below `key`
        // too; one that shares fewer is above it, and so is every later one.
        let mut matched = shared_prefix(head, key);
        let first = block * BLOCK;
        for index in first + 1..(first + BLOCK).min(self.count) {
            let (prefix, len, start) = self.header(at)?;
            at = start + len;
            match prefix.cmp(&matched) {
                Ordering::Greater => continue,
                Ordering::Less => return None,
                Ordering::Equal => {}
            }
            let suffix = self.text.get(start..at)?;
            let rest = key.get(matched..)?;
            let same = shared_prefix(suffix, rest);
            match (suffix.get(same), rest.get(same)) {
                (None, None) => return self.rank_at(index),
                (Some(s), Some(r)) if s < r => matched += same,
                (None, Some(_)) => matched += same,
                _ => return None,
            }
        }
        None
    }

    /// Every token with its rank, in sorted order; `None` marks a corrupt table. For
    /// verification: it decodes the whole table.
    pub(super) fn tokens(&self) -> impl Iterator<Item = Option<(u32, Vec<u8>)>> + '_ {
        let mut current = Vec::new();
        let mut at = 0;
        (0..self.count).map(move |index| {
            if index % BLOCK == 0 {
                let (head, next) = self.head(index / BLOCK)?;
                current.clear();
                current.extend_from_slice(head);
                at = next;
            } else {
                let (prefix, len, start) = self.header(at)?;
                at = start + len;
                current.truncate(prefix);
                current.extend_from_slice(self.text.get(start..at)?);
            }
            Some((self.rank_at(index)?, current.clone()))
        })
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
