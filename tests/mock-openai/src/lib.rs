//! A mock OpenAI upstream for llmobserve's end-to-end tests.
//!
//! It speaks OpenAI's wire format for `POST /v1/chat/completions` (JSON and SSE), answers
//! every other `/v1/*` request with a small JSON echo, records every `/v1/*` request it
//! receives, and lets a test steer usage, latency and errors with `x-mock-*` request
//! headers (see `README.md` beside this crate, and [`MOCK_HEADERS`]).

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::Serialize;
use serde_json::{json, Map, Value};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// The rate limits the mock reports in its `x-ratelimit-*` headers.
pub const RATE_LIMIT_REQUESTS: u64 = 10_000;
/// Token limit reported in `x-ratelimit-limit-tokens`.
pub const RATE_LIMIT_TOKENS: u64 = 30_000_000;
/// Completion tokens when neither a header nor `max_(completion_)tokens` says otherwise.
pub const DEFAULT_COMPLETION_TOKENS: u64 = 16;
/// The `system_fingerprint` of every completion.
pub const SYSTEM_FINGERPRINT: &str = "fp_mock0000";

/// Shared server state: the request log and the counters.
#[derive(Default)]
pub struct State {
    next_seq: AtomicU64,
    next_completion: AtomicU64,
    requests: Mutex<Vec<Recorded>>,
}

impl State {
    fn log(&self) -> MutexGuard<'_, Vec<Recorded>> {
        // A poisoned lock only means another handler panicked mid-push; the log is still usable.
        self.requests
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A response body: either a complete buffer (sent with `content-length`) or a channel of
/// chunks (sent with chunked transfer encoding, one chunk per message).
pub enum MockBody {
    /// A complete body; `None` once it has been sent.
    Full(Option<Bytes>),
    /// A streamed body; ends when the sender is dropped.
    Channel(mpsc::Receiver<Bytes>),
}

impl MockBody {
    fn full(bytes: impl Into<Bytes>) -> Self {
        MockBody::Full(Some(bytes.into()))
    }
}

impl Body for MockBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.get_mut() {
            MockBody::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            MockBody::Channel(rx) => rx.poll_recv(cx).map(|o| o.map(|b| Ok(Frame::data(b)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, MockBody::Full(None))
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            MockBody::Full(Some(b)) => SizeHint::with_exact(b.len() as u64),
            MockBody::Full(None) => SizeHint::with_exact(0),
            MockBody::Channel(_) => SizeHint::default(),
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
                    // Errors here are client disconnects and malformed requests; nothing to do.
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        }
    }
    Ok(())
}

/// Routes one request.
pub async fn handle(
    state: Arc<State>,
    req: Request<Incoming>,
) -> Result<Response<MockBody>, Infallible> {
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
    let request_id = format!("req_mock_{seq}");

    let mock = match MockHeaders::parse(&parts.headers) {
        Ok(mock) => mock,
        Err(message) => {
            return Ok(error_response(
                StatusCode::BAD_REQUEST,
                &message,
                "invalid_request_error",
                None,
                &request_id,
                started,
            ))
        }
    };

    if let Some(latency) = mock.latency {
        tokio::time::sleep(latency).await;
    }

    if let Some(status) = mock.status {
        return Ok(injected_error(status, &mock, &body, &request_id, started));
    }

    if parts.method == Method::POST && path == "/v1/chat/completions" {
        return Ok(chat_completions(&state, &mock, &body, &request_id, started));
    }

    let echo = Echo {
        object: "mock",
        path: &path,
        query: parts.uri.query(),
        method: parts.method.as_str(),
    };
    Ok(json_response(StatusCode::OK, &echo, &request_id, started))
}

fn control_endpoint(state: &State, method: &Method, name: &str) -> Response<MockBody> {
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
}

/// Appends a request to the log and returns its sequence number (1-based, never reused,
/// not reset by `/__mock/reset`).
fn record(state: &State, method: &Method, path: &str, headers: &HeaderMap, body: &Bytes) -> u64 {
    let seq = state.next_seq.fetch_add(1, Ordering::SeqCst) + 1;
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
    let entry = Recorded {
        seq,
        method: method.as_str().to_owned(),
        path: path.to_owned(),
        headers: names,
        body: String::from_utf8_lossy(body).into_owned(),
        body_length: body.len(),
        received_at_ms: unix_millis(),
    };
    state.log().push(entry);
    seq
}

/// The `x-mock-*` request headers.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct MockHeaders {
    /// `x-mock-prompt-tokens`
    pub prompt_tokens: Option<u64>,
    /// `x-mock-completion-tokens`
    pub completion_tokens: Option<u64>,
    /// `x-mock-cached-tokens`
    pub cached_tokens: Option<u64>,
    /// `x-mock-reasoning-tokens`
    pub reasoning_tokens: Option<u64>,
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
        // Header values cannot carry arbitrary UTF-8 as `str`; take the reply lossily.
        let reply = headers
            .get("x-mock-reply")
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        Ok(MockHeaders {
            prompt_tokens: int("x-mock-prompt-tokens")?,
            completion_tokens: int("x-mock-completion-tokens")?,
            cached_tokens: int("x-mock-cached-tokens")?,
            reasoning_tokens: int("x-mock-reasoning-tokens")?,
            chunk_delay: Duration::from_millis(int("x-mock-chunk-delay-ms")?.unwrap_or(0)),
            latency: int("x-mock-latency-ms")?.map(Duration::from_millis),
            status,
            retry_after: text("x-mock-retry-after")?,
            error_type: text("x-mock-error-type")?,
            error_code: text("x-mock-error-code")?,
            reply,
        })
    }
}

/// Token usage of one completion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    /// `usage.prompt_tokens`
    pub prompt: u64,
    /// `usage.completion_tokens`
    pub completion: u64,
    /// `usage.prompt_tokens_details.cached_tokens`
    pub cached: u64,
    /// `usage.completion_tokens_details.reasoning_tokens`
    pub reasoning: u64,
}

impl Usage {
    /// The usage for a request body and its `x-mock-*` headers.
    pub fn for_request(request: &Value, mock: &MockHeaders) -> Self {
        let completion_default = ["max_completion_tokens", "max_tokens"]
            .iter()
            .find_map(|k| request.get(*k).and_then(Value::as_u64))
            .unwrap_or(DEFAULT_COMPLETION_TOKENS);
        Usage {
            prompt: mock.prompt_tokens.unwrap_or_else(|| prompt_bytes(request)),
            completion: mock.completion_tokens.unwrap_or(completion_default),
            cached: mock.cached_tokens.unwrap_or(0),
            reasoning: mock.reasoning_tokens.unwrap_or(0),
        }
    }

    /// OpenAI's `usage` object, fields in OpenAI's order.
    pub fn wire(self) -> UsageWire {
        UsageWire {
            prompt_tokens: self.prompt,
            completion_tokens: self.completion,
            total_tokens: self.prompt.saturating_add(self.completion),
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
struct ChatCompletion<'a> {
    id: &'a str,
    object: &'static str,
    created: u64,
    model: &'a str,
    choices: [CompletionChoice<'a>; 1],
    usage: UsageWire,
    service_tier: &'static str,
    system_fingerprint: &'static str,
}

#[derive(Serialize)]
struct CompletionChoice<'a> {
    index: u32,
    message: AssistantMessage<'a>,
    logprobs: Option<()>,
    finish_reason: &'static str,
}

#[derive(Serialize)]
struct AssistantMessage<'a> {
    role: &'static str,
    content: &'a str,
    refusal: Option<&'a str>,
    annotations: [(); 0],
}

#[derive(Serialize)]
struct ChatCompletionChunk<'a> {
    id: &'a str,
    object: &'static str,
    created: u64,
    model: &'a str,
    service_tier: &'static str,
    system_fingerprint: &'static str,
    choices: Vec<ChunkChoice<'a>>,
    /// Absent without `stream_options.include_usage`; `null` on every chunk but the last with it.
    #[serde(skip_serializing_if = "Option::is_none")]
    usage: Option<Option<UsageWire>>,
}

#[derive(Serialize)]
struct ChunkChoice<'a> {
    index: u32,
    delta: Delta<'a>,
    logprobs: Option<()>,
    finish_reason: Option<&'static str>,
}

#[derive(Serialize, Default)]
struct Delta<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    refusal: Option<Option<&'a str>>,
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

fn chat_completions(
    state: &State,
    mock: &MockHeaders,
    body: &Bytes,
    request_id: &str,
    started: Instant,
) -> Response<MockBody> {
    let request: Value = match serde_json::from_slice(body) {
        Ok(v @ Value::Object(_)) => v,
        Ok(_) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                "The request body must be a JSON object.",
                "invalid_request_error",
                None,
                request_id,
                started,
            )
        }
        Err(err) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                &format!("We could not parse the JSON body of your request. ({err})"),
                "invalid_request_error",
                None,
                request_id,
                started,
            )
        }
    };
    let Some(model) = request.get("model").and_then(Value::as_str) else {
        return error_response(
            StatusCode::BAD_REQUEST,
            "you must provide a model parameter",
            "invalid_request_error",
            None,
            request_id,
            started,
        );
    };
    let model = model.to_owned();
    let n = state.next_completion.fetch_add(1, Ordering::SeqCst) + 1;
    let id = format!("chatcmpl-mock-{n}");
    let created = unix_millis() / 1000;
    let content = mock
        .reply
        .clone()
        .unwrap_or_else(|| format!("mock reply {n}"));
    let usage = Usage::for_request(&request, mock);
    let stream = request
        .get("stream")
        .and_then(Value::as_bool)
        .unwrap_or(false);

    if !stream {
        let completion = ChatCompletion {
            id: &id,
            object: "chat.completion",
            created,
            model: &model,
            choices: [CompletionChoice {
                index: 0,
                message: AssistantMessage {
                    role: "assistant",
                    content: &content,
                    refusal: None,
                    annotations: [],
                },
                logprobs: None,
                finish_reason: "stop",
            }],
            usage: usage.wire(),
            service_tier: "default",
            system_fingerprint: SYSTEM_FINGERPRINT,
        };
        let mut response = json_response(StatusCode::OK, &completion, request_id, started);
        add_rate_limit_headers(
            response.headers_mut(),
            RATE_LIMIT_REQUESTS - 1,
            usage.prompt,
        );
        return response;
    }

    let include_usage = request
        .get("stream_options")
        .and_then(|o| o.get("include_usage"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let events = stream_events(&id, created, &model, &content, usage, include_usage);

    let (tx, rx) = mpsc::channel::<Bytes>(4);
    let delay = mock.chunk_delay;
    tokio::spawn(async move {
        for (i, event) in events.into_iter().enumerate() {
            if i > 0 && !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            if tx.send(event).await.is_err() {
                // The client went away.
                return;
            }
        }
    });

    let mut response = Response::new(MockBody::Channel(rx));
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream; charset=utf-8"),
    );
    headers.insert("cache-control", HeaderValue::from_static("no-cache"));
    add_common_headers(headers, request_id, started);
    add_rate_limit_headers(headers, RATE_LIMIT_REQUESTS - 1, usage.prompt);
    response
}

/// The SSE events of a streamed completion, each a complete `data: ...\n\n` line.
pub fn stream_events<'a>(
    id: &'a str,
    created: u64,
    model: &'a str,
    content: &'a str,
    usage: Usage,
    include_usage: bool,
) -> Vec<Bytes> {
    let chunk = |choices: Vec<ChunkChoice<'a>>, usage: Option<UsageWire>| ChatCompletionChunk {
        id,
        object: "chat.completion.chunk",
        created,
        model,
        service_tier: "default",
        system_fingerprint: SYSTEM_FINGERPRINT,
        choices,
        usage: include_usage.then_some(usage),
    };
    let choice = |delta, finish_reason| {
        vec![ChunkChoice {
            index: 0,
            delta,
            logprobs: None,
            finish_reason,
        }]
    };
    let first = Delta {
        role: Some("assistant"),
        content: Some(""),
        refusal: Some(None),
    };
    let mut chunks = vec![chunk(choice(first, None), None)];
    for piece in split_words(content) {
        let delta = Delta {
            content: Some(piece),
            ..Delta::default()
        };
        chunks.push(chunk(choice(delta, None), None));
    }
    chunks.push(chunk(choice(Delta::default(), Some("stop")), None));
    if include_usage {
        chunks.push(chunk(Vec::new(), Some(usage.wire())));
    }
    let mut events: Vec<Bytes> = chunks
        .iter()
        .map(|c| Bytes::from(format!("data: {}\n\n", to_json_string(c))))
        .collect();
    events.push(Bytes::from_static(b"data: [DONE]\n\n"));
    events
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

fn add_common_headers(headers: &mut HeaderMap, request_id: &str, started: Instant) {
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
        "usage.prompt_tokens (default: UTF-8 bytes of message content)",
    ),
    (
        "x-mock-completion-tokens",
        "usage.completion_tokens (default: max_completion_tokens, max_tokens, else 16)",
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
