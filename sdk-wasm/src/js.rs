//! The JavaScript face of the crate: the rules the `llmobserve` npm package calls, as
//! wasm-bindgen exports over strings and numbers. Each is a thin adapter over `context`,
//! `retry` or `report`; an error becomes a JavaScript `Error` with the same message the
//! gateway would give.
//!
//! Invariant: no state lives here. The JavaScript layer owns the per-request store
//! (AsyncLocalStorage) and passes the current context in as strings on every call.

use wasm_bindgen::prelude::*;

use crate::context::{new_run_id, Context};
use crate::report::{batch_body, prepare_event, MAX_BATCH_EVENTS};
use crate::retry::{retry_after_ms, retryable_status, RetryPolicy};

fn js_err(e: impl std::fmt::Display) -> JsError {
    JsError::new(&e.to_string())
}

fn random10(random: &[u8]) -> Result<[u8; 10], JsError> {
    random.try_into().map_err(|_| JsError::new("expected 10 random bytes"))
}

/// A JavaScript time value (Date.now()) as Unix milliseconds.
fn millis(unix_ms: f64) -> u64 {
    if unix_ms.is_finite() && unix_ms > 0.0 { unix_ms as u64 } else { 0 }
}

fn context(tenant: Option<String>, customer: Option<String>, section: Option<String>, run_id: Option<String>) -> Result<Context, JsError> {
    Context::from_parts(tenant.as_deref(), customer.as_deref(), section.as_deref(), run_id.as_deref()).map_err(js_err)
}

/// `ctx` with the properties of a JSON object of strings (`None`: none).
fn with_properties(mut ctx: Context, properties: Option<String>) -> Result<Context, JsError> {
    let Some(json) = properties else { return Ok(ctx) };
    let map: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&json).map_err(|e| JsError::new(&format!("properties must be an object of strings: {e}")))?;
    for (name, value) in &map {
        let value = value.as_str().ok_or_else(|| JsError::new(&format!("property {name:?} must be a string")))?;
        ctx = ctx.with_property(name, Some(value)).map_err(js_err)?;
    }
    Ok(ctx)
}

/// Properties (a JSON object of strings) validated as the gateway validates
/// `x-llmobserve-property-<name>`: returned as JSON with names lower-cased, sorted.
#[wasm_bindgen(js_name = checkProperties)]
pub fn check_properties(properties: String) -> Result<String, JsError> {
    let ctx = with_properties(Context::new(), Some(properties))?;
    let map: serde_json::Map<String, serde_json::Value> =
        ctx.properties().map(|(k, v)| (k.to_owned(), serde_json::Value::from(v))).collect();
    Ok(serde_json::Value::Object(map).to_string())
}

/// The tenant id, validated as the gateway validates `x-llmobserve-tenant`.
#[wasm_bindgen(js_name = checkTenantId)]
pub fn check_tenant_id(value: &str) -> Result<String, JsError> {
    Ok(Context::new().with_tenant(value).map_err(js_err)?.tenant().unwrap_or_default().to_owned())
}

/// The customer id, validated as the gateway validates `x-llmobserve-customer`.
#[wasm_bindgen(js_name = checkCustomerId)]
pub fn check_customer_id(value: &str) -> Result<String, JsError> {
    Ok(Context::new().with_customer(value).map_err(js_err)?.customer().unwrap_or_default().to_owned())
}

/// The run id, validated as the gateway validates `x-llmobserve-run-id`.
#[wasm_bindgen(js_name = checkRunId)]
pub fn check_run_id(value: &str) -> Result<String, JsError> {
    Ok(Context::new().with_run_id(value).map_err(js_err)?.run_id().unwrap_or_default().to_owned())
}

/// A new run id from Date.now() and 10 bytes of crypto.getRandomValues.
#[wasm_bindgen(js_name = newRunId)]
pub fn new_run_id_js(unix_ms: f64, random: &[u8]) -> Result<String, JsError> {
    Ok(new_run_id(millis(unix_ms), &random10(random)?).map_err(js_err)?.as_str().to_owned())
}

/// The section path one level below `parent` (or a new root).
#[wasm_bindgen(js_name = childSection)]
pub fn child_section(parent: Option<String>, name: &str) -> Result<String, JsError> {
    let child = context(None, None, parent, None)?.with_section(name).map_err(js_err)?;
    Ok(child.section().unwrap_or_default().to_owned())
}

/// The section path of attempt `attempt` of the retry block `name` below `parent`.
#[wasm_bindgen(js_name = retrySection)]
pub fn retry_section(parent: Option<String>, name: &str, attempt: u32) -> Result<String, JsError> {
    let child = context(None, None, parent, None)?.with_retry_attempt(name, attempt).map_err(js_err)?;
    Ok(child.section().unwrap_or_default().to_owned())
}

/// The attempt number the gateway will read from a section path, if it is inside a retry.
#[wasm_bindgen(js_name = sectionAttempt)]
pub fn section_attempt(section: Option<String>) -> Result<Option<u32>, JsError> {
    Ok(context(None, None, section, None)?.attempt())
}

/// The headers of a context as a flat list: name, value, name, value, ...
#[wasm_bindgen(js_name = contextHeaders)]
pub fn context_headers(
    tenant: Option<String>,
    customer: Option<String>,
    section: Option<String>,
    run_id: Option<String>,
    properties: Option<String>,
) -> Result<Vec<String>, JsError> {
    Ok(with_properties(context(tenant, customer, section, run_id)?, properties)?
        .headers()
        .into_iter()
        .flat_map(|(k, v)| [k, v])
        .collect())
}

/// Validates retry options, throwing a message that names the bad option.
#[wasm_bindgen(js_name = checkRetryPolicy)]
pub fn check_retry_policy(max_attempts: f64, base_delay_ms: f64, max_delay_ms: f64) -> Result<(), JsError> {
    policy(max_attempts, base_delay_ms, max_delay_ms).map(drop)
}

fn policy(max_attempts: f64, base_delay_ms: f64, max_delay_ms: f64) -> Result<RetryPolicy, JsError> {
    let whole = |name: &str, v: f64| {
        if v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v <= 1e15 {
            Ok(v as u64)
        } else {
            Err(JsError::new(&format!("{name} must be a whole number, got {v}")))
        }
    };
    let attempts = u32::try_from(whole("maxAttempts", max_attempts)?).unwrap_or(u32::MAX);
    RetryPolicy::new(attempts, whole("baseDelayMs", base_delay_ms)?, whole("maxDelayMs", max_delay_ms)?).map_err(js_err)
}

/// The wait before the attempt after `failed_attempt`; `status` is the failed call's HTTP
/// status (0 when it had none, e.g. a connection error, which is retried), and the server's
/// `retry-after-ms` / `retry-after` headers. Returns -1 when the failure is not worth a retry.
#[wasm_bindgen(js_name = retryDelayMs)]
#[allow(clippy::too_many_arguments)]
pub fn retry_delay_ms(
    max_attempts: f64,
    base_delay_ms: f64,
    max_delay_ms: f64,
    failed_attempt: u32,
    status: u16,
    retry_after_ms_header: Option<String>,
    retry_after_header: Option<String>,
    jitter: u32,
) -> Result<f64, JsError> {
    let p = policy(max_attempts, base_delay_ms, max_delay_ms)?;
    if failed_attempt >= p.max_attempts() || (status != 0 && !retryable_status(status)) {
        return Ok(-1.0);
    }
    let after = retry_after_ms(retry_after_ms_header.as_deref(), retry_after_header.as_deref());
    Ok(p.delay_ms(failed_attempt, jitter, after) as f64)
}

/// Whether an HTTP status is worth another attempt.
#[wasm_bindgen(js_name = retryableStatus)]
pub fn retryable_status_js(status: u16) -> bool {
    retryable_status(status)
}

/// Validates a reported event (as JSON) and completes it from the current context; returns
/// the event as JSON, in the collector's format.
#[wasm_bindgen(js_name = prepareEvent)]
#[allow(clippy::too_many_arguments)]
pub fn prepare_event_js(
    event_json: &str,
    tenant: Option<String>,
    customer: Option<String>,
    section: Option<String>,
    run_id: Option<String>,
    unix_ms: f64,
    random: &[u8],
) -> Result<String, JsError> {
    let event = serde_json::from_str(event_json).map_err(|e| JsError::new(&format!("event is not JSON: {e}")))?;
    let ctx = context(tenant, customer, section, run_id)?;
    let prepared = prepare_event(event, &ctx, millis(unix_ms), &random10(random)?).map_err(js_err)?;
    Ok(prepared.to_string())
}

/// The body of one `POST /v1/events` from prepared events (each a JSON string).
#[wasm_bindgen(js_name = batchBody)]
pub fn batch_body_js(events: Vec<String>) -> Result<String, JsError> {
    if events.len() > MAX_BATCH_EVENTS {
        return Err(JsError::new(&format!("at most {MAX_BATCH_EVENTS} events per batch")));
    }
    let parsed = events
        .iter()
        .map(|e| serde_json::from_str(e).map_err(js_err))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(batch_body(parsed).to_string())
}

/// At most this many events per `POST /v1/events`.
#[wasm_bindgen(js_name = maxBatchEvents)]
pub fn max_batch_events() -> u32 {
    MAX_BATCH_EVENTS as u32
}

/// Whether a string has the shape of a gateway key (`llmo_` and 64 hex digits).
#[wasm_bindgen(js_name = looksLikeGatewayKey)]
pub fn looks_like_gateway_key(key: &str) -> bool {
    llmobserve_core::keys::looks_like_gateway_key(key)
}
