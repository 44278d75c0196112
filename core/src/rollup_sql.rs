//! The SQL of the daily cron: rolling events up into `rollups`, ageing raw events out,
//! and reading the facts that the insight rules (`insights`) need.
//!
//! Invariants, each checked by tests:
//! - every statement on a tenant's data starts its `WHERE` with `tenant_id = ?1` (the one
//!   exception, [`tenants`], only lists tenant ids);
//! - the work stays in SQLite (`INSERT ... SELECT ... GROUP BY`); the worker only sends
//!   statements and reads small results;
//! - a day is always recomputed whole from its events (delete, then insert), so running
//!   twice or late gives the same rows; the one additive path is for a day whose raw
//!   events were already aged out, and it deletes the events it adds in the same batch
//!   (a D1 batch is one transaction), so no event is ever counted twice or deleted unrolled.

use crate::read_sql::{SqlValue, Statement};

pub const DAY_MS: i64 = 86_400_000;

fn stmt(sql: impl Into<String>, binds: Vec<SqlValue>) -> Statement {
    Statement { sql: sql.into(), binds }
}

fn t(s: &str) -> SqlValue {
    SqlValue::Text(s.to_owned())
}

fn i(n: i64) -> SqlValue {
    SqlValue::Int(n)
}

/// Every tenant that has events, by a loose index scan (one index seek per tenant, not a
/// scan of the events).
pub fn tenants() -> Statement {
    stmt(
        "WITH RECURSIVE t(id) AS (SELECT (SELECT MIN(tenant_id) FROM events) \
         UNION ALL SELECT (SELECT MIN(tenant_id) FROM events WHERE tenant_id > t.id) FROM t WHERE t.id IS NOT NULL) \
         SELECT id AS tenant_id FROM t WHERE id IS NOT NULL",
        vec![],
    )
}

/// The tenant's first event, its last aged-out day, its first rolled-up day that still
/// has raw events, and its first closed day marked stale (see [`mark_stale`]) before `today`.
pub fn tenant_bounds(tenant: &str, today: i64) -> Statement {
    stmt(
        "SELECT (SELECT MIN(started_at) FROM events WHERE tenant_id = ?1) AS first_started_at, \
         (SELECT MAX(day) FROM rollup_days WHERE tenant_id = ?1 AND aged_out = 1) AS last_aged_day, \
         (SELECT MIN(day) FROM rollup_days WHERE tenant_id = ?1 AND aged_out = 0) AS first_rolled_day, \
         (SELECT MIN(day) FROM rollup_days WHERE tenant_id = ?1 AND aged_out = 0 AND day < ?2 \
           AND rolled_at < day * 86400000 + 86400000) AS first_stale_day",
        vec![t(tenant), i(today)],
    )
}

/// Marks the rolled-up days of `[from_day, to_day)` stale, as [`mark_stale`] does: after a
/// re-pricing run changed their events' costs.
pub fn mark_stale_range(tenant: &str, from_day: i64, to_day: i64) -> Statement {
    stmt(
        "UPDATE rollup_days SET rolled_at = 0 WHERE tenant_id = ?1 AND day >= ?2 AND day < ?3 AND aged_out = 0",
        vec![t(tenant), i(from_day), i(to_day)],
    )
}

/// Marks rolled-up days (a JSON array of days since the epoch) as stale after events
/// arrived for them late: `GET /costs` stops reading them from the rollups at once, and
/// the next cron run rolls them up again.
pub fn mark_stale(tenant: &str, days_json: &str) -> Statement {
    stmt(
        "UPDATE rollup_days SET rolled_at = 0 WHERE tenant_id = ?1 AND day IN (SELECT value FROM json_each(?2)) AND aged_out = 0",
        vec![t(tenant), t(days_json)],
    )
}

/// The start of the tenant's `n`-th event (0-based) before `before_day`, oldest first: where
/// one run's ageing stops, so that one batch never moves more than about `n` events.
pub fn nth_event_start(tenant: &str, before_day: i64, n: i64) -> Statement {
    stmt(
        "SELECT started_at FROM events WHERE tenant_id = ?1 AND started_at < ?2 ORDER BY started_at LIMIT 1 OFFSET ?3",
        vec![t(tenant), i(before_day * DAY_MS), i(n)],
    )
}

/// The newest of the sorted `days` whose events (`per_day`) add up to at most `budget`,
/// and always at least one day; sorted. Newest first, so that a backfill cut short leaves
/// its oldest days: the tenant's first rolled-up day stays after its first event, and the
/// next run goes on with them.
pub fn newest_days_within(days: &[i64], per_day: &std::collections::BTreeMap<i64, u64>, budget: u64) -> Vec<i64> {
    let mut kept = Vec::new();
    let mut total = 0u64;
    for &day in days.iter().rev() {
        let n = per_day.get(&day).copied().unwrap_or(0);
        if !kept.is_empty() && total.saturating_add(n) > budget {
            break;
        }
        total = total.saturating_add(n);
        kept.push(day);
    }
    kept.reverse();
    kept
}

/// What one day's events add up to: as they are now ([`fingerprints`]), or as they were
/// when the day was last rolled up ([`day_states`]). Equal fingerprints mean the rollup
/// still matches its events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DayFingerprint {
    pub day: i64,
    pub events: u64,
    pub cost_nanousd: u128,
    pub max_started_at: u64,
}

/// A rolled-up day: its fingerprint then, when it was rolled up, and whether its raw events
/// have since been aged out (its rollup is then final).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RolledDay {
    pub at: DayFingerprint,
    pub rolled_at_ms: u64,
    pub aged_out: bool,
}

/// Days whose rollup does not match their events, sorted: never rolled up, changed since,
/// last rolled up while still open (before it ended), or rolled up although its events
/// are gone (deleted by hand: the rollup must go too), unless they were aged out. A quiet
/// day (a row of 0 events) stays clean until a call of that day appears.
pub fn dirty_days(now: &[DayFingerprint], rolled: &[RolledDay], today: i64) -> Vec<i64> {
    let by_day: std::collections::BTreeMap<i64, &RolledDay> = rolled.iter().map(|r| (r.at.day, r)).collect();
    let closed_after = |day: i64| u64::try_from((day + 1).saturating_mul(DAY_MS)).unwrap_or(0);
    let mut out: Vec<i64> = now
        .iter()
        .filter(|f| {
            let clean = by_day.get(&f.day).is_some_and(|r| {
                !r.aged_out && r.at == **f && (f.day >= today || r.rolled_at_ms >= closed_after(f.day))
            });
            !clean
        })
        .map(|f| f.day)
        .collect();
    // A rolled-up day whose events are gone (deleted by hand): its rollup must go too. A
    // quiet day's row (0 events, [`quiet_days`]) has none to lose.
    out.extend(
        by_day
            .iter()
            .filter(|(day, r)| !r.aged_out && r.at.events > 0 && !now.iter().any(|f| f.day == **day))
            .map(|(day, _)| *day),
    );
    out.sort_unstable();
    out.dedup();
    out
}

/// Per day of `[from_day, to_day)`: the events' count, cost and latest start, which is
/// what `rollup_days` remembers of the events a day was rolled up from.
pub fn fingerprints(tenant: &str, from_day: i64, to_day: i64) -> Statement {
    stmt(
        "SELECT started_at / 86400000 AS day, COUNT(*) AS events, CAST(COALESCE(SUM(cost_nanousd), 0) AS TEXT) AS cost_nanousd, \
         MAX(started_at) AS max_started_at FROM events WHERE tenant_id = ?1 AND started_at >= ?2 AND started_at < ?3 GROUP BY day",
        vec![t(tenant), i(from_day * DAY_MS), i(to_day * DAY_MS)],
    )
}

/// The rolled-up days of `[from_day, to_day)`.
pub fn day_states(tenant: &str, from_day: i64, to_day: i64) -> Statement {
    stmt(
        "SELECT day, events, CAST(cost_nanousd AS TEXT) AS cost_nanousd, max_started_at, rolled_at, aged_out, insights_at \
         FROM rollup_days WHERE tenant_id = ?1 AND day >= ?2 AND day < ?3",
        vec![t(tenant), i(from_day), i(to_day)],
    )
}

const ROLLUP_COLUMNS: &str = "tenant_id, day, customer_id, model, provider, endpoint, section, calls, priced_calls, \
    unpriced_calls, error_calls, cost_nanousd, input_tokens, cached_input_tokens, output_tokens, reasoning_tokens, \
    latency_ms_sum, retry_calls, retry_waste_nanousd, cancelled_calls, cancelled_nanousd, rate_limited_calls, \
    headroom_calls, min_headroom_permille";

/// Retry waste: the cost of an attempt that a later attempt replaced, either an implicit
/// retry (another event names it in `retry_of`) or an explicit one (a later, higher
/// attempt of the same `retry:<name>` block in the same run), as in `runs`.
const ROLLUP_SELECT: &str = "SELECT e.tenant_id, e.started_at / 86400000 AS r_day, COALESCE(e.customer_id, '') AS r_customer, \
    COALESCE(e.response_model, e.request_model, '') AS r_model, e.provider, e.endpoint, \
    CASE WHEN e.section_path IS NULL THEN '' WHEN instr(e.section_path, '/') > 0 THEN substr(e.section_path, 1, instr(e.section_path, '/') - 1) ELSE e.section_path END AS r_section, \
    COUNT(*), \
    COALESCE(SUM(CASE WHEN e.pricing_status = 'priced' THEN 1 ELSE 0 END), 0), \
    COALESCE(SUM(CASE WHEN e.pricing_status = 'unpriced' AND COALESCE(e.unpriced_reason, '') <> 'no_usage' THEN 1 ELSE 0 END), 0), \
    COALESCE(SUM(CASE WHEN e.status_code BETWEEN 200 AND 299 THEN 0 ELSE 1 END), 0), \
    COALESCE(SUM(e.cost_nanousd), 0), COALESCE(SUM(e.input_tokens), 0), COALESCE(SUM(e.cached_input_tokens), 0), \
    COALESCE(SUM(e.output_tokens), 0), COALESCE(SUM(e.reasoning_tokens), 0), COALESCE(SUM(e.latency_ms), 0), \
    COALESCE(SUM(e.is_retry), 0), \
    COALESCE(SUM(CASE WHEN e.cost_nanousd > 0 AND ( \
        ((e.status_code NOT BETWEEN 200 AND 299 OR e.outcome NOT IN ('completed', 'stream_cancelled')) \
          AND EXISTS (SELECT 1 FROM events r WHERE r.tenant_id = e.tenant_id AND r.retry_of = e.id)) \
        OR (e.run_id IS NOT NULL AND e.attempt IS NOT NULL AND instr(e.section_path, ':attempt_') > 0 \
          AND EXISTS (SELECT 1 FROM events r WHERE r.tenant_id = e.tenant_id AND r.run_id = e.run_id AND r.attempt > e.attempt \
            AND instr(r.section_path, ':attempt_') > 0 \
            AND substr(r.section_path, 1, instr(r.section_path, ':attempt_')) = substr(e.section_path, 1, instr(e.section_path, ':attempt_'))))) \
      THEN e.cost_nanousd ELSE 0 END), 0), \
    COALESCE(SUM(CASE WHEN e.outcome = 'stream_cancelled' THEN 1 ELSE 0 END), 0), \
    COALESCE(SUM(CASE WHEN e.outcome = 'stream_cancelled' THEN e.cost_nanousd ELSE 0 END), 0), \
    COALESCE(SUM(CASE WHEN e.status_code = 429 THEN 1 ELSE 0 END), 0), \
    COALESCE(SUM(CASE WHEN e.ratelimit_limit_tokens > 0 AND e.ratelimit_remaining_tokens IS NOT NULL THEN 1 ELSE 0 END), 0), \
    MIN(CASE WHEN e.ratelimit_limit_tokens > 0 AND e.ratelimit_remaining_tokens IS NOT NULL \
      THEN e.ratelimit_remaining_tokens * 1000 / e.ratelimit_limit_tokens END) \
    FROM events e WHERE e.tenant_id = ?1 AND e.started_at >= ?2 AND e.started_at < ?3 \
    GROUP BY r_day, r_customer, r_model, e.provider, e.endpoint, r_section";

/// Adds to rows that exist: only reached for aged-out days (see the module's invariant).
const ROLLUP_MERGE: &str = " ON CONFLICT (tenant_id, day, customer_id, model, provider, endpoint, section) DO UPDATE SET \
    calls = calls + excluded.calls, priced_calls = priced_calls + excluded.priced_calls, \
    unpriced_calls = unpriced_calls + excluded.unpriced_calls, error_calls = error_calls + excluded.error_calls, \
    cost_nanousd = cost_nanousd + excluded.cost_nanousd, input_tokens = input_tokens + excluded.input_tokens, \
    cached_input_tokens = cached_input_tokens + excluded.cached_input_tokens, output_tokens = output_tokens + excluded.output_tokens, \
    reasoning_tokens = reasoning_tokens + excluded.reasoning_tokens, latency_ms_sum = latency_ms_sum + excluded.latency_ms_sum, \
    retry_calls = retry_calls + excluded.retry_calls, retry_waste_nanousd = retry_waste_nanousd + excluded.retry_waste_nanousd, \
    cancelled_calls = cancelled_calls + excluded.cancelled_calls, cancelled_nanousd = cancelled_nanousd + excluded.cancelled_nanousd, \
    rate_limited_calls = rate_limited_calls + excluded.rate_limited_calls, headroom_calls = headroom_calls + excluded.headroom_calls, \
    min_headroom_permille = CASE WHEN excluded.min_headroom_permille IS NULL THEN min_headroom_permille \
      WHEN min_headroom_permille IS NULL THEN excluded.min_headroom_permille \
      ELSE MIN(min_headroom_permille, excluded.min_headroom_permille) END";

/// Binds: ?1 tenant, ?2 and ?3 the range in ms, ?4 now.
const DAY_SELECT: &str = "SELECT tenant_id, started_at / 86400000 AS d, COUNT(*), COALESCE(SUM(cost_nanousd), 0), MAX(started_at), ?4";

/// Binds of the three shapes: days, milliseconds, milliseconds and now.
struct Range<'a> {
    tenant: &'a str,
    from_day: i64,
    to_day: i64,
    now_ms: i64,
}

impl Range<'_> {
    fn days(&self) -> Vec<SqlValue> {
        vec![t(self.tenant), i(self.from_day), i(self.to_day)]
    }
    fn ms(&self) -> Vec<SqlValue> {
        vec![t(self.tenant), i(self.from_day * DAY_MS), i(self.to_day * DAY_MS)]
    }
    fn ms_now(&self) -> Vec<SqlValue> {
        let mut v = self.ms();
        v.push(i(self.now_ms));
        v
    }
}

/// Recomputes the days `[from_day, to_day)` from their events, as one batch. Days in the
/// range must not be aged out (the caller starts the range after the last aged-out day).
/// A day whose events changed loses its `insights_at`, so its insights are recomputed.
pub fn reroll(tenant: &str, from_day: i64, to_day: i64, now_ms: i64) -> Vec<Statement> {
    let r = Range { tenant, from_day, to_day, now_ms };
    vec![
        stmt("DELETE FROM rollups WHERE tenant_id = ?1 AND day >= ?2 AND day < ?3", r.days()),
        stmt(format!("INSERT INTO rollups ({ROLLUP_COLUMNS}) {ROLLUP_SELECT}{ROLLUP_MERGE}"), r.ms()),
        stmt(
            "DELETE FROM rollup_days WHERE tenant_id = ?1 AND day >= ?2 AND day < ?3 AND aged_out = 0 \
             AND NOT EXISTS (SELECT 1 FROM events WHERE tenant_id = ?1 \
               AND started_at >= rollup_days.day * 86400000 AND started_at < rollup_days.day * 86400000 + 86400000)",
            r.days(),
        ),
        stmt(
            format!(
                "INSERT INTO rollup_days (tenant_id, day, events, cost_nanousd, max_started_at, rolled_at) \
                 {DAY_SELECT} FROM events WHERE tenant_id = ?1 AND started_at >= ?2 AND started_at < ?3 GROUP BY d \
                 ON CONFLICT (tenant_id, day) DO UPDATE SET insights_at = CASE WHEN rollup_days.events = excluded.events \
                   AND rollup_days.cost_nanousd = excluded.cost_nanousd AND rollup_days.max_started_at = excluded.max_started_at \
                   THEN rollup_days.insights_at END, \
                 events = excluded.events, cost_nanousd = excluded.cost_nanousd, max_started_at = excluded.max_started_at, \
                 rolled_at = excluded.rolled_at"
            ),
            r.ms_now(),
        ),
    ]
}

/// Ages out the raw events of `[from_day, to_day)` (days before the retention cutoff),
/// as one batch: each day is rolled up (recomputed, or for a day already aged out, its
/// late events added) and its events deleted in the same transaction.
pub fn age_out(tenant: &str, from_day: i64, to_day: i64, now_ms: i64) -> Vec<Statement> {
    let r = Range { tenant, from_day, to_day, now_ms };
    vec![
        stmt(
            "DELETE FROM rollups WHERE tenant_id = ?1 AND day >= ?2 AND day < ?3 \
             AND day NOT IN (SELECT day FROM rollup_days WHERE tenant_id = ?1 AND day >= ?2 AND day < ?3 AND aged_out = 1)",
            r.days(),
        ),
        stmt(format!("INSERT INTO rollups ({ROLLUP_COLUMNS}) {ROLLUP_SELECT}{ROLLUP_MERGE}"), r.ms()),
        stmt(
            format!(
                "INSERT INTO rollup_days (tenant_id, day, events, cost_nanousd, max_started_at, rolled_at, aged_out) \
                 {DAY_SELECT}, 1 FROM events WHERE tenant_id = ?1 AND started_at >= ?2 AND started_at < ?3 GROUP BY d \
                 ON CONFLICT (tenant_id, day) DO UPDATE SET insights_at = CASE WHEN rollup_days.aged_out = 0 \
                   AND rollup_days.events = excluded.events AND rollup_days.cost_nanousd = excluded.cost_nanousd \
                   THEN rollup_days.insights_at END, \
                 events = CASE WHEN rollup_days.aged_out = 1 THEN rollup_days.events + excluded.events ELSE excluded.events END, \
                 cost_nanousd = CASE WHEN rollup_days.aged_out = 1 THEN rollup_days.cost_nanousd + excluded.cost_nanousd ELSE excluded.cost_nanousd END, \
                 max_started_at = CASE WHEN rollup_days.aged_out = 1 THEN MAX(rollup_days.max_started_at, excluded.max_started_at) ELSE excluded.max_started_at END, \
                 rolled_at = excluded.rolled_at, aged_out = 1"
            ),
            r.ms_now(),
        ),
        stmt("DELETE FROM events WHERE tenant_id = ?1 AND started_at >= ?2 AND started_at < ?3", r.ms()),
    ]
}

/// Closed days of `[from_day, to_day)` whose insights are not computed yet.
/// Records the quiet days in `[from_day, to_day)`: closed days without a call that follow
/// a day with calls within `baseline_days`. Each gets a `rollup_days` row of 0 events, so
/// that its insights are computed: spend falling to nothing is a drop against the
/// baseline. Days already recorded are left as they are.
pub fn quiet_days(tenant: &str, from_day: i64, to_day: i64, baseline_days: i64, now_ms: i64) -> Statement {
    stmt(
        "WITH RECURSIVE days(d) AS (SELECT ?2 WHERE ?2 < ?3 UNION ALL SELECT d + 1 FROM days WHERE d + 1 < ?3) \
         INSERT INTO rollup_days (tenant_id, day, events, cost_nanousd, max_started_at, rolled_at) \
         SELECT ?1, d, 0, 0, 0, ?5 FROM days \
         WHERE NOT EXISTS (SELECT 1 FROM rollup_days r WHERE r.tenant_id = ?1 AND r.day = d) \
           AND NOT EXISTS (SELECT 1 FROM events e WHERE e.tenant_id = ?1 \
             AND e.started_at >= d * 86400000 AND e.started_at < d * 86400000 + 86400000) \
           AND EXISTS (SELECT 1 FROM rollup_days b WHERE b.tenant_id = ?1 AND b.day >= d - ?4 AND b.day < d AND b.events > 0) \
         ON CONFLICT (tenant_id, day) DO NOTHING",
        vec![t(tenant), i(from_day), i(to_day), i(baseline_days), i(now_ms)],
    )
}

pub fn days_needing_insights(tenant: &str, from_day: i64, to_day: i64) -> Statement {
    stmt(
        "SELECT day FROM rollup_days WHERE tenant_id = ?1 AND day >= ?2 AND day < ?3 AND insights_at IS NULL ORDER BY day",
        vec![t(tenant), i(from_day), i(to_day)],
    )
}

/// The facts of one day, as one batch, in this order: daily totals, per customer, per
/// section (the day and the baseline days before it), per model, per section and model,
/// waste, new models, new customers, history.
pub fn day_facts(tenant: &str, day: i64, baseline_days: i64) -> Vec<Statement> {
    let range = || vec![t(tenant), i(day - baseline_days), i(day)];
    let one = || vec![t(tenant), i(day)];
    let per = |key: &str| {
        format!(
            "SELECT day, {key} AS key, CAST(SUM(cost_nanousd) AS TEXT) AS cost_nanousd, SUM(calls) AS calls FROM rollups \
             WHERE tenant_id = ?1 AND day >= ?2 AND day <= ?3 GROUP BY day, {key}"
        )
    };
    let usage = |group: &str, section: &str| {
        format!(
            "SELECT {section} AS section, model, provider, SUM(calls) AS calls, SUM(priced_calls) AS priced_calls, \
             SUM(unpriced_calls) AS unpriced_calls, CAST(SUM(cost_nanousd) AS TEXT) AS cost_nanousd, \
             CAST(SUM(input_tokens) AS TEXT) AS input_tokens, CAST(SUM(cached_input_tokens) AS TEXT) AS cached_input_tokens, \
             CAST(SUM(output_tokens) AS TEXT) AS output_tokens FROM rollups WHERE tenant_id = ?1 AND day = ?2 GROUP BY {group}"
        )
    };
    let new = |col: &str| {
        format!(
            "SELECT DISTINCT {col} AS key FROM rollups r WHERE tenant_id = ?1 AND day = ?2 AND {col} <> '' \
             AND NOT EXISTS (SELECT 1 FROM rollups p WHERE p.tenant_id = ?1 AND p.{col} = r.{col} AND p.day < ?2)"
        )
    };
    vec![
        stmt(per("''"), range()),
        stmt(per("customer_id"), range()),
        stmt(per("section"), range()),
        stmt(usage("model, provider", "''"), one()),
        stmt(usage("section, model, provider", "section"), one()),
        stmt(
            "SELECT COALESCE(SUM(calls), 0) AS calls, CAST(COALESCE(SUM(cost_nanousd), 0) AS TEXT) AS cost_nanousd, \
             COALESCE(SUM(retry_calls), 0) AS retry_calls, CAST(COALESCE(SUM(retry_waste_nanousd), 0) AS TEXT) AS retry_waste_nanousd, \
             COALESCE(SUM(cancelled_calls), 0) AS cancelled_calls, CAST(COALESCE(SUM(cancelled_nanousd), 0) AS TEXT) AS cancelled_nanousd, \
             COALESCE(SUM(rate_limited_calls), 0) AS rate_limited_calls, COALESCE(SUM(headroom_calls), 0) AS headroom_calls, \
             MIN(min_headroom_permille) AS min_headroom_permille FROM rollups WHERE tenant_id = ?1 AND day = ?2",
            one(),
        ),
        stmt(new("model"), one()),
        stmt(new("customer_id"), one()),
        stmt(
            "SELECT EXISTS (SELECT 1 FROM rollup_days WHERE tenant_id = ?1 AND day < ?2) AS has_history",
            one(),
        ),
    ]
}

/// Stores a day's insights (a JSON array of `{id, type, severity, customer_id, payload}`)
/// and marks the day done, as one batch. Insights of the day that are not in the array
/// are removed; an unchanged insight keeps its row and `created_at`.
pub fn write_insights(tenant: &str, day: i64, day_iso: &str, insights_json: &str, now_ms: i64) -> Vec<Statement> {
    let b = || vec![t(tenant), t(day_iso), t(insights_json)];
    let mut with_now = b();
    with_now.push(i(now_ms));
    vec![
        stmt(
            "DELETE FROM insights WHERE tenant_id = ?1 AND day = ?2 AND id NOT IN (SELECT json_extract(value, '$.id') FROM json_each(?3))",
            b(),
        ),
        stmt(
            "INSERT INTO insights (id, tenant_id, day, type, severity, customer_id, payload, created_at) \
             SELECT json_extract(value, '$.id'), ?1, ?2, json_extract(value, '$.type'), json_extract(value, '$.severity'), \
             json_extract(value, '$.customer_id'), json(json_extract(value, '$.payload')), ?4 FROM json_each(?3) WHERE true \
             ON CONFLICT (id) DO UPDATE SET severity = excluded.severity, customer_id = excluded.customer_id, payload = excluded.payload \
             WHERE insights.severity IS NOT excluded.severity OR insights.customer_id IS NOT excluded.customer_id \
               OR insights.payload IS NOT excluded.payload",
            with_now,
        ),
        stmt("UPDATE rollup_days SET insights_at = ?3 WHERE tenant_id = ?1 AND day = ?2", vec![t(tenant), i(day), i(now_ms)]),
    ]
}

#[cfg(test)]
mod tests {
    fn fp(day: i64, events: u64) -> DayFingerprint {
        DayFingerprint { day, events, cost_nanousd: u128::from(events) * 1_000, max_started_at: (day * DAY_MS + 5) as u64 }
    }

    fn rolled(f: DayFingerprint, rolled_at_ms: u64) -> RolledDay {
        RolledDay { at: f, rolled_at_ms, aged_out: false }
    }

    #[test]
    fn a_day_is_clean_only_when_its_rollup_matches_and_was_made_after_it_closed() {
        let today = 20;
        let after = |day: i64| ((day + 1) * DAY_MS) as u64;
        let now = [fp(10, 3), fp(11, 4), fp(12, 5), fp(13, 6), fp(20, 7)];
        let states = [
            rolled(fp(10, 3), after(10)),          // matches, rolled after the day ended: clean
            rolled(fp(11, 3), after(11)),          // an event came since: dirty
            rolled(fp(12, 5), after(12) - 1),      // rolled while the day was still open: dirty
            // 13: never rolled up: dirty
            rolled(fp(20, 7), after(19)),          // today, matching: clean while it lasts
        ];
        assert_eq!(dirty_days(&now, &states, today), vec![11, 12, 13]);
    }

    #[test]
    fn any_difference_in_the_fingerprint_makes_a_day_dirty() {
        let base = fp(10, 3);
        let at = ((11) * DAY_MS) as u64;
        for changed in [
            DayFingerprint { cost_nanousd: base.cost_nanousd + 1, ..base },
            DayFingerprint { max_started_at: base.max_started_at + 1, ..base },
            DayFingerprint { events: base.events + 1, ..base },
        ] {
            assert_eq!(dirty_days(&[changed], &[rolled(base, at)], 20), vec![10], "{changed:?}");
        }
        assert_eq!(dirty_days(&[base], &[rolled(base, at)], 20), Vec::<i64>::new());
    }

    #[test]
    fn a_quiet_day_is_clean_until_a_call_of_that_day_appears() {
        let at = (11 * DAY_MS) as u64;
        let quiet = rolled(DayFingerprint { day: 10, events: 0, cost_nanousd: 0, max_started_at: 0 }, at);
        assert_eq!(dirty_days(&[], &[quiet], 20), Vec::<i64>::new());
        assert_eq!(dirty_days(&[fp(10, 1)], &[quiet], 20), vec![10], "a late call makes it a day with calls");
    }

    #[test]
    fn quiet_days_are_bounded_scoped_and_never_overwrite() {
        let s = quiet_days("acme", 13, 20, 7, 99);
        assert_eq!(s.binds, vec![t("acme"), i(13), i(20), i(7), i(99)]);
        for part in ["tenant_id = ?1 AND r.day = d", "e.tenant_id = ?1", "b.tenant_id = ?1 AND b.day >= d - ?4", "DO NOTHING", "WHERE ?2 < ?3"] {
            assert!(s.sql.contains(part), "{part}: {}", s.sql);
        }
    }

    #[test]
    fn a_rollup_whose_events_are_gone_is_dirty_unless_they_were_aged_out() {
        let at = (11 * DAY_MS) as u64;
        let gone = rolled(fp(10, 3), at);
        let aged = RolledDay { aged_out: true, ..rolled(fp(9, 3), at) };
        assert_eq!(dirty_days(&[], &[gone, aged], 20), vec![10]);
    }

    use super::*;

    fn all() -> Vec<Statement> {
        let mut v = vec![tenant_bounds("acme", 9), mark_stale("acme", "[1]"), mark_stale_range("acme", 1, 3), fingerprints("acme", 1, 3), day_states("acme", 1, 3), days_needing_insights("acme", 1, 3)];
        v.extend(reroll("acme", 1, 3, 5));
        v.extend(age_out("acme", 1, 3, 5));
        v.extend(day_facts("acme", 10, 7));
        v.extend(write_insights("acme", 10, "1970-01-11", "[]", 5));
        v
    }

    /// `?N` placeholders used by a statement.
    fn placeholders(sql: &str) -> Vec<usize> {
        let b = sql.as_bytes();
        let mut out = Vec::new();
        for (k, c) in b.iter().enumerate() {
            if *c == b'?' {
                let digits: String = sql[k + 1..].chars().take_while(char::is_ascii_digit).collect();
                out.push(digits.parse().unwrap());
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    #[test]
    fn every_statement_on_tenant_data_filters_by_tenant_first() {
        for s in all() {
            assert!(s.sql.contains("tenant_id = ?1") || s.sql.starts_with("INSERT INTO insights"), "{}", s.sql);
            if s.sql.starts_with("INSERT INTO insights") {
                // Writes ?1 as the tenant of every row it inserts.
                assert!(s.sql.contains("SELECT json_extract(value, '$.id'), ?1,"), "{}", s.sql);
                continue;
            }
            assert!(s.sql.contains("WHERE tenant_id = ?1") || s.sql.contains("WHERE e.tenant_id = ?1"), "{}", s.sql);
            // Subqueries on events stay within the row's tenant.
            assert_eq!(s.sql.matches("FROM events r WHERE").count(), s.sql.matches("FROM events r WHERE r.tenant_id = e.tenant_id").count());
            assert_eq!(s.binds[0], SqlValue::Text("acme".into()));
            // Every bound value is used, and nothing else: D1 refuses unused bindings.
            assert_eq!(placeholders(&s.sql), (1..=s.binds.len()).collect::<Vec<_>>(), "{}", s.sql);
        }
        assert!(tenants().binds.is_empty());
    }

    /// `LLMOBSERVE_DUMP_SQL=path cargo test -p llmobserve-core rollup_sql`: writes every
    /// statement as JSON, for running them against schema.sql by hand.
    #[test]
    fn dump_for_manual_checks() {
        if let Ok(path) = std::env::var("LLMOBSERVE_DUMP_SQL") {
            let v: Vec<serde_json::Value> = all().iter().map(|s| serde_json::json!({ "sql": s.sql, "binds": s.binds.iter().map(|b| match b {
                SqlValue::Text(t) => serde_json::json!(t), SqlValue::Int(n) => serde_json::json!(n) }).collect::<Vec<_>>() })).collect();
            std::fs::write(path, serde_json::to_string(&v).unwrap()).unwrap();
        }
    }

    #[test]
    fn the_sql_runs_on_the_schema() {
        // Each statement is valid SQL against schema.sql: checked by the e2e tests, which
        // run them in D1; here the shapes that matter for idempotency.
        let r = reroll("acme", 1, 3, 5);
        assert!(r[0].sql.starts_with("DELETE FROM rollups"));
        assert!(r[1].sql.starts_with("INSERT INTO rollups"));
        let a = age_out("acme", 1, 3, 5);
        assert!(a.last().unwrap().sql.starts_with("DELETE FROM events"), "events go last, in the batch that rolled them up");
    }

    #[test]
    fn a_backlog_is_cut_to_the_newest_days_within_the_budget() {
        let per_day: std::collections::BTreeMap<i64, u64> = [(1, 30), (2, 30), (3, 30), (5, 10), (6, 100)].into_iter().collect();
        assert_eq!(newest_days_within(&[1, 2, 3, 5], &per_day, 70), vec![2, 3, 5]);
        assert_eq!(newest_days_within(&[1, 2, 3, 5], &per_day, 69), vec![3, 5]);
        assert_eq!(newest_days_within(&[1, 2, 3, 5], &per_day, 1_000), vec![1, 2, 3, 5]);
        assert_eq!(newest_days_within(&[1, 6], &per_day, 50), vec![6], "at least one day, however big");
        assert_eq!(newest_days_within(&[4, 7], &per_day, 0), vec![4, 7], "days without events (rollups to drop) cost nothing");
        assert_eq!(newest_days_within(&[], &per_day, 50), Vec::<i64>::new());
    }

    #[test]
    fn the_nth_event_query_is_scoped_and_bound() {
        let s = nth_event_start("acme", 10, 20_000);
        assert!(s.sql.contains("WHERE tenant_id = ?1"));
        assert_eq!(s.binds, vec![t("acme"), i(10 * DAY_MS), i(20_000)]);
    }
}
