//! The OpenAI-compatible gateway: authenticate, read attribution, forward to the
//! configured upstream, return its answer unchanged, and record one priced event per
//! call off the response path. The rules it applies live in `llmobserve_core::gateway`.

use llmobserve_core::attribution::{self, parse_attribution, AttributionError};
use llmobserve_core::event::{CallRecord, Event};
use llmobserve_core::gateway::{credentials, forwards_request_header, forwards_response_header, Credentials, RequestFacts};
use llmobserve_core::keys::event_id;
use llmobserve_core::time::UnixMillis;
use llmobserve_core::usage::{response_facts, UsageSource};
use worker::{Context, Date, Env, Fetch, Headers, Method, Request, RequestInit, RequestRedirect, Response};

use crate::auth;
use crate::config;
use crate::error::{ApiError, ApiResult};
use crate::random::random_bytes;
use crate::store;

const PROVIDER: &str = "openai";

fn now() -> UnixMillis {
    UnixMillis(Date::now().as_millis() as i64)
}

fn elapsed_ms(from: UnixMillis, to: UnixMillis) -> u64 {
    u64::try_from(to.0 - from.0).unwrap_or(0)
}

impl From<AttributionError> for ApiError {
    fn from(e: AttributionError) -> ApiError {
        let header = e.header.clone();
        ApiError::bad_request("invalid_attribution_header", e.to_string()).with_param(header)
    }
}

/// Proxies one `/v1/*` request.
pub async fn proxy(mut req: Request, env: &Env, ctx: &Context) -> ApiResult<Response> {
    let started = now();
    let id = event_id(started.0.max(0) as u64, &random_bytes::<10>()?);

    // 1. Authenticate before anything else: without a valid key nothing goes upstream.
    let request_headers: Vec<(String, String)> = req.headers().entries().collect();
    let header = |name: &str| {
        request_headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    };
    let creds = credentials(header("authorization"), header(attribution::KEY))
        .map_err(|e| ApiError::unauthorized(e.message()))?;
    let principal = auth::principal_for_key(env, creds.gateway_key()).await?;

    // 2. Attribution, validated before the upstream call.
    let attribution = parse_attribution(request_headers.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
    let tenant = principal.tenant_for_write(attribution.tenant.clone())?;

    // 3. Build the upstream request: same method, path, query and body.
    let upstream_base = config::upstream(env)?;
    let url = req.url()?;
    let endpoint = url.path().to_owned();
    let path_and_query = match url.query() {
        Some(q) => format!("{endpoint}?{q}"),
        None => endpoint.clone(),
    };
    let forward = Headers::new();
    for (k, v) in &request_headers {
        if forwards_request_header(k) {
            forward.append(k, v)?;
        }
    }
    match creds {
        Credentials::Managed { .. } => {
            forward.set("authorization", &format!("Bearer {}", config::openai_api_key(env)?))?;
        }
        Credentials::PassThrough { upstream_authorization, .. } => {
            forward.set("authorization", upstream_authorization)?;
        }
    }
    let method = req.method();
    let body = match method {
        Method::Get | Method::Head => Vec::new(),
        _ => req.bytes().await?,
    };
    let facts = RequestFacts::from_body(&body);
    let mut init = RequestInit::new();
    init.with_method(method.clone()).with_headers(forward).with_redirect(RequestRedirect::Manual);
    if !body.is_empty() {
        init.with_body(Some(js_sys::Uint8Array::from(body.as_slice()).into()));
    }
    let upstream_req = Request::new_with_init(&upstream_base.url_for(&path_and_query), &init)?;

    let call = |status_code: u16| CallRecord {
        id: id.clone(),
        tenant: tenant.clone(),
        attribution: attribution.clone(),
        key_id: principal.key_id.clone(),
        provider: PROVIDER.to_owned(),
        endpoint: endpoint.clone(),
        method: method.to_string(),
        request_model: facts.model.clone(),
        response_model: None,
        is_stream: facts.stream,
        status_code,
        error: None,
        usage: None,
        usage_source: UsageSource::Missing,
        started_at: started,
        latency_ms: 0,
    };

    // 4. Call upstream.
    let fetch_started = now();
    let mut upstream = match Fetch::Request(upstream_req).send().await {
        Ok(r) => r,
        Err(e) => {
            worker::console_error!("upstream fetch failed: {e}");
            let mut record = call(502);
            record.error = Some("upstream_unreachable".to_owned());
            record.latency_ms = elapsed_ms(started, now());
            record_event(env, ctx, crate::pricing::price_call(env, record).await);
            let err = ApiError::new(502, "server_error", "upstream_unreachable",
                format!("The gateway could not reach the upstream API at {}. Check OPENAI_BASE_URL.", upstream_base.as_str()));
            let mut resp = err.into_response();
            resp.headers_mut().set("x-llmobserve-event-id", &id)?;
            return Ok(resp);
        }
    };
    let status = upstream.status_code();
    let out_headers = Headers::new();
    for (k, v) in upstream.headers().entries() {
        if forwards_response_header(&k) {
            out_headers.append(&k, &v)?;
        }
    }
    out_headers.set("x-llmobserve-event-id", &id)?;

    let is_event_stream = upstream
        .headers()
        .get("content-type")?
        .is_some_and(|ct| ct.starts_with("text/event-stream"));
    if is_event_stream {
        // Streams pass through untouched; their usage is observed in a later step.
        let mut record = call(status);
        record.is_stream = true;
        record.latency_ms = elapsed_ms(started, now());
        record_event(env, ctx, crate::pricing::price_call(env, record).await);
        let (_, body) = upstream.into_parts();
        return Ok(Response::builder().with_status(status).with_headers(out_headers).body(body));
    }

    // 5. Non-streaming: the body goes back byte for byte; usage is read from it.
    let bytes = upstream.bytes().await?;
    let upstream_done = now();
    let mut record = call(status);
    if (200..300).contains(&status) {
        let rf = response_facts(&bytes);
        record.usage_source = if rf.usage.is_some() { UsageSource::Reported } else { UsageSource::Missing };
        record.usage = rf.usage;
        record.response_model = rf.model;
    }
    record.latency_ms = elapsed_ms(started, upstream_done);
    let event = crate::pricing::price_call(env, record).await;
    out_headers.set("x-llmobserve-pricing-status", event.pricing_status())?;
    if let Some(cost) = event.cost {
        out_headers.set("x-llmobserve-cost-usd", &cost.to_usd_string())?;
    }
    out_headers.append(
        "server-timing",
        &format!(
            "llmobserve-auth;dur={}, upstream;dur={}, llmobserve-total;dur={}",
            elapsed_ms(started, fetch_started),
            elapsed_ms(fetch_started, upstream_done),
            elapsed_ms(started, now())
        ),
    )?;
    record_event(env, ctx, event);
    Ok(Response::builder().with_status(status).with_headers(out_headers).fixed(bytes))
}

/// Writes the event after the response is sent (`waitUntil`). A failure is logged; the
/// durable fallback path (queue) is built on top of this.
fn record_event(env: &Env, ctx: &Context, event: Event) {
    let env = env.clone();
    ctx.wait_until(async move {
        if let Err(e) = store::insert_event(&env, &event).await {
            worker::console_error!("event {} not recorded: {}", event.id(), e.message);
        }
    });
}
