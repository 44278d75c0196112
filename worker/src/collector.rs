//! `POST /v1/events`: events reported by an application for calls that did not go through
//! the gateway. Validation is core's (`collector::parse_batch`); each event is priced with
//! the same engine as proxied calls and written idempotently by its derived id.

use llmobserve_core::access::{AccessError, Principal};
use llmobserve_core::collector::parse_batch;
use llmobserve_core::event::price_event_with;
use llmobserve_core::keys::Scope;
use serde_json::{json, Value};
use worker::{Env, Request, Response};

use crate::error::{ApiError, ApiResult};
use crate::gateway::now;
use crate::{json_response, store};

pub async fn report(mut req: Request, env: &Env, who: &Principal) -> ApiResult<Response> {
    who.require(Scope::Ingest)?;
    let body = req.bytes().await?;
    let results = parse_batch(&body, now()).map_err(|m| ApiError::bad_request("invalid_batch", m))?;
    let book = crate::pricing::book(env).await?;
    let mut rejected = Vec::new();
    let mut events = Vec::new();
    let mut indexes = Vec::new();
    for (index, result) in results.into_iter().enumerate() {
        let reject = |code: &str, param: String, message: String| {
            json!({ "index": index, "error": { "code": code, "param": param, "message": message } })
        };
        match result {
            Err(e) => rejected.push(reject("invalid_event", e.param, e.message)),
            Ok(reported) => match who.tenant_for_write(reported.tenant.clone()) {
                Err(e @ AccessError::WrongTenant { .. }) => {
                    rejected.push(reject("tenant_mismatch", format!("events[{index}].tenant_id"), e.message()))
                }
                Err(e) => return Err(e.into()),
                Ok(tenant) => {
                    let client_id = reported.client_id.clone();
                    events.push(price_event_with(reported.into_call(tenant, who.key_id.clone()), &book));
                    indexes.push((index, client_id));
                }
            },
        }
    }
    let fresh = store::insert_events(env, &events).await?;
    store::mark_days_stale(env, &events, &fresh, now().0.div_euclid(86_400_000)).await;
    let accepted: Vec<Value> = events
        .iter()
        .zip(&indexes)
        .zip(&fresh)
        .map(|((e, (index, client_id)), new)| {
            json!({
                "index": index,
                "id": client_id,
                "event_id": e.id(),
                "duplicate": !new,
                "pricing_status": e.pricing_status(),
                "cost_usd": e.cost.map(|c| c.to_usd_string()),
            })
        })
        .collect();
    let duplicates = fresh.iter().filter(|n| !**n).count();
    json_response(200, &json!({
        "accepted": fresh.len() - duplicates,
        "duplicates": duplicates,
        "rejected": rejected,
        "events": accepted,
    }))
}
