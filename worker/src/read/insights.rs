//! `GET /insights/daily`: the insights the cron stored for a tenant, newest day first.
//! A customer-bound key sees only insights about its own customer: tenant-wide insights
//! can name other customers.

use llmobserve_core::access::Principal;
use llmobserve_core::query::{encode_offset_cursor, InsightsQuery};
use llmobserve_core::read_sql;
use serde::Deserialize;
use serde_json::{json, Value};
use worker::{Env, Request, Response};

use super::{check_scope, raw_query, scope_fields};
use crate::error::ApiResult;
use crate::json_response;
use crate::store::{self, whole};

#[derive(Deserialize)]
struct InsightRow {
    id: String,
    day: String,
    #[serde(rename = "type")]
    kind: String,
    severity: String,
    customer_id: Option<String>,
    payload: String,
    created_at: f64,
}

pub async fn daily(req: &Request, env: &Env, who: &Principal) -> ApiResult<Response> {
    let q = InsightsQuery::parse(raw_query(req)?.as_deref())?;
    let scope = who.read_scope(q.tenant.as_ref(), q.customer.as_ref())?;
    let mut rows = store::rows::<InsightRow>(env, &read_sql::insights(&scope, &q, q.limit, q.offset)).await?;
    check_scope(&scope, rows.iter().map(|r| (scope.tenant().as_str(), r.customer_id.as_deref())))?;
    let more = rows.len() > q.limit as usize;
    rows.truncate(q.limit as usize);
    let data: Vec<Value> = rows
        .iter()
        .map(|r| {
            let payload = serde_json::from_str::<Value>(&r.payload).unwrap_or_else(|_| {
                worker::console_error!("insight {} has a payload that is not JSON", r.id);
                Value::Null
            });
            let explanation = payload.get("explanation").and_then(Value::as_str).map(str::to_owned);
            json!({
                "id": r.id,
                "day": r.day,
                "type": r.kind,
                "severity": r.severity,
                "customer_id": r.customer_id,
                "explanation": explanation,
                "payload": payload,
                "created_at": llmobserve_core::time::UnixMillis(i64::try_from(whole(r.created_at)).unwrap_or(0)).to_rfc3339(),
            })
        })
        .collect();
    let (tenant, customer) = scope_fields(&scope);
    json_response(200, &json!({
        "tenant_id": tenant,
        "customer_id": customer,
        "from": q.from_day,
        "to": q.to_day,
        "data": data,
        "has_more": more,
        "next_cursor": more.then(|| encode_offset_cursor(q.offset.saturating_add(q.limit))),
    }))
}
