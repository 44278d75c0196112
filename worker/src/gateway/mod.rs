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
use llmobserve_core::event::{CallRecord, Event, Outcome};
use llmobserve_core::gateway::{
    credentials, forwards_request_header, forwards_response_header, reads_request_body, reads_response_body,
    with_include_usage, Credentials, RequestFacts, UpstreamFacts,
};
use llmobserve_core::keys::{event_id, sha256_hex};
use llmobserve_core::stream::{StreamApi, StreamObserver};
use llmobserve_core::time::UnixMillis;
use llmobserve_core::tokens::{estimate_input_tokens, estimate_output_tokens};
use llmobserve_core::endpoints::{call_usage, BatchBilling};
use llmobserve_core::usage::{Usage, UsageSource};
use worker::{
    AbortController, Context, Date, Env, Headers, Method, Request,
    Response, ResponseBody,
};

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
    /// Read by the gateway (JSON, or a form whose fields price the call).
    Read(Vec<u8>),
    /// Streamed upstream untouched (file uploads and other bodies).
    Passed(Option<web_sys::ReadableStream>),
}

/// Proxies one `/v1/*` request.
pub async fn proxy(mut req: Request, env: &Env, ctx: &Context) -> ApiResult<Response> {
    let started = now();
    let id = event_id(started.0.max(0) as u64, &random_bytes::<10>()?);
    // Aborted when the client disconnects (compatibility flag `enable_request_signal`).
    let client_signal = req.inner().signal();

    // 1. Authenticate before anything else: without a valid key nothing goes upstream.
    let request_headers = glue::header_pairs(&req.headers().0);
    let header = |name: &str| {
        request_headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    };
    let creds = credentials(header("authorization"), header(attribution::KEY))
        .map_err(|e| ApiError::unauthorized(e.message()))?;
    let principal = auth::principal_for_key(env, creds.gateway_key()).await?;

    // 2. Attribution and limits, validated before the upstream call.
    let attribution = parse_attribution(request_headers.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
    let tenant = principal.tenant_for_write(attribution.tenant.clone())?;
    let upstream_base = config::upstream(env)?;
    let max_body = config::max_request_bytes(env)?;
    let timeout_ms = config::upstream_timeout_ms(env)?;
    if header("content-length").and_then(|v| v.trim().parse::<u64>().ok()).is_some_and(|n| n > max_body) {
        return Err(too_large(max_body));
    }

    // 3. The request as it goes upstream: same method, path, query and body.
    let url = req.url()?;
    let endpoint = url.path().to_owned();
    let path_and_query = match url.query() {
        Some(q) => format!("{endpoint}?{q}"),
        None => endpoint.clone(),
    };
    let method = req.method();
    let content_type = header("content-type").map(str::to_owned);
    let body = if matches!(method, Method::Get | Method::Head) {
        OutgoingBody::None
    } else if reads_request_body(&endpoint, content_type.as_deref()) {
        let bytes = req.bytes().await?;
        if bytes.len() as u64 > max_body {
            return Err(too_large(max_body));
        }
        OutgoingBody::Read(bytes)
    } else {
        OutgoingBody::Passed(req.inner().body())
    };
    let facts = match (&body, content_type.as_deref()) {
        (OutgoingBody::Read(b), Some(ct)) if ct.starts_with("multipart/") => RequestFacts::from_multipart(ct, b),
        (OutgoingBody::Read(b), _) => RequestFacts::from_body(b),
        _ => RequestFacts::default(),
    };
    let api = StreamApi::for_endpoint(&endpoint);
    // Ask upstream for exact usage; the observer hides what that adds from the client.
    let hide_usage = facts.stream && api.supports_include_usage() && !facts.include_usage;

    // The client's headers minus ours and the hop-by-hop ones: one copy in the runtime and
    // a few deletions, rather than one call into it per header kept.
    let forward = copy_headers(req.headers())?;
    for (k, _) in &request_headers {
        if !forwards_request_header(k) {
            forward.delete(k)?;
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
    // Fetched as fetch(url, init): a Request built first would be built again by fetch.
    let init = web_sys::RequestInit::new();
    init.set_method(method.as_ref());
    init.set_headers(&forward.0);
    init.set_redirect(web_sys::RequestRedirect::Manual);
    match &body {
        OutgoingBody::None => {}
        OutgoingBody::Read(bytes) => {
            let sent = if hide_usage { with_include_usage(bytes) } else { None };
            let sent = sent.as_deref().unwrap_or(bytes);
            init.set_body(&js_sys::Uint8Array::from(sent));
        }
        OutgoingBody::Passed(stream) => {
            if let Some(stream) = stream {
                init.set_body(stream);
            }
        }
    }
    let upstream_url = upstream_base.url_for(&path_and_query);

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
            OutgoingBody::Read(b) if !b.is_empty() => Some(sha256_hex(b)),
            _ => None,
        },
        is_retry: false,
        retry_of: None,
        client_event_id: None,
    };

    // 4. Call upstream, waiting at most UPSTREAM_TIMEOUT_MS for its response headers.
    let controller = AbortController::default();
    let fetch_started = now();
    let signal = controller.signal();
    init.set_signal(Some(&signal));
    let sent = match glue::fetch_within_ms(&upstream_url, &init, timeout_ms).await {
        Ok(Some(r)) => Some(Ok(Response::from(r))),
        Ok(None) => None,
        Err(e) => Some(Err(e)),
    };
    let upstream = match sent {
        Some(Ok(r)) => r,
        Some(Err(e)) => {
            worker::console_error!("upstream fetch failed: {e}");
            return upstream_failed(env, ctx, base, 502, Outcome::UpstreamUnreachable, "upstream_unreachable", format!(
                "The gateway could not reach the upstream API at {}. Check OPENAI_BASE_URL and that the upstream is up.",
                upstream_base.as_str()
            ))
            .await;
        }
        None => {
            controller.abort();
            return upstream_failed(env, ctx, base, 504, Outcome::UpstreamTimeout, "upstream_timeout", format!(
                "The upstream API sent no response within {timeout_ms} ms (UPSTREAM_TIMEOUT_MS)."
            ))
            .await;
        }
    };
    let headers_at = now();
    let status = upstream.status_code();
    let upstream_headers = glue::header_pairs(&upstream.headers().0);
    let out_headers = copy_headers(upstream.headers())?;
    for (k, _) in &upstream_headers {
        if !forwards_response_header(k) {
            out_headers.delete(k)?;
        }
    }
    out_headers.set("x-llmobserve-event-id", &id)?;
    let mut record = base;
    record.status_code = status;
    record.ttfb_ms = Some(elapsed_ms(started, headers_at));
    record.upstream = UpstreamFacts::from_headers(upstream_headers.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let response_type = upstream.headers().get("content-type")?;
    // 5a. Streams go through chunk by chunk, pumped off the response path; the event is
    // written when the stream ends.
    if response_type.as_deref().is_some_and(|ct| ct.starts_with("text/event-stream")) {
        record.is_stream = true;
        let request_body = match body {
            OutgoingBody::Read(b) => b,
            _ => Vec::new(),
        };
        let ResponseBody::Stream(upstream_body) = upstream.body() else {
            return Err(ApiError::internal("an event stream without a body"));
        };
        let (pump, body) = stream::observed(upstream_body, StreamObserver::new(api, hide_usage), controller);
        out_headers.append("server-timing", &server_timing(started, fetch_started, headers_at, now()))?;
        let env = env.clone();
        ctx.wait_until(async move {
            let end = pump.run(client_signal).await;
            let record = finish_stream_record(record, api, &request_body, end);
            ingest::deliver(&env, &price_call(&env, record).await).await
        });
        return Ok(Response::builder().with_status(status).with_headers(out_headers).stream(body));
    }

    // 5b. JSON answers are read for their usage and returned byte for byte.
    if reads_response_body(response_type.as_deref()) {
        let bytes = match read_whole_body(upstream.body()).await {
            Ok(b) => b,
            Err(e) => {
                // Upstream broke off mid-body: the call reached upstream, so it is recorded.
                worker::console_error!("upstream body of event {} broke off: {e}", record.id);
                return upstream_failed(env, ctx, record, 502, Outcome::StreamInterrupted, "upstream_interrupted",
                    "The upstream API broke off its answer before the end; the call is recorded.".to_owned())
                .await;
            }
        };
        let done = now();
        if (200..300).contains(&status) {
            if let Some(batch) = BatchBilling::from_response(&bytes) {
                let call = batch.into_call(record.tenant.clone(), record.attribution.clone(), record.key_id.clone());
                record_event(env, ctx, price_call(env, call).await);
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
        out_headers.set("x-llmobserve-pricing-status", event.pricing_status())?;
        if let Some(cost) = event.cost {
            out_headers.set("x-llmobserve-cost-usd", &cost.to_usd_string())?;
        }
        out_headers.append("server-timing", &server_timing(started, fetch_started, done, now()))?;
        record_event(env, ctx, event);
        return Ok(Response::builder().with_status(status).with_headers(out_headers).fixed(bytes));
    }

    // 5c. Anything else (audio, files) streams back untouched; speech is billed by the
    // characters of its request.
    if (200..300).contains(&status) {
        let (rf, source) = call_usage(&record.endpoint, &facts, None);
        record.usage_source = source;
        record.usage = rf.usage;
    }
    record.latency_ms = elapsed_ms(started, headers_at);
    out_headers.append("server-timing", &server_timing(started, fetch_started, headers_at, now()))?;
    record_event(env, ctx, price_call(env, record).await);
    let (_, body) = upstream.into_parts();
    Ok(Response::builder().with_status(status).with_headers(out_headers).body(body))
}

/// A mutable copy of `headers`, made in the runtime.
fn copy_headers(headers: &Headers) -> worker::Result<Headers> {
    Ok(Headers(web_sys::Headers::new_with_headers(&headers.0)?))
}

/// Reads a whole upstream body with one `arrayBuffer()` in the runtime. (`Response::bytes`
/// pulls a `ReadableStream` chunk by chunk through wasm, taking and releasing a reader
/// lock each time: about 0.1 ms of CPU per call in the benchmark's profile.)
async fn read_whole_body(body: &ResponseBody) -> worker::Result<Vec<u8>> {
    let stream = match body {
        ResponseBody::Empty => return Ok(Vec::new()),
        ResponseBody::Body(bytes) => return Ok(bytes.clone()),
        ResponseBody::Stream(stream) => stream,
    };
    let whole = web_sys::Response::new_with_opt_readable_stream(Some(stream))?;
    let buffer = worker::wasm_bindgen_futures::JsFuture::from(whole.array_buffer()?).await?;
    Ok(js_sys::Uint8Array::new(&buffer).to_vec())
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
) -> ApiResult<Response> {
    let id = record.id.clone();
    record.status_code = status;
    record.outcome = outcome;
    record.error = Some(code.to_owned());
    record.latency_ms = elapsed_ms(record.started_at, now());
    record_event(env, ctx, price_call(env, record).await);
    let mut resp = ApiError::new(status, "server_error", code, message).into_response();
    resp.headers_mut().set("x-llmobserve-event-id", &id)?;
    Ok(resp)
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

/// Records the event after the response is sent (`waitUntil`), durably (`ingest`).
fn record_event(env: &Env, ctx: &Context, event: Event) {
    let env = env.clone();
    ctx.wait_until(async move { ingest::deliver(&env, &event).await });
}
