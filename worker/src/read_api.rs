//! The read API. Invariant: the tenant is resolved from the caller's key (core's
//! `Principal::tenant_for_read`) before any table is touched.

use llmobserve_core::access::Principal;
use llmobserve_core::attribution::CustomerId;
use llmobserve_core::money::NanoUsd;
use llmobserve_core::time::UnixMillis;
use serde_json::{json, Value};
use worker::{Env, Request, Response};

use crate::error::{ApiError, ApiResult};
use crate::json_response;
use crate::store::{self, CustomerRow, EventFilter, EventRow};

const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 500;

fn query(req: &Request) -> ApiResult<Vec<(String, String)>> {
    Ok(req.url()?.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect())
}

fn param<'a>(q: &'a [(String, String)], name: &str) -> Option<&'a str> {
    q.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

fn usd(nanos: Option<f64>) -> Value {
    match nanos.and_then(|n| NanoUsd::new(n as u64)) {
        Some(c) => json!(c.to_usd_string()),
        None => Value::Null,
    }
}

fn event_json(e: &EventRow) -> Value {
    json!({
        "id": e.id,
        "tenant_id": e.tenant_id,
        "customer_id": e.customer_id,
        "section_path": e.section_path,
        "run_id": e.run_id,
        "attempt": e.attempt.map(|a| a as u64),
        "is_retry": e.is_retry != 0.0,
        "retry_of": e.retry_of,
        "client_event_id": e.client_event_id,
        "request_hash": e.request_hash,
        "properties": e.properties.as_deref().and_then(|p| serde_json::from_str::<Value>(p).ok()),
        "key_id": e.key_id,
        "provider": e.provider,
        "endpoint": e.endpoint,
        "method": e.method,
        "model": e.response_model.as_ref().or(e.request_model.as_ref()),
        "request_model": e.request_model,
        "response_model": e.response_model,
        "is_stream": e.is_stream != 0.0,
        "status_code": e.status_code as u64,
        "error": e.error,
        "usage": {
            "input_tokens": e.input_tokens as u64,
            "cached_input_tokens": e.cached_input_tokens as u64,
            "output_tokens": e.output_tokens as u64,
            "reasoning_tokens": e.reasoning_tokens as u64,
            "audio_input_tokens": e.audio_input_tokens as u64,
            "audio_output_tokens": e.audio_output_tokens as u64,
        },
        "usage_source": e.usage_source,
        "pricing_status": e.pricing_status,
        "unpriced_reason": e.unpriced_reason,
        "cost_usd": usd(e.cost_nanousd),
        "cost_nanousd": e.cost_nanousd.map(|c| c as u64),
        "price_ref": e.price_ref,
        "price_version": e.price_version,
        "started_at": UnixMillis(e.started_at as i64).to_rfc3339(),
        "latency_ms": e.latency_ms as u64,
        "ttfb_ms": e.ttfb_ms.map(|t| t as u64),
        "outcome": e.outcome,
        "upstream": {
            "request_id": e.upstream_request_id,
            "error_type": e.error_type,
            "retry_after_ms": e.retry_after_ms.map(|t| t as u64),
            "ratelimit": {
                "limit_requests": e.ratelimit_limit_requests.map(|t| t as u64),
                "remaining_requests": e.ratelimit_remaining_requests.map(|t| t as u64),
                "limit_tokens": e.ratelimit_limit_tokens.map(|t| t as u64),
                "remaining_tokens": e.ratelimit_remaining_tokens.map(|t| t as u64),
            },
        },
    })
}

/// Cursor: `<started_at ms>.<event id>` of the last event of the previous page.
fn parse_cursor(c: &str) -> ApiResult<(u64, &str)> {
    let bad = || ApiError::bad_request("invalid_cursor", "cursor must be a next_cursor value from a previous page").with_param("cursor");
    let (at, id) = c.split_once('.').ok_or_else(bad)?;
    let at = at.parse::<u64>().map_err(|_| bad())?;
    if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-') {
        return Err(bad());
    }
    Ok((at, id))
}

/// `GET /runs/latest?tenant_id=&customer_id=&limit=&cursor=`: the newest events, newest first.
pub async fn latest(req: &Request, env: &Env, who: &Principal) -> ApiResult<Response> {
    let q = query(req)?;
    let tenant = who.tenant_for_read(param(&q, "tenant_id"))?;
    let customer = param(&q, "customer_id")
        .map(|c| CustomerId::parse(c).map_err(|e| ApiError::bad_request("invalid_customer", format!("customer_id: {}", e.reason)).with_param("customer_id")))
        .transpose()?;
    let limit = match param(&q, "limit") {
        None => DEFAULT_LIMIT,
        Some(l) => l.parse::<u32>().ok().filter(|n| (1..=MAX_LIMIT).contains(n)).ok_or_else(|| {
            ApiError::bad_request("invalid_limit", format!("limit must be a whole number from 1 to {MAX_LIMIT}")).with_param("limit")
        })?,
    };
    let before = param(&q, "cursor").map(parse_cursor).transpose()?;
    let rows = store::latest_events(env, &EventFilter {
        tenant: &tenant,
        customer: customer.as_ref().map(CustomerId::as_str),
        before,
        limit,
    })
    .await?;
    let next_cursor = (rows.len() == limit as usize)
        .then(|| rows.last().map(|e| format!("{}.{}", e.started_at as u64, e.id)))
        .flatten();
    json_response(200, &json!({
        "tenant_id": tenant.as_str(),
        "data": rows.iter().map(event_json).collect::<Vec<_>>(),
        "next_cursor": next_cursor,
    }))
}

fn customer_json(c: &CustomerRow) -> Value {
    json!({
        "customer_id": c.customer_id,
        "calls": c.calls as u64,
        "priced_calls": c.priced_calls as u64,
        "unpriced_calls": (c.calls - c.priced_calls) as u64,
        "cost_usd": usd(c.cost_nanousd.or(Some(0.0))),
        "cost_nanousd": c.cost_nanousd.unwrap_or(0.0) as u64,
        "input_tokens": c.input_tokens as u64,
        "output_tokens": c.output_tokens as u64,
        "avg_latency_ms": c.avg_latency_ms.map(|l| (l * 10.0).round() / 10.0),
        "first_seen": UnixMillis(c.first_seen as i64).to_rfc3339(),
        "last_seen": UnixMillis(c.last_seen as i64).to_rfc3339(),
    })
}

/// `GET /tenants/{tenant}/customers`: cost, calls, tokens and average latency per customer.
pub async fn customers(env: &Env, who: &Principal, tenant: &str) -> ApiResult<Response> {
    let tenant = who.tenant_for_read(Some(tenant))?;
    let rows = store::customers(env, &tenant).await?;
    json_response(200, &json!({
        "tenant_id": tenant.as_str(),
        "data": rows.iter().map(customer_json).collect::<Vec<_>>(),
    }))
}
