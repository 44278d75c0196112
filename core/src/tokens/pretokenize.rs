//! The pre-tokenizers: the pieces that tiktoken's regexes cut text into before BPE, found
//! by hand instead of by a regex engine, so that nothing has to be compiled at first use.
//!
//! Invariant: for every string, the pieces are exactly the matches that tiktoken-rs's
//! fancy-regex finds with the same pattern. Each function below names the alternative it
//! implements and follows the backtracking engine's order of attempts: alternatives left to
//! right, a greedy quantifier longest first, an optional (`?`) item present first.

use super::tables::{contraction_letter, kind, Kind};

/// The character at byte `pos`, its kind and its length in bytes.
#[inline]
fn at(text: &str, pos: usize) -> Option<(char, Kind, usize)> {
    let b = *text.as_bytes().get(pos)?;
    if b < 0x80 {
        return Some((char::from(b), ascii_kind(b), 1));
    }
    let c = text.get(pos..)?.chars().next()?;
    Some((c, kind(c), c.len_utf8()))
}

/// The kind of an ASCII character, without the table lookup.
#[inline]
fn ascii_kind(b: u8) -> Kind {
    match b {
        b'A'..=b'Z' => Kind::Upper,
        b'a'..=b'z' => Kind::Lower,
        b'0'..=b'9' => Kind::Number,
        b'\r' | b'\n' => Kind::Newline,
        b' ' | b'\t' | 0x0b | 0x0c => Kind::Space,
        _ => Kind::Other,
    }
}

/// The end of the longest run of characters, from `pos`, whose kind satisfies `f`.
#[inline]
fn run(text: &str, mut pos: usize, f: impl Fn(Kind) -> bool) -> usize {
    while let Some((_, k, len)) = at(text, pos) {
        if !f(k) {
            break;
        }
        pos += len;
    }
    pos
}

/// `\p{L}`.
#[inline]
fn letter(k: Kind) -> bool {
    matches!(k, Kind::Upper | Kind::Lower | Kind::OtherLetter)
}

/// `\s`.
#[inline]
fn space(k: Kind) -> bool {
    matches!(k, Kind::Space | Kind::Newline)
}

/// `[^\r\n\p{L}\p{N}]`: what may precede a word.
#[inline]
fn word_prefix(k: Kind) -> bool {
    matches!(k, Kind::Mark | Kind::Space | Kind::Other)
}

/// `[^\s\p{L}\p{N}]`.
#[inline]
fn punctuation(k: Kind) -> bool {
    matches!(k, Kind::Mark | Kind::Other)
}

/// o200k_base's `[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]`.
#[inline]
fn upper_ish(k: Kind) -> bool {
    matches!(k, Kind::Upper | Kind::OtherLetter | Kind::Mark)
}

/// o200k_base's `[\p{Ll}\p{Lm}\p{Lo}\p{M}]`.
#[inline]
fn lower_ish(k: Kind) -> bool {
    matches!(k, Kind::Lower | Kind::OtherLetter | Kind::Mark)
}

/// Length in bytes of `(?i:'s|'t|'re|'ve|'m|'ll|'d)` at `pos` (cl100k_base's
/// `'(?i:[sdmt]|ll|ve|re)` is the same set), or 0.
#[inline]
fn contraction(text: &str, pos: usize) -> usize {
    if text.as_bytes().get(pos) != Some(&b'\'') {
        return 0;
    }
    let letter_at = |p: usize| {
        let c = text.get(p..)?.chars().next()?;
        Some((contraction_letter(c)?, c.len_utf8()))
    };
    let Some((first, len1)) = letter_at(pos + 1) else { return 0 };
    let second = match first {
        b's' | b't' | b'm' | b'd' => return 1 + len1,
        b'r' | b'v' => b'e',
        b'l' => b'l',
        _ => return 0,
    };
    match letter_at(pos + 1 + len1) {
        Some((l, len2)) if l == second => 1 + len1 + len2,
        _ => 0,
    }
}

/// `\p{N}{1,3}` at `pos` (whose character is a number).
#[inline]
fn numbers(text: &str, pos: usize) -> usize {
    let mut end = pos;
    for _ in 0..3 {
        match at(text, end) {
            Some((_, Kind::Number, len)) => end += len,
            _ => break,
        }
    }
    end
}

/// A run of whitespace from `pos`: its end, where its last CR or LF starts, where its last
/// character starts, and how many characters it has.
struct SpaceRun {
    end: usize,
    last_newline: Option<usize>,
    last_start: usize,
    chars: usize,
}

#[inline]
fn space_run(text: &str, pos: usize) -> SpaceRun {
    let mut r = SpaceRun { end: pos, last_newline: None, last_start: pos, chars: 0 };
    while let Some((_, k, len)) = at(text, r.end) {
        if !space(k) {
            break;
        }
        if k == Kind::Newline {
            r.last_newline = Some(r.end);
        }
        r.last_start = r.end;
        r.chars += 1;
        r.end += len;
    }
    r
}

/// o200k_base's `[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+` + contraction,
/// from `pos`. The greedy `*` gives back characters until one can start the `+`: the `+`
/// starts at the last lower-ish character at or before the end of the upper-ish run.
#[inline]
fn o200k_cased_word(text: &str, pos: usize) -> Option<usize> {
    let mut end = pos;
    let mut lower_start = None;
    while let Some((_, k, len)) = at(text, end) {
        if lower_ish(k) {
            lower_start = Some(end);
        }
        if !upper_ish(k) {
            break;
        }
        end += len;
    }
    let end = run(text, lower_start?, lower_ish);
    Some(end + contraction(text, end))
}

/// o200k_base's `[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*` + contraction.
#[inline]
fn o200k_upper_word(text: &str, pos: usize) -> Option<usize> {
    let (_, k, _) = at(text, pos)?;
    if !upper_ish(k) {
        return None;
    }
    let end = run(text, run(text, pos, upper_ish), lower_ish);
    Some(end + contraction(text, end))
}

/// ` ?[^\s\p{L}\p{N}]+` followed by a run of `tail` characters (o200k: `[\r\n/]*`,
/// cl100k: `[\r\n]*`).
#[inline]
fn punctuation_run(text: &str, pos: usize, c0: char, k0: Kind, tail: impl Fn(u8) -> bool) -> Option<usize> {
    let start = match at(text, pos + 1) {
        Some((_, k1, _)) if c0 == ' ' && punctuation(k1) => pos + 1,
        _ if punctuation(k0) => pos,
        _ => return None,
    };
    let mut end = run(text, start, punctuation);
    while text.as_bytes().get(end).is_some_and(|&b| tail(b)) {
        end += 1;
    }
    Some(end)
}

/// The end of the o200k_base piece that starts at `pos`, or `None` when no alternative
/// matches there (impossible for this pattern, but the regex would then move on):
///
/// ```text
/// [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?
/// |[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?
/// |\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+
/// ```
pub(super) fn o200k_piece(text: &str, pos: usize) -> Option<usize> {
    let (c0, k0, len0) = at(text, pos)?;
    // 1 and 2: with the optional prefix character first, then without it.
    if word_prefix(k0) {
        if let Some(end) = o200k_cased_word(text, pos + len0) {
            return Some(end);
        }
    }
    if let Some(end) = o200k_cased_word(text, pos) {
        return Some(end);
    }
    if word_prefix(k0) {
        if let Some(end) = o200k_upper_word(text, pos + len0) {
            return Some(end);
        }
    }
    if let Some(end) = o200k_upper_word(text, pos) {
        return Some(end);
    }
    if k0 == Kind::Number {
        return Some(numbers(text, pos));
    }
    if let Some(end) = punctuation_run(text, pos, c0, k0, |b| matches!(b, b'\r' | b'\n' | b'/')) {
        return Some(end);
    }
    if !space(k0) {
        return None;
    }
    let r = space_run(text, pos);
    if let Some(newline) = r.last_newline {
        // `\s*[\r\n]+`: `\s*` gives back up to the last CR/LF, and no CR/LF follows it.
        return Some(newline + 1);
    }
    if r.end == text.len() || r.chars == 1 {
        // `\s+(?!\S)` at the end of the text, or `\s+` for a lone space before a non-space.
        return Some(r.end);
    }
    // `\s+(?!\S)`: all but the last whitespace character, which stays with the next word.
    Some(r.last_start)
}

/// The end of the cl100k_base piece that starts at `pos` (see [`o200k_piece`]):
///
/// ```text
/// '(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+
/// |\s++$|\s*[\r\n]|\s+(?!\S)|\s
/// ```
pub(super) fn cl100k_piece(text: &str, pos: usize) -> Option<usize> {
    let (c0, k0, len0) = at(text, pos)?;
    let n = contraction(text, pos);
    if n > 0 {
        return Some(pos + n);
    }
    // `[^\r\n\p{L}\p{N}]?+` is possessive: a prefix character, once taken, is not given back
    // (and without it the piece would have to start with a letter, which a prefix is not).
    if word_prefix(k0) {
        if let Some((_, k1, _)) = at(text, pos + len0) {
            if letter(k1) {
                return Some(run(text, pos + len0, letter));
            }
        }
    } else if letter(k0) {
        return Some(run(text, pos, letter));
    }
    if k0 == Kind::Number {
        return Some(numbers(text, pos));
    }
    if let Some(end) = punctuation_run(text, pos, c0, k0, |b| matches!(b, b'\r' | b'\n')) {
        return Some(end);
    }
    if !space(k0) {
        return None;
    }
    let r = space_run(text, pos);
    if r.end == text.len() {
        return Some(r.end); // `\s++$`
    }
    if let Some(newline) = r.last_newline {
        return Some(newline + 1); // `\s*[\r\n]`
    }
    if r.chars > 1 {
        return Some(r.last_start); // `\s+(?!\S)`
    }
    Some(pos + len0) // `\s`
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_fast_path_agrees_with_the_unicode_tables() {
        for b in 0..0x80u8 {
            assert_eq!(ascii_kind(b), kind(char::from(b)), "byte {b:#04x}");
        }
    }
}
