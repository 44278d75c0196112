//! Property tests of the read side: query parsing takes untrusted input, the access rules
//! decide what a key may see, and the SQL builders must stay inside the caller's scope.
// Helpers outside `#[test]` functions unwrap values that the strategies made valid.
#![allow(clippy::unwrap_used)]

use llmobserve_core::access::Principal;
use llmobserve_core::attribution::{CustomerId, SectionPath, TenantId};
use llmobserve_core::keys::{Scope, Scopes};
use llmobserve_core::query::{parse_instant, section_under, CostsQuery, Dimension, EventCursor, LatestQuery, Params};
use llmobserve_core::read_sql::{self, SqlValue};
use llmobserve_core::runs::build_run_tree;
use llmobserve_core::time::UnixMillis;
use llmobserve_core::views::{fold_cost_groups, CostGroup, StoredEvent, Sums};
use proptest::prelude::*;

fn id() -> impl Strategy<Value = String> {
    "[a-z0-9][a-z0-9._:@+-]{0,12}"
}

fn section() -> impl Strategy<Value = String> {
    prop::collection::vec("[a-z0-9][a-z0-9_:.-]{0,6}", 1..4).prop_map(|s| s.join("/"))
}

/// Query strings made of likely keys and hostile or plausible values.
fn query_string() -> impl Strategy<Value = String> {
    let key = prop::sample::select(vec![
        "tenant_id", "customer_id", "run_id", "section_prefix", "model", "provider", "endpoint", "status",
        "pricing_status", "from", "to", "limit", "cursor", "group_by", "section_depth", "x", "",
    ]);
    let value = prop_oneof![
        id(),
        section(),
        "\\PC{0,20}",
        prop::sample::select(vec!["' OR '1'='1", "1;DROP TABLE events", "%FF", "%00", "%", "a%2", "2025-11-28", "4xx",
            "day,model", "123.abc", "o5", "--", "/*", "\"", "\\"]).prop_map(str::to_owned),
    ];
    prop::collection::vec((key, value), 0..6)
        .prop_map(|kv| kv.into_iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&"))
}

fn placeholders(sql: &str) -> Vec<usize> {
    let mut out = Vec::new();
    let b = sql.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'?' {
            let mut j = i + 1;
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            out.push(sql[i + 1..j].parse().unwrap());
            i = j;
        } else {
            i += 1;
        }
    }
    out
}

fn principal() -> impl Strategy<Value = Principal> {
    (prop::option::of(id()), prop::option::of(id()), prop::sample::subsequence(vec![Scope::Ingest, Scope::Read, Scope::Admin], 0..=3))
        .prop_map(|(t, c, scopes)| {
            let tenant = t.map(|t| TenantId::parse(&t).unwrap());
            Principal {
                key_id: Some("key_x".into()),
                scopes: Scopes::new(scopes),
                customer: if tenant.is_some() { c.map(|c| CustomerId::parse(&c).unwrap()) } else { None },
                tenant,
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Any query string parses or is refused; whatever parses builds a statement whose
    /// placeholders are exactly 1..=binds, whose first bind is the tenant, and whose text
    /// contains none of the request's values.
    #[test]
    fn parsed_queries_build_scoped_statements(q in query_string(), tenant in id(), customer in prop::option::of(id())) {
        let admin = Principal::admin_token();
        let t = TenantId::parse(&tenant).unwrap();
        let c = customer.map(|c| CustomerId::parse(&c).unwrap());
        let scope = admin.read_scope(Some(&t), c.as_ref()).unwrap();
        if let Ok(lq) = LatestQuery::parse(Some(&q)) {
            let s = read_sql::latest_events(&scope, &lq.filters, lq.cursor.as_ref(), lq.limit);
            prop_assert_eq!(placeholders(&s.sql), (1..=s.binds.len()).collect::<Vec<_>>());
            prop_assert_eq!(&s.binds[0], &SqlValue::Text(tenant.clone()));
            prop_assert!(s.sql.starts_with("SELECT ") && s.sql.contains(" FROM events WHERE tenant_id = ?1"));
            for b in &s.binds {
                if let SqlValue::Text(v) = b {
                    if v.len() >= 4 {
                        prop_assert!(!s.sql.contains(v.as_str()), "value {v:?} in SQL {}", s.sql);
                    }
                }
            }
        }
        if let Ok(cq) = CostsQuery::parse(Some(&q)) {
            let s = read_sql::costs(&scope, &cq.filters, &cq.group_by, 1000);
            prop_assert_eq!(placeholders(&s.sql), (1..=s.binds.len()).collect::<Vec<_>>());
            prop_assert!(s.sql.contains(" FROM events WHERE tenant_id = ?1"));
        }
    }

    /// Decoded parameters are UTF-8 without control characters, whatever the input.
    #[test]
    fn params_never_carry_control_characters(raw in "\\PC{0,40}|[%a-f0-9=&]{0,40}") {
        if let Ok(p) = Params::parse(Some(&raw)) {
            for k in ["a", "tenant_id", "%"] {
                if let Some(v) = p.get(k) {
                    prop_assert!(!v.chars().any(char::is_control));
                }
            }
        }
    }

    /// A read never leaves the key's binding: a bound tenant (and customer) is always the
    /// scope's, whatever the request names; otherwise the request's is.
    #[test]
    fn read_scope_stays_inside_the_binding(p in principal(), t in prop::option::of(id()), c in prop::option::of(id())) {
        let t = t.map(|t| TenantId::parse(&t).unwrap());
        let c = c.map(|c| CustomerId::parse(&c).unwrap());
        if let Ok(s) = p.read_scope(t.as_ref(), c.as_ref()) {
            prop_assert!(p.scopes.allows(Scope::Read));
            if let Some(bound) = &p.tenant { prop_assert_eq!(s.tenant(), bound); }
            else { prop_assert_eq!(Some(s.tenant()), t.as_ref()); }
            if let Some(bound) = &p.customer { prop_assert_eq!(s.customer(), Some(bound)); }
            else { prop_assert_eq!(s.customer(), c.as_ref()); }
            if let Some(req) = &c { prop_assert_eq!(s.customer(), Some(req)); }
        }
    }

    /// The SQL range used for `section_prefix` selects exactly the paths under the prefix.
    #[test]
    fn section_prefix_range_equals_segment_prefix(p in section(), s in section(), glue in prop::bool::ANY) {
        let s = if glue { format!("{p}{}", s) } else { s };
        prop_assume!(SectionPath::parse(&s).is_ok());
        let in_range = s == p || (s.as_str() >= format!("{p}/").as_str() && s.as_str() < format!("{p}0").as_str());
        prop_assert_eq!(in_range, section_under(&s, &p));
    }

    /// Keyset cursors round-trip.
    #[test]
    fn cursors_round_trip(ms in 0i64..=253_402_300_799_999, id in "[a-zA-Z0-9][a-zA-Z0-9_.:-]{0,40}") {
        let c = EventCursor { started_at: ms, id };
        prop_assert_eq!(EventCursor::parse(&c.encode()), Ok(c));
    }

    /// Every RFC 3339 time the API prints parses back to the same instant.
    #[test]
    fn printed_times_parse_back(ms in 0i64..=253_402_300_799_999) {
        prop_assert_eq!(parse_instant(&UnixMillis(ms).to_rfc3339()), Ok(ms));
    }

    /// Folding groups (cutting sections, merging) neither loses nor invents calls or cost.
    #[test]
    fn folding_preserves_totals(rows in prop::collection::vec((0i64..30, section(), 0u64..5, 0u128..1_000_000_000_000), 0..40),
                                depth in 1usize..4) {
        let groups: Vec<CostGroup> = rows.iter().map(|(d, s, calls, cost)| CostGroup {
            keys: vec![Some(d.to_string()), Some(s.clone())],
            sums: Sums { calls: *calls, cost_nanousd: *cost, ..Sums::default() },
        }).collect();
        let (calls, cost) = groups.iter().fold((0, 0), |a, g| (a.0 + g.sums.calls, a.1 + g.sums.cost_nanousd));
        let out = fold_cost_groups(&[Dimension::Day, Dimension::Section], Some(depth), groups);
        let (c2, k2) = out.iter().fold((0, 0), |a, g| (a.0 + g.sums.calls, a.1 + g.sums.cost_nanousd));
        prop_assert_eq!((calls, cost), (c2, k2));
        for g in &out {
            prop_assert!(g.keys[1].as_deref().unwrap().split('/').count() <= depth);
        }
    }

    /// The run tree holds every event once, and its root totals are the run's sums.
    #[test]
    fn run_tree_counts_every_event_once(evs in prop::collection::vec(
        (prop::option::of(section()), 0u64..1000, 0u64..100, prop::option::of(0u64..10_000_000), prop::option::of(1u32..4)), 0..30)) {
        let events: Vec<StoredEvent> = evs.iter().enumerate().map(|(i, (s, at, lat, cost, attempt))| StoredEvent {
            id: format!("e{i}"), section_path: s.clone(), started_at: *at, latency_ms: *lat,
            cost_nanousd: *cost, attempt: *attempt, is_retry: attempt.is_some_and(|a| a > 1), status_code: 200,
            ..StoredEvent::default()
        }).collect();
        let root = build_run_tree(&events);
        prop_assert_eq!(root.call_count(), events.len());
        let cost: u128 = events.iter().map(|e| u128::from(e.cost_nanousd.unwrap_or(0))).sum();
        prop_assert_eq!(root.totals.sums.cost_nanousd, cost);
        prop_assert!(root.totals.wasted_cost_nanousd <= cost);
        prop_assert_eq!(root.totals.retries, events.iter().filter(|e| e.is_retry()).count() as u64);
    }
}
