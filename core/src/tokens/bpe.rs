//! Byte-pair merging of one piece into tokens, as tiktoken does it: start from single
//! bytes, and repeatedly merge the adjacent pair whose concatenation is the token of lowest
//! rank (the leftmost one on a tie) until no adjacent pair is a token.
//!
//! Short pieces use tiktoken's own vector algorithm; long ones a heap with the same order
//! of merges (rank, then position), which is O(n log n) where the vector is O(n^2): a long
//! run of letters in a request body cannot make an estimate quadratic.
//!
//! Invariant: the same tokens as tiktoken-rs's `byte_pair_encode` for every piece.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::tables::RankTable;

/// Pieces at least this long are merged with the heap (tiktoken switches at 100 too).
const LARGE_PIECE: usize = 100;
const NONE: u32 = u32::MAX;

/// Buffers reused from piece to piece within one count.
#[derive(Default)]
pub(super) struct Merger {
    /// Small pieces: (start of a part, rank of merging it with the next part).
    parts: Vec<(usize, u32)>,
    /// Large pieces: per byte position, the end of the part that starts there.
    next: Vec<usize>,
    /// Large pieces: per part start, the start of the previous part.
    prev: Vec<usize>,
    /// Large pieces: per part start, the rank of merging it with the next part.
    pair: Vec<u32>,
    /// Large pieces: candidate merges as `rank << 32 | start`, smallest first.
    heap: BinaryHeap<Reverse<u64>>,
}

#[inline]
fn rank_of(table: &RankTable, piece: &[u8], start: usize, end: usize) -> u32 {
    piece.get(start..end).and_then(|bytes| table.rank(bytes)).unwrap_or(NONE)
}

impl Merger {
    /// Calls `emit(start, end)` for each token of `piece`, left to right.
    pub(super) fn split(
        &mut self,
        table: &RankTable,
        piece: &[u8],
        emit: impl FnMut(usize, usize) -> Option<()>,
    ) -> Option<()> {
        if piece.len() < LARGE_PIECE {
            self.split_small(table, piece, emit)
        } else {
            self.split_large(table, piece, emit)
        }
    }

    /// tiktoken's `_byte_pair_merge`, step for step.
    fn split_small(
        &mut self,
        table: &RankTable,
        piece: &[u8],
        mut emit: impl FnMut(usize, usize) -> Option<()>,
    ) -> Option<()> {
        let parts = &mut self.parts;
        parts.clear();
        let mut min = (NONE, usize::MAX);
        for i in 0..piece.len().saturating_sub(1) {
            let rank = rank_of(table, piece, i, i + 2);
            if rank < min.0 {
                min = (rank, i);
            }
            parts.push((i, rank));
        }
        parts.push((piece.len().saturating_sub(1), NONE));
        parts.push((piece.len(), NONE));

        // The rank of merging part `i` with part `i + 1`, before part `i + 1` is removed
        // (hence `i + 3`: the part after the merged pair ends the candidate).
        let pair_after_merge = |parts: &[(usize, u32)], i: usize| match (parts.get(i), parts.get(i + 3)) {
            (Some(&(start, _)), Some(&(end, _))) => rank_of(table, piece, start, end),
            _ => NONE,
        };
        while min.0 != NONE {
            let i = min.1;
            if i > 0 {
                let rank = pair_after_merge(parts, i - 1);
                parts.get_mut(i - 1)?.1 = rank;
            }
            let rank = pair_after_merge(parts, i);
            parts.get_mut(i)?.1 = rank;
            if i + 1 >= parts.len() {
                return None;
            }
            parts.remove(i + 1);

            min = (NONE, usize::MAX);
            for (i, &(_, rank)) in parts[..parts.len() - 1].iter().enumerate() {
                if rank < min.0 {
                    min = (rank, i);
                }
            }
        }
        for w in parts.windows(2) {
            emit(w[0].0, w[1].0)?;
        }
        Some(())
    }

    /// The same merges in the same order, from a min-heap of (rank, start): O(n log n).
    fn split_large(
        &mut self,
        table: &RankTable,
        piece: &[u8],
        mut emit: impl FnMut(usize, usize) -> Option<()>,
    ) -> Option<()> {
        let n = piece.len();
        // Starts are packed into 32 bits (a worker has 128 MB: no piece comes near 4 GiB).
        if u32::try_from(n).is_err() {
            return None;
        }
        let candidate = |rank: u32, start: usize| Reverse(u64::from(rank) << 32 | start as u64);
        self.next.clear();
        self.next.extend(1..=n);
        self.prev.clear();
        self.prev.extend((0..n).map(|i| i.wrapping_sub(1)));
        self.pair.clear();
        self.heap.clear();
        for i in 0..n {
            let rank = if i + 2 <= n { rank_of(table, piece, i, i + 2) } else { NONE };
            self.pair.push(rank);
            if rank != NONE {
                self.heap.push(candidate(rank, i));
            }
        }
        while let Some(Reverse(key)) = self.heap.pop() {
            let (rank, i) = ((key >> 32) as u32, (key & 0xFFFF_FFFF) as usize);
            // A stale entry: part `i` was merged away or its pair changed. (An entry whose
            // rank equals the current pair's is the current pair: same start, same token.)
            if self.pair.get(i) != Some(&rank) {
                continue;
            }
            let right = *self.next.get(i)?;
            let after = *self.next.get(right)?;
            *self.next.get_mut(i)? = after;
            *self.pair.get_mut(right)? = NONE;
            if after < n {
                *self.prev.get_mut(after)? = i;
            }
            let merged = if after < n { rank_of(table, piece, i, *self.next.get(after)?) } else { NONE };
            *self.pair.get_mut(i)? = merged;
            if merged != NONE {
                self.heap.push(candidate(merged, i));
            }
            if i > 0 {
                let before = *self.prev.get(i)?;
                let merged = rank_of(table, piece, before, after);
                *self.pair.get_mut(before)? = merged;
                if merged != NONE {
                    self.heap.push(candidate(merged, before));
                }
            }
        }
        let mut start = 0;
        while start < n {
            let end = *self.next.get(start)?;
            emit(start, end)?;
            start = end;
        }
        Some(())
    }
}
