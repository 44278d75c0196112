//! Retry detection. Explicit: the caller numbers its attempts (`x-llmobserve-attempt`, or a
//! `retry:<name>:attempt_<n>` section). Implicit: the same run and section sending the same
//! request body again shortly after that request failed is a retry, even without the SDK.
//!
//! Invariant: a call is marked as a retry only on evidence: an attempt number above 1, or
//! an identical earlier request in the same run and section that failed.

use crate::event::{CallRecord, Outcome};
use crate::time::UnixMillis;

/// How long after a failure an identical request still counts as its retry.
pub const IMPLICIT_RETRY_WINDOW_MS: i64 = 10 * 60 * 1000;

/// The latest earlier event with the same tenant, run, section and request body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PriorAttempt {
    pub id: String,
    pub attempt: Option<u32>,
    pub status_code: u16,
    pub outcome: Outcome,
    pub started_at: UnixMillis,
}

impl PriorAttempt {
    /// A failed attempt: an error status, or a call that did not complete.
    pub fn failed(&self) -> bool {
        self.status_code >= 400 || self.outcome != Outcome::Completed
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RetryInfo {
    pub attempt: Option<u32>,
    pub is_retry: bool,
    pub retry_of: Option<String>,
}

/// Classifies a call from its explicit attempt number and the prior identical attempt.
pub fn classify(explicit_attempt: Option<u32>, prior: Option<&PriorAttempt>, started_at: UnixMillis) -> RetryInfo {
    let prior = prior.filter(|p| {
        p.failed() && p.started_at <= started_at && started_at.0 - p.started_at.0 <= IMPLICIT_RETRY_WINDOW_MS
    });
    match (explicit_attempt, prior) {
        (Some(n), p) => RetryInfo { attempt: Some(n), is_retry: n > 1, retry_of: p.filter(|_| n > 1).map(|p| p.id.clone()) },
        (None, Some(p)) => RetryInfo {
            attempt: Some(p.attempt.unwrap_or(1).saturating_add(1)),
            is_retry: true,
            retry_of: Some(p.id.clone()),
        },
        (None, None) => RetryInfo::default(),
    }
}

/// Marks a call as a retry (or not) from its own attempt number and the prior attempt.
pub fn mark(call: &mut CallRecord, prior: Option<&PriorAttempt>) {
    let info = classify(call.attribution.attempt, prior, call.started_at);
    call.attribution.attempt = info.attempt;
    call.is_retry = info.is_retry;
    call.retry_of = info.retry_of;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prior(status: u16, at: i64, attempt: Option<u32>) -> PriorAttempt {
        PriorAttempt { id: "e1".into(), attempt, status_code: status, outcome: Outcome::Completed, started_at: UnixMillis(at) }
    }

    #[test]
    fn same_request_after_a_429_is_an_implicit_retry() {
        let r = classify(None, Some(&prior(429, 1_000, None)), UnixMillis(3_000));
        assert_eq!(r, RetryInfo { attempt: Some(2), is_retry: true, retry_of: Some("e1".into()) });
        let r = classify(None, Some(&prior(500, 1_000, Some(2))), UnixMillis(3_000));
        assert_eq!(r.attempt, Some(3));
    }

    #[test]
    fn no_retry_after_a_success_or_outside_the_window() {
        assert_eq!(classify(None, Some(&prior(200, 1_000, None)), UnixMillis(3_000)), RetryInfo::default());
        assert_eq!(classify(None, Some(&prior(429, 0, None)), UnixMillis(IMPLICIT_RETRY_WINDOW_MS + 1)), RetryInfo::default());
        assert_eq!(classify(None, None, UnixMillis(0)), RetryInfo::default());
        let cancelled = PriorAttempt { outcome: Outcome::StreamCancelled, ..prior(200, 1_000, None) };
        assert!(classify(None, Some(&cancelled), UnixMillis(2_000)).is_retry);
    }

    #[test]
    fn explicit_attempts_win() {
        assert_eq!(classify(Some(1), None, UnixMillis(0)), RetryInfo { attempt: Some(1), is_retry: false, retry_of: None });
        let r = classify(Some(2), Some(&prior(429, 1_000, Some(1))), UnixMillis(2_000));
        assert_eq!(r, RetryInfo { attempt: Some(2), is_retry: true, retry_of: Some("e1".into()) });
    }
}
