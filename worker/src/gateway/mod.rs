//! The OpenAI-compatible gateway: authenticate, read attribution, forward to the
//! configured upstream, return its answer unchanged, and record one priced event per call
//! off the response path. The rules it applies live in `llmobserve_core::gateway`,
//! `::stream` and `::tokens`; this module moves bytes between them and the runtime.
//!
//! Invariant: nothing goes upstream before the caller is authenticated and its attribution
//! is valid; every call that reaches upstream produces exactly one event id.

mod glue;
mod stream;

use llmobserve_core::attribution::{self, parse_attribution, AttributionError};
use llmobserve_core::event::{CallRecord, Outcome};
use llmobserve_core::gateway::{
    credentials, path_and_query, reads_request_body, with_include_usage, Credentials, RequestFacts,
    UpstreamFacts,
};
use llmobserve_core::keys::{event_id, sha256_hex};
use llmobserve_core::stream::{StreamApi, StreamObserver};
use llmobserve_core::time::UnixMillis;
use llmobserve_core::tokens::{estimate_input_tokens, estimate_output_tokens};
use llmobserve_core::endpoints::{call_usage, BatchBilling};
use llmobserve_core::usage::{Usage, UsageSource};
use worker::{Context, Date, Env, Method, Request};

use crate::auth;
use crate::config;
use crate::ingest;
use crate::error::{ApiError, ApiResult};
use crate::pricing::price_call;
use crate::random::random_bytes;
use stream::StreamEnd;

const PROVIDER: &str = "openai";

pub(crate) fn now() -> UnixMillis {
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

fn too_large(limit: u64) -> ApiError {
    ApiError::new(413, "invalid_request_error", "request_too_large", format!(
        "The request body is larger than this gateway accepts ({limit} bytes, MAX_REQUEST_BYTES). Send a smaller body or raise the limit."
    ))
}

/// The request body as it goes upstream.
enum OutgoingBody {
    None,
    /// Read by the gateway (JSON, or a form whose fields price the call): the bytes as
    /// JavaScript has them (sent upstream as they are unless the gateway changes them), and
    /// wasm's copy.
    Read(js_sys::Uint8Array, Vec<u8>),
    /// Streamed upstream untouched (file uploads and other bodies).
    Passed(Option<web_sys::ReadableStream>),
}

/// Proxies one `/v1/*` request. The answer is the runtime's own `Response`: built once,
/// with the body bytes JavaScript already has.
pub async fn proxy(req: Request, env: &Env, ctx: &Context) -> ApiResult<web_sys::Response> {
    let started = now();
    let id = event_id(started.0.max(0) as u64, &random_bytes::<10>()?);
    // Aborted when the client disconnects (compatibility flag `enable_request_signal`).
    let client_signal = req.inner().signal();

    // 1. Authenticate before anything else: without a valid key nothing goes upstream.
    let request_headers = glue::RequestHeaders::of(&req.headers().0);
    let header = |name: &str| request_headers.get(name);
    let creds = credentials(header("authorization"), header(attribution::KEY))
        .map_err(|e| ApiError::unauthorized(e.message()))?;
    let principal = auth::principal_for_key(env, creds.gateway_key()).await?;

    // 2. Attribution and limits, validated before the upstream call.
    let attribution = parse_attribution(request_headers.read.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
    let tenant = principal.tenant_for_write(attribution.tenant.clone())?;
    let upstream_base = config::upstream(env)?;
    let max_body = config::max_request_bytes(env)?;
    let timeout_ms = config::upstream_timeout_ms(env)?;
    if header("content-length").and_then(|v| v.trim().parse::<u64>().ok()).is_some_and(|n| n > max_body) {
        return Err(too_large(max_body));
    }

    // 3. The request as it goes upstream: same method, path, query and body.
    let url = req.inner().url();
    let (endpoint, path_and_query) = path_and_query(&url);
    let endpoint = endpoint.to_owned();
    let method = req.method();
    let content_type = header("content-type").map(str::to_owned);
    let body = if matches!(method, Method::Get | Method::Head) {
        OutgoingBody::None
    } else if reads_request_body(&endpoint, content_type.as_deref()) {
        let js = glue::whole_body(req.inner()).await?;
        if u64::from(js.length()) > max_body {
            return Err(too_large(max_body));
        }
        let bytes = js.to_vec();
        OutgoingBody::Read(js, bytes)
    } else {
        OutgoingBody::Passed(req.inner().body())
    };
    let facts = match (&body, content_type.as_deref()) {
        (OutgoingBody::Read(_, b), Some(ct)) if ct.starts_with("multipart/") => RequestFacts::from_multipart(ct, b),
        (OutgoingBody::Read(_, b), _) => RequestFacts::from_body(b),
        _ => RequestFacts::default(),
    };
    let api = StreamApi::for_endpoint(&endpoint);
    // Ask upstream for exact usage; the observer hides what that adds from the client.
    let hide_usage = facts.stream && api.supports_include_usage() && !facts.include_usage;

    // The client's headers minus ours, the hop-by-hop ones and its credentials.
    let forward = &request_headers.forward;
    match creds {
        Credentials::Managed { .. } => {
            forward.set("authorization", &format!("Bearer {}", config::openai_api_key(env)?))?;
        }
        Credentials::PassThrough { upstream_authorization, .. } => {
            forward.set("authorization", upstream_authorization)?;
        }
    }
    // The body as it goes upstream: the JS bytes as read, unless the gateway changed them.
    let sent_body: wasm_bindgen::JsValue = match &body {
        OutgoingBody::None => wasm_bindgen::JsValue::UNDEFINED,
        OutgoingBody::Read(js, bytes) => match hide_usage.then(|| with_include_usage(bytes)).flatten() {
            Some(changed) => js_sys::Uint8Array::from(changed.as_slice()).into(),
            None => js.clone().into(),
        },
        OutgoingBody::Passed(stream) => stream.as_ref().map_or(wasm_bindgen::JsValue::UNDEFINED, |s| s.clone().into()),
    };
    let upstream_url = upstream_base.url_for(path_and_query);

    let base = CallRecord {
        id: id.clone(),
        tenant,
        attribution,
        key_id: principal.key_id.clone(),
        provider: PROVIDER.to_owned(),
        endpoint,
        method: method.to_string(),
        request_model: facts.model.clone(),
        response_model: None,
        is_stream: facts.stream,
        status_code: 0,
        error: None,
        usage: None,
        usage_source: UsageSource::Missing,
        started_at: started,
        latency_ms: 0,
        ttfb_ms: None,
        outcome: Outcome::Completed,
        upstream: UpstreamFacts::default(),
        request_hash: match &body {
            OutgoingBody::Read(_, b) if !b.is_empty() => Some(sha256_hex(b)),
            _ => None,
        },
        is_retry: false,
        retry_of: None,
        client_event_id: None,
    };

    // 4. Call upstream, waiting at most UPSTREAM_TIMEOUT_MS for its response headers.
    let fetch_started = now();
    let upstream = match glue::fetch_within_ms(&upstream_url, method.as_ref(), forward, &sent_body, timeout_ms).await {
        Ok(Some(r)) => r,
        Err(e) => {
            worker::console_error!("upstream fetch failed: {e}");
            return upstream_failed(env, ctx, base, 502, Outcome::UpstreamUnreachable, "upstream_unreachable", format!(
                "The gateway could not reach the upstream API at {}. Check OPENAI_BASE_URL and that the upstream is up.",
                upstream_base.as_str()
            ))
            .await;
        }
        Ok(None) => {
            return upstream_failed(env, ctx, base, 504, Outcome::UpstreamTimeout, "upstream_timeout", format!(
                "The upstream API sent no response within {timeout_ms} ms (UPSTREAM_TIMEOUT_MS)."
            ))
            .await;
        }
    };
    let glue::Upstream { exchange, response: upstream, status, out: out_headers, facts: upstream_facts, content_type: response_type, headers_at, json_body } =
        upstream;
    let headers_at = UnixMillis(headers_at);
    const EVENT_ID: &str = "x-llmobserve-event-id";
    let mut record = base;
    record.status_code = status;
    record.ttfb_ms = Some(elapsed_ms(started, headers_at));
    record.upstream = upstream_facts;
    // 5a. Streams go through chunk by chunk, pumped off the response path; the event is
    // written when the stream ends.
    if response_type.as_deref().is_some_and(|ct| ct.starts_with("text/event-stream")) {
        record.is_stream = true;
        let request_body = match body {
            OutgoingBody::Read(_, b) => b,
            _ => Vec::new(),
        };
        let Some(upstream_body) = upstream.body() else {
            return Err(ApiError::internal("an event stream without a body"));
        };
        let (pump, body) = stream::observed(&upstream_body, StreamObserver::new(api, hide_usage), exchange.controller());
        let timing = server_timing(started, fetch_started, headers_at, now());
        let env = env.clone();
        ctx.wait_until(async move {
            let end = pump.run(client_signal).await;
            let record = finish_stream_record(record, api, &request_body, end);
            ingest::deliver(&env, std::rc::Rc::new(price_call(&env, record).await)).await
        });
        return Ok(glue::response(&body, status, &out_headers, &[(EVENT_ID, &id)], &timing)?);
    }

    // 5b. JSON answers (read whole by the exchange) are read for their usage and returned
    // byte for byte.
    if let Some(json_body) = json_body {
        let js = match json_body {
            Ok(b) => b,
            Err(e) => {
                // Upstream broke off mid-body: the call reached upstream, so it is recorded.
                worker::console_error!("upstream body of event {} broke off: {e}", record.id);
                return upstream_failed(env, ctx, record, 502, Outcome::StreamInterrupted, "upstream_interrupted",
                    "The upstream API broke off its answer before the end; the call is recorded.".to_owned())
                .await;
            }
        };
        let bytes = js.to_vec();
        let done = now();
        if (200..300).contains(&status) {
            if let Some(batch) = BatchBilling::of_call(&record.endpoint, &bytes) {
                let call = batch.into_call(record.tenant.clone(), record.attribution.clone(), record.key_id.clone());
                ingest::record(env, ctx, price_call(env, call).await);
            }
            let (rf, source) = call_usage(&record.endpoint, &facts, Some(&bytes));
            record.usage_source = source;
            record.usage = rf.usage;
            record.response_model = rf.model;
        } else {
            record.upstream.read_error_body(&bytes);
        }
        record.error = record.upstream.error_code.clone().or_else(|| record.upstream.error_type.clone());
        record.latency_ms = elapsed_ms(started, done);
        let event = price_call(env, record).await;
        let cost = event.cost.map(|c| c.to_usd_string());
        let mut set = vec![(EVENT_ID, id.as_str()), ("x-llmobserve-pricing-status", event.pricing_status())];
        if let Some(cost) = &cost {
            set.push(("x-llmobserve-cost-usd", cost));
        }
        let timing = server_timing(started, fetch_started, done, now());
        // Recorded before the response is built: the call reached upstream, so its event
        // is written even if the runtime refused the response.
        ingest::record(env, ctx, event);
        return Ok(glue::response(&js, status, &out_headers, &set, &timing)?);
    }

    // 5c. Anything else (audio, files) streams back untouched; speech is billed by the
    // characters of its request.
    if (200..300).contains(&status) {
        let (rf, source) = call_usage(&record.endpoint, &facts, None);
        record.usage_source = source;
        record.usage = rf.usage;
    }
    record.latency_ms = elapsed_ms(started, headers_at);
    let timing = server_timing(started, fetch_started, headers_at, now());
    ingest::record(env, ctx, price_call(env, record).await);
    let body = upstream.body().map_or(wasm_bindgen::JsValue::NULL, Into::into);
    Ok(glue::response(&body, status, &out_headers, &[(EVENT_ID, &id)], &timing)?)
}

/// Answers a call that got no response from upstream, and records it.
#[allow(clippy::too_many_arguments)]
async fn upstream_failed(
    env: &Env,
    ctx: &Context,
    mut record: CallRecord,
    status: u16,
    outcome: Outcome,
    code: &'static str,
    message: String,
) -> ApiResult<web_sys::Response> {
    let id = record.id.clone();
    record.status_code = status;
    record.outcome = outcome;
    record.error = Some(code.to_owned());
    record.latency_ms = elapsed_ms(record.started_at, now());
    ingest::record(env, ctx, price_call(env, record).await);
    let mut resp = ApiError::new(status, "server_error", code, message).into_response();
    resp.headers_mut().set("x-llmobserve-event-id", &id)?;
    Ok(resp.into())
}

/// `Server-Timing`: the gateway's own time (before the upstream call, and after upstream
/// answered until the response left) and upstream's. Workers clocks advance only across
/// I/O, so the gateway's own CPU time shows as 0 here; the benchmarks measure it.
fn server_timing(started: UnixMillis, fetch_started: UnixMillis, upstream_done: UnixMillis, end: UnixMillis) -> String {
    let own = elapsed_ms(started, fetch_started) + elapsed_ms(upstream_done, end);
    format!("llmobserve;dur={own}, upstream;dur={}", elapsed_ms(fetch_started, upstream_done))
}

/// Completes a streamed call's record: usage as upstream reported it, or, when the stream
/// ended without a report (the client cancelled, upstream broke off), an estimate from
/// the request and the text generated so far, flagged `estimated`.
fn finish_stream_record(mut record: CallRecord, api: StreamApi, request_body: &[u8], end: StreamEnd) -> CallRecord {
    let o = end.observer;
    record.outcome = end.outcome;
    record.latency_ms = elapsed_ms(record.started_at, end.ended_at);
    record.response_model = o.model.clone();
    if let Some(u) = o.usage {
        record.usage = Some(u);
        record.usage_source = UsageSource::Reported;
    } else if api != StreamApi::Other {
        let model = record.response_model.as_deref().or(record.request_model.as_deref()).unwrap_or("");
        let input = estimate_input_tokens(model, request_body);
        let output = estimate_output_tokens(model, &o.output_text, o.output_text_bytes);
        if let (Some(input_tokens), Some(output_tokens)) = (input, output) {
            record.usage = Some(Usage { input_tokens, output_tokens, ..Usage::default() });
            record.usage_source = UsageSource::Estimated;
        }
    }
    record
}
