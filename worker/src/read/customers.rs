//! `GET /tenants/{tenant}/customers`: cost, calls, tokens and latency per customer.

use llmobserve_core::access::Principal;
use llmobserve_core::attribution::TenantId;
use llmobserve_core::query::{encode_offset_cursor, CustomersQuery};
use llmobserve_core::read_sql;
use llmobserve_core::views::CustomerSummary;
use serde::Deserialize;
use serde_json::json;
use worker::{Env, Request, Response};

use super::runs::SumsRow;
use super::{check_scope, raw_query, scope_fields};
use crate::error::{ApiError, ApiResult};
use crate::json_response;
use crate::store::{self, whole};

#[derive(Deserialize)]
struct CustomerRow {
    customer_id: Option<String>,
    #[serde(flatten)]
    sums: SumsRow,
    latency_ms_sum: Option<String>,
    p50_latency_ms: Option<f64>,
    p95_latency_ms: Option<f64>,
    max_latency_ms: Option<f64>,
    first_seen: f64,
    last_seen: f64,
}

fn time(ms: Option<i64>) -> Option<String> {
    ms.map(|m| llmobserve_core::time::UnixMillis(m).to_rfc3339())
}

pub async fn customers(req: &Request, env: &Env, who: &Principal, tenant: &str) -> ApiResult<Response> {
    // The path's tenant is validated like a query's `tenant_id`.
    let tenant = TenantId::parse(tenant)
        .map_err(|e| ApiError::bad_request("invalid_tenant", format!("tenant_id: {}", e.reason)).with_param("tenant_id"))?;
    let q = CustomersQuery::parse(raw_query(req)?.as_deref())?;
    let scope = who.read_scope(Some(&tenant), q.customer.as_ref())?;
    let stmt = read_sql::customers(&scope, &q.range, q.limit, q.offset);
    let mut rows = store::rows::<CustomerRow>(env, &stmt).await?;
    check_scope(&scope, rows.iter().map(|r| (scope.tenant().as_str(), r.customer_id.as_deref())))?;
    let more = rows.len() > q.limit as usize;
    rows.truncate(q.limit as usize);
    let data: Vec<_> = rows
        .iter()
        .map(|r| {
            CustomerSummary {
                customer_id: r.customer_id.clone(),
                sums: r.sums.sums(),
                latency_ms_sum: llmobserve_core::views::parse_sum(r.latency_ms_sum.as_deref()),
                p50_latency_ms: r.p50_latency_ms.map(whole),
                p95_latency_ms: r.p95_latency_ms.map(whole),
                max_latency_ms: r.max_latency_ms.map(whole),
                first_seen: whole(r.first_seen),
                last_seen: whole(r.last_seen),
            }
            .to_json()
        })
        .collect();
    let (tenant, customer) = scope_fields(&scope);
    json_response(200, &json!({
        "tenant_id": tenant,
        "customer_id": customer,
        "from": time(q.range.from),
        "to": time(q.range.to),
        "data": data,
        "has_more": more,
        "next_cursor": more.then(|| encode_offset_cursor(q.offset.saturating_add(q.limit))),
    }))
}
