//! Helpers shared by the fuzz targets: ways to cut an input into chunks, and reference
//! implementations written independently of core (a different algorithm, the same rules),
//! so that a target can check core's answer rather than only that it did not panic.
#![allow(dead_code)]

/// The chunkings every streaming target compares: the whole input at once, one byte at a
/// time with an empty read after every byte, and pseudo-random cuts seeded by the input.
pub fn chunkings(data: &[u8]) -> Vec<Vec<&[u8]>> {
    let whole = vec![data];
    let mut bytewise = Vec::with_capacity(data.len() * 2);
    for i in 0..data.len() {
        bytewise.push(&data[i..i + 1]);
        bytewise.push(&data[i..i]);
    }
    let mut random = Vec::new();
    let mut seed = data.iter().fold(0x9e37_79b9_7f4a_7c15u64, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)) | 1;
    let mut at = 0;
    while at < data.len() {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let len = (seed % 17) as usize;
        let end = (at + len).min(data.len());
        random.push(&data[at..end]);
        at = end;
    }
    vec![whole, bytewise, random]
}

/// Reads little-endian u64s from the end of `data` (for targets that also need numbers).
pub fn tail_u64s(data: &[u8], n: usize) -> Vec<u64> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let mut b = [0u8; 8];
        for (j, slot) in b.iter_mut().enumerate() {
            let k = i * 8 + j;
            if k < data.len() {
                *slot = data[data.len() - 1 - k];
            }
        }
        out.push(u64::from_le_bytes(b));
    }
    out
}

fn leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn month_days(y: i64, m: i64) -> i64 {
    [31, if leap(y) { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][(m - 1) as usize]
}

/// Days since 1970-01-01 of a date in years 1..=9999, by counting: days before the year
/// (365 a year plus the leap days before it), then the months, then the day.
pub fn ref_days(y: i64, m: i64, d: i64) -> i64 {
    let before = |y: i64| 365 * (y - 1) + (y - 1) / 4 - (y - 1) / 100 + (y - 1) / 400;
    let months: i64 = (1..m).map(|k| month_days(y, k)).sum();
    before(y) + months + d - 1 - before(1970)
}

/// Parses exactly `n` ASCII digits.
fn ref_digits(s: &[u8], n: usize) -> Option<i64> {
    if s.len() != n || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(s.iter().fold(0i64, |a, &b| a * 10 + i64::from(b - b'0')))
}

/// A date `YYYY-MM-DD` that exists (years 0001 to 9999), as (y, m, d).
pub fn ref_date(s: &[u8]) -> Option<(i64, i64, i64)> {
    if s.len() != 10 || s[4] != b'-' || s[7] != b'-' {
        return None;
    }
    let (y, m, d) = (ref_digits(&s[0..4], 4)?, ref_digits(&s[5..7], 2)?, ref_digits(&s[8..10], 2)?);
    if y < 1 || !(1..=12).contains(&m) || d < 1 || d > month_days(y, m) {
        return None;
    }
    Some((y, m, d))
}

/// Strict RFC 3339 date-time: `YYYY-MM-DDThh:mm:ss[.fraction](Z|+hh:mm|-hh:mm)` (`T` and
/// `Z` in either case), to unix milliseconds (the fraction truncated to milliseconds).
/// `max_frac`: how many fraction digits are allowed. `leap_second`: whether `:60` is.
pub fn ref_rfc3339(s: &str, max_frac: usize, leap_second: bool) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 || !matches!(b[10], b'T' | b't') || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (y, mo, d) = ref_date(&b[..10])?;
    let (h, mi, sec) = (ref_digits(&b[11..13], 2)?, ref_digits(&b[14..16], 2)?, ref_digits(&b[17..19], 2)?);
    if h > 23 || mi > 59 || sec > if leap_second { 60 } else { 59 } {
        return None;
    }
    let mut rest = &b[19..];
    let mut ms = 0;
    if rest.first() == Some(&b'.') {
        let n = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 || n > max_frac {
            return None;
        }
        let mut f = rest[1..=n].to_vec();
        f.resize(3, b'0');
        ms = ref_digits(&f[..3], 3)?;
        rest = &rest[1 + n..];
    }
    let offset = match rest {
        b"Z" | b"z" => 0,
        [sign @ (b'+' | b'-'), oh1, oh2, b':', om1, om2] => {
            let (oh, om) = (ref_digits(&[*oh1, *oh2], 2)?, ref_digits(&[*om1, *om2], 2)?);
            if oh > 23 || om > 59 {
                return None;
            }
            (oh * 60 + om) * if *sign == b'-' { -1 } else { 1 }
        }
        _ => return None,
    };
    Some(ref_days(y, mo, d) * 86_400_000 + ((h * 60 + mi - offset) * 60 + sec) * 1000 + ms)
}

/// An id as attribution defines it: 1 to `max` bytes, the first a letter or digit, the
/// others letters, digits or one of `extra`.
pub fn ref_id(s: &str, max: usize, extra: &[u8]) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= max
        && b[0].is_ascii_alphanumeric()
        && b.iter().all(|c| c.is_ascii_alphanumeric() || extra.contains(c))
}

/// A section path: at most 512 bytes, 1 to 16 `/`-separated segments, each an id of at
/// most 64 bytes of letters, digits and `-._:`.
pub fn ref_section(s: &str) -> bool {
    if s.len() > 512 {
        return false;
    }
    let mut count = 0;
    for seg in s.split('/') {
        count += 1;
        if count > 16 || !ref_id(seg, 64, b"-._:") {
            return false;
        }
    }
    true
}

/// Percent-decoding of one query component; `None` for a `%` without two hex digits.
pub fn ref_percent_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut it = s.bytes();
    while let Some(c) = it.next() {
        if c == b'%' {
            let hi = (it.next()? as char).to_digit(16)?;
            let lo = (it.next()? as char).to_digit(16)?;
            out.push((hi * 16 + lo) as u8);
        } else {
            out.push(c);
        }
    }
    Some(out)
}

/// A non-negative decimal with at most 9 places, in billionths, via u128 (`None` when it
/// is not such a decimal or does not fit in a u64).
pub fn ref_billionths(s: &str) -> Option<u64> {
    let (whole, frac) = match s.find('.') {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || frac.is_some_and(|f| !digits(f) || f.len() > 9) {
        return None;
    }
    let mut padded = frac.unwrap_or("").to_owned();
    while padded.len() < 9 {
        padded.push('0');
    }
    let whole = whole.trim_start_matches('0');
    if whole.len() > 20 {
        return None;
    }
    let w: u128 = if whole.is_empty() { 0 } else { whole.parse().ok()? };
    let f: u128 = padded.parse().ok()?;
    u64::try_from(w * 1_000_000_000 + f).ok()
}
