//! The SQL of every read, as text plus bound values.
//!
//! Invariants, each checked by tests:
//! - the text is assembled only from `&'static str` fragments and placeholder numbers,
//!   so no request value can ever become SQL (the builder has no way to take a `String`);
//! - every statement on `events` and `insights` starts its `WHERE` with `tenant_id = ?1`,
//!   bound to the [`ReadScope`]'s tenant, and a customer-scoped read adds
//!   `customer_id = ?2`: there is no way to build a read without a scope;
//! - columns are listed explicitly, so columns added by later migrations change nothing.

use crate::access::ReadScope;
use crate::query::{Dimension, EventCursor, EventFilters, PricingFilter, StatusFilter};

/// A bound value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SqlValue {
    Text(String),
    Int(i64),
}

/// One statement: SQL text with `?N` placeholders, and the values bound to them in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statement {
    pub sql: String,
    pub binds: Vec<SqlValue>,
}

struct Builder {
    sql: String,
    binds: Vec<SqlValue>,
}

impl Builder {
    /// `<head> WHERE tenant_id = ?1 [AND customer_id = ?2]`.
    fn scoped(head: &'static str, scope: &ReadScope) -> Builder {
        let mut b = Builder { sql: String::with_capacity(512), binds: Vec::new() };
        b.sql(head);
        b.where_scope(scope);
        b
    }

    /// The scope's `WHERE`: must come before any other bound value, so that the tenant
    /// is always `?1`.
    fn where_scope(&mut self, scope: &ReadScope) {
        debug_assert!(self.binds.is_empty());
        self.sql(" WHERE tenant_id = ");
        self.bind(SqlValue::Text(scope.tenant().as_str().to_owned()));
        if let Some(c) = scope.customer() {
            self.sql(" AND customer_id = ");
            self.bind(SqlValue::Text(c.as_str().to_owned()));
        }
    }

    fn sql(&mut self, fragment: &'static str) {
        self.sql.push_str(fragment);
    }

    fn bind(&mut self, v: SqlValue) {
        self.binds.push(v);
        self.sql.push('?');
        self.sql.push_str(&self.binds.len().to_string());
    }

    fn text(&mut self, s: &str) {
        self.bind(SqlValue::Text(s.to_owned()));
    }

    /// ` GROUP BY` the first `keys` key aliases, ` LIMIT` one more than `max_groups` (so
    /// that too many groups can be told apart); nothing without keys.
    fn group_by_keys(&mut self, keys: usize, max_groups: u32) {
        if keys == 0 {
            return;
        }
        self.sql(" GROUP BY ");
        for (i, alias) in KEY_ALIASES.iter().take(keys).enumerate() {
            if i > 0 {
                self.sql(", ");
            }
            self.sql(alias);
        }
        self.sql(" LIMIT ");
        self.int(i64::from(max_groups) + 1);
    }

    /// ` AND <column> <op> ?n` with `value` bound, when there is a value.
    fn and_text(&mut self, column: &'static str, op: &'static str, value: Option<&str>) {
        if let Some(v) = value {
            for part in [" AND ", column, " ", op, " "] {
                self.sql(part);
            }
            self.text(v);
        }
    }

    fn int(&mut self, n: i64) {
        self.bind(SqlValue::Int(n));
    }

    fn finish(self) -> Statement {
        Statement { sql: self.sql, binds: self.binds }
    }

    fn filters(&mut self, f: &EventFilters) {
        self.and_text("run_id", "=", f.run_id.as_ref().map(|x| x.as_str()));
        if let Some(p) = &f.section_prefix {
            // The section or anything under it, as an index-friendly, case-sensitive
            // range: `p/` <= s < `p0` (`0` is the byte after `/`). LIKE would treat `_` as
            // a wildcard and ignore case.
            self.sql(" AND (section_path = ");
            self.text(p.as_str());
            self.sql(" OR (section_path >= ");
            self.text(&format!("{}/", p.as_str()));
            self.sql(" AND section_path < ");
            self.text(&format!("{}0", p.as_str()));
            self.sql("))");
        }
        if let Some(m) = &f.model {
            self.sql(" AND (request_model = ");
            self.text(m.as_str());
            self.sql(" OR response_model = ");
            self.text(m.as_str());
            self.sql(")");
        }
        self.and_text("provider", "=", f.provider.as_ref().map(|x| x.as_str()));
        self.and_text("endpoint", "=", f.endpoint.as_ref().map(|x| x.as_str()));
        match f.status {
            None => {}
            Some(StatusFilter::Ok) => self.sql(" AND status_code BETWEEN 200 AND 299"),
            Some(StatusFilter::Error) => self.sql(" AND status_code NOT BETWEEN 200 AND 299"),
            Some(StatusFilter::Range(a, b)) => {
                self.sql(" AND status_code BETWEEN ");
                self.int(i64::from(a));
                self.sql(" AND ");
                self.int(i64::from(b));
            }
        }
        match f.pricing_status {
            None => {}
            Some(PricingFilter::Priced) => self.sql(" AND pricing_status = 'priced'"),
            Some(PricingFilter::Unpriced) => self.sql(" AND pricing_status = 'unpriced'"),
        }
        if let Some(from) = f.range.from {
            self.sql(" AND started_at >= ");
            self.int(from);
        }
        if let Some(to) = f.range.to {
            self.sql(" AND started_at < ");
            self.int(to);
        }
    }
}

/// The event columns every read returns, explicitly (later migrations add columns).
pub const EVENT_COLUMNS: &str = "id, tenant_id, customer_id, section_path, run_id, attempt, key_id, provider, endpoint, \
    method, request_model, response_model, is_stream, status_code, error, input_tokens, cached_input_tokens, \
    output_tokens, reasoning_tokens, audio_input_tokens, audio_output_tokens, usage_source, pricing_status, \
    unpriced_reason, cost_nanousd, price_ref, price_version, started_at, latency_ms, outcome, ttfb_ms, \
    upstream_request_id, error_type, retry_after_ms, ratelimit_limit_requests, ratelimit_remaining_requests, \
    ratelimit_limit_tokens, ratelimit_remaining_tokens, properties, client_event_id, request_hash, is_retry, retry_of, \
    cache_write_tokens, cache_write_1h_tokens, cached_audio_input_tokens, image_input_tokens, cached_image_input_tokens, \
    image_output_tokens, audio_duration_ms, characters, images, image_size, image_quality, service_tier";

// `concat!` needs literals, so the column list is repeated here; a test checks they agree.
const SELECT_EVENTS: &str = "SELECT id, tenant_id, customer_id, section_path, run_id, attempt, key_id, provider, endpoint, \
    method, request_model, response_model, is_stream, status_code, error, input_tokens, cached_input_tokens, \
    output_tokens, reasoning_tokens, audio_input_tokens, audio_output_tokens, usage_source, pricing_status, \
    unpriced_reason, cost_nanousd, price_ref, price_version, started_at, latency_ms, outcome, ttfb_ms, \
    upstream_request_id, error_type, retry_after_ms, ratelimit_limit_requests, ratelimit_remaining_requests, \
    ratelimit_limit_tokens, ratelimit_remaining_tokens, properties, client_event_id, request_hash, is_retry, retry_of, \
    cache_write_tokens, cache_write_1h_tokens, cached_audio_input_tokens, image_input_tokens, cached_image_input_tokens, \
    image_output_tokens, audio_duration_ms, characters, images, image_size, image_quality, service_tier FROM events";

/// `GET /runs/latest`: newest first, keyset-paginated on `(started_at, id)`. Fetches
/// `limit + 1` rows so that the caller knows whether another page exists.
pub fn latest_events(scope: &ReadScope, f: &EventFilters, cursor: Option<&EventCursor>, limit: u32) -> Statement {
    let mut b = Builder::scoped(SELECT_EVENTS, scope);
    // The cursor also bounds the time range, so that the index seek starts at the cursor
    // instead of scanning down to it from the end of the range.
    let mut f = f.clone();
    if let Some(c) = cursor {
        let bound = c.started_at.saturating_add(1);
        f.range.to = Some(f.range.to.map_or(bound, |t| t.min(bound)));
    }
    b.filters(&f);
    if let Some(c) = cursor {
        b.sql(" AND (started_at, id) < (");
        b.int(c.started_at);
        b.sql(", ");
        b.text(&c.id);
        b.sql(")");
    }
    b.sql(" ORDER BY started_at DESC, id DESC LIMIT ");
    b.int(i64::from(limit) + 1);
    b.finish()
}

/// `GET /events`: oldest first, one page after `after`.
pub fn export_page(scope: &ReadScope, f: &EventFilters, after: Option<&EventCursor>, page: u32) -> Statement {
    let mut b = Builder::scoped(SELECT_EVENTS, scope);
    let mut f = f.clone();
    if let Some(c) = after {
        f.range.from = Some(f.range.from.map_or(c.started_at, |t| t.max(c.started_at)));
    }
    b.filters(&f);
    if let Some(c) = after {
        b.sql(" AND (started_at, id) > (");
        b.int(c.started_at);
        b.sql(", ");
        b.text(&c.id);
        b.sql(")");
    }
    b.sql(" ORDER BY started_at, id LIMIT ");
    b.int(i64::from(page));
    b.finish()
}

/// `GET /runs/{run_id}`: the run's events in the order they started (at most `limit`).
pub fn run_events(scope: &ReadScope, run_id: &crate::attribution::RunId, limit: u32) -> Statement {
    let mut b = Builder::scoped(SELECT_EVENTS, scope);
    b.sql(" AND run_id = ");
    b.text(run_id.as_str());
    b.sql(" ORDER BY started_at, id LIMIT ");
    b.int(i64::from(limit));
    b.finish()
}

/// The sums every aggregate returns. Sums are cast to TEXT: D1 hands numbers to
/// JavaScript as doubles, and a sum of nano-USD can pass 2^53.
const SUMS: &str = "COUNT(*) AS calls, \
    COALESCE(SUM(pricing_status = 'priced'), 0) AS priced_calls, \
    COALESCE(SUM(status_code NOT BETWEEN 200 AND 299), 0) AS error_calls, \
    CAST(COALESCE(SUM(cost_nanousd), 0) AS TEXT) AS cost_nanousd, \
    CAST(COALESCE(SUM(input_tokens), 0) AS TEXT) AS input_tokens, \
    CAST(COALESCE(SUM(cached_input_tokens), 0) AS TEXT) AS cached_input_tokens, \
    CAST(COALESCE(SUM(output_tokens), 0) AS TEXT) AS output_tokens, \
    CAST(COALESCE(SUM(reasoning_tokens), 0) AS TEXT) AS reasoning_tokens";

fn dimension_expr(d: Dimension) -> &'static str {
    match d {
        Dimension::Day => "CAST(started_at / 86400000 AS TEXT)",
        Dimension::Model => "COALESCE(response_model, request_model)",
        Dimension::Provider => "provider",
        Dimension::Customer => "customer_id",
        Dimension::Section => "section_path",
        Dimension::Endpoint => "endpoint",
    }
}

/// Column aliases of the grouping keys, by position.
const KEY_ALIASES: [&str; 6] = ["k0", "k1", "k2", "k3", "k4", "k5"];

/// `GET /costs`: one row per combination of the grouping keys (aliased `k0`..`k5`, in
/// `group_by` order; the day is days since the epoch, as text), at most `max_groups`.
pub fn costs(scope: &ReadScope, f: &EventFilters, group_by: &[Dimension], max_groups: u32) -> Statement {
    let mut b = Builder { sql: String::with_capacity(1024), binds: Vec::new() };
    b.sql("SELECT ");
    for (i, d) in group_by.iter().enumerate().take(KEY_ALIASES.len()) {
        b.sql(dimension_expr(*d));
        b.sql(" AS ");
        b.sql(KEY_ALIASES[i]);
        b.sql(", ");
    }
    b.sql(SUMS);
    b.sql(" FROM events");
    b.where_scope(scope);
    b.filters(f);
    b.group_by_keys(group_by.len(), max_groups);
    b.finish()
}

/// Whether `GET /costs` with these filters and groups can read whole days from the
/// rollups: they keep the day, model, provider, customer, endpoint and top-level section
/// of each call, so a filter on anything else (run, exact model, status, pricing status,
/// a deeper section) or a grouping by deeper sections needs the raw events.
pub fn rollups_answer(f: &EventFilters, group_by: &[Dimension], section_depth: Option<usize>) -> bool {
    f.run_id.is_none()
        && f.model.is_none()
        && f.status.is_none()
        && f.pricing_status.is_none()
        && f.section_prefix.as_ref().is_none_or(|p| !p.as_str().contains('/'))
        && (!group_by.contains(&Dimension::Section) || section_depth == Some(1))
}

/// The days of `[from_day, to_day)` whose rollups answer for them: aged out (their
/// events are gone), or rolled up after the day ended. Per tenant (a customer scope
/// filters the rollup rows themselves).
pub fn rolled_days(scope: &ReadScope, from_day: i64, to_day: i64) -> Statement {
    let mut b = Builder { sql: String::with_capacity(256), binds: Vec::new() };
    b.sql("SELECT day FROM rollup_days WHERE tenant_id = ");
    b.text(scope.tenant().as_str());
    b.sql(" AND day >= ");
    b.int(from_day);
    b.sql(" AND day < ");
    b.int(to_day);
    b.sql(" AND (aged_out = 1 OR rolled_at >= day * 86400000 + 86400000) ORDER BY day");
    b.finish()
}

fn rollup_dimension_expr(d: Dimension) -> &'static str {
    match d {
        Dimension::Day => "CAST(day AS TEXT)",
        Dimension::Model => "CASE WHEN length(model) > 0 THEN model END",
        Dimension::Provider => "provider",
        Dimension::Customer => "CASE WHEN length(customer_id) > 0 THEN customer_id END",
        Dimension::Section => "CASE WHEN length(section) > 0 THEN section END",
        Dimension::Endpoint => "endpoint",
    }
}

/// `GET /costs` over the rollups of the given days (a JSON array of days since the
/// epoch), in the shape of [`costs`]. Only for queries that [`rollups_answer`] accepts.
pub fn costs_from_rollups(scope: &ReadScope, f: &EventFilters, group_by: &[Dimension], max_groups: u32, days_json: &str) -> Statement {
    let mut b = Builder { sql: String::with_capacity(1024), binds: Vec::new() };
    b.sql("SELECT ");
    for (i, d) in group_by.iter().enumerate().take(KEY_ALIASES.len()) {
        b.sql(rollup_dimension_expr(*d));
        b.sql(" AS ");
        b.sql(KEY_ALIASES[i]);
        b.sql(", ");
    }
    b.sql("COALESCE(SUM(calls), 0) AS calls, COALESCE(SUM(priced_calls), 0) AS priced_calls, \
        COALESCE(SUM(error_calls), 0) AS error_calls, CAST(COALESCE(SUM(cost_nanousd), 0) AS TEXT) AS cost_nanousd, \
        CAST(COALESCE(SUM(input_tokens), 0) AS TEXT) AS input_tokens, \
        CAST(COALESCE(SUM(cached_input_tokens), 0) AS TEXT) AS cached_input_tokens, \
        CAST(COALESCE(SUM(output_tokens), 0) AS TEXT) AS output_tokens, \
        CAST(COALESCE(SUM(reasoning_tokens), 0) AS TEXT) AS reasoning_tokens FROM rollups");
    b.where_scope(scope);
    b.sql(" AND day IN (SELECT value FROM json_each(");
    b.text(days_json);
    b.sql("))");
    b.and_text("section", "=", f.section_prefix.as_ref().map(|x| x.as_str()));
    b.and_text("provider", "=", f.provider.as_ref().map(|x| x.as_str()));
    b.and_text("endpoint", "=", f.endpoint.as_ref().map(|x| x.as_str()));
    b.group_by_keys(group_by.len(), max_groups);
    b.finish()
}

/// The parts of `range` that the whole `days` (sorted days since the epoch) do not
/// cover: what must still be read from events.
pub fn uncovered(range: &crate::query::TimeRange, days: &[i64]) -> Vec<crate::query::TimeRange> {
    const DAY: i64 = 86_400_000;
    let mut out = Vec::new();
    let mut cursor = range.from;
    let mut k = 0;
    while k < days.len() {
        let start = days[k];
        let mut end = start + 1;
        while k + 1 < days.len() && days[k + 1] == end {
            end += 1;
            k += 1;
        }
        k += 1;
        if cursor.is_none_or(|c| c < start * DAY) {
            out.push(crate::query::TimeRange { from: cursor, to: Some(start * DAY) });
        }
        cursor = Some(end * DAY);
    }
    if cursor.is_some_and(|c| range.to.is_none_or(|t| c < t)) || days.is_empty() {
        out.push(crate::query::TimeRange { from: cursor, to: range.to });
    }
    out
}

/// `GET /tenants/{tenant}/customers`: per customer, the sums plus average, p50 and p95
/// latency (nearest rank: the value at rank ceil(p x n) of the sorted latencies), most
/// expensive first, `limit + 1` rows from `offset`.
pub fn customers(scope: &ReadScope, range: &crate::query::TimeRange, limit: u32, offset: u32) -> Statement {
    let mut b = Builder::scoped(
        "SELECT customer_id, COUNT(*) AS calls, \
        COALESCE(SUM(pricing_status = 'priced'), 0) AS priced_calls, \
        COALESCE(SUM(status_code NOT BETWEEN 200 AND 299), 0) AS error_calls, \
        CAST(COALESCE(SUM(cost_nanousd), 0) AS TEXT) AS cost_nanousd, \
        CAST(COALESCE(SUM(input_tokens), 0) AS TEXT) AS input_tokens, \
        CAST(COALESCE(SUM(cached_input_tokens), 0) AS TEXT) AS cached_input_tokens, \
        CAST(COALESCE(SUM(output_tokens), 0) AS TEXT) AS output_tokens, \
        CAST(COALESCE(SUM(reasoning_tokens), 0) AS TEXT) AS reasoning_tokens, \
        CAST(SUM(latency_ms) AS TEXT) AS latency_ms_sum, \
        MAX(CASE WHEN rn = (50 * n + 99) / 100 THEN latency_ms END) AS p50_latency_ms, \
        MAX(CASE WHEN rn = (95 * n + 99) / 100 THEN latency_ms END) AS p95_latency_ms, \
        MAX(latency_ms) AS max_latency_ms, \
        MIN(started_at) AS first_seen, MAX(started_at) AS last_seen \
        FROM (SELECT customer_id, pricing_status, status_code, cost_nanousd, input_tokens, cached_input_tokens, \
        output_tokens, reasoning_tokens, latency_ms, started_at, \
        ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY latency_ms) AS rn, \
        COUNT(*) OVER (PARTITION BY customer_id) AS n \
        FROM events",
        scope,
    );
    if let Some(from) = range.from {
        b.sql(" AND started_at >= ");
        b.int(from);
    }
    if let Some(to) = range.to {
        b.sql(" AND started_at < ");
        b.int(to);
    }
    b.sql(") GROUP BY customer_id ORDER BY COALESCE(SUM(cost_nanousd), 0) DESC, calls DESC, customer_id LIMIT ");
    b.int(i64::from(limit) + 1);
    b.sql(" OFFSET ");
    b.int(i64::from(offset));
    b.finish()
}

/// The totals of a run, exact even when its tree is cut at the event limit.
pub fn run_totals(scope: &ReadScope, run_id: &crate::attribution::RunId) -> Statement {
    let mut b = Builder::scoped(
        "SELECT COUNT(*) AS calls, \
        COALESCE(SUM(pricing_status = 'priced'), 0) AS priced_calls, \
        COALESCE(SUM(status_code NOT BETWEEN 200 AND 299), 0) AS error_calls, \
        CAST(COALESCE(SUM(cost_nanousd), 0) AS TEXT) AS cost_nanousd, \
        CAST(COALESCE(SUM(input_tokens), 0) AS TEXT) AS input_tokens, \
        CAST(COALESCE(SUM(cached_input_tokens), 0) AS TEXT) AS cached_input_tokens, \
        CAST(COALESCE(SUM(output_tokens), 0) AS TEXT) AS output_tokens, \
        CAST(COALESCE(SUM(reasoning_tokens), 0) AS TEXT) AS reasoning_tokens \
        FROM events",
        scope,
    );
    b.sql(" AND run_id = ");
    b.text(run_id.as_str());
    b.finish()
}

/// `GET /insights/daily`. A customer scope sees only insights about that customer:
/// tenant-wide insights can name other customers.
pub fn insights(scope: &ReadScope, q: &crate::query::InsightsQuery, limit: u32, offset: u32) -> Statement {
    let mut b = Builder::scoped("SELECT id, day, type, severity, customer_id, payload, created_at FROM insights", scope);
    b.and_text("day", ">=", q.from_day.as_deref());
    b.and_text("day", "<", q.to_day.as_deref());
    b.and_text("type", "=", q.kind.as_deref());
    b.and_text("severity", "=", q.severity.map(|x| x.as_str()));
    b.sql(" ORDER BY day DESC, CASE severity WHEN 'critical' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END, created_at DESC, id LIMIT ");
    b.int(i64::from(limit) + 1);
    b.sql(" OFFSET ");
    b.int(i64::from(offset));
    b.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attribution::{RunId, SectionPath};
    use crate::query::{CostsQuery, InsightsQuery, LatestQuery, ModelName, TimeRange};

    fn scope(customer: Option<&str>) -> ReadScope {
        ReadScope::for_tests("acme-corp", customer)
    }

    /// `?N` placeholders are numbered 1..=binds in order of appearance.
    fn placeholders(sql: &str) -> Vec<usize> {
        let b = sql.as_bytes();
        let mut out = Vec::new();
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

    fn assert_well_formed(s: &Statement, tenant: &str) {
        assert!(s.sql.contains("WHERE tenant_id = ?1"), "{}", s.sql);
        assert_eq!(s.binds[0], SqlValue::Text(tenant.into()));
        let ph = placeholders(&s.sql);
        assert_eq!(ph, (1..=s.binds.len()).collect::<Vec<_>>(), "{}", s.sql);
        assert!(!s.sql.contains('\''.to_string().repeat(2).as_str()));
    }

    #[test]
    fn every_read_is_scoped_to_the_tenant_first_and_the_customer_second() {
        let f = LatestQuery::parse(Some("model=gpt-4o&section_prefix=agent:a&status=4xx&pricing_status=priced&from=2025-11-01&to=2025-12-01&run_id=r1&provider=openai&endpoint=/v1/chat/completions")).unwrap().filters;
        let c = EventCursor { started_at: 5, id: "e1".into() };
        let q = InsightsQuery::parse(Some("from=2025-11-01&type=spend_spike&severity=warning")).unwrap();
        for customer in [None, Some("alice")] {
            let s = scope(customer);
            let run = RunId::parse("r1").unwrap();
            for stmt in [
                latest_events(&s, &f, Some(&c), 50),
                export_page(&s, &f, Some(&c), 1000),
                run_events(&s, &run, 100),
                run_totals(&s, &run),
                costs(&s, &f, &Dimension::ALL, 100),
                customers(&s, &TimeRange { from: Some(1), to: Some(2) }, 10, 0),
                insights(&s, &q, 10, 0),
            ] {
                assert_well_formed(&stmt, "acme-corp");
                if customer.is_some() {
                    assert!(stmt.sql.contains("WHERE tenant_id = ?1 AND customer_id = ?2"), "{}", stmt.sql);
                    assert_eq!(stmt.binds[1], SqlValue::Text("alice".into()));
                }
            }
        }
    }

    #[test]
    fn costs_from_rollups_is_scoped_and_only_for_what_rollups_keep() {
        let q = CostsQuery::parse(Some("group_by=day,customer,section&section_depth=1&provider=openai&section_prefix=agent:a")).unwrap();
        assert!(rollups_answer(&q.filters, &q.group_by, q.section_depth));
        for s in [scope(None), scope(Some("alice"))] {
            assert_well_formed(&costs_from_rollups(&s, &q.filters, &q.group_by, 10, "[20420]"), "acme-corp");
            assert_well_formed(&rolled_days(&s, 1, 2), "acme-corp");
        }
        let c = costs_from_rollups(&scope(Some("alice")), &q.filters, &q.group_by, 10, "[20420]");
        assert!(c.sql.contains("WHERE tenant_id = ?1 AND customer_id = ?2 AND day IN"), "{}", c.sql);
        for no in ["group_by=section", "group_by=section&section_depth=2", "model=gpt-4o", "status=ok", "pricing_status=priced",
                   "run_id=r1", "section_prefix=agent:a/tool:b"] {
            let q = CostsQuery::parse(Some(no)).unwrap();
            assert!(!rollups_answer(&q.filters, &q.group_by, q.section_depth), "{no}");
        }
    }

    #[test]
    fn uncovered_leaves_the_days_between_the_rolled_up_runs_to_events() {
        const DAY: i64 = 86_400_000;
        let r = |from: Option<i64>, to: Option<i64>| TimeRange { from, to };
        // [day 10 noon, day 20): days 11, 12 and 15 rolled up.
        let got = uncovered(&r(Some(10 * DAY + DAY / 2), Some(20 * DAY)), &[11, 12, 15]);
        assert_eq!(got, vec![r(Some(10 * DAY + DAY / 2), Some(11 * DAY)), r(Some(13 * DAY), Some(15 * DAY)), r(Some(16 * DAY), Some(20 * DAY))]);
        // Open ends, and runs that touch the ends.
        assert_eq!(uncovered(&r(None, None), &[3, 4]), vec![r(None, Some(3 * DAY)), r(Some(5 * DAY), None)]);
        assert_eq!(uncovered(&r(Some(3 * DAY), Some(5 * DAY)), &[3, 4]), vec![]);
        assert_eq!(uncovered(&r(Some(3 * DAY), Some(9 * DAY)), &[]), vec![r(Some(3 * DAY), Some(9 * DAY))]);
    }

    #[test]
    fn section_prefix_is_a_case_sensitive_range_not_a_like() {
        let f = EventFilters { section_prefix: Some(SectionPath::parse("agent:a_b").unwrap()), ..EventFilters::default() };
        let s = latest_events(&scope(None), &f, None, 10);
        assert!(!s.sql.to_ascii_uppercase().contains("LIKE"));
        assert!(s.binds.contains(&SqlValue::Text("agent:a_b/".into())));
        assert!(s.binds.contains(&SqlValue::Text("agent:a_b0".into())));
    }

    #[test]
    fn costs_group_by_fixed_expressions_only() {
        let q = CostsQuery::parse(Some("group_by=day,model,customer")).unwrap();
        let s = costs(&scope(None), &q.filters, &q.group_by, 1000);
        assert!(s.sql.starts_with("SELECT CAST(started_at / 86400000 AS TEXT) AS k0, COALESCE(response_model, request_model) AS k1, customer_id AS k2, COUNT(*)"), "{}", s.sql);
        assert!(s.sql.ends_with("GROUP BY k0, k1, k2 LIMIT ?2"), "{}", s.sql);
        let totals = costs(&scope(None), &q.filters, &[], 1000);
        assert!(!totals.sql.contains("GROUP BY"));
        assert_well_formed(&totals, "acme-corp");
    }

    #[test]
    fn a_cursor_tightens_the_time_range_so_that_deep_pages_seek() {
        let f = LatestQuery::parse(Some("to=2025-12-01")).unwrap().filters;
        let c = EventCursor { started_at: 1_000, id: "e9".into() };
        let s = latest_events(&scope(None), &f, Some(&c), 50);
        assert!(s.binds.contains(&SqlValue::Int(1_001)), "{:?}", s.binds);
        assert_eq!(s.sql.matches("started_at <").count(), 1, "one upper bound: {}", s.sql);
        let e = export_page(&scope(None), &EventFilters::default(), Some(&c), 10);
        assert!(e.sql.contains("started_at >= ?2"), "{}", e.sql);
    }

    #[test]
    fn the_select_list_names_the_columns_it_reads() {
        assert_eq!(SELECT_EVENTS, format!("SELECT {EVENT_COLUMNS} FROM events"));
        let m = EventFilters { model: Some(ModelName::parse("model", "gpt-4o").unwrap()), ..EventFilters::default() };
        assert!(latest_events(&scope(None), &m, None, 1).sql.contains("(request_model = ?2 OR response_model = ?3)"));
    }
}
