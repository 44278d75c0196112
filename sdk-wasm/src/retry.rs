//! Retry blocks: which failures are worth another attempt, and how long to wait before it.
//! The attempts themselves are numbered by `Context::with_retry_attempt`.
//!
//! Invariant: a policy that exists is valid (1 to `MAX_ATTEMPT` attempts, a delay cap), and
//! every delay it computes is at most its cap, whatever the server's `retry-after` says.

use llmobserve_core::attribution::MAX_ATTEMPT;

/// How many attempts a retry block makes and how long it waits between them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    max_attempts: u32,
    base_delay_ms: u64,
    max_delay_ms: u64,
}

/// The longest wait between two attempts that a policy may ask for: 10 minutes.
pub const MAX_DELAY_MS: u64 = 600_000;

impl Default for RetryPolicy {
    /// 3 attempts; 500 ms, then 1 s (each with jitter); never more than 30 s.
    fn default() -> Self {
        RetryPolicy { max_attempts: 3, base_delay_ms: 500, max_delay_ms: 30_000 }
    }
}

impl RetryPolicy {
    pub fn new(max_attempts: u32, base_delay_ms: u64, max_delay_ms: u64) -> Result<RetryPolicy, String> {
        if !(1..=MAX_ATTEMPT).contains(&max_attempts) {
            return Err(format!("maxAttempts must be a whole number from 1 to {MAX_ATTEMPT}, got {max_attempts}"));
        }
        if max_delay_ms > MAX_DELAY_MS {
            return Err(format!("maxDelayMs must be at most {MAX_DELAY_MS}, got {max_delay_ms}"));
        }
        if base_delay_ms > max_delay_ms {
            return Err(format!("baseDelayMs ({base_delay_ms}) must not exceed maxDelayMs ({max_delay_ms})"));
        }
        Ok(RetryPolicy { max_attempts, base_delay_ms, max_delay_ms })
    }

    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The wait after attempt `failed_attempt` (from 1) failed. The server's own
    /// `retry-after`, when it gave one, is honoured up to the cap; otherwise the delay doubles
    /// per attempt from the base, and `jitter` (any random u32) spreads it over its upper half
    /// so that clients that failed together do not retry together.
    pub fn delay_ms(&self, failed_attempt: u32, jitter: u32, retry_after_ms: Option<u64>) -> u64 {
        if let Some(after) = retry_after_ms {
            return after.min(self.max_delay_ms);
        }
        let doubling = failed_attempt.saturating_sub(1).min(32);
        let full = self.base_delay_ms.saturating_mul(1u64 << doubling).min(self.max_delay_ms);
        let half = full / 2;
        half + u64::from(jitter) % (full - half + 1)
    }
}

/// Whether an HTTP status is worth another attempt: timeouts, conflicts, rate limits and
/// server errors. Other 4xx are the request's own fault and would fail again.
pub fn retryable_status(status: u16) -> bool {
    matches!(status, 408 | 409 | 429 | 500..=599)
}

/// The wait a server asked for: `retry-after-ms` (OpenAI's, in milliseconds) first, else
/// `retry-after` in seconds (fractions allowed). An HTTP-date or garbage is ignored.
pub fn retry_after_ms(retry_after_ms: Option<&str>, retry_after: Option<&str>) -> Option<u64> {
    let parse = |s: &str, scale: f64| {
        let v: f64 = s.trim().parse().ok()?;
        (v.is_finite() && v >= 0.0).then(|| (v * scale).ceil().min(MAX_DELAY_MS as f64) as u64)
    };
    retry_after_ms.and_then(|s| parse(s, 1.0)).or_else(|| retry_after.and_then(|s| parse(s, 1000.0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_are_validated() {
        assert!(RetryPolicy::new(0, 1, 1).is_err());
        assert!(RetryPolicy::new(MAX_ATTEMPT + 1, 1, 1).is_err());
        assert!(RetryPolicy::new(3, 100, 10).is_err());
        assert!(RetryPolicy::new(3, 0, MAX_DELAY_MS + 1).is_err());
        assert_eq!(RetryPolicy::new(5, 10, 100).unwrap().max_attempts(), 5);
    }

    #[test]
    fn delays_double_with_jitter_in_the_upper_half_and_stay_under_the_cap() {
        let p = RetryPolicy::new(10, 100, 1000).unwrap();
        for jitter in [0, 1, 77, u32::MAX] {
            let d: Vec<u64> = (1..=6).map(|a| p.delay_ms(a, jitter, None)).collect();
            assert!((50..=100).contains(&d[0]), "{d:?}");
            assert!((100..=200).contains(&d[1]), "{d:?}");
            assert!((200..=400).contains(&d[2]), "{d:?}");
            assert!(d[4..].iter().all(|&x| (500..=1000).contains(&x)), "{d:?}");
        }
        assert_eq!(p.delay_ms(1000, 5, None), 505, "huge attempt numbers do not overflow");
        assert_eq!(RetryPolicy::new(2, 0, 0).unwrap().delay_ms(1, 9, None), 0);
    }

    #[test]
    fn the_servers_retry_after_is_honoured_up_to_the_cap() {
        let p = RetryPolicy::new(3, 100, 2000).unwrap();
        assert_eq!(p.delay_ms(1, 0, Some(1000)), 1000);
        assert_eq!(p.delay_ms(1, 0, Some(60_000)), 2000);
        assert_eq!(p.delay_ms(1, 0, Some(0)), 0);
    }

    #[test]
    fn retry_after_headers_parse() {
        assert_eq!(retry_after_ms(Some("250"), Some("9")), Some(250));
        assert_eq!(retry_after_ms(None, Some("1")), Some(1000));
        assert_eq!(retry_after_ms(None, Some("0.5")), Some(500));
        assert_eq!(retry_after_ms(Some("soon"), Some("2")), Some(2000));
        assert_eq!(retry_after_ms(None, Some("Wed, 21 Oct 2015 07:28:00 GMT")), None);
        assert_eq!(retry_after_ms(None, Some("-1")), None);
        assert_eq!(retry_after_ms(None, Some("1e300")), Some(MAX_DELAY_MS));
    }

    #[test]
    fn only_transient_statuses_are_retried() {
        for s in [408, 409, 429, 500, 502, 503, 504] {
            assert!(retryable_status(s), "{s}");
        }
        for s in [200, 400, 401, 403, 404, 422] {
            assert!(!retryable_status(s), "{s}");
        }
    }
}
