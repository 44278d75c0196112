//! A mock OpenAI upstream for llmobserve's end-to-end tests.
//!
//! It speaks OpenAI's wire format for chat completions, legacy completions and the
//! Responses API (JSON and SSE), embeddings, images, audio, moderations, models, files,
//! batches and fine-tuning jobs; answers every other `/v1/*` request with a small JSON echo;
//! records every `/v1/*` request it receives; and lets a test steer usage, latency, errors
//! and the shape of streams with `x-mock-*` request headers (see `README.md` beside this
//! crate, and [`MOCK_HEADERS`]).

#[macro_use]
pub mod json;
mod audio;
mod chat;
mod completions;
mod embeddings;
mod images;
pub mod multipart;
mod resources;
mod responses;
pub mod sse;

use std::convert::Infallible;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_LENGTH, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::Serialize;
use serde_json::{json, Map, Value};
use tokio::net::TcpListener;

pub use chat::stream_events;
pub use json::{base64_encode, J};
pub use sse::{LineEnding, MockBody, Pieces};

/// The rate limits the mock reports in its `x-ratelimit-*` headers.
pub const RATE_LIMIT_REQUESTS: u64 = 10_000;
/// Token limit reported in `x-ratelimit-limit-tokens`.
pub const RATE_LIMIT_TOKENS: u64 = 30_000_000;
/// Completion tokens when neither a header nor `max_(completion_|output_)tokens` says otherwise.
pub const DEFAULT_COMPLETION_TOKENS: u64 = 16;
/// The `system_fingerprint` of every completion.
pub const SYSTEM_FINGERPRINT: &str = "fp_mock0000";
/// The default reply with `x-mock-split-utf8` (multi-byte characters of 2, 3 and 4 bytes).
pub const UTF8_REPLY: &str = "héllo wörld 日本語 🎉";

/// A response of the mock.
pub type Reply = Response<MockBody>;
/// A handler's result: an early error answer is boxed (it is large).
pub type Answer = Result<Reply, Box<Reply>>;

/// Shared server state: the request log, the counters, uploaded files and batches.
#[derive(Default)]
pub struct State {
    next_seq: AtomicU64,
    next_completion: AtomicU64,
    requests: Mutex<Vec<Recorded>>,
    files: Mutex<Vec<resources::FileObject>>,
    batches: Mutex<Vec<resources::Batch>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A poisoned lock only means another handler panicked mid-update; the data is still usable.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl State {
    fn log(&self) -> MutexGuard<'_, Vec<Recorded>> {
        lock(&self.requests)
    }

    /// Applies `f` to the recorded request `seq`, if it is still in the log.
    pub fn update(&self, seq: u64, f: impl FnOnce(&mut Recorded)) {
        let mut log = self.log();
        if let Ok(i) = log.binary_search_by_key(&seq, |r| r.seq) {
            f(&mut log[i]);
        }
    }
}

/// Accepts connections on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let state = Arc::new(State::default());
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _peer)) => stream,
                    Err(err) => {
                        // Usually EMFILE or a connection reset before accept: back off and go on.
                        eprintln!("mock-openai: accept failed: {err}");
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                };
                // SSE events are small; do not let Nagle hold them back.
                let _ = stream.set_nodelay(true);
                let state = Arc::clone(&state);
                tokio::spawn(async move {
                    let service = service_fn(move |req| handle(Arc::clone(&state), req));
                    // Errors here are client disconnects, malformed requests and the
                    // deliberate aborts of x-mock-drop-after; nothing to do.
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        }
    }
    Ok(())
}

/// Marks a recorded request `client_disconnected` if its handler is dropped before it answers.
struct DisconnectGuard {
    state: Arc<State>,
    seq: u64,
    armed: bool,
}

impl Drop for DisconnectGuard {
    fn drop(&mut self) {
        if self.armed {
            self.state
                .update(self.seq, |r| r.client_disconnected = true);
        }
    }
}

/// Everything a handler needs about one request.
pub struct Ctx {
    /// Server state.
    pub state: Arc<State>,
    /// The `x-mock-*` headers.
    pub mock: MockHeaders,
    /// The request headers.
    pub headers: HeaderMap,
    /// The request body.
    pub body: Bytes,
    /// The query string.
    pub query: Option<String>,
    /// `x-request-id` of the answer.
    pub request_id: String,
    /// When the request arrived.
    pub started: Instant,
    /// The recorded request's sequence number.
    pub seq: u64,
}

impl Ctx {
    /// A JSON answer.
    pub fn respond(&self, status: StatusCode, body: &impl Serialize) -> Reply {
        json_response(status, body, &self.request_id, self.started)
    }

    /// A 200 JSON answer; with `used_tokens`, also the rate-limit headers.
    pub fn ok(&self, body: &J, used_tokens: Option<u64>) -> Answer {
        let mut response = self.respond(StatusCode::OK, body);
        if let Some(tokens) = used_tokens {
            add_rate_limit_headers(response.headers_mut(), RATE_LIMIT_REQUESTS - 1, tokens);
        }
        Ok(response)
    }

    /// An OpenAI-shaped error answer.
    pub fn error(
        &self,
        status: StatusCode,
        message: &str,
        kind: &str,
        param: Option<&str>,
        code: Option<&str>,
    ) -> Box<Reply> {
        let body = ErrorBody {
            error: ErrorDetail {
                message,
                kind,
                param,
                code,
            },
        };
        Box::new(self.respond(status, &body))
    }

    /// A 400 `invalid_request_error`.
    pub fn invalid(&self, message: &str, param: Option<&str>) -> Box<Reply> {
        self.error(
            StatusCode::BAD_REQUEST,
            message,
            "invalid_request_error",
            param,
            None,
        )
    }

    /// The body as a JSON object, or a 400.
    pub fn json_object(&self) -> Result<Value, Box<Reply>> {
        match serde_json::from_slice(&self.body) {
            Ok(v @ Value::Object(_)) => Ok(v),
            Ok(_) => Err(self.invalid("The request body must be a JSON object.", None)),
            Err(err) => Err(self.invalid(
                &format!("We could not parse the JSON body of your request. ({err})"),
                None,
            )),
        }
    }

    /// The body's `model` string, or a 400.
    pub fn model(&self, request: &Value) -> Result<String, Box<Reply>> {
        request
            .get("model")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| self.invalid("you must provide a model parameter", Some("model")))
    }

    /// The body as `multipart/form-data`, or a 400.
    pub fn form(&self) -> Result<multipart::Form, Box<Reply>> {
        let content_type = self
            .headers
            .get(CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .unwrap_or_default();
        multipart::parse(&content_type, &self.body)
            .map_err(|err| self.invalid(&format!("Invalid multipart body: {err}"), None))
    }

    /// An SSE answer streaming `plan`, shaped by the `x-mock-*` headers.
    pub fn stream(&self, plan: sse::StreamPlan, used_tokens: u64) -> Answer {
        let body = sse::spawn_stream(
            plan,
            sse::Shape::from_mock(&self.mock),
            self.mock.no_done,
            sse::Tracker::new(Arc::clone(&self.state), self.seq),
        );
        let mut response = Response::new(body);
        let headers = response.headers_mut();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("text/event-stream; charset=utf-8"),
        );
        headers.insert("cache-control", HeaderValue::from_static("no-cache"));
        add_common_headers(headers, &self.request_id, self.started);
        add_rate_limit_headers(headers, RATE_LIMIT_REQUESTS - 1, used_tokens);
        Ok(response)
    }

    /// Notes the usage this call billed in its recorded request (the mock's own ledger).
    pub fn bill(&self, usage: Usage) {
        let billed = json!({
            "prompt_tokens": usage.prompt,
            "completion_tokens": usage.completion,
            "cached_tokens": usage.cached,
            "reasoning_tokens": usage.reasoning,
        });
        self.state.update(self.seq, |r| r.usage = Some(billed));
    }

    /// The next completion number (1-based; chat, legacy completions and responses share it).
    pub fn next_completion(&self) -> u64 {
        self.state.next_completion.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// The reply text: `x-mock-reply`, else [`UTF8_REPLY`] with `x-mock-split-utf8`, else
    /// `fallback`.
    pub fn reply(&self, fallback: impl FnOnce() -> String) -> String {
        match &self.mock.reply {
            Some(r) => r.clone(),
            None if self.mock.split_utf8 => UTF8_REPLY.to_owned(),
            None => fallback(),
        }
    }
}

/// Routes one request.
pub async fn handle(state: Arc<State>, req: Request<Incoming>) -> Result<Reply, Infallible> {
    let started = Instant::now();
    let (parts, body) = req.into_parts();
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(err) => {
            return Ok(error_response(
                StatusCode::BAD_REQUEST,
                &format!("mock-openai: could not read the request body: {err}"),
                "invalid_request_error",
                None,
                "req_mock_unreadable",
                started,
            ))
        }
    };
    let path = parts.uri.path().to_owned();
    let path_and_query = parts
        .uri
        .path_and_query()
        .map_or_else(|| path.clone(), |pq| pq.as_str().to_owned());

    if let Some(control) = path.strip_prefix("/__mock/") {
        return Ok(control_endpoint(&state, &parts.method, control));
    }

    if path != "/v1" && !path.starts_with("/v1/") {
        return Ok(error_response(
            StatusCode::NOT_FOUND,
            &format!("Invalid URL ({} {})", parts.method, path),
            "invalid_request_error",
            None,
            "req_mock_not_found",
            started,
        ));
    }

    let seq = record(
        &state,
        &parts.method,
        &path_and_query,
        &parts.headers,
        &body,
    );
    let mut guard = DisconnectGuard {
        state: Arc::clone(&state),
        seq,
        armed: true,
    };
    let request_id = format!("req_mock_{seq}");

    let mock = match MockHeaders::parse(&parts.headers) {
        Ok(mock) => mock,
        Err(message) => {
            guard.armed = false;
            return Ok(error_response(
                StatusCode::BAD_REQUEST,
                &message,
                "invalid_request_error",
                None,
                &request_id,
                started,
            ));
        }
    };

    if let Some(latency) = mock.latency {
        tokio::time::sleep(latency).await;
    }

    let ctx = Ctx {
        state,
        mock,
        headers: parts.headers,
        body,
        query: parts.uri.query().map(str::to_owned),
        request_id,
        started,
        seq,
    };

    let response = if let Some(status) = ctx.mock.status {
        injected_error(status, &ctx.mock, &ctx.body, &ctx.request_id, started)
    } else if ctx.mock.garbage {
        garbage(&ctx)
    } else {
        route(&ctx, &parts.method, &path).unwrap_or_else(|e| *e)
    };
    guard.armed = false;
    Ok(truncate_if_asked(response, ctx.mock.drop_after))
}

fn route(ctx: &Ctx, method: &Method, path: &str) -> Answer {
    let post = method == Method::POST;
    let get = method == Method::GET;
    match path {
        "/v1/chat/completions" if post => chat::chat_completions(ctx),
        "/v1/completions" if post => completions::completions(ctx),
        "/v1/responses" if post => responses::responses(ctx),
        "/v1/embeddings" if post => embeddings::embeddings(ctx),
        "/v1/images/generations" if post => images::generations(ctx),
        "/v1/images/edits" if post => images::edits(ctx, false),
        "/v1/images/variations" if post => images::edits(ctx, true),
        "/v1/audio/transcriptions" if post => audio::transcribe(ctx, false),
        "/v1/audio/translations" if post => audio::transcribe(ctx, true),
        "/v1/audio/speech" if post => audio::speech(ctx),
        "/v1/moderations" if post => resources::moderations(ctx),
        "/v1/models" if get => resources::models(ctx),
        "/v1/files" if post => resources::upload_file(ctx),
        "/v1/files" if get => resources::list_files(ctx),
        "/v1/batches" if post => resources::create_batch(ctx),
        "/v1/fine_tuning/jobs" if post => resources::create_fine_tuning_job(ctx),
        _ => {
            let id = |prefix: &str| {
                path.strip_prefix(prefix)
                    .filter(|id| !id.is_empty() && !id.contains('/'))
            };
            if let (true, Some(model)) = (get, id("/v1/models/")) {
                return resources::model(ctx, model);
            }
            if let (true, Some(file)) = (get, id("/v1/files/")) {
                return resources::get_file(ctx, file);
            }
            if let (true, Some(batch)) = (get, id("/v1/batches/")) {
                return resources::get_batch(ctx, batch);
            }
            let echo = Echo {
                object: "mock",
                path,
                query: ctx.query.as_deref(),
                method: method.as_str(),
            };
            Ok(ctx.respond(StatusCode::OK, &echo))
        }
    }
}

/// `x-mock-garbage`: a 200 whose body is neither JSON nor SSE.
fn garbage(ctx: &Ctx) -> Reply {
    let stream = serde_json::from_slice::<Value>(&ctx.body)
        .ok()
        .and_then(|v| v.get("stream").and_then(Value::as_bool))
        .unwrap_or(false);
    let mut body = b"<html><body>502 Bad Gateway (mock-openai garbage)</body></html>\n{\"id\": \"x\", \"choices\": [".to_vec();
    body.extend_from_slice(b"\xff\xfe\x00garbage");
    let mut response = Response::new(MockBody::full(body));
    let content_type = if stream {
        "text/event-stream; charset=utf-8"
    } else {
        "application/json"
    };
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    add_common_headers(headers, &ctx.request_id, ctx.started);
    response
}

/// `x-mock-drop-after` on a complete body: send that many bytes, then abort (the
/// `content-length` announces the whole body).
fn truncate_if_asked(response: Reply, drop_after: Option<u64>) -> Reply {
    let Some(n) = drop_after else {
        return response;
    };
    let (mut parts, body) = response.into_parts();
    match body {
        MockBody::Full(Some(bytes)) => {
            if let Ok(v) = HeaderValue::from_str(&bytes.len().to_string()) {
                parts.headers.insert(CONTENT_LENGTH, v);
            }
            Response::from_parts(parts, sse::truncated(bytes, n))
        }
        other => Response::from_parts(parts, other),
    }
}

fn control_endpoint(state: &State, method: &Method, name: &str) -> Reply {
    let started = Instant::now();
    let id = "req_mock_control";
    match (method, name) {
        (&Method::GET, "requests") => {
            let requests = state.log().clone();
            json_response(
                StatusCode::OK,
                &json!({ "requests": requests }),
                id,
                started,
            )
        }
        (&Method::POST, "reset") => {
            let cleared = {
                let mut log = state.log();
                let n = log.len();
                log.clear();
                n
            };
            lock(&state.files).clear();
            lock(&state.batches).clear();
            json_response(
                StatusCode::OK,
                &json!({ "ok": true, "cleared": cleared }),
                id,
                started,
            )
        }
        (&Method::GET, "health") => {
            json_response(StatusCode::OK, &json!({ "ok": true }), id, started)
        }
        _ => error_response(
            StatusCode::NOT_FOUND,
            &format!("mock-openai: no control endpoint {method} /__mock/{name}"),
            "invalid_request_error",
            None,
            id,
            started,
        ),
    }
}

/// One recorded `/v1/*` request, as `GET /__mock/requests` lists it.
#[derive(Debug, Clone, Serialize)]
pub struct Recorded {
    /// 1-based, in arrival order; never reused, not reset by `/__mock/reset`.
    pub seq: u64,
    /// The HTTP method.
    pub method: String,
    /// Path with the query string, as received.
    pub path: String,
    /// Lower-cased header name -> value (a string, or a list when repeated).
    pub headers: Map<String, Value>,
    /// The body, decoded as UTF-8 (invalid sequences replaced).
    pub body: String,
    /// The body's length in bytes.
    pub body_length: usize,
    /// Wall-clock time of arrival, Unix milliseconds.
    pub received_at_ms: u64,
    /// SSE events handed to the connection so far (0 for non-streaming answers).
    pub stream_events_sent: u64,
    /// Whether the client went away before the answer was complete.
    pub client_disconnected: bool,
    /// The usage the mock billed for this call, as its own ledger: chat completions only
    /// (`{prompt_tokens, completion_tokens, cached_tokens, reasoning_tokens}`), set when
    /// the answer is built, whether or not it then reaches the client whole; `null` for
    /// injected errors, garbage and other endpoints.
    pub usage: Option<Value>,
}

/// Appends a request to the log and returns its sequence number (1-based, never reused,
/// not reset by `/__mock/reset`).
fn record(state: &State, method: &Method, path: &str, headers: &HeaderMap, body: &Bytes) -> u64 {
    let mut names: Map<String, Value> = Map::new();
    for name in headers.keys() {
        let values: Vec<Value> = headers
            .get_all(name)
            .iter()
            .map(|v| Value::String(String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect();
        let value = if values.len() == 1 {
            values.into_iter().next().unwrap_or(Value::Null)
        } else {
            Value::Array(values)
        };
        // HeaderName is always lower-case.
        names.insert(name.as_str().to_owned(), value);
    }
    let mut log = state.log();
    // Taken under the lock, so the log stays sorted by seq.
    let seq = state.next_seq.fetch_add(1, Ordering::SeqCst) + 1;
    log.push(Recorded {
        seq,
        method: method.as_str().to_owned(),
        path: path.to_owned(),
        headers: names,
        body: String::from_utf8_lossy(body).into_owned(),
        body_length: body.len(),
        received_at_ms: unix_millis(),
        stream_events_sent: 0,
        client_disconnected: false,
        usage: None,
    });
    seq
}

/// The `x-mock-*` request headers.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct MockHeaders {
    /// `x-mock-prompt-tokens`
    pub prompt_tokens: Option<u64>,
    /// `x-mock-completion-tokens`
    pub completion_tokens: Option<u64>,
    /// `x-mock-cached-tokens`
    pub cached_tokens: Option<u64>,
    /// `x-mock-reasoning-tokens`
    pub reasoning_tokens: Option<u64>,
    /// `x-mock-image-tokens`: image input tokens of gpt-image edits.
    pub image_tokens: Option<u64>,
    /// `x-mock-audio-seconds`: duration of uploaded audio.
    pub audio_seconds: Option<f64>,
    /// `x-mock-chunk-delay-ms`: pause between SSE events.
    pub chunk_delay: Duration,
    /// `x-mock-latency-ms`: pause before the response headers.
    pub latency: Option<Duration>,
    /// `x-mock-status`: answer with this error status instead.
    pub status: Option<StatusCode>,
    /// `x-mock-retry-after`: the `retry-after` value of an injected 429 (default `1`).
    pub retry_after: Option<String>,
    /// `x-mock-error-type`: overrides `error.type` of an injected error.
    pub error_type: Option<String>,
    /// `x-mock-error-code`: overrides `error.code` of an injected error.
    pub error_code: Option<String>,
    /// `x-mock-reply`: the assistant's reply text (default `mock reply N`).
    pub reply: Option<String>,
    /// `x-mock-tool-call`: chat answers with a call of this function.
    pub tool_call: Option<String>,
    /// `x-mock-stream-chunks`: number of content deltas.
    pub stream_chunks: Option<u64>,
    /// `x-mock-endless`: content deltas until the client goes away.
    pub endless: bool,
    /// `x-mock-split-utf8`: cut the stream's bytes at awkward places.
    pub split_utf8: bool,
    /// `x-mock-line-ending`
    pub line_ending: LineEnding,
    /// `x-mock-data-nospace`: `data:{...}`.
    pub data_nospace: bool,
    /// `x-mock-no-done`: no `data: [DONE]`.
    pub no_done: bool,
    /// `x-mock-drop-after`: abort the connection after this many events (bytes, for JSON).
    pub drop_after: Option<u64>,
    /// `x-mock-garbage`: a 200 that is neither JSON nor SSE.
    pub garbage: bool,
}

impl MockHeaders {
    /// Reads the `x-mock-*` headers; an unparsable value is an error message.
    pub fn parse(headers: &HeaderMap) -> Result<Self, String> {
        let text = |name: &str| -> Result<Option<String>, String> {
            match headers.get(name) {
                None => Ok(None),
                Some(v) => v
                    .to_str()
                    .map(|s| Some(s.trim().to_owned()))
                    .map_err(|_| format!("mock-openai: {name} is not visible ASCII")),
            }
        };
        let int = |name: &str| -> Result<Option<u64>, String> {
            match text(name)? {
                None => Ok(None),
                Some(s) => s.parse::<u64>().map(Some).map_err(|_| {
                    format!("mock-openai: {name} must be a non-negative integer, got {s:?}")
                }),
            }
        };
        let flag = |name: &str| -> Result<bool, String> {
            match text(name)?.as_deref() {
                None | Some("0" | "false") => Ok(false),
                Some("1" | "true") => Ok(true),
                Some(s) => Err(format!(
                    "mock-openai: {name} must be 1, 0, true or false, got {s:?}"
                )),
            }
        };
        let status = match int("x-mock-status")? {
            None | Some(200) => None,
            Some(n) => {
                let code = u16::try_from(n)
                    .ok()
                    .and_then(|n| StatusCode::from_u16(n).ok())
                    .filter(|s| s.is_client_error() || s.is_server_error());
                match code {
                    Some(code) => Some(code),
                    None => {
                        return Err(format!(
                            "mock-openai: x-mock-status must be 200 or an error status (400-599), got {n}"
                        ))
                    }
                }
            }
        };
        let line_ending = match text("x-mock-line-ending")?.as_deref() {
            None | Some("lf") => LineEnding::Lf,
            Some("crlf") => LineEnding::CrLf,
            Some("cr") => LineEnding::Cr,
            Some(s) => {
                return Err(format!(
                    "mock-openai: x-mock-line-ending must be lf, crlf or cr, got {s:?}"
                ))
            }
        };
        let audio_seconds = match text("x-mock-audio-seconds")? {
            None => None,
            Some(s) => match s.parse::<f64>() {
                Ok(x) if x.is_finite() && x >= 0.0 => Some(x),
                _ => {
                    return Err(format!(
                        "mock-openai: x-mock-audio-seconds must be a non-negative number, got {s:?}"
                    ))
                }
            },
        };
        // Header values cannot carry arbitrary UTF-8 as `str`; take these lossily.
        let lossy = |name: &str| {
            headers
                .get(name)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        };
        Ok(MockHeaders {
            prompt_tokens: int("x-mock-prompt-tokens")?,
            completion_tokens: int("x-mock-completion-tokens")?,
            cached_tokens: int("x-mock-cached-tokens")?,
            reasoning_tokens: int("x-mock-reasoning-tokens")?,
            image_tokens: int("x-mock-image-tokens")?,
            audio_seconds,
            chunk_delay: Duration::from_millis(int("x-mock-chunk-delay-ms")?.unwrap_or(0)),
            latency: int("x-mock-latency-ms")?.map(Duration::from_millis),
            status,
            retry_after: text("x-mock-retry-after")?,
            error_type: text("x-mock-error-type")?,
            error_code: text("x-mock-error-code")?,
            reply: lossy("x-mock-reply"),
            tool_call: lossy("x-mock-tool-call")
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty()),
            stream_chunks: int("x-mock-stream-chunks")?,
            endless: flag("x-mock-endless")?,
            split_utf8: flag("x-mock-split-utf8")?,
            line_ending,
            data_nospace: flag("x-mock-data-nospace")?,
            no_done: flag("x-mock-no-done")?,
            drop_after: int("x-mock-drop-after")?,
            garbage: flag("x-mock-garbage")?,
        })
    }
}

/// Token usage of one completion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    /// `usage.prompt_tokens` / `input_tokens`
    pub prompt: u64,
    /// `usage.completion_tokens` / `output_tokens`
    pub completion: u64,
    /// `usage.prompt_tokens_details.cached_tokens`
    pub cached: u64,
    /// `usage.completion_tokens_details.reasoning_tokens`
    pub reasoning: u64,
}

/// The first of `keys` that the request sets to an integer, else [`DEFAULT_COMPLETION_TOKENS`].
pub fn max_tokens(request: &Value, keys: &[&str]) -> u64 {
    keys.iter()
        .find_map(|k| request.get(*k).and_then(Value::as_u64))
        .unwrap_or(DEFAULT_COMPLETION_TOKENS)
}

impl Usage {
    /// The usage for a chat request body and its `x-mock-*` headers.
    pub fn for_request(request: &Value, mock: &MockHeaders) -> Self {
        Usage::with_defaults(
            prompt_bytes(request),
            max_tokens(request, &["max_completion_tokens", "max_tokens"]),
            mock,
        )
    }

    /// The `x-mock-*` headers' usage, with these defaults for prompt and completion tokens.
    pub fn with_defaults(prompt: u64, completion: u64, mock: &MockHeaders) -> Self {
        Usage {
            prompt: mock.prompt_tokens.unwrap_or(prompt),
            completion: mock.completion_tokens.unwrap_or(completion),
            cached: mock.cached_tokens.unwrap_or(0),
            reasoning: mock.reasoning_tokens.unwrap_or(0),
        }
    }

    /// Prompt plus completion.
    pub fn total(self) -> u64 {
        self.prompt.saturating_add(self.completion)
    }

    /// OpenAI's `usage` object, fields in OpenAI's order.
    pub fn wire(self) -> UsageWire {
        UsageWire {
            prompt_tokens: self.prompt,
            completion_tokens: self.completion,
            total_tokens: self.total(),
            prompt_tokens_details: PromptTokensDetails {
                cached_tokens: self.cached,
                audio_tokens: 0,
            },
            completion_tokens_details: CompletionTokensDetails {
                reasoning_tokens: self.reasoning,
                audio_tokens: 0,
                accepted_prediction_tokens: 0,
                rejected_prediction_tokens: 0,
            },
        }
    }

    /// OpenAI's `usage` object as a JSON value.
    pub fn to_json(self) -> Value {
        serde_json::to_value(self.wire()).unwrap_or(Value::Null)
    }

    /// The chat `usage` object.
    pub fn chat_json(self) -> J {
        let w = self.wire();
        obj! {
            "prompt_tokens" => w.prompt_tokens,
            "completion_tokens" => w.completion_tokens,
            "total_tokens" => w.total_tokens,
            "prompt_tokens_details" => obj! {
                "cached_tokens" => w.prompt_tokens_details.cached_tokens,
                "audio_tokens" => w.prompt_tokens_details.audio_tokens,
            },
            "completion_tokens_details" => obj! {
                "reasoning_tokens" => w.completion_tokens_details.reasoning_tokens,
                "audio_tokens" => w.completion_tokens_details.audio_tokens,
                "accepted_prediction_tokens" => w.completion_tokens_details.accepted_prediction_tokens,
                "rejected_prediction_tokens" => w.completion_tokens_details.rejected_prediction_tokens,
            },
        }
    }

    /// The legacy completions `usage`: the three counts, plus the details objects only when
    /// `x-mock-cached-tokens` / `x-mock-reasoning-tokens` ask for them.
    pub fn legacy_json(self, mock: &MockHeaders) -> J {
        let mut fields = vec![
            ("prompt_tokens", J::U(self.prompt)),
            ("completion_tokens", J::U(self.completion)),
            ("total_tokens", J::U(self.total())),
        ];
        if mock.cached_tokens.is_some() {
            fields.push((
                "prompt_tokens_details",
                obj! { "cached_tokens" => self.cached, "audio_tokens" => 0u64 },
            ));
        }
        if mock.reasoning_tokens.is_some() {
            fields.push((
                "completion_tokens_details",
                obj! {
                    "reasoning_tokens" => self.reasoning,
                    "audio_tokens" => 0u64,
                    "accepted_prediction_tokens" => 0u64,
                    "rejected_prediction_tokens" => 0u64,
                },
            ));
        }
        J::O(fields)
    }

    /// The Responses API `usage` object (also used by batches).
    pub fn responses_json(self) -> J {
        obj! {
            "input_tokens" => self.prompt,
            "input_tokens_details" => obj! { "cached_tokens" => self.cached },
            "output_tokens" => self.completion,
            "output_tokens_details" => obj! { "reasoning_tokens" => self.reasoning },
            "total_tokens" => self.total(),
        }
    }
}

/// OpenAI's `usage` object.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct UsageWire {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub total_tokens: u64,
    pub prompt_tokens_details: PromptTokensDetails,
    pub completion_tokens_details: CompletionTokensDetails,
}

/// `usage.prompt_tokens_details`
#[derive(Debug, Clone, Copy, Serialize)]
pub struct PromptTokensDetails {
    pub cached_tokens: u64,
    pub audio_tokens: u64,
}

/// `usage.completion_tokens_details`
#[derive(Debug, Clone, Copy, Serialize)]
pub struct CompletionTokensDetails {
    pub reasoning_tokens: u64,
    pub audio_tokens: u64,
    pub accepted_prediction_tokens: u64,
    pub rejected_prediction_tokens: u64,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: ErrorDetail<'a>,
}

#[derive(Serialize)]
struct ErrorDetail<'a> {
    message: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    param: Option<&'a str>,
    code: Option<&'a str>,
}

#[derive(Serialize)]
struct Echo<'a> {
    object: &'static str,
    path: &'a str,
    query: Option<&'a str>,
    method: &'a str,
}

/// The default prompt token count: the UTF-8 byte length of every message's content
/// (string content, or the `text` of each part of array content).
pub fn prompt_bytes(request: &Value) -> u64 {
    let Some(messages) = request.get("messages").and_then(Value::as_array) else {
        return 0;
    };
    let mut total: u64 = 0;
    for message in messages {
        match message.get("content") {
            Some(Value::String(s)) => total = total.saturating_add(s.len() as u64),
            Some(Value::Array(parts)) => {
                for part in parts {
                    if let Some(text) = part.get("text").and_then(Value::as_str) {
                        total = total.saturating_add(text.len() as u64);
                    }
                }
            }
            _ => {}
        }
    }
    total
}

/// UTF-8 bytes of a string, or of every string (and one per integer token) of an array,
/// recursively: the default token count of `prompt` / `input` fields.
pub fn text_bytes(value: &Value) -> u64 {
    match value {
        Value::String(s) => s.len() as u64,
        Value::Number(_) => 1,
        Value::Array(items) => items.iter().map(text_bytes).fold(0, u64::saturating_add),
        _ => 0,
    }
}

/// Splits text into word pieces that keep their leading whitespace, like a tokenizer's
/// deltas: `"mock reply 1"` -> `["mock", " reply", " 1"]`.
pub fn split_words(text: &str) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut start = 0;
    let mut in_word = false;
    for (i, c) in text.char_indices() {
        if c.is_whitespace() {
            if in_word && i > start {
                pieces.push(&text[start..i]);
                start = i;
            }
            in_word = false;
        } else {
            in_word = true;
        }
    }
    if start < text.len() {
        pieces.push(&text[start..]);
    }
    pieces
}

fn injected_error(
    status: StatusCode,
    mock: &MockHeaders,
    body: &Bytes,
    request_id: &str,
    started: Instant,
) -> Response<MockBody> {
    let model = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("model").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_else(|| "gpt-4o-mini".to_owned());
    let (message, kind, code): (String, &str, Option<&str>) = match status.as_u16() {
        429 => (
            format!(
                "Rate limit reached for {model} in organization org-mock on requests per min (RPM): \
                 Limit {RATE_LIMIT_REQUESTS}, Used {RATE_LIMIT_REQUESTS}, Requested 1. \
                 Please try again in 1s. (injected by mock-openai)"
            ),
            "requests",
            Some("rate_limit_exceeded"),
        ),
        400 => (
            "Invalid request (injected by mock-openai).".to_owned(),
            "invalid_request_error",
            None,
        ),
        401 => (
            "Incorrect API key provided (injected by mock-openai).".to_owned(),
            "invalid_request_error",
            Some("invalid_api_key"),
        ),
        403 => (
            "You are not allowed to perform this request (injected by mock-openai).".to_owned(),
            "invalid_request_error",
            None,
        ),
        404 => (
            format!("The model `{model}` does not exist or you do not have access to it (injected by mock-openai)."),
            "invalid_request_error",
            Some("model_not_found"),
        ),
        503 => (
            "The engine is currently overloaded, please try again later (injected by mock-openai).".to_owned(),
            "server_error",
            None,
        ),
        n if n >= 500 => (
            "The server had an error while processing your request. Sorry about that! (injected by mock-openai)".to_owned(),
            "server_error",
            None,
        ),
        n => (
            format!("Request failed with status {n} (injected by mock-openai)."),
            "invalid_request_error",
            None,
        ),
    };
    let kind = mock.error_type.as_deref().unwrap_or(kind);
    let code = match mock.error_code.as_deref() {
        Some(c) => Some(c),
        None => code,
    };
    let mut response = error_response(status, &message, kind, code, request_id, started);
    if status == StatusCode::TOO_MANY_REQUESTS {
        let headers = response.headers_mut();
        let retry_after = mock.retry_after.as_deref().unwrap_or("1");
        if let Ok(v) = HeaderValue::from_str(retry_after) {
            headers.insert("retry-after", v);
        }
        add_rate_limit_headers(headers, 0, 0);
        headers.insert("x-ratelimit-reset-requests", HeaderValue::from_static("1s"));
    }
    response
}

fn error_response(
    status: StatusCode,
    message: &str,
    kind: &str,
    code: Option<&str>,
    request_id: &str,
    started: Instant,
) -> Response<MockBody> {
    let body = ErrorBody {
        error: ErrorDetail {
            message,
            kind,
            param: None,
            code,
        },
    };
    json_response(status, &body, request_id, started)
}

fn json_response(
    status: StatusCode,
    body: &impl Serialize,
    request_id: &str,
    started: Instant,
) -> Response<MockBody> {
    let mut response = Response::new(MockBody::full(to_json_string(body)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    add_common_headers(headers, request_id, started);
    response
}

pub(crate) fn add_common_headers(headers: &mut HeaderMap, request_id: &str, started: Instant) {
    insert(headers, "x-request-id", request_id);
    insert(
        headers,
        "openai-processing-ms",
        &started.elapsed().as_millis().to_string(),
    );
    headers.insert("openai-version", HeaderValue::from_static("2020-10-01"));
    headers.insert("openai-organization", HeaderValue::from_static("org-mock"));
}

fn add_rate_limit_headers(headers: &mut HeaderMap, remaining_requests: u64, used_tokens: u64) {
    insert(
        headers,
        "x-ratelimit-limit-requests",
        &RATE_LIMIT_REQUESTS.to_string(),
    );
    insert(
        headers,
        "x-ratelimit-remaining-requests",
        &remaining_requests.to_string(),
    );
    insert(
        headers,
        "x-ratelimit-limit-tokens",
        &RATE_LIMIT_TOKENS.to_string(),
    );
    let remaining_tokens = if remaining_requests == 0 {
        0
    } else {
        RATE_LIMIT_TOKENS.saturating_sub(used_tokens)
    };
    insert(
        headers,
        "x-ratelimit-remaining-tokens",
        &remaining_tokens.to_string(),
    );
    headers.insert(
        "x-ratelimit-reset-requests",
        HeaderValue::from_static("6ms"),
    );
    headers.insert("x-ratelimit-reset-tokens", HeaderValue::from_static("0s"));
}

fn insert(headers: &mut HeaderMap, name: &'static str, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(HeaderName::from_static(name), value);
    }
}

fn to_json_string(value: &impl Serialize) -> String {
    // Only maps with non-string keys fail to serialize; none of the mock's types have them.
    serde_json::to_string(value)
        .unwrap_or_else(|err| format!("{{\"error\":\"mock-openai: serialization failed: {err}\"}}"))
}

/// Wall-clock Unix seconds.
pub fn unix_secs() -> u64 {
    unix_millis() / 1000
}

fn unix_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Command-line options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Port to bind on 127.0.0.1; 0 picks a free one.
    pub port: u16,
}

/// Usage text for `--help` and argument errors.
pub const USAGE: &str = "usage: mock-openai [--port N]   (N = 0 picks a free port; default 0)";

/// Parses the command line (without the program name). `Ok(None)` means `--help`.
pub fn parse_args<I: IntoIterator<Item = String>>(args: I) -> Result<Option<Options>, String> {
    let mut port: u16 = 0;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let value = if arg == "--port" || arg == "-p" {
            args.next()
                .ok_or_else(|| format!("{arg} needs a value\n{USAGE}"))?
        } else if let Some(v) = arg.strip_prefix("--port=") {
            v.to_owned()
        } else if arg == "--help" || arg == "-h" {
            return Ok(None);
        } else {
            return Err(format!("unknown argument {arg:?}\n{USAGE}"));
        };
        port = value
            .parse()
            .map_err(|_| format!("--port must be 0-65535, got {value:?}\n{USAGE}"))?;
    }
    Ok(Some(Options { port }))
}

/// The request headers the mock reacts to, with what each controls (shown by `--help`).
pub const MOCK_HEADERS: &[(&str, &str)] = &[
    (
        "x-mock-prompt-tokens",
        "usage.prompt_tokens / input_tokens (default: UTF-8 bytes of the prompt text)",
    ),
    (
        "x-mock-completion-tokens",
        "usage.completion_tokens / output_tokens (default: max_*tokens, else 16)",
    ),
    (
        "x-mock-cached-tokens",
        "usage.prompt_tokens_details.cached_tokens (default 0)",
    ),
    (
        "x-mock-reasoning-tokens",
        "usage.completion_tokens_details.reasoning_tokens (default 0)",
    ),
    (
        "x-mock-chunk-delay-ms",
        "pause between SSE events (default 0)",
    ),
    (
        "x-mock-latency-ms",
        "pause before the response headers (default 0)",
    ),
    (
        "x-mock-status",
        "answer with an OpenAI-shaped error of this status (400-599)",
    ),
    (
        "x-mock-retry-after",
        "retry-after of an injected 429 (default 1)",
    ),
    ("x-mock-error-type", "error.type of an injected error"),
    ("x-mock-error-code", "error.code of an injected error"),
    (
        "x-mock-reply",
        "the assistant's reply text (default \"mock reply N\")",
    ),
    (
        "x-mock-tool-call",
        "chat answers with a call of this function (arguments {\"input\": reply})",
    ),
    (
        "x-mock-image-tokens",
        "gpt-image usage image_tokens (default 100 per uploaded image)",
    ),
    (
        "x-mock-audio-seconds",
        "seconds of uploaded audio (default: file bytes / 16000, at least 1)",
    ),
    (
        "x-mock-stream-chunks",
        "number of content deltas (default: one per word of the reply)",
    ),
    (
        "x-mock-endless",
        "1: content deltas until the client goes away",
    ),
    (
        "x-mock-split-utf8",
        "1: cut the stream at awkward places (default reply \"héllo wörld 日本語 🎉\")",
    ),
    ("x-mock-line-ending", "lf (default), crlf or cr"),
    ("x-mock-data-nospace", "1: data:{...} without the space"),
    ("x-mock-no-done", "1: no data: [DONE]"),
    (
        "x-mock-drop-after",
        "send N events (N bytes of a JSON answer), then abort the connection",
    ),
    (
        "x-mock-garbage",
        "1: a 200 whose body is neither JSON nor SSE",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompt_bytes_counts_string_and_text_parts() {
        let req = json!({
            "messages": [
                {"role": "system", "content": "abc"},
                {"role": "user", "content": [
                    {"type": "text", "text": "héllo"},
                    {"type": "image_url", "image_url": {"url": "http://x"}}
                ]},
                {"role": "assistant", "content": null}
            ]
        });
        assert_eq!(prompt_bytes(&req), 3 + 6);
        assert_eq!(prompt_bytes(&json!({})), 0);
    }

    #[test]
    fn usage_defaults_and_overrides() {
        let req = json!({"messages": [{"role": "user", "content": "hi"}], "max_tokens": 7});
        let u = Usage::for_request(&req, &MockHeaders::default());
        assert_eq!(
            u,
            Usage {
                prompt: 2,
                completion: 7,
                cached: 0,
                reasoning: 0
            }
        );
        let req = json!({"messages": [], "max_completion_tokens": 9, "max_tokens": 7});
        assert_eq!(
            Usage::for_request(&req, &MockHeaders::default()).completion,
            9
        );
        let req = json!({"messages": []});
        assert_eq!(
            Usage::for_request(&req, &MockHeaders::default()).completion,
            DEFAULT_COMPLETION_TOKENS
        );
        let mock = MockHeaders {
            prompt_tokens: Some(100),
            completion_tokens: Some(50),
            cached_tokens: Some(20),
            reasoning_tokens: Some(10),
            ..MockHeaders::default()
        };
        let u = Usage::for_request(&req, &mock);
        assert_eq!(u.to_json()["total_tokens"], 150);
        assert_eq!(u.to_json()["prompt_tokens_details"]["cached_tokens"], 20);
        assert_eq!(
            u.to_json()["completion_tokens_details"]["reasoning_tokens"],
            10
        );
    }

    #[test]
    fn split_words_keeps_leading_spaces() {
        assert_eq!(split_words("mock reply 1"), vec!["mock", " reply", " 1"]);
        assert_eq!(split_words(" a  b"), vec![" a", "  b"]);
        assert_eq!(split_words(""), Vec::<&str>::new());
        assert_eq!(split_words("one").concat(), "one");
        let s = "héllo wörld, ok ";
        assert_eq!(split_words(s).concat(), s);
    }

    #[test]
    fn mock_headers_reject_bad_values() {
        let mut h = HeaderMap::new();
        h.insert("x-mock-prompt-tokens", HeaderValue::from_static("abc"));
        assert!(MockHeaders::parse(&h).is_err());
        let mut h = HeaderMap::new();
        h.insert("x-mock-status", HeaderValue::from_static("302"));
        assert!(MockHeaders::parse(&h).is_err());
        let mut h = HeaderMap::new();
        h.insert("x-mock-status", HeaderValue::from_static("200"));
        assert_eq!(MockHeaders::parse(&h).map(|m| m.status), Ok(None));
        h.insert("x-mock-status", HeaderValue::from_static("503"));
        assert_eq!(
            MockHeaders::parse(&h).map(|m| m.status),
            Ok(Some(StatusCode::SERVICE_UNAVAILABLE))
        );
    }

    #[test]
    fn args() {
        let a = |v: &[&str]| parse_args(v.iter().map(|s| (*s).to_owned()));
        assert_eq!(a(&[]), Ok(Some(Options { port: 0 })));
        assert_eq!(a(&["--port", "8080"]), Ok(Some(Options { port: 8080 })));
        assert_eq!(a(&["--port=0"]), Ok(Some(Options { port: 0 })));
        assert_eq!(a(&["--help"]), Ok(None));
        assert!(a(&["--port"]).is_err());
        assert!(a(&["--port", "70000"]).is_err());
        assert!(a(&["--bogus"]).is_err());
    }

    #[test]
    fn stream_events_shape() {
        let usage = Usage {
            prompt: 1,
            completion: 2,
            cached: 0,
            reasoning: 0,
        };
        let without = stream_events("c", 1, "m", "a b", usage, false);
        assert_eq!(without.len(), 1 + 2 + 1 + 1);
        assert!(without
            .iter()
            .all(|e| !String::from_utf8_lossy(e).contains("usage")));
        let with = stream_events("c", 1, "m", "a b", usage, true);
        assert_eq!(with.len(), without.len() + 1);
        assert_eq!(with.last().map(|b| &b[..]), Some(&b"data: [DONE]\n\n"[..]));
    }
}
