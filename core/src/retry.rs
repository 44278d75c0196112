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

/// One stored event of a retry chain: the calls of one tenant, run, section and request
/// body, in `(started_at, id)` order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainLink {
    pub id: String,
    /// The attempt the caller named, if any (the stored `attempt` may be derived).
    pub declared_attempt: Option<u32>,
    pub status_code: u16,
    pub outcome: Outcome,
    pub started_at: UnixMillis,
    /// The retry facts as stored now.
    pub stored: RetryInfo,
}

/// Recomputes the retry facts of `links` (consecutive, oldest first) given the stored
/// event just before the first of them (`before`, whose facts are taken as correct).
/// Returns the links whose facts change, with their new facts.
///
/// The facts of a call depend only on its own declared attempt and on the chain before
/// it, so recomputing from the first newly written link onwards gives the same facts
/// whatever order the events were written in: a queue that delivers a retry before the
/// failed attempt it retried, or in the same batch, ends with the same rows as direct
/// writes in order.
pub fn remark_chain(before: Option<&PriorAttempt>, links: &[ChainLink]) -> Vec<(usize, RetryInfo)> {
    let mut prior = before.cloned();
    let mut changed = Vec::new();
    for (i, link) in links.iter().enumerate() {
        let info = classify(link.declared_attempt, prior.as_ref(), link.started_at);
        if info != link.stored {
            changed.push((i, info.clone()));
        }
        prior = Some(PriorAttempt {
            id: link.id.clone(),
            attempt: info.attempt,
            status_code: link.status_code,
            outcome: link.outcome,
            started_at: link.started_at,
        });
    }
    changed
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

    fn link(id: &str, at: i64, status: u16, declared: Option<u32>) -> ChainLink {
        ChainLink {
            id: id.into(),
            declared_attempt: declared,
            status_code: status,
            outcome: Outcome::Completed,
            started_at: UnixMillis(at),
            stored: RetryInfo { attempt: declared, is_retry: declared.is_some_and(|n| n > 1), retry_of: None },
        }
    }

    /// Applies `remark_chain`'s changes, as the store does with UPDATEs.
    fn applied(before: Option<&PriorAttempt>, mut links: Vec<ChainLink>) -> Vec<RetryInfo> {
        for (i, info) in remark_chain(before, &links) {
            links[i].stored = info;
        }
        links.into_iter().map(|l| l.stored).collect()
    }

    #[test]
    fn a_chain_of_implicit_retries_is_numbered_from_its_first_failure() {
        // 429, 500, then a success: attempts 1 (not a retry), 2 and 3.
        let links = vec![link("a", 1_000, 429, None), link("b", 2_000, 500, None), link("c", 3_000, 200, None)];
        let facts = applied(None, links);
        assert_eq!(facts[0], RetryInfo::default());
        assert_eq!(facts[1], RetryInfo { attempt: Some(2), is_retry: true, retry_of: Some("a".into()) });
        assert_eq!(facts[2], RetryInfo { attempt: Some(3), is_retry: true, retry_of: Some("b".into()) });
    }

    /// Regression: a queue consumer wrote the retry before the failure it retried, and the
    /// retry stayed unmarked. Whatever order the links are written in, re-marking from the
    /// earliest newly written link gives the facts of in-order writes.
    #[test]
    fn retry_facts_do_not_depend_on_write_order() {
        let all = vec![
            link("a", 1_000, 429, None),
            link("b", 2_000, 429, None),
            link("c", 3_000, 200, None),
            link("d", 4_000, 500, Some(1)),
            link("e", 5_000, 200, Some(2)),
        ];
        let in_order = applied(None, all.clone());
        // Every permutation of 5 writes: each write inserts its link with provisional facts,
        // then re-marks from it onward with the stored link before it as context.
        let mut perm: Vec<usize> = (0..all.len()).collect();
        let mut count = 0;
        loop {
            let mut stored: Vec<ChainLink> = Vec::new();
            for &k in &perm {
                let pos = stored.partition_point(|l| (l.started_at, &l.id) < (all[k].started_at, &all[k].id));
                stored.insert(pos, all[k].clone());
                let before = pos.checked_sub(1).map(|p| PriorAttempt {
                    id: stored[p].id.clone(),
                    attempt: stored[p].stored.attempt,
                    status_code: stored[p].status_code,
                    outcome: stored[p].outcome,
                    started_at: stored[p].started_at,
                });
                for (i, info) in remark_chain(before.as_ref(), &stored[pos..]) {
                    stored[pos + i].stored = info;
                }
            }
            let facts: Vec<RetryInfo> = stored.into_iter().map(|l| l.stored).collect();
            assert_eq!(facts, in_order, "write order {perm:?}");
            count += 1;
            // Next permutation (lexicographic).
            let Some(i) = (0..perm.len() - 1).rev().find(|&i| perm[i] < perm[i + 1]) else { break };
            let j = (i + 1..perm.len()).rev().find(|&j| perm[j] > perm[i]).unwrap_or(i + 1);
            perm.swap(i, j);
            perm[i + 1..].reverse();
        }
        assert_eq!(count, 120);
        assert_eq!(in_order[1], RetryInfo { attempt: Some(2), is_retry: true, retry_of: Some("a".into()) });
        assert_eq!(in_order[2].retry_of.as_deref(), Some("b"));
        assert_eq!(in_order[3], RetryInfo { attempt: Some(1), is_retry: false, retry_of: None });
        assert_eq!(in_order[4], RetryInfo { attempt: Some(2), is_retry: true, retry_of: Some("d".into()) });
    }

    #[test]
    fn explicit_attempts_win() {
        assert_eq!(classify(Some(1), None, UnixMillis(0)), RetryInfo { attempt: Some(1), is_retry: false, retry_of: None });
        let r = classify(Some(2), Some(&prior(429, 1_000, Some(1))), UnixMillis(2_000));
        assert_eq!(r, RetryInfo { attempt: Some(2), is_retry: true, retry_of: Some("e1".into()) });
    }
}
