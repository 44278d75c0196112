//! The scheduled handler: rolls events up per day, ages raw events out past the
//! retention, and writes each closed day's insights. Thin: the statements come from
//! `llmobserve_core::rollup_sql`, the rules from `llmobserve_core::insights`; this module
//! decides which days need work and sends batches.
//!
//! Invariants: it never panics and never stops at one tenant's failure (it logs and goes
//! on); running it twice, or late, gives the same rollups, because a day is always
//! recomputed whole from its events; raw events are deleted only in the batch (one
//! transaction) that rolled them up.

use std::collections::BTreeMap;

use llmobserve_core::insights::{self, DayCost, DayFacts, DayWaste, ModelUsage, BASELINE_DAYS};
use llmobserve_core::pricing::PriceBook;
use llmobserve_core::read_sql::Statement;
use llmobserve_core::rollup_sql::{self, DayFingerprint, RolledDay};
use llmobserve_core::views::parse_sum;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};
use worker::{D1Database, D1Result, Env};

use crate::error::{ApiError, ApiResult};
use crate::store::{self, whole};

/// Days before today that are re-checked against their events on every run (late events
/// of older days are rolled up when their day ages out).
pub const RECHECK_DAYS: i64 = 7;
/// Closed days within this many days before today get insights (once each).
pub const INSIGHT_DAYS: i64 = 7;
/// Default and least `EVENT_RETENTION_DAYS`.
pub const DEFAULT_RETENTION_DAYS: i64 = 90;
pub const MIN_RETENTION_DAYS: i64 = 3;
/// D1 statements one run may send, counting every statement of a batch (D1 allows 1,000
/// queries per invocation on the paid plan); tenants beyond it are done by the next run,
/// which starts its round at another tenant.
pub const MAX_D1_STATEMENTS: u64 = 950;
/// Raw events one run ages out per tenant, and events one run re-rolls per tenant (whole
/// days, at least one): a backlog (a first run over months of events) is worked off over
/// several runs instead of one batch that outlasts the invocation.
pub const AGE_EVENTS_PER_RUN: i64 = 20_000;
pub const REROLL_EVENTS_PER_RUN: u64 = 50_000;
/// Statements one tenant may need in one run beyond the first (ageing, a few re-roll
/// batches, one day of insights); a tenant is not started without this much budget left.
const TENANT_STATEMENTS: u64 = 40;

/// What one run did, logged as one JSON line and returned to tests and benchmarks.
#[derive(Default, Debug)]
pub struct CronStats {
    pub tenants: u64,
    pub tenants_failed: u64,
    pub tenants_deferred: u64,
    pub days_rerolled: u64,
    pub aged_ranges: u64,
    pub events_deleted: u64,
    pub insight_days: u64,
    pub insights: u64,
    pub d1_calls: u64,
    pub statements: u64,
    pub rows_read: u64,
    pub rows_written: u64,
}

impl CronStats {
    pub fn to_json(&self, now_ms: i64, retention_days: i64, elapsed_ms: u64) -> Value {
        json!({
            "cron": "rollups_and_insights",
            "scheduled_time": llmobserve_core::time::UnixMillis(now_ms).to_rfc3339(),
            "retention_days": retention_days,
            "tenants": self.tenants, "tenants_failed": self.tenants_failed, "tenants_deferred": self.tenants_deferred,
            "days_rerolled": self.days_rerolled, "aged_ranges": self.aged_ranges, "events_deleted": self.events_deleted,
            "insight_days": self.insight_days, "insights": self.insights,
            "d1_calls": self.d1_calls, "statements": self.statements,
            "rows_read": self.rows_read, "rows_written": self.rows_written,
            "elapsed_ms": elapsed_ms,
        })
    }
}

/// `EVENT_RETENTION_DAYS`: raw events of days older than this many days are aged out once
/// rolled up. A bad value is logged and the default used: the cron must not stop.
pub fn retention_days(env: &Env) -> i64 {
    let raw = env.var("EVENT_RETENTION_DAYS").map(|v| v.to_string()).ok();
    match raw.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => DEFAULT_RETENTION_DAYS,
        Some(v) => match v.parse::<i64>() {
            Ok(n) if n >= MIN_RETENTION_DAYS => n,
            _ => {
                worker::console_error!(
                    "EVENT_RETENTION_DAYS must be a whole number of at least {MIN_RETENTION_DAYS}, got {v:?}; using {DEFAULT_RETENTION_DAYS}"
                );
                DEFAULT_RETENTION_DAYS
            }
        },
    }
}

struct Runner {
    db: D1Database,
    stats: CronStats,
}

impl Runner {
    fn count(&mut self, results: &[D1Result]) {
        self.stats.d1_calls += 1;
        for r in results {
            self.stats.statements += 1;
            if let Ok(Some(m)) = r.meta() {
                self.stats.rows_read += m.rows_read.unwrap_or(0) as u64;
                self.stats.rows_written += m.rows_written.unwrap_or(0) as u64;
            }
        }
    }

    async fn batch(&mut self, stmts: &[Statement]) -> ApiResult<Vec<D1Result>> {
        let prepared = stmts
            .iter()
            .map(|s| self.db.prepare(s.sql.as_str()).bind(&s.binds.iter().map(store::bind_value).collect::<Vec<_>>()))
            .collect::<worker::Result<Vec<_>>>()?;
        let results = self.db.batch(prepared).await?;
        self.count(&results);
        Ok(results)
    }

    async fn rows<T: DeserializeOwned>(&mut self, stmt: &Statement) -> ApiResult<Vec<T>> {
        let mut res = self.batch(std::slice::from_ref(stmt)).await?;
        match res.pop() {
            Some(r) => Ok(r.results::<T>()?),
            None => Ok(Vec::new()),
        }
    }
}

fn results<T: DeserializeOwned>(r: Option<&D1Result>) -> ApiResult<Vec<T>> {
    match r {
        Some(r) => Ok(r.results::<T>()?),
        None => Err(ApiError::internal("a D1 batch returned fewer results than statements")),
    }
}

#[derive(Deserialize)]
struct TenantRow {
    tenant_id: String,
}

#[derive(Deserialize)]
struct Bounds {
    first_started_at: Option<f64>,
    last_aged_day: Option<f64>,
    first_rolled_day: Option<f64>,
    first_stale_day: Option<f64>,
}

#[derive(Deserialize)]
struct StartRow {
    started_at: f64,
}

#[derive(Deserialize)]
struct Fingerprint {
    day: f64,
    events: f64,
    cost_nanousd: Option<String>,
    max_started_at: f64,
}

#[derive(Deserialize)]
struct DayState {
    day: f64,
    events: f64,
    cost_nanousd: Option<String>,
    max_started_at: f64,
    rolled_at: f64,
    aged_out: f64,
}

fn day_fingerprint(day: f64, events: f64, cost_nanousd: Option<&str>, max_started_at: f64) -> DayFingerprint {
    DayFingerprint { day: day_of(day), events: whole(events), cost_nanousd: parse_sum(cost_nanousd), max_started_at: whole(max_started_at) }
}

impl Fingerprint {
    fn get(&self) -> DayFingerprint {
        day_fingerprint(self.day, self.events, self.cost_nanousd.as_deref(), self.max_started_at)
    }
}

impl DayState {
    fn get(&self) -> RolledDay {
        RolledDay {
            at: day_fingerprint(self.day, self.events, self.cost_nanousd.as_deref(), self.max_started_at),
            rolled_at_ms: whole(self.rolled_at),
            aged_out: self.aged_out != 0.0,
        }
    }
}

#[derive(Deserialize)]
struct DayRow {
    day: f64,
}

#[derive(Deserialize)]
struct KeyCostRow {
    day: f64,
    key: Option<String>,
    cost_nanousd: Option<String>,
    calls: f64,
}

#[derive(Deserialize)]
struct UsageRow {
    section: Option<String>,
    model: Option<String>,
    provider: Option<String>,
    calls: f64,
    priced_calls: f64,
    unpriced_calls: f64,
    cost_nanousd: Option<String>,
    input_tokens: Option<String>,
    cached_input_tokens: Option<String>,
    output_tokens: Option<String>,
}

#[derive(Deserialize)]
struct WasteRow {
    calls: f64,
    cost_nanousd: Option<String>,
    retry_calls: f64,
    retry_waste_nanousd: Option<String>,
    cancelled_calls: f64,
    cancelled_nanousd: Option<String>,
    rate_limited_calls: f64,
    headroom_calls: f64,
    min_headroom_permille: Option<f64>,
}

#[derive(Deserialize)]
struct KeyRow {
    key: Option<String>,
}

#[derive(Deserialize)]
struct HistoryRow {
    has_history: f64,
}

fn day_of(n: f64) -> i64 {
    i64::try_from(whole(n)).unwrap_or(0)
}

/// Runs the cron at `now_ms` (the trigger's scheduled time).
pub async fn run(env: &Env, now_ms: i64) -> CronStats {
    let db = match store::db(env) {
        Ok(db) => db,
        Err(e) => {
            worker::console_error!("cron: no D1 binding: {}", e.message);
            return CronStats::default();
        }
    };
    let book = match crate::pricing::book(env).await {
        Ok(b) => b,
        Err(e) => {
            worker::console_error!("cron: price overrides unavailable, registry prices used: {}", e.message);
            std::rc::Rc::new(PriceBook::registry())
        }
    };
    let retention = retention_days(env);
    let mut r = Runner { db, stats: CronStats::default() };
    let tenants = match r.rows::<TenantRow>(&rollup_sql::tenants()).await {
        Ok(t) => t,
        Err(e) => {
            worker::console_error!("cron: cannot list tenants: {}", e.message);
            return r.stats;
        }
    };
    // Start the round at a different tenant each minute, so that runs cut short by the
    // statement budget do not always leave out the same tenants.
    let n = tenants.len();
    let start = if n == 0 { 0 } else { (now_ms.div_euclid(60_000).rem_euclid(n as i64)) as usize };
    for k in 0..n {
        let tenant = &tenants[(start + k) % n].tenant_id;
        if r.stats.statements + TENANT_STATEMENTS > MAX_D1_STATEMENTS {
            r.stats.tenants_deferred += (n - k) as u64;
            worker::console_error!("cron: D1 statement budget reached; {} tenants left for the next run", n - k);
            break;
        }
        r.stats.tenants += 1;
        if let Err(e) = tenant_run(&mut r, tenant, now_ms, retention, &book).await {
            r.stats.tenants_failed += 1;
            worker::console_error!("cron: tenant {tenant} failed, continuing with the next one: {}", e.message);
        }
    }
    r.stats
}

async fn tenant_run(r: &mut Runner, tenant: &str, now_ms: i64, retention: i64, book: &PriceBook) -> ApiResult<()> {
    let today = insights::epoch_day(now_ms);
    let bounds = r.rows::<Bounds>(&rollup_sql::tenant_bounds(tenant, today)).await?;
    let Some(b) = bounds.into_iter().next() else { return Ok(()) };
    if let Some(first) = b.first_started_at {
        let first_day = insights::epoch_day(i64::try_from(whole(first)).unwrap_or(0));
        // Days before `age_end` keep no raw events: those past the retention, and any day
        // already aged out (late events for it are added to its rollups and deleted).
        let age_end = (today - retention).max(b.last_aged_day.map_or(i64::MIN, |d| day_of(d) + 1));
        if first_day < age_end {
            // Stop before the day of the AGE_EVENTS_PER_RUN-th event (but take at least the
            // first day): the rest waits for the next run.
            let nth = r.rows::<StartRow>(&rollup_sql::nth_event_start(tenant, age_end, AGE_EVENTS_PER_RUN)).await?;
            let stop = match nth.first() {
                Some(row) => insights::epoch_day(i64::try_from(whole(row.started_at)).unwrap_or(0)).max(first_day + 1).min(age_end),
                None => age_end,
            };
            let res = r.batch(&rollup_sql::age_out(tenant, first_day, stop, now_ms)).await?;
            r.stats.aged_ranges += 1;
            r.stats.events_deleted += res.last().and_then(|x| x.meta().ok().flatten()).and_then(|m| m.changes).unwrap_or(0) as u64;
        }
        let backfill = b.first_rolled_day.is_none_or(|f| first_day < day_of(f));
        let recheck_from = today - RECHECK_DAYS;
        let stale = b.first_stale_day.map_or(recheck_from, day_of);
        let from = if backfill { first_day.min(recheck_from) } else { recheck_from }.min(stale).max(age_end);
        let to = today + 1;
        if from < to {
            let res = r.batch(&[rollup_sql::fingerprints(tenant, from, to), rollup_sql::day_states(tenant, from, to)]).await?;
            let fps: Vec<Fingerprint> = results(res.first())?;
            let states: Vec<DayState> = results(res.get(1))?;
            let per_day: BTreeMap<i64, u64> = fps.iter().map(|f| (day_of(f.day), whole(f.events))).collect();
            let now: Vec<DayFingerprint> = fps.iter().map(Fingerprint::get).collect();
            let rolled: Vec<RolledDay> = states.iter().map(DayState::get).collect();
            let dirty = rollup_sql::newest_days_within(&rollup_sql::dirty_days(&now, &rolled, today), &per_day, REROLL_EVENTS_PER_RUN);
            // One batch per run of consecutive dirty days: a late event far back does
            // not make every day since then be recomputed.
            for (lo, hi) in runs(&dirty) {
                r.batch(&rollup_sql::reroll(tenant, lo, hi, now_ms)).await?;
            }
            r.stats.days_rerolled += dirty.len() as u64;
        }
    }
    r.batch(&[rollup_sql::quiet_days(tenant, today - INSIGHT_DAYS, today, BASELINE_DAYS, now_ms)]).await?;
    let days = r.rows::<DayRow>(&rollup_sql::days_needing_insights(tenant, today - INSIGHT_DAYS, today)).await?;
    for d in days {
        // One day's insights take 12 statements; the days left keep `insights_at` NULL
        // and are done by the next run.
        if r.stats.statements + 12 > MAX_D1_STATEMENTS {
            break;
        }
        let day = day_of(d.day);
        let facts = read_facts(r, tenant, day).await?;
        let found = insights::compute(&facts, book);
        let list: Vec<Value> = found
            .iter()
            .map(|i| json!({
                "id": i.id(tenant, day), "type": i.kind, "severity": i.severity.as_str(),
                "customer_id": i.customer_id, "payload": i.payload(),
            }))
            .collect();
        let text = Value::Array(list).to_string();
        r.batch(&rollup_sql::write_insights(tenant, day, &insights::day_iso(day), &text, now_ms)).await?;
        r.stats.insight_days += 1;
        r.stats.insights += found.len() as u64;
    }
    Ok(())
}

/// Consecutive days as half-open ranges: `[1, 2, 3, 7]` -> `[(1, 4), (7, 8)]`.
fn runs(days: &[i64]) -> Vec<(i64, i64)> {
    let mut out: Vec<(i64, i64)> = Vec::new();
    for &d in days {
        match out.last_mut() {
            Some((_, hi)) if *hi == d => *hi = d + 1,
            _ => out.push((d, d + 1)),
        }
    }
    out
}

fn day_costs(rows: Vec<KeyCostRow>) -> Vec<DayCost> {
    rows.into_iter()
        .map(|r| DayCost { day: day_of(r.day), key: r.key.unwrap_or_default(), cost_nanousd: parse_sum(r.cost_nanousd.as_deref()), calls: whole(r.calls) })
        .collect()
}

fn usages(rows: Vec<UsageRow>) -> Vec<ModelUsage> {
    rows.into_iter()
        .map(|r| ModelUsage {
            section: r.section.unwrap_or_default(),
            model: r.model.unwrap_or_default(),
            provider: r.provider.unwrap_or_default(),
            calls: whole(r.calls),
            priced_calls: whole(r.priced_calls),
            unpriced_calls: whole(r.unpriced_calls),
            cost_nanousd: parse_sum(r.cost_nanousd.as_deref()),
            input_tokens: parse_sum(r.input_tokens.as_deref()),
            cached_input_tokens: parse_sum(r.cached_input_tokens.as_deref()),
            output_tokens: parse_sum(r.output_tokens.as_deref()),
        })
        .collect()
}

async fn read_facts(r: &mut Runner, tenant: &str, day: i64) -> ApiResult<DayFacts> {
    let res = r.batch(&rollup_sql::day_facts(tenant, day, BASELINE_DAYS)).await?;
    let waste = results::<WasteRow>(res.get(5))?.into_iter().next().map_or_else(DayWaste::default, |w| DayWaste {
        calls: whole(w.calls),
        cost_nanousd: parse_sum(w.cost_nanousd.as_deref()),
        retry_calls: whole(w.retry_calls),
        retry_waste_nanousd: parse_sum(w.retry_waste_nanousd.as_deref()),
        cancelled_calls: whole(w.cancelled_calls),
        cancelled_nanousd: parse_sum(w.cancelled_nanousd.as_deref()),
        rate_limited_calls: whole(w.rate_limited_calls),
        headroom_calls: whole(w.headroom_calls),
        min_headroom_permille: w.min_headroom_permille.map(whole),
    });
    let keys = |i: usize| -> ApiResult<Vec<String>> {
        Ok(results::<KeyRow>(res.get(i))?.into_iter().filter_map(|k| k.key).collect())
    };
    Ok(DayFacts {
        tenant: tenant.to_owned(),
        day,
        daily: day_costs(results(res.first())?),
        customers: day_costs(results(res.get(1))?),
        sections: day_costs(results(res.get(2))?),
        models: usages(results(res.get(3))?),
        section_models: usages(results(res.get(4))?),
        waste,
        new_models: keys(6)?,
        new_customers: keys(7)?,
        has_history: results::<HistoryRow>(res.get(8))?.first().is_some_and(|h| h.has_history != 0.0),
    })
}
