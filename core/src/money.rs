//! Money as integers. Invariant: no cost is ever a float while it is computed; a cost is a
//! whole number of nano-USD (10^-9 USD) that D1 can store exactly (below 2^53).

use serde::{Deserialize, Serialize};

/// The largest integer that a JavaScript number (and so D1) holds exactly.
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// An amount of money in nano-USD (10^-9 USD). Always within `0..=MAX_SAFE_INTEGER`
/// when it comes from [`NanoUsd::new`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NanoUsd(u64);

impl NanoUsd {
    pub const ZERO: NanoUsd = NanoUsd(0);

    /// `None` when the amount would not survive a round trip through D1.
    pub fn new(nanos: u64) -> Option<NanoUsd> {
        (nanos <= MAX_SAFE_INTEGER).then_some(NanoUsd(nanos))
    }

    pub fn nanos(self) -> u64 {
        self.0
    }

    /// Full precision USD as a decimal string, trailing zeros trimmed:
    /// `1_250_000` -> `"0.00125"`, `2_000_000_000` -> `"2"`. Never rounded to cents.
    pub fn to_usd_string(self) -> String {
        let whole = self.0 / 1_000_000_000;
        let frac = self.0 % 1_000_000_000;
        if frac == 0 {
            return whole.to_string();
        }
        let digits = format!("{frac:09}");
        format!("{whole}.{}", digits.trim_end_matches('0'))
    }

    /// Parses a USD decimal string with at most 9 decimal places.
    pub fn parse_usd(text: &str) -> Result<NanoUsd, String> {
        let n = crate::decimal::parse_billionths(text)?;
        NanoUsd::new(n).ok_or_else(|| format!("`{text}` USD is too large"))
    }

    pub fn checked_add(self, other: NanoUsd) -> Option<NanoUsd> {
        self.0.checked_add(other.0).and_then(NanoUsd::new)
    }
}

impl std::fmt::Display for NanoUsd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "${}", self.to_usd_string())
    }
}

/// A price: nano-USD per 1,000,000 units (tokens). `PerMTok(2_500_000_000)` is $2.50/1M.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PerMTok(pub u64);

impl PerMTok {
    pub fn to_usd_string(self) -> String {
        // Same digits as NanoUsd: the unit is nano-USD per million.
        NanoUsd(self.0).to_usd_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usd_strings_keep_full_precision() {
        assert_eq!(NanoUsd(0).to_usd_string(), "0");
        assert_eq!(NanoUsd(1).to_usd_string(), "0.000000001");
        assert_eq!(NanoUsd(1_250_000).to_usd_string(), "0.00125");
        assert_eq!(NanoUsd(2_000_000_000).to_usd_string(), "2");
        assert_eq!(NanoUsd(12_345_678_901).to_usd_string(), "12.345678901");
    }

    #[test]
    fn parse_usd_round_trips() {
        for s in ["0", "0.000000001", "0.00125", "2", "12.345678901", "9007199.254740991"] {
            assert_eq!(NanoUsd::parse_usd(s).unwrap().to_usd_string(), s);
        }
    }

    #[test]
    fn parse_usd_rejects_what_is_not_exact() {
        for s in ["", ".5", "5.", "-1", "1e3", "1.0000000001", " 1", "1,5", "9007199.254740992"] {
            assert!(NanoUsd::parse_usd(s).is_err(), "{s:?} should be rejected");
        }
    }

    #[test]
    fn amounts_beyond_2_pow_53_are_refused() {
        assert!(NanoUsd::new(MAX_SAFE_INTEGER).is_some());
        assert!(NanoUsd::new(MAX_SAFE_INTEGER + 1).is_none());
        let big = NanoUsd::new(MAX_SAFE_INTEGER).unwrap();
        assert!(big.checked_add(NanoUsd(1)).is_none());
    }
}
