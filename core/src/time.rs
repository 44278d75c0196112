//! Calendar arithmetic on UTC milliseconds, so that core never asks the system clock
//! (which panics on wasm32-unknown-unknown): the caller passes the time in.

/// A UTC calendar day as `YYYYMMDD` (`20241001`), ordered like the days it names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(pub u32);

/// Milliseconds since the Unix epoch, UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UnixMillis(pub i64);

impl UnixMillis {
    pub fn day(self) -> Day {
        let (y, m, d) = civil_from_days(self.0.div_euclid(86_400_000));
        let y = y.clamp(0, 9999) as u32;
        Day(y * 10_000 + m * 100 + d)
    }

    /// RFC 3339 with milliseconds: `2026-11-28T00:40:58.123Z`.
    pub fn to_rfc3339(self) -> String {
        let days = self.0.div_euclid(86_400_000);
        let ms_of_day = self.0.rem_euclid(86_400_000);
        let (y, m, d) = civil_from_days(days);
        let (h, rest) = (ms_of_day / 3_600_000, ms_of_day % 3_600_000);
        let (min, rest) = (rest / 60_000, rest % 60_000);
        let (s, ms) = (rest / 1000, rest % 1000);
        format!("{y:04}-{m:02}-{d:02}T{h:02}:{min:02}:{s:02}.{ms:03}Z")
    }
}

impl Day {
    /// Midnight UTC at the start of this day.
    pub fn start(self) -> UnixMillis {
        let (y, m, d) = (i64::from(self.0 / 10_000), i64::from(self.0 / 100 % 100), i64::from(self.0 % 100));
        // Howard Hinnant's days_from_civil.
        let y = if m <= 2 { y - 1 } else { y };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        UnixMillis((era * 146_097 + doe - 719_468) * 86_400_000)
    }

    pub fn to_iso(self) -> String {
        format!("{:04}-{:02}-{:02}", self.0 / 10_000, self.0 / 100 % 100, self.0 % 100)
    }
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        assert_eq!(UnixMillis(0).day(), Day(19700101));
        assert_eq!(UnixMillis(951_782_400_000).day(), Day(20000229));
        assert_eq!(UnixMillis(1_764_290_458_123).to_rfc3339(), "2025-11-28T00:40:58.123Z");
        assert_eq!(UnixMillis(1_764_290_458_123).day().to_iso(), "2025-11-28");
        assert_eq!(UnixMillis(-1).day(), Day(19691231));
        assert_eq!(Day(19700101).start(), UnixMillis(0));
        assert_eq!(Day(20000229).start(), UnixMillis(951_782_400_000));
        for ms in [0, 951_782_400_000, 1_764_290_458_123, 1_795_000_000_000, 4_102_444_800_000] {
            let day = UnixMillis(ms).day();
            assert!(day.start().0 <= ms && ms - day.start().0 < 86_400_000, "{ms}");
            assert_eq!(day.start().day(), day);
        }
    }
}
