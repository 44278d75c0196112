//! Daily insights: pure rules over one tenant's rollups (see `rollup_sql`), each an
//! insight with a type, a severity, the numbers behind it and one sentence a person can
//! act on.
//!
//! Invariants: money stays integer nano-USD (ratios are compared by cross-multiplying,
//! never by dividing); the same facts always give the same insights in the same order,
//! and each insight's id is derived from (tenant, day, type, subject), so writing them
//! again replaces instead of duplicating; a rule that lacks the data it needs (no
//! baseline, no history, no price) says nothing rather than guessing.

use serde_json::{json, Value};

use crate::money::PerMTok;
use crate::pricing::{snapshot_family, PriceBook, EXACT_PER_NANO};
use crate::query::Severity;
use crate::time::UnixMillis;
use crate::views::usd_string;

/// Days before the day that form its baseline.
pub const BASELINE_DAYS: i64 = 7;
/// A spend change needs at least this many baseline days on which the tenant had calls.
pub const MIN_BASELINE_DAYS: u64 = 3;
/// A spend change smaller than this (in either direction) is noise: $0.05.
pub const MIN_CHANGE_NANOUSD: u128 = 50_000_000;
/// A spike is at least 2x the baseline, critical from 4x; a drop is at most half of it.
pub const SPIKE_PERCENT: u128 = 200;
pub const CRITICAL_SPIKE_PERCENT: u128 = 400;
pub const DROP_PERCENT: u128 = 50;
/// At most this many customers (and sections) get a spike or drop insight per day, the
/// largest changes first; the top lists hold this many entries.
pub const MAX_SUBJECTS: usize = 5;
/// Waste (retries, cancelled streams) is a warning from this share of the day's cost, in percent.
pub const WASTE_WARNING_PERCENT: u128 = 10;
/// Rate-limit pressure: 429s from this share of calls (percent, critical from the second
/// value), or remaining tokens below this share of the limit (per mille).
pub const RATE_LIMITED_PERCENT: u64 = 5;
pub const RATE_LIMITED_CRITICAL_PERCENT: u64 = 20;
pub const LOW_HEADROOM_PERMILLE: u64 = 100;
/// Cheaper-model opportunity: at least this many calls, averaging at most this many
/// input tokens, saving at least this much on the day.
pub const CHEAPER_MIN_CALLS: u64 = 10;
pub const SHORT_PROMPT_TOKENS: u64 = 1000;
pub const CHEAPER_MIN_SAVING_NANOUSD: u128 = 10_000_000;

/// A model family and the same provider's cheaper family that handles short prompts well.
/// Both sides are priced from the price book on the day, so the saving is exact.
pub const CHEAPER_MODELS: &[(&str, &str)] = &[
    ("gpt-4", "gpt-4o-mini"),
    ("gpt-4-turbo", "gpt-4o-mini"),
    ("gpt-4o", "gpt-4o-mini"),
    ("chatgpt-4o-latest", "gpt-4o-mini"),
    ("gpt-4.1", "gpt-4.1-mini"),
    ("gpt-4.1-mini", "gpt-4.1-nano"),
    ("gpt-5", "gpt-5-mini"),
    ("gpt-5.1", "gpt-5-mini"),
    ("gpt-5-mini", "gpt-5-nano"),
    ("o1", "o4-mini"),
    ("o3", "o4-mini"),
    ("claude-opus-4-1", "claude-sonnet-4-5"),
    ("claude-sonnet-4-5", "claude-haiku-4-5"),
    ("gemini-2.5-pro", "gemini-2.5-flash"),
    ("gemini-2.5-flash", "gemini-2.5-flash-lite"),
];

/// Cost and calls of one subject (the tenant, a customer, a section) on one day.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DayCost {
    /// Days since 1970-01-01.
    pub day: i64,
    /// Customer id or section; empty for the tenant (and for calls without one).
    pub key: String,
    pub cost_nanousd: u128,
    pub calls: u64,
}

/// Usage of one model (optionally within one section) on the day.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ModelUsage {
    /// Empty when the sums are over all sections.
    pub section: String,
    pub model: String,
    pub provider: String,
    pub calls: u64,
    pub priced_calls: u64,
    pub unpriced_calls: u64,
    pub cost_nanousd: u128,
    pub input_tokens: u128,
    pub cached_input_tokens: u128,
    pub output_tokens: u128,
}

/// Waste and pressure totals of the day.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DayWaste {
    pub calls: u64,
    pub cost_nanousd: u128,
    pub retry_calls: u64,
    pub retry_waste_nanousd: u128,
    pub cancelled_calls: u64,
    pub cancelled_nanousd: u128,
    pub rate_limited_calls: u64,
    pub headroom_calls: u64,
    pub min_headroom_permille: Option<u64>,
}

/// Everything the rules look at for one tenant and one day, read from the rollups.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DayFacts {
    pub tenant: String,
    /// The day the insights are about, days since 1970-01-01.
    pub day: i64,
    /// The tenant's totals on the day and the [`BASELINE_DAYS`] before it (days without calls absent).
    pub daily: Vec<DayCost>,
    /// Per customer, same days.
    pub customers: Vec<DayCost>,
    /// Per top-level section, same days.
    pub sections: Vec<DayCost>,
    /// Per model, on the day.
    pub models: Vec<ModelUsage>,
    /// Per section and model, on the day.
    pub section_models: Vec<ModelUsage>,
    pub waste: DayWaste,
    /// Models and customers seen on the day and never on an earlier rolled-up day.
    pub new_models: Vec<String>,
    pub new_customers: Vec<String>,
    /// Whether the tenant has any rolled-up day before this one (else everything is new).
    pub has_history: bool,
}

/// One insight, ready to store.
#[derive(Clone, Debug, PartialEq)]
pub struct Insight {
    pub kind: &'static str,
    pub severity: Severity,
    /// Set when the insight is about one customer.
    pub customer_id: Option<String>,
    /// What the insight is about within its type (`tenant`, `customer:alice`, ...); part of the id.
    pub subject: String,
    pub explanation: String,
    /// The numbers behind it; `explanation` is added to it when stored.
    pub numbers: Value,
}

impl Insight {
    /// The stored payload: the numbers plus the explanation.
    pub fn payload(&self) -> Value {
        let mut p = self.numbers.clone();
        if let Value::Object(m) = &mut p {
            m.insert("explanation".into(), json!(self.explanation));
        }
        p
    }

    /// Deterministic id: the same tenant, day, type and subject always give the same id.
    pub fn id(&self, tenant: &str, day: i64) -> String {
        insight_id(tenant, day, self.kind, &self.subject)
    }
}

pub fn insight_id(tenant: &str, day: i64, kind: &str, subject: &str) -> String {
    let text = format!("{tenant}\n{}\n{kind}\n{subject}", day_iso(day));
    let hex = crate::keys::sha256_hex(text.as_bytes());
    format!("ins_{}", &hex[..32])
}

/// `YYYY-MM-DD` of days since the epoch.
pub fn day_iso(day: i64) -> String {
    UnixMillis(day.saturating_mul(86_400_000)).day().to_iso()
}

fn usd(n: u128) -> String {
    format!("${}", short_usd(n))
}

/// USD for a sentence: at least 2 and at most 4 decimals, rounded half up (the exact
/// amount is in the numbers).
fn short_usd(n: u128) -> String {
    let ten_thousandths = (n + 50_000) / 100_000;
    let whole = ten_thousandths / 10_000;
    let frac = format!("{:04}", ten_thousandths % 10_000);
    let frac = frac.trim_end_matches('0');
    let frac = if frac.len() < 2 { format!("{frac:0<2}") } else { frac.to_owned() };
    format!("{whole}.{frac}")
}

fn money(n: u128) -> Value {
    crate::views::int_json(n)
}

/// `part / whole` in whole percent, rounded down; 0 when `whole` is 0.
fn percent(part: u128, whole: u128) -> u128 {
    (part * 100).checked_div(whole).unwrap_or(0)
}

/// Average of `sum` over `n`, rounded half up.
fn mean(sum: u128, n: u64) -> u128 {
    if n == 0 { 0 } else { (sum * 2 + u128::from(n)) / (2 * u128::from(n)) }
}

/// The day's insights, in a fixed order.
pub fn compute(f: &DayFacts, book: &PriceBook) -> Vec<Insight> {
    let mut out = Vec::new();
    spend_changes(f, &mut out);
    top_lists(f, &mut out);
    waste(f, &mut out);
    rate_limits(f, &mut out);
    cache_savings(f, book, &mut out);
    unpriced(f, &mut out);
    cheaper_models(f, book, &mut out);
    newcomers(f, &mut out);
    out
}

/// The baseline days: days before `f.day`, within [`BASELINE_DAYS`], on which the tenant had calls.
fn baseline_days(f: &DayFacts) -> Vec<i64> {
    let mut days: Vec<i64> = f
        .daily
        .iter()
        .filter(|d| d.day < f.day && d.day >= f.day - BASELINE_DAYS && d.calls > 0)
        .map(|d| d.day)
        .collect();
    days.sort_unstable();
    days.dedup();
    days
}

/// Per key: (cost on the day, sum of cost over the baseline days).
fn by_key(rows: &[DayCost], day: i64, baseline: &[i64]) -> Vec<(String, u128, u128)> {
    let mut m: std::collections::BTreeMap<&str, (u128, u128)> = std::collections::BTreeMap::new();
    for r in rows {
        if r.day == day {
            m.entry(&r.key).or_default().0 += r.cost_nanousd;
        } else if baseline.contains(&r.day) {
            m.entry(&r.key).or_default().1 += r.cost_nanousd;
        }
    }
    m.into_iter().map(|(k, (c, b))| (k.to_owned(), c, b)).collect()
}

struct Change {
    cost: u128,
    base_sum: u128,
    n: u64,
}

impl Change {
    /// `Some(true)`: spike, `Some(false)`: drop, `None`: neither.
    fn classify(&self) -> Option<bool> {
        let n = u128::from(self.n);
        if self.n == 0 || self.base_sum == 0 {
            return None;
        }
        // cost vs mean = base_sum / n, cross-multiplied by n.
        let cost_n = self.cost * n;
        let spike = cost_n * 100 >= self.base_sum * SPIKE_PERCENT && cost_n >= self.base_sum + MIN_CHANGE_NANOUSD * n;
        let drop = cost_n * 100 <= self.base_sum * DROP_PERCENT && cost_n + MIN_CHANGE_NANOUSD * n <= self.base_sum;
        if spike {
            Some(true)
        } else if drop {
            Some(false)
        } else {
            None
        }
    }

    fn critical(&self) -> bool {
        self.cost * u128::from(self.n) * 100 >= self.base_sum * CRITICAL_SPIKE_PERCENT
    }

    fn delta(&self) -> u128 {
        let m = mean(self.base_sum, self.n);
        self.cost.abs_diff(m)
    }

    fn numbers(&self, scope: &str) -> Value {
        let base = mean(self.base_sum, self.n);
        let n = u128::from(self.n);
        let change = if self.base_sum == 0 { 0 } else { (self.cost * n * 100) as i128 / self.base_sum as i128 - 100 };
        json!({
            "scope": scope,
            "cost_nanousd": money(self.cost), "cost_usd": usd_string(self.cost),
            "baseline_nanousd": money(base), "baseline_usd": usd_string(base),
            "baseline_days": self.n,
            "change_percent": change,
        })
    }
}

fn spend_changes(f: &DayFacts, out: &mut Vec<Insight>) {
    let baseline = baseline_days(f);
    let n = baseline.len() as u64;
    if n < MIN_BASELINE_DAYS {
        return;
    }
    let tenant_cost: u128 = f.daily.iter().filter(|d| d.day == f.day).map(|d| d.cost_nanousd).sum();
    let tenant_base: u128 = f.daily.iter().filter(|d| baseline.contains(&d.day)).map(|d| d.cost_nanousd).sum();
    let c = Change { cost: tenant_cost, base_sum: tenant_base, n };
    if let Some(spike) = c.classify() {
        let base = mean(c.base_sum, n);
        let (kind, sev, sentence) = if spike {
            (
                "spend_spike",
                if c.critical() { Severity::Critical } else { Severity::Warning },
                format!(
                    "Spend was {} on {}, {} the 7-day average of {}; look at the customers and sections that grew.",
                    usd(c.cost), day_iso(f.day), times(c.cost, c.base_sum, n), usd(base)
                ),
            )
        } else {
            ("spend_drop", Severity::Warning, format!(
                "Spend fell to {} on {}, against a 7-day average of {}; check that traffic is not failing.",
                usd(c.cost), day_iso(f.day), usd(base)))
        };
        out.push(Insight { kind, severity: sev, customer_id: None, subject: "tenant".into(), explanation: sentence, numbers: c.numbers("tenant") });
    }
    for (dim, rows) in [("customer", &f.customers), ("section", &f.sections)] {
        let mut changes: Vec<(String, Change, bool)> = by_key(rows, f.day, &baseline)
            .into_iter()
            .filter(|(k, _, _)| !k.is_empty())
            .filter_map(|(k, cost, base_sum)| {
                let ch = Change { cost, base_sum, n };
                ch.classify().map(|s| (k, ch, s))
            })
            .collect();
        changes.sort_by(|a, b| b.1.delta().cmp(&a.1.delta()).then(a.0.cmp(&b.0)));
        for (key, ch, spike) in changes.into_iter().take(MAX_SUBJECTS) {
            let base = mean(ch.base_sum, n);
            let mut numbers = ch.numbers(dim);
            if let Value::Object(m) = &mut numbers {
                m.insert(dim.into(), json!(key));
            }
            let who = if dim == "customer" { format!("Customer {key}") } else { format!("Section {key}") };
            let (kind, severity, explanation) = if spike {
                ("spend_spike", if ch.critical() { Severity::Critical } else { Severity::Warning }, format!(
                    "{who} spent {}, {} its 7-day average of {}; check what changed there.",
                    usd(ch.cost), times(ch.cost, ch.base_sum, n), usd(base)))
            } else {
                ("spend_drop", Severity::Info, format!(
                    "{who} spent {}, down from a 7-day average of {}; check whether it stopped working or moved elsewhere.",
                    usd(ch.cost), usd(base)))
            };
            out.push(Insight {
                kind,
                severity,
                customer_id: (dim == "customer").then(|| key.clone()),
                subject: format!("{dim}:{key}"),
                explanation,
                numbers,
            });
        }
    }
}

/// "3.5x" of cost over the mean, one decimal, rounded down.
fn times(cost: u128, base_sum: u128, n: u64) -> String {
    let tenths = (cost * u128::from(n) * 10).checked_div(base_sum).unwrap_or(0);
    format!("{}.{}x", tenths / 10, tenths % 10)
}

fn top_lists(f: &DayFacts, out: &mut Vec<Insight>) {
    let baseline = baseline_days(f);
    let n = baseline.len() as u64;
    let day_total: u128 = f.daily.iter().filter(|d| d.day == f.day).map(|d| d.cost_nanousd).sum();
    for (dim, kind, rows) in [("customer", "top_customers", &f.customers), ("section", "top_sections", &f.sections)] {
        let keyed: Vec<(String, u128, u128)> =
            by_key(rows, f.day, &baseline).into_iter().filter(|(k, c, _)| !k.is_empty() && *c > 0).collect();
        if keyed.is_empty() {
            continue;
        }
        let mut by_cost = keyed.clone();
        by_cost.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        by_cost.truncate(MAX_SUBJECTS);
        let field = if dim == "customer" { "customer_id" } else { "section" };
        let cost_list: Vec<Value> = by_cost
            .iter()
            .map(|(k, c, _)| json!({ field: k, "cost_nanousd": money(*c), "cost_usd": usd_string(*c), "share_percent": percent(*c, day_total) }))
            .collect();
        // Growth needs a baseline; without one nothing "grew".
        let mut growth: Vec<(String, u128, u128)> = if n >= MIN_BASELINE_DAYS {
            keyed
                .iter()
                .map(|(k, c, b)| (k.clone(), *c, mean(*b, n)))
                .filter(|(_, c, m)| c > m)
                .collect()
        } else {
            Vec::new()
        };
        growth.sort_by(|a, b| (b.1 - b.2).cmp(&(a.1 - a.2)).then(a.0.cmp(&b.0)));
        growth.truncate(MAX_SUBJECTS);
        let growth_list: Vec<Value> = growth
            .iter()
            .map(|(k, c, m)| json!({ field: k, "cost_nanousd": money(*c), "baseline_nanousd": money(*m), "growth_nanousd": money(c - m), "growth_usd": usd_string(c - m) }))
            .collect();
        let (top, top_cost, _) = &by_cost[0];
        let mut explanation = format!(
            "{} {top} cost the most, {} ({}% of the day's {})",
            if dim == "customer" { "Customer" } else { "Section" },
            usd(*top_cost), percent(*top_cost, day_total), usd(day_total));
        if let Some((g, c, m)) = growth.first() {
            explanation.push_str(&format!("; {g} grew the most, {} above its 7-day average", usd(c - m)));
        }
        explanation.push_str(&format!("; start there to cut {dim} spend."));
        out.push(Insight {
            kind,
            severity: Severity::Info,
            customer_id: None,
            subject: "tenant".into(),
            explanation,
            numbers: json!({ "day_cost_nanousd": money(day_total), "by_cost": cost_list, "by_growth": growth_list, "baseline_days": n }),
        });
    }
}

fn waste_severity(waste: u128, cost: u128) -> Severity {
    if waste * 100 >= cost * WASTE_WARNING_PERCENT { Severity::Warning } else { Severity::Info }
}

fn waste(f: &DayFacts, out: &mut Vec<Insight>) {
    let w = &f.waste;
    if w.retry_waste_nanousd > 0 {
        out.push(Insight {
            kind: "retry_waste",
            severity: waste_severity(w.retry_waste_nanousd, w.cost_nanousd),
            customer_id: None,
            subject: "tenant".into(),
            explanation: format!(
                "Attempts that were retried cost {} ({}% of the day's spend) across {} retries; fix the failures behind them or retry less.",
                usd(w.retry_waste_nanousd), percent(w.retry_waste_nanousd, w.cost_nanousd), w.retry_calls),
            numbers: json!({
                "retry_calls": w.retry_calls,
                "wasted_nanousd": money(w.retry_waste_nanousd), "wasted_usd": usd_string(w.retry_waste_nanousd),
                "day_cost_nanousd": money(w.cost_nanousd),
                "share_percent": percent(w.retry_waste_nanousd, w.cost_nanousd),
            }),
        });
    }
    if w.cancelled_calls > 0 && w.cancelled_nanousd > 0 {
        out.push(Insight {
            kind: "cancelled_stream_waste",
            severity: waste_severity(w.cancelled_nanousd, w.cost_nanousd),
            customer_id: None,
            subject: "tenant".into(),
            explanation: format!(
                "{} streams were cancelled by the client after {} of tokens were paid for; stop generating earlier (max_tokens) or avoid abandoned requests.",
                w.cancelled_calls, usd(w.cancelled_nanousd)),
            numbers: json!({
                "cancelled_calls": w.cancelled_calls,
                "wasted_nanousd": money(w.cancelled_nanousd), "wasted_usd": usd_string(w.cancelled_nanousd),
                "day_cost_nanousd": money(w.cost_nanousd),
                "share_percent": percent(w.cancelled_nanousd, w.cost_nanousd),
            }),
        });
    }
}

fn rate_limits(f: &DayFacts, out: &mut Vec<Insight>) {
    let w = &f.waste;
    let limited = w.rate_limited_calls > 0 && w.rate_limited_calls * 100 >= w.calls * RATE_LIMITED_PERCENT;
    let low = w.min_headroom_permille.filter(|p| *p < LOW_HEADROOM_PERMILLE);
    if !limited && low.is_none() {
        return;
    }
    let rate_percent = (w.rate_limited_calls * 100).checked_div(w.calls).unwrap_or(0);
    let severity = if limited && w.rate_limited_calls * 100 >= w.calls * RATE_LIMITED_CRITICAL_PERCENT {
        Severity::Critical
    } else {
        Severity::Warning
    };
    let mut parts = Vec::new();
    if limited {
        parts.push(format!("{} of {} calls ({rate_percent}%) were rate-limited (429)", w.rate_limited_calls, w.calls));
    }
    if let Some(p) = low {
        parts.push(format!("token headroom fell to {}.{}% of the limit", p / 10, p % 10));
    }
    out.push(Insight {
        kind: "rate_limit_pressure",
        severity,
        customer_id: None,
        subject: "tenant".into(),
        explanation: format!("{}; raise the rate limit, spread the load or back off before it fails.", capitalise(&parts.join(" and "))),
        numbers: json!({
            "calls": w.calls,
            "rate_limited_calls": w.rate_limited_calls,
            "rate_limited_percent": rate_percent,
            "headroom_calls": w.headroom_calls,
            "min_headroom_permille": w.min_headroom_permille,
        }),
    });
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Standard text rates of a model on a day: (input, cached input, output), per 1M tokens.
fn text_rates(book: &PriceBook, provider: &str, model: &str, day: i64) -> Option<(u64, u64, u64)> {
    let d = UnixMillis(day.saturating_mul(86_400_000)).day();
    let e = book.find(provider, model, d)?;
    let r = &e.standard.rates;
    let input = r.input?.0;
    let cached = r.cached_input.map_or(input, |c: PerMTok| c.0);
    Some((input, cached, r.output?.0))
}

/// Exact cost of tokens at text rates, rounded half up once.
fn exact_cost(uncached: u128, cached: u128, output: u128, (i, c, o): (u64, u64, u64)) -> u128 {
    let per = EXACT_PER_NANO / 1_000_000;
    let exact = (uncached * u128::from(i) + cached * u128::from(c) + output * u128::from(o)) * per;
    (exact + EXACT_PER_NANO / 2) / EXACT_PER_NANO
}

fn cache_savings(f: &DayFacts, book: &PriceBook, out: &mut Vec<Insight>) {
    let mut saved_total = 0u128;
    let mut cached_total = 0u128;
    let mut by_model = Vec::new();
    for m in f.models.iter().filter(|m| m.cached_input_tokens > 0) {
        let Some((i, c, _)) = text_rates(book, &m.provider, &m.model, f.day) else { continue };
        let saved = exact_cost(m.cached_input_tokens, 0, 0, (i.saturating_sub(c), 0, 0));
        cached_total += m.cached_input_tokens;
        saved_total += saved;
        by_model.push(json!({ "model": m.model, "cached_input_tokens": money(m.cached_input_tokens), "saved_nanousd": money(saved) }));
    }
    if saved_total == 0 {
        return;
    }
    let input_total: u128 = f.models.iter().map(|m| m.input_tokens).sum();
    let hit_permille = (cached_total * 1000).checked_div(input_total).unwrap_or(0);
    out.push(Insight {
        kind: "cache_savings",
        severity: Severity::Info,
        customer_id: None,
        subject: "tenant".into(),
        explanation: format!(
            "Prompt caching saved {} today: {}.{}% of input tokens were cached; keep shared prompt prefixes stable to cache more.",
            usd(saved_total), hit_permille / 10, hit_permille % 10),
        numbers: json!({
            "cached_input_tokens": money(cached_total),
            "input_tokens": money(input_total),
            "hit_rate_permille": hit_permille,
            "saved_nanousd": money(saved_total), "saved_usd": usd_string(saved_total),
            "by_model": by_model,
        }),
    });
}

fn unpriced(f: &DayFacts, out: &mut Vec<Insight>) {
    let models: Vec<&ModelUsage> = f.models.iter().filter(|m| m.unpriced_calls > 0).collect();
    if models.is_empty() {
        return;
    }
    let calls: u64 = models.iter().map(|m| m.unpriced_calls).sum();
    let names: Vec<String> = models.iter().map(|m| if m.model.is_empty() { "(no model)".to_owned() } else { m.model.clone() }).collect();
    out.push(Insight {
        kind: "unpriced_models",
        severity: Severity::Warning,
        customer_id: None,
        subject: "tenant".into(),
        explanation: format!(
            "{calls} calls to {} have no known price, so the day's cost is understated; add a price with PUT /pricing/{{model}} and re-price the day.",
            names.join(", ")),
        numbers: json!({
            "unpriced_calls": calls,
            "models": models.iter().map(|m| json!({ "model": m.model, "provider": m.provider, "unpriced_calls": m.unpriced_calls })).collect::<Vec<_>>(),
        }),
    });
}

/// The cheaper family for a model (or its dated snapshot), if the table names one.
pub fn cheaper_model(model: &str) -> Option<&'static str> {
    let family = snapshot_family(model).unwrap_or(model);
    CHEAPER_MODELS.iter().find(|(m, _)| *m == family).map(|(_, c)| *c)
}

fn cheaper_models(f: &DayFacts, book: &PriceBook, out: &mut Vec<Insight>) {
    let mut found = Vec::new();
    for s in f.section_models.iter().filter(|s| !s.section.is_empty() && s.priced_calls >= CHEAPER_MIN_CALLS) {
        let Some(target) = cheaper_model(&s.model) else { continue };
        let avg_input = s.input_tokens / u128::from(s.priced_calls);
        if avg_input > u128::from(SHORT_PROMPT_TOKENS) {
            continue;
        }
        let Some(rates) = text_rates(book, &s.provider, target, f.day) else { continue };
        let uncached = s.input_tokens.saturating_sub(s.cached_input_tokens);
        let cheaper = exact_cost(uncached, s.cached_input_tokens, s.output_tokens, rates);
        if s.cost_nanousd <= cheaper || s.cost_nanousd - cheaper < CHEAPER_MIN_SAVING_NANOUSD {
            continue;
        }
        found.push((s, target, avg_input, cheaper));
    }
    found.sort_by(|a, b| (b.0.cost_nanousd - b.3).cmp(&(a.0.cost_nanousd - a.3)).then(a.0.section.cmp(&b.0.section)));
    for (s, target, avg_input, cheaper) in found.into_iter().take(MAX_SUBJECTS) {
        let saving = s.cost_nanousd - cheaper;
        out.push(Insight {
            kind: "cheaper_model",
            severity: Severity::Info,
            customer_id: None,
            subject: format!("{}:{}", s.section, s.model),
            explanation: format!(
                "Section {} sent {} short prompts (about {avg_input} input tokens each) to {}; the same tokens on {target} would have cost {} instead of {}, saving {}.",
                s.section, s.priced_calls, s.model, usd(cheaper), usd(s.cost_nanousd), usd(saving)),
            numbers: json!({
                "section": s.section, "model": s.model, "provider": s.provider, "cheaper_model": target,
                "calls": s.priced_calls, "avg_input_tokens": money(avg_input),
                "input_tokens": money(s.input_tokens), "cached_input_tokens": money(s.cached_input_tokens), "output_tokens": money(s.output_tokens),
                "cost_nanousd": money(s.cost_nanousd), "cheaper_cost_nanousd": money(cheaper),
                "saving_nanousd": money(saving), "saving_usd": usd_string(saving),
            }),
        });
    }
}

fn newcomers(f: &DayFacts, out: &mut Vec<Insight>) {
    if !f.has_history {
        return;
    }
    let mut models: Vec<&String> = f.new_models.iter().filter(|m| !m.is_empty()).collect();
    models.sort();
    models.dedup();
    for m in models {
        let (calls, cost) = f.models.iter().filter(|u| &u.model == m).fold((0, 0), |(c, k), u| (c + u.calls, k + u.cost_nanousd));
        out.push(Insight {
            kind: "new_model",
            severity: Severity::Info,
            customer_id: None,
            subject: format!("model:{m}"),
            explanation: format!("Model {m} appeared for the first time: {calls} calls costing {}; check that it was meant to be used.", usd(cost)),
            numbers: json!({ "model": m, "calls": calls, "cost_nanousd": money(cost), "cost_usd": usd_string(cost) }),
        });
    }
    let mut customers: Vec<&String> = f.new_customers.iter().filter(|c| !c.is_empty()).collect();
    customers.sort();
    customers.dedup();
    for c in customers {
        let (calls, cost) = f.customers.iter().filter(|d| d.day == f.day && &d.key == c).fold((0, 0), |(n, k), d| (n + d.calls, k + d.cost_nanousd));
        out.push(Insight {
            kind: "new_customer",
            severity: Severity::Info,
            customer_id: Some(c.clone()),
            subject: format!("customer:{c}"),
            explanation: format!("Customer {c} made calls for the first time: {calls} calls costing {}.", usd(cost)),
            numbers: json!({ "customer_id": c, "calls": calls, "cost_nanousd": money(cost), "cost_usd": usd_string(cost) }),
        });
    }
}

/// The day a UTC instant falls on, as days since the epoch.
pub fn epoch_day(ms: i64) -> i64 {
    ms.div_euclid(86_400_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: i64 = 20_420; // 2025-11-28
    const CENT: u128 = 10_000_000;

    fn day_cost(day: i64, key: &str, cost: u128) -> DayCost {
        DayCost { day, key: key.into(), cost_nanousd: cost, calls: 10 }
    }

    /// A tenant that spent `base` each of the 7 days before, and `today` on the day.
    fn facts(base: u128, today: u128) -> DayFacts {
        let mut daily: Vec<DayCost> = (1..=7).map(|i| day_cost(D - i, "", base)).collect();
        daily.push(day_cost(D, "", today));
        DayFacts { tenant: "acme".into(), day: D, daily, has_history: true, ..DayFacts::default() }
    }

    fn kinds(v: &[Insight]) -> Vec<(&str, &str)> {
        v.iter().map(|i| (i.kind, i.subject.as_str())).collect()
    }

    fn book() -> PriceBook {
        PriceBook::registry()
    }

    #[test]
    fn a_spike_is_twice_the_baseline_and_critical_from_four_times() {
        // Baseline $1.00/day; $2.50 is 2.5x: warning.
        let out = compute(&facts(100 * CENT, 250 * CENT), &book());
        assert_eq!(kinds(&out), vec![("spend_spike", "tenant")]);
        assert_eq!(out[0].severity, Severity::Warning);
        assert_eq!(out[0].numbers["baseline_nanousd"], json!(1_000_000_000u64));
        assert_eq!(out[0].numbers["change_percent"], json!(150));
        assert_eq!(out[0].explanation,
            "Spend was $2.50 on 2025-11-28, 2.5x the 7-day average of $1.00; look at the customers and sections that grew.");
        let crit = compute(&facts(100 * CENT, 400 * CENT), &book());
        assert_eq!(crit[0].severity, Severity::Critical);
    }

    #[test]
    fn no_spike_below_twice_or_below_the_noise_floor_or_without_a_baseline() {
        assert!(compute(&facts(100 * CENT, 199 * CENT), &book()).is_empty(), "1.99x is not a spike");
        // 3x, but only $0.04 above a $0.02 baseline: under the $0.05 floor.
        assert!(compute(&facts(2 * CENT, 6 * CENT), &book()).is_empty());
        // Only 2 baseline days: no baseline.
        let mut f = facts(100 * CENT, 500 * CENT);
        f.daily.retain(|d| d.day == D || d.day >= D - 2);
        assert!(compute(&f, &book()).is_empty());
        // Days before the 7-day window do not count.
        let mut f = facts(100 * CENT, 500 * CENT);
        for d in &mut f.daily {
            if d.day != D {
                d.day -= 7;
            }
        }
        assert!(compute(&f, &book()).is_empty());
    }

    #[test]
    fn a_drop_is_half_the_baseline() {
        let out = compute(&facts(100 * CENT, 40 * CENT), &book());
        assert_eq!(kinds(&out), vec![("spend_drop", "tenant")]);
        assert!(compute(&facts(100 * CENT, 51 * CENT), &book()).is_empty());
    }

    #[test]
    fn the_baseline_averages_the_days_with_calls_only() {
        // 3 baseline days at $1 and 4 days without calls: the average is $1, not $0.43.
        let mut f = facts(100 * CENT, 150 * CENT);
        f.daily.retain(|d| d.day == D || d.day >= D - 3);
        assert!(compute(&f, &book()).is_empty(), "1.5x of $1 is no spike");
    }

    #[test]
    fn customer_and_section_spikes_name_their_subject() {
        let mut f = facts(100 * CENT, 100 * CENT);
        for i in 1..=7 {
            f.customers.push(day_cost(D - i, "alice", 50 * CENT));
            f.customers.push(day_cost(D - i, "bob", 50 * CENT));
            f.sections.push(day_cost(D - i, "agent:a", 100 * CENT));
        }
        f.customers.push(day_cost(D, "alice", 10 * CENT));
        f.customers.push(day_cost(D, "bob", 90 * CENT));
        f.sections.push(day_cost(D, "agent:a", 100 * CENT));
        let out = compute(&f, &book());
        let spikes: Vec<_> = out.iter().filter(|i| i.kind.starts_with("spend_")).map(|i| (i.kind, i.subject.as_str(), i.customer_id.as_deref())).collect();
        // bob: 1.8x: no spike; alice: 0.2x: a drop.
        assert_eq!(spikes, vec![("spend_drop", "customer:alice", Some("alice"))]);
        let top = out.iter().find(|i| i.kind == "top_customers").unwrap();
        assert_eq!(top.numbers["by_cost"][0]["customer_id"], json!("bob"));
        assert_eq!(top.numbers["by_cost"][0]["share_percent"], json!(90));
        assert_eq!(top.numbers["by_growth"][0]["customer_id"], json!("bob"));
        assert_eq!(top.numbers["by_growth"][0]["growth_nanousd"], json!(400_000_000u64));
        assert_eq!(top.numbers["by_growth"].as_array().unwrap().len(), 1, "alice did not grow");
        assert!(top.explanation.starts_with("Customer bob cost the most, $0.90 (90% of the day's $1.00); bob grew the most, $0.40 above"), "{}", top.explanation);
        let sec = out.iter().find(|i| i.kind == "top_sections").unwrap();
        assert_eq!(sec.numbers["by_growth"], json!([]), "flat section did not grow");
    }

    #[test]
    fn top_lists_skip_calls_without_customer_or_section() {
        let mut f = facts(100 * CENT, 100 * CENT);
        f.customers.push(day_cost(D, "", 100 * CENT));
        f.sections.push(day_cost(D, "", 100 * CENT));
        assert!(compute(&f, &book()).is_empty());
    }

    #[test]
    fn waste_appears_only_when_there_is_some() {
        let mut f = facts(100 * CENT, 100 * CENT);
        f.waste = DayWaste { calls: 100, cost_nanousd: 100 * CENT, retry_calls: 3, retry_waste_nanousd: 12 * CENT,
            cancelled_calls: 2, cancelled_nanousd: 3 * CENT, ..DayWaste::default() };
        let out = compute(&f, &book());
        assert_eq!(kinds(&out), vec![("retry_waste", "tenant"), ("cancelled_stream_waste", "tenant")]);
        assert_eq!(out[0].severity, Severity::Warning, "12% of the day");
        assert_eq!(out[0].numbers["share_percent"], json!(12));
        assert_eq!(out[1].severity, Severity::Info, "3% of the day");
        // Retries that cost nothing and cancelled streams with no paid tokens are no waste.
        f.waste.retry_waste_nanousd = 0;
        f.waste.cancelled_nanousd = 0;
        assert!(compute(&f, &book()).is_empty());
    }

    #[test]
    fn rate_limit_pressure_from_429s_or_low_headroom() {
        let mut f = facts(100 * CENT, 100 * CENT);
        f.waste = DayWaste { calls: 100, rate_limited_calls: 4, headroom_calls: 50, min_headroom_permille: Some(100), ..DayWaste::default() };
        assert!(compute(&f, &book()).is_empty(), "4% 429s and 10% headroom are fine");
        f.waste.rate_limited_calls = 5;
        let out = compute(&f, &book());
        assert_eq!(kinds(&out), vec![("rate_limit_pressure", "tenant")]);
        assert_eq!(out[0].severity, Severity::Warning);
        assert_eq!(out[0].explanation, "5 of 100 calls (5%) were rate-limited (429); raise the rate limit, spread the load or back off before it fails.");
        f.waste.rate_limited_calls = 20;
        assert_eq!(compute(&f, &book())[0].severity, Severity::Critical);
        f.waste.rate_limited_calls = 0;
        f.waste.min_headroom_permille = Some(25);
        let out = compute(&f, &book());
        assert_eq!(out[0].explanation, "Token headroom fell to 2.5% of the limit; raise the rate limit, spread the load or back off before it fails.");
    }

    fn usage(section: &str, model: &str, calls: u64, input: u128, cached: u128, output: u128, cost: u128) -> ModelUsage {
        ModelUsage { section: section.into(), model: model.into(), provider: "openai".into(), calls, priced_calls: calls,
            unpriced_calls: 0, cost_nanousd: cost, input_tokens: input, cached_input_tokens: cached, output_tokens: output }
    }

    #[test]
    fn cache_savings_are_cached_tokens_times_the_price_difference() {
        let mut f = facts(100 * CENT, 100 * CENT);
        // gpt-4o: $2.50 input, $1.25 cached: 1,000,000 cached tokens saved $1.25.
        // gpt-4o-mini: $0.15 / $0.075: 200,000 cached saved $0.015.
        f.models = vec![usage("", "gpt-4o-2024-08-06", 10, 4_000_000, 1_000_000, 0, 0), usage("", "gpt-4o-mini", 10, 1_000_000, 200_000, 0, 0)];
        let out = compute(&f, &book());
        assert_eq!(kinds(&out), vec![("cache_savings", "tenant")]);
        assert_eq!(out[0].numbers["saved_nanousd"], json!(1_265_000_000u64));
        assert_eq!(out[0].numbers["hit_rate_permille"], json!(240));
        assert!(out[0].explanation.starts_with("Prompt caching saved $1.265 today: 24.0% of input tokens"), "{}", out[0].explanation);
        // No cached tokens, or a model without a price: nothing.
        f.models = vec![usage("", "gpt-4o", 10, 4_000_000, 0, 0, 0), usage("", "acme-private-llm", 1, 100, 50, 0, 0)];
        assert!(compute(&f, &book()).is_empty());
    }

    #[test]
    fn unpriced_models_are_named() {
        let mut f = facts(100 * CENT, 100 * CENT);
        let mut m = usage("", "acme-private-llm", 3, 300, 0, 30, 0);
        m.priced_calls = 0;
        m.unpriced_calls = 3;
        f.models = vec![m, usage("", "gpt-4o-mini", 5, 10, 0, 10, 1)];
        let out = compute(&f, &book());
        assert_eq!(kinds(&out), vec![("unpriced_models", "tenant")]);
        assert_eq!(out[0].numbers["models"], json!([{ "model": "acme-private-llm", "provider": "openai", "unpriced_calls": 3 }]));
    }

    #[test]
    fn cheaper_model_saving_is_exact_at_the_cheaper_price() {
        let mut f = facts(100 * CENT, 100 * CENT);
        // 100 calls to gpt-4o, 50,000 input (10,000 cached) and 20,000 output tokens:
        // on gpt-4o 40k x 2.50 + 10k x 1.25 + 20k x 10 = $0.3125;
        // on gpt-4o-mini 40k x 0.15 + 10k x 0.075 + 20k x 0.60 = $0.01875.
        f.section_models = vec![usage("agent:triage", "gpt-4o-2024-08-06", 100, 50_000, 10_000, 20_000, 312_500_000)];
        let out = compute(&f, &book());
        assert_eq!(kinds(&out), vec![("cheaper_model", "agent:triage:gpt-4o-2024-08-06")]);
        let n = &out[0].numbers;
        assert_eq!(n["cheaper_model"], json!("gpt-4o-mini"));
        assert_eq!(n["cheaper_cost_nanousd"], json!(18_750_000u64));
        assert_eq!(n["saving_nanousd"], json!(293_750_000u64));
        assert_eq!(n["avg_input_tokens"], json!(500));
        assert!(out[0].explanation.contains("would have cost $0.0188 instead of $0.3125, saving $0.2938"), "{}", out[0].explanation);
    }

    #[test]
    fn no_cheaper_model_for_long_prompts_few_calls_cheap_models_or_no_section() {
        let book = book();
        let mut f = facts(100 * CENT, 100 * CENT);
        for s in [
            usage("agent:a", "gpt-4o", 100, 200_000, 0, 20_000, 700_000_000),  // 2,000 tokens per prompt: long
            usage("agent:b", "gpt-4o", 9, 4_500, 0, 20_000, 300_000_000),      // 9 calls: too few
            usage("agent:c", "gpt-4o-mini", 100, 50_000, 0, 20_000, 300_000_000), // nothing cheaper listed
            usage("", "gpt-4o", 100, 50_000, 0, 20_000, 312_500_000),          // no section
            usage("agent:d", "gpt-4o", 100, 500, 0, 500, 6_250_000),           // saves under $0.01
        ] {
            f.section_models = vec![s.clone()];
            assert!(compute(&f, &book).is_empty(), "{s:?}");
        }
    }

    #[test]
    fn newcomers_need_history() {
        let mut f = facts(100 * CENT, 100 * CENT);
        f.new_models = vec!["gpt-5".into()];
        f.new_customers = vec!["carol".into(), String::new()];
        f.models = vec![usage("", "gpt-5", 4, 10, 0, 10, 5 * CENT)];
        f.customers = vec![DayCost { day: D, key: "carol".into(), cost_nanousd: 2 * CENT, calls: 2 }];
        let out: Vec<_> = compute(&f, &book()).into_iter().filter(|i| i.kind.starts_with("new_")).collect();
        assert_eq!(kinds(&out), vec![("new_model", "model:gpt-5"), ("new_customer", "customer:carol")]);
        assert_eq!(out[1].customer_id.as_deref(), Some("carol"));
        assert_eq!(out[0].explanation, "Model gpt-5 appeared for the first time: 4 calls costing $0.05; check that it was meant to be used.");
        f.has_history = false;
        assert!(compute(&f, &book()).iter().all(|i| !i.kind.starts_with("new_")), "a tenant's first day makes nothing new");
    }

    #[test]
    fn ids_are_deterministic_per_tenant_day_type_and_subject() {
        let a = insight_id("acme", D, "spend_spike", "tenant");
        assert_eq!(a, insight_id("acme", D, "spend_spike", "tenant"));
        assert!(a.starts_with("ins_") && a.len() == 36);
        assert_ne!(a, insight_id("bigco", D, "spend_spike", "tenant"));
        assert_ne!(a, insight_id("acme", D + 1, "spend_spike", "tenant"));
        assert_ne!(a, insight_id("acme", D, "spend_spike", "customer:alice"));
    }

    #[test]
    fn short_usd_rounds_for_sentences_only() {
        assert_eq!(short_usd(0), "0.00");
        assert_eq!(short_usd(1_000_000_000), "1.00");
        assert_eq!(short_usd(18_750_000), "0.0188");
        assert_eq!(short_usd(1_265_000_000), "1.265");
        assert_eq!(short_usd(50_000), "0.0001");
    }
}
