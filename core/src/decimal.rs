//! Exact decimal parsing for money. Shared, as source, by the library and by `build.rs`
//! (which checks the price registry at compile time), so both read prices the same way.
//!
//! Invariant: a decimal string is turned into an integer count of 10^-9 units, or it is
//! rejected. Nothing here ever goes through a float.

/// Parses a non-negative decimal such as `"2.50"` or `"0.000125"` into billionths
/// (`"2.50"` -> `2_500_000_000`). At most 9 decimal places; no sign, no exponent, no
/// spaces, and at most `u64::MAX` billionths.
pub fn parse_billionths(text: &str) -> Result<u64, String> {
    let (whole, frac) = match text.split_once('.') {
        Some((w, f)) => (w, f),
        None => (text, ""),
    };
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("`{text}` is not a decimal number like 2.50"));
    }
    if text.contains('.') && (frac.is_empty() || !frac.bytes().all(|b| b.is_ascii_digit())) {
        return Err(format!("`{text}` is not a decimal number like 2.50"));
    }
    if frac.len() > 9 {
        return Err(format!("`{text}` has more than 9 decimal places"));
    }
    let mut value: u64 = 0;
    for b in whole.bytes().chain(frac.bytes()) {
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(b - b'0')))
            .ok_or_else(|| format!("`{text}` is too large"))?;
    }
    for _ in frac.len()..9 {
        value = value.checked_mul(10).ok_or_else(|| format!("`{text}` is too large"))?;
    }
    Ok(value)
}
