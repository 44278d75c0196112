//! The section tree of one run: every call of the run placed under its section path,
//! with cost, tokens, latency and retries summed per node.
//!
//! Invariant: each event is counted exactly once, at the node of its full section path
//! (the root for a call without one), and every node's totals are the sums over its own
//! calls and all its descendants, so the root's totals are the run's.

use serde_json::{json, Value};

use crate::views::{int_json, usd_string, StoredEvent, Sums};

/// A node of the tree: one section segment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SectionNode {
    /// The segment, e.g. `tool:search`; `None` at the root.
    pub name: Option<String>,
    /// The path from the root, e.g. `agent:research/tool:search`; empty at the root.
    pub path: String,
    /// The word before the first `:` (`agent`, `tool`, `step`, `retry`), else `section`;
    /// `run` at the root.
    pub kind: String,
    /// For `retry:<name>:attempt_<n>`: `<name>` and `n`.
    pub retry: Option<(String, u32)>,
    /// A retry attempt that a later attempt of the same retry block (same parent, same
    /// name) replaced: its cost is retry waste.
    pub superseded: bool,
    /// Calls whose section path ends at this node, in the order they started.
    pub calls: Vec<StoredEvent>,
    pub children: Vec<SectionNode>,
    pub totals: NodeTotals,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeTotals {
    pub sums: Sums,
    /// Calls with an attempt number above 1.
    pub retries: u64,
    /// Cost of the superseded retry attempts inside this node.
    pub wasted_cost_nanousd: u128,
    /// Sum of the calls' latencies (time spent waiting on the model).
    pub llm_latency_ms: u64,
    pub max_latency_ms: u64,
    /// First call's start and last call's end, unix ms: the node's wall-clock span.
    pub started_at: u64,
    pub ended_at: u64,
}

/// `retry:<name>:attempt_<n>` -> (`<name>`, n).
pub fn parse_retry_segment(seg: &str) -> Option<(String, u32)> {
    let rest = seg.strip_prefix("retry:")?;
    let (name, n) = rest.rsplit_once(":attempt_")?;
    let n = n.parse::<u32>().ok().filter(|n| *n >= 1)?;
    Some((name.to_owned(), n))
}

fn child<'a>(node: &'a mut SectionNode, seg: &str) -> &'a mut SectionNode {
    let pos = match node.children.iter().position(|c| c.name.as_deref() == Some(seg)) {
        Some(p) => p,
        None => {
            let path = if node.path.is_empty() { seg.to_owned() } else { format!("{}/{seg}", node.path) };
            let kind = match seg.split_once(':') {
                Some((k, _)) if !k.is_empty() => k.to_owned(),
                _ => "section".to_owned(),
            };
            node.children.push(SectionNode {
                name: Some(seg.to_owned()),
                path,
                kind,
                retry: parse_retry_segment(seg),
                ..SectionNode::default()
            });
            node.children.len() - 1
        }
    };
    &mut node.children[pos]
}

/// Builds the tree of a run's events (any order).
pub fn build_run_tree(events: &[StoredEvent]) -> SectionNode {
    let mut sorted: Vec<&StoredEvent> = events.iter().collect();
    sorted.sort_by(|a, b| (a.started_at, &a.id).cmp(&(b.started_at, &b.id)));
    let mut root = SectionNode { kind: "run".to_owned(), ..SectionNode::default() };
    for e in sorted {
        let mut node = &mut root;
        if let Some(path) = e.section_path.as_deref().filter(|p| !p.is_empty()) {
            for seg in path.split('/') {
                node = child(node, seg);
            }
        }
        node.calls.push(e.clone());
    }
    finish(&mut root);
    root
}

/// Marks superseded attempts, sums the totals bottom-up and orders children by start.
fn finish(node: &mut SectionNode) {
    for c in &mut node.children {
        finish(c);
    }
    let latest: Vec<(String, u32)> = {
        let mut m: Vec<(String, u32)> = Vec::new();
        for (name, n) in node.children.iter().filter_map(|c| c.retry.clone()) {
            match m.iter_mut().find(|(k, _)| *k == name) {
                Some(entry) => entry.1 = entry.1.max(n),
                None => m.push((name, n)),
            }
        }
        m
    };
    let mut t = NodeTotals { started_at: u64::MAX, ..NodeTotals::default() };
    for c in &mut node.children {
        if let Some((name, n)) = &c.retry {
            c.superseded = latest.iter().any(|(k, max)| k == name && n < max);
        }
        t.sums.add(&c.totals.sums);
        t.retries += c.totals.retries;
        t.wasted_cost_nanousd += if c.superseded { c.totals.sums.cost_nanousd } else { c.totals.wasted_cost_nanousd };
        t.llm_latency_ms = t.llm_latency_ms.saturating_add(c.totals.llm_latency_ms);
        t.max_latency_ms = t.max_latency_ms.max(c.totals.max_latency_ms);
        t.started_at = t.started_at.min(c.totals.started_at);
        t.ended_at = t.ended_at.max(c.totals.ended_at);
    }
    for e in &node.calls {
        t.sums.add(&Sums::of(e));
        t.retries += u64::from(e.is_retry());
        t.llm_latency_ms = t.llm_latency_ms.saturating_add(e.latency_ms);
        t.max_latency_ms = t.max_latency_ms.max(e.latency_ms);
        t.started_at = t.started_at.min(e.started_at);
        t.ended_at = t.ended_at.max(e.started_at.saturating_add(e.latency_ms));
    }
    if t.started_at == u64::MAX {
        t.started_at = 0;
    }
    node.totals = t;
    node.children.sort_by(|a, b| (a.totals.started_at, &a.name).cmp(&(b.totals.started_at, &b.name)));
}

fn iso(ms: u64) -> String {
    crate::time::UnixMillis(i64::try_from(ms).unwrap_or(i64::MAX)).to_rfc3339()
}

impl SectionNode {
    pub fn to_json(&self) -> Value {
        let t = &self.totals;
        let mut totals = t.sums.to_json();
        if let Value::Object(m) = &mut totals {
            m.insert("retries".into(), json!(t.retries));
            m.insert("wasted_cost_usd".into(), json!(usd_string(t.wasted_cost_nanousd)));
            m.insert("wasted_cost_nanousd".into(), int_json(t.wasted_cost_nanousd));
            m.insert("llm_latency_ms".into(), json!(t.llm_latency_ms));
            m.insert("max_latency_ms".into(), json!(t.max_latency_ms));
            m.insert("started_at".into(), json!(iso(t.started_at)));
            m.insert("ended_at".into(), json!(iso(t.ended_at)));
            m.insert("wall_ms".into(), json!(t.ended_at.saturating_sub(t.started_at)));
        }
        json!({
            "name": self.name,
            "path": self.path,
            "kind": self.kind,
            "label": self.name.as_deref().map(|n| n.split_once(':').map_or(n, |(_, l)| l)),
            "retry": self.retry.as_ref().map(|(name, attempt)| json!({ "name": name, "attempt": attempt, "superseded": self.superseded })),
            "totals": totals,
            "calls": self.calls.iter().map(StoredEvent::to_json).collect::<Vec<_>>(),
            "children": self.children.iter().map(SectionNode::to_json).collect::<Vec<_>>(),
        })
    }

    /// Number of calls in the tree (for checks).
    pub fn call_count(&self) -> usize {
        self.calls.len() + self.children.iter().map(SectionNode::call_count).sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(id: &str, section: Option<&str>, start: u64, latency: u64, cost: Option<u64>, attempt: Option<u32>) -> StoredEvent {
        StoredEvent {
            id: id.into(),
            tenant_id: "acme-corp".into(),
            section_path: section.map(str::to_owned),
            started_at: start,
            latency_ms: latency,
            cost_nanousd: cost,
            attempt,
            is_retry: attempt.is_some_and(|a| a > 1),
            status_code: 200,
            input_tokens: 10,
            output_tokens: 1,
            ..StoredEvent::default()
        }
    }

    #[test]
    fn the_reference_run_becomes_a_tree_with_retry_waste() {
        let events = vec![
            ev("e3", Some("agent:research_assistant/step:analyze_results/retry:llm_analysis:attempt_2"), 300, 50, Some(2_150_000), Some(2)),
            ev("e1", Some("agent:research_assistant/tool:search"), 100, 20, Some(283_200), None),
            ev("e2", Some("agent:research_assistant/step:analyze_results/retry:llm_analysis:attempt_1"), 200, 40, Some(4_400_000), Some(1)),
            ev("e0", None, 50, 5, None, None),
        ];
        let root = build_run_tree(&events);
        assert_eq!(root.call_count(), 4);
        assert_eq!(root.calls.len(), 1, "a call without a section sits at the root");
        assert_eq!(root.totals.sums.cost_nanousd, 283_200 + 4_400_000 + 2_150_000);
        assert_eq!(root.totals.sums.calls, 4);
        assert_eq!(root.totals.sums.priced_calls, 3);
        assert_eq!(root.totals.retries, 1);
        assert_eq!(root.totals.wasted_cost_nanousd, 4_400_000, "attempt 1 was superseded by attempt 2");
        assert_eq!((root.totals.started_at, root.totals.ended_at), (50, 350));
        let agent = &root.children[0];
        assert_eq!((agent.kind.as_str(), agent.path.as_str()), ("agent", "agent:research_assistant"));
        assert_eq!(agent.children.iter().map(|c| c.name.clone().unwrap()).collect::<Vec<_>>(),
            vec!["tool:search", "step:analyze_results"], "children in the order they started");
        let step = &agent.children[1];
        let attempts: Vec<_> = step.children.iter().map(|c| (c.retry.clone().unwrap().1, c.superseded)).collect();
        assert_eq!(attempts, vec![(1, true), (2, false)]);
        assert_eq!(step.totals.llm_latency_ms, 90);
        let j = root.to_json();
        assert_eq!(j["totals"]["cost_usd"], "0.0068332");
        assert_eq!(j["children"][0]["label"], "research_assistant");
        assert_eq!(j["children"][0]["children"][1]["children"][0]["retry"]["superseded"], true);
    }

    #[test]
    fn retry_segments_parse() {
        assert_eq!(parse_retry_segment("retry:llm_analysis:attempt_2"), Some(("llm_analysis".into(), 2)));
        assert_eq!(parse_retry_segment("retry:a:b:attempt_10"), Some(("a:b".into(), 10)));
        assert_eq!(parse_retry_segment("retry:x:attempt_0"), None);
        assert_eq!(parse_retry_segment("tool:x"), None);
    }
}
