//! Fault injection for the end-to-end tests: D1 event writes that fail for a while, queue
//! messages sent twice, and poison events (a tenant whose events D1 refuses). It is off unless the deployment sets the test-only var
//! `LLMOBSERVE_FAULT_INJECTION` to `allow-test-faults` (never set in wrangler.toml, only
//! by the test harness with `--var`), and even then `POST /__test/faults` takes the admin
//! token. Without it, that path is a 404 and nothing here can fire: the switches below
//! are only ever set by that endpoint.
//!
//! The switches live in this isolate's memory (under `wrangler dev` the fetch and queue
//! handlers share one isolate).

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use serde::Deserialize;
use serde_json::json;
use worker::{Env, Request, Response};

use crate::error::{ApiError, ApiResult};
use crate::gateway::now;
use crate::{auth, json_response};

const VAR: &str = "LLMOBSERVE_FAULT_INJECTION";
const ALLOW: &str = "allow-test-faults";
pub const PATH: &str = "/__test/faults";

/// Event writes to D1 fail until this time (unix ms; 0: never).
static D1_DOWN_UNTIL: AtomicU64 = AtomicU64::new(0);
/// Every event sent to the queue is sent twice (a redelivery, as at-least-once allows).
static DUPLICATE_SENDS: AtomicBool = AtomicBool::new(false);

thread_local! {
    /// Event writes that include an event of this tenant fail (a poison event).
    static POISON_TENANT: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Fails a write that includes an event of the poisoned tenant, as D1 fails a row it
/// refuses (not as an outage).
pub fn poison<'a>(mut tenants: impl Iterator<Item = &'a str>) -> ApiResult<()> {
    POISON_TENANT.with(|p| match p.borrow().as_deref() {
        Some(t) if tenants.any(|x| x == t) => {
            Err(ApiError::internal(format!("injected fault: an event of tenant {t} cannot be written")))
        }
        _ => Ok(()),
    })
}

/// Whether this deployment honours `POST /__test/faults`.
pub fn enabled(env: &Env) -> bool {
    env.var(VAR).map(|v| v.to_string() == ALLOW).unwrap_or(false)
}

/// Fails like D1 does when it is unavailable, while the injected outage lasts.
pub fn d1_event_write() -> ApiResult<()> {
    let until = D1_DOWN_UNTIL.load(Ordering::Relaxed);
    if until != 0 && (now().0.max(0) as u64) < until {
        return Err(ApiError::new(503, "server_error", "d1_unavailable", "injected fault: D1 is unavailable"));
    }
    Ok(())
}

pub fn duplicate_sends() -> bool {
    DUPLICATE_SENDS.load(Ordering::Relaxed)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Faults {
    /// D1 event writes fail for this many milliseconds from now (0 ends an outage).
    d1_down_ms: Option<u64>,
    duplicate_queue_sends: Option<bool>,
    /// Writes including an event of this tenant fail ("" ends it).
    poison_tenant: Option<String>,
}

/// `POST /__test/faults` (admin): sets the switches; answers their state.
pub async fn set(mut req: Request, env: &Env) -> ApiResult<Response> {
    let who = auth::principal(&req, env).await?;
    who.require(llmobserve_core::keys::Scope::Admin)?;
    let body = req.bytes().await?;
    let f: Faults = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request("invalid_faults", format!("expected {{\"d1_down_ms\"?, \"duplicate_queue_sends\"?, \"poison_tenant\"?}}: {e}")))?;
    if let Some(ms) = f.d1_down_ms {
        let until = if ms == 0 { 0 } else { now().0.max(0) as u64 + ms };
        D1_DOWN_UNTIL.store(until, Ordering::Relaxed);
    }
    if let Some(d) = f.duplicate_queue_sends {
        DUPLICATE_SENDS.store(d, Ordering::Relaxed);
    }
    if let Some(t) = f.poison_tenant {
        POISON_TENANT.with(|p| *p.borrow_mut() = Some(t).filter(|t| !t.is_empty()));
    }
    json_response(200, &json!({
        "d1_down_until": D1_DOWN_UNTIL.load(Ordering::Relaxed),
        "duplicate_queue_sends": duplicate_sends(),
        "poison_tenant": POISON_TENANT.with(|p| p.borrow().clone()),
    }))
}
