//! `GET /costs`: totals of one tenant's (or customer's) calls, grouped by any of day,
//! model, provider, customer, section prefix and endpoint.

use llmobserve_core::access::Principal;
use llmobserve_core::query::CostsQuery;
use llmobserve_core::insights::day_iso;
use llmobserve_core::read_sql::{self, Statement};
use llmobserve_core::views::{fold_cost_groups, CostGroup, Sums};
use serde::Deserialize;
use serde_json::json;
use worker::{Env, Request, Response};

use super::runs::SumsRow;
use super::{raw_query, scope_fields};
use crate::error::{ApiError, ApiResult};
use crate::json_response;
use crate::store::{self, whole};

const DAY_MS: i64 = 86_400_000;

#[derive(Deserialize)]
struct DayRow {
    day: f64,
}

/// Most groups one answer holds.
const MAX_GROUPS: u32 = 10_000;

#[derive(Deserialize)]
struct GroupRow {
    #[serde(default)]
    k0: Option<String>,
    #[serde(default)]
    k1: Option<String>,
    #[serde(default)]
    k2: Option<String>,
    #[serde(default)]
    k3: Option<String>,
    #[serde(default)]
    k4: Option<String>,
    #[serde(default)]
    k5: Option<String>,
    #[serde(flatten)]
    sums: SumsRow,
}

fn time(ms: Option<i64>) -> Option<String> {
    ms.map(|m| llmobserve_core::time::UnixMillis(m).to_rfc3339())
}

pub async fn costs(req: &Request, env: &Env, who: &Principal) -> ApiResult<Response> {
    let q = CostsQuery::parse(raw_query(req)?.as_deref())?;
    let scope = who.read_scope(q.tenant.as_ref(), q.customer.as_ref())?;
    // Whole days that the cron rolled up are read from the rollups; the rest of the
    // range (partial days, today, days not rolled up) from events. Same answer, fewer rows.
    let mut rolled: Vec<i64> = Vec::new();
    if read_sql::rollups_answer(&q.filters, &q.group_by, q.section_depth) {
        let from_day = q.filters.range.from.map_or(0, |f| f.div_euclid(DAY_MS) + i64::from(f.rem_euclid(DAY_MS) != 0));
        let to_day = q.filters.range.to.map_or(i64::MAX / DAY_MS, |t| t.div_euclid(DAY_MS));
        if from_day < to_day {
            rolled = store::rows::<DayRow>(env, &read_sql::rolled_days(&scope, from_day, to_day))
                .await?
                .into_iter()
                .map(|d| i64::try_from(whole(d.day)).unwrap_or(0))
                .collect();
        }
    }
    let stmts: Vec<Statement> = if rolled.is_empty() {
        vec![read_sql::costs(&scope, &q.filters, &q.group_by, MAX_GROUPS)]
    } else {
        let days = serde_json::Value::from(rolled.clone()).to_string();
        let mut v = vec![read_sql::costs_from_rollups(&scope, &q.filters, &q.group_by, MAX_GROUPS, &days)];
        for range in read_sql::uncovered(&q.filters.range, &rolled) {
            let mut f = q.filters.clone();
            f.range = range;
            v.push(read_sql::costs(&scope, &f, &q.group_by, MAX_GROUPS));
        }
        v
    };
    let parts = store::batch_rows::<GroupRow>(env, &stmts).await?;
    let too_many = || ApiError::bad_request("too_many_groups", format!(
        "More than {MAX_GROUPS} groups; narrow the time range, add filters, group by fewer dimensions or set section_depth."
    )).with_param("group_by");
    if parts.iter().any(|p| p.len() > MAX_GROUPS as usize) {
        return Err(too_many());
    }
    let rows: Vec<GroupRow> = parts.into_iter().flatten().collect();
    let n = q.group_by.len();
    let groups: Vec<CostGroup> = rows
        .into_iter()
        .map(|r| CostGroup { keys: [r.k0, r.k1, r.k2, r.k3, r.k4, r.k5].into_iter().take(n).collect(), sums: r.sums.sums() })
        .filter(|g| n > 0 || g.sums.calls > 0)
        .collect();
    let groups = fold_cost_groups(&q.group_by, q.section_depth, groups);
    if groups.len() > MAX_GROUPS as usize {
        return Err(too_many());
    }
    let mut totals = Sums::default();
    for g in &groups {
        totals.add(&g.sums);
    }
    let (tenant, customer) = scope_fields(&scope);
    json_response(200, &json!({
        "tenant_id": tenant,
        "customer_id": customer,
        "from": time(q.filters.range.from),
        "to": time(q.filters.range.to),
        "group_by": q.group_by.iter().map(|d| d.as_str()).collect::<Vec<_>>(),
        "section_depth": q.section_depth,
        "currency": "USD",
        "totals": totals.to_json(),
        "rollups": match (rolled.first(), rolled.last()) {
            (Some(a), Some(b)) => json!({ "days": rolled.len(), "from": day_iso(*a), "to": day_iso(b + 1) }),
            _ => serde_json::Value::Null,
        },
        "data": if n == 0 { Vec::new() } else { groups.iter().map(|g| g.to_json(&q.group_by)).collect::<Vec<_>>() },
    }))
}
