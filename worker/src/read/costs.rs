//! `GET /costs`: totals of one tenant's (or customer's) calls, grouped by any of day,
//! model, provider, customer, section prefix and endpoint.

use llmobserve_core::access::Principal;
use llmobserve_core::query::CostsQuery;
use llmobserve_core::read_sql;
use llmobserve_core::views::{fold_cost_groups, CostGroup, Sums};
use serde::Deserialize;
use serde_json::json;
use worker::{Env, Request, Response};

use super::runs::SumsRow;
use super::{raw_query, scope_fields};
use crate::error::{ApiError, ApiResult};
use crate::json_response;
use crate::store;

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
    let stmt = read_sql::costs(&scope, &q.filters, &q.group_by, MAX_GROUPS);
    let rows = store::rows::<GroupRow>(env, &stmt).await?;
    if rows.len() > MAX_GROUPS as usize {
        return Err(ApiError::bad_request("too_many_groups", format!(
            "More than {MAX_GROUPS} groups; narrow the time range, add filters, group by fewer dimensions or set section_depth."
        )).with_param("group_by"));
    }
    let n = q.group_by.len();
    let groups: Vec<CostGroup> = rows
        .into_iter()
        .map(|r| CostGroup { keys: [r.k0, r.k1, r.k2, r.k3, r.k4, r.k5].into_iter().take(n).collect(), sums: r.sums.sums() })
        .filter(|g| n > 0 || g.sums.calls > 0)
        .collect();
    let groups = fold_cost_groups(&q.group_by, q.section_depth, groups);
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
        "data": if n == 0 { Vec::new() } else { groups.iter().map(|g| g.to_json(&q.group_by)).collect::<Vec<_>>() },
    }))
}
