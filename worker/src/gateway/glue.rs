//! The few steps of a gateway call done in JavaScript because crossing into the runtime
//! once is cheaper than crossing for each piece (the benchmark's CPU profile:
//! `bench/profile.mjs`): splitting a request's headers into those that go upstream and
//! those the gateway reads, in one pass, by core's rules passed as data; the exchange
//! with upstream as one awaited call: the fetch raced against its deadline without a Rust
//! timer (whose closure costs a crossing to set, another to clear, and another to free),
//! the response's headers copied minus the dropped ones and the few the gateway wants read
//! without iterating them, and a JSON body read whole;
//! keeping bodies as JavaScript bytes that wasm reads but never copies back; and moving a
//! stream's chunks in and out with one call each.

use llmobserve_core::gateway::{self, UpstreamFacts};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use worker::wasm_bindgen_futures::JsFuture;

#[wasm_bindgen(inline_js = r#"
const matches = (name, names, prefixes) => names.includes(name) || prefixes.some((p) => name.startsWith(p));
export function split_request_headers(headers, dropNames, dropPrefixes, readNames, readPrefixes) {
  const forward = new Headers(headers);
  let read = '';
  for (const [k, v] of headers) {
    if (matches(k, readNames, readPrefixes)) read += k + '\n' + v + '\n';
    if (matches(k, dropNames, dropPrefixes)) forward.delete(k);
  }
  return [forward, read];
}
function copy_response_headers(headers, dropNames, readNames) {
  const out = new Headers(headers);
  for (const n of dropNames) out.delete(n);
  let read = '';
  for (const n of readNames) {
    const v = headers.get(n);
    if (v !== null) read += n + '\n' + v + '\n';
  }
  return [out, read];
}
export function read_bytes(message) {
  return message.arrayBuffer().then((b) => new Uint8Array(b));
}
export function respond(body, status, headers, set, timing) {
  const parts = set.split('\n');
  for (let i = 0; i + 1 < parts.length; i += 2) headers.set(parts[i], parts[i + 1]);
  headers.append('server-timing', timing);
  // A status that cannot have a body (204, 304...) must get none, not an empty one.
  if (body instanceof Uint8Array && body.length === 0) body = null;
  return new Response(body, { status, headers });
}
export function reader_of(stream) {
  return stream.getReader();
}
export function read_chunk(reader) {
  return reader.read().then((r) => (r.done ? null : r.value));
}
export function client_stream() {
  const out = {};
  out.stream = new ReadableStream({
    start(c) { out.controller = c; },
    cancel() { out.cancelled = true; },
  });
  return out;
}
export function client_readable(out) {
  return out.stream;
}
export function push_chunk(out, bytes) {
  if (out.cancelled) return false;
  try { out.controller.enqueue(bytes.slice()); return true; } catch { return false; }
}
export function close_client(out) {
  try { out.controller.close(); } catch {}
}
export async function exchange(url, method, headers, body, ms, dropNames, readNames, jsonPrefixes, jsonSuffixes) {
  const controller = new AbortController();
  const init = { method, headers, redirect: 'manual', signal: controller.signal };
  if (body !== undefined) init.body = body;
  let timer;
  const late = new Promise((resolve) => { timer = setTimeout(() => resolve(null), ms); });
  let response;
  try {
    response = await Promise.race([fetch(url, init), late]);
  } finally {
    clearTimeout(timer);
  }
  if (response === null) {
    controller.abort();
    return null;
  }
  const headersAt = Date.now();
  const [out, read] = copy_response_headers(response.headers, dropNames, readNames);
  const ct = (response.headers.get('content-type') ?? '').trim().toLowerCase();
  const json = jsonPrefixes.some((p) => ct.startsWith(p)) || jsonSuffixes.some((x) => ct.endsWith(x));
  const answer = { response, controller, status: response.status, out, read, headersAt, body: undefined, bodyError: undefined };
  if (json) {
    try {
      answer.body = new Uint8Array(await response.arrayBuffer());
    } catch (e) {
      answer.bodyError = String(e);
    }
  }
  return answer;
}
"#)]
extern "C" {
    fn split_request_headers(
        headers: &web_sys::Headers,
        drop_names: &js_sys::Array,
        drop_prefixes: &js_sys::Array,
        read_names: &js_sys::Array,
        read_prefixes: &js_sys::Array,
    ) -> js_sys::Array;
    fn read_bytes(message: &JsValue) -> js_sys::Promise;
    #[wasm_bindgen(catch)]
    fn respond(body: &JsValue, status: u16, headers: &web_sys::Headers, set: &str, timing: &str) -> Result<web_sys::Response, JsValue>;
    #[allow(clippy::too_many_arguments)]
    fn exchange(
        url: &str,
        method: &str,
        headers: &web_sys::Headers,
        body: &JsValue,
        ms: f64,
        drop_names: &js_sys::Array,
        read_names: &js_sys::Array,
        json_prefixes: &js_sys::Array,
        json_suffixes: &js_sys::Array,
    ) -> js_sys::Promise;
    pub type Exchange;
    #[wasm_bindgen(method, getter)]
    fn response(this: &Exchange) -> web_sys::Response;
    /// Aborts the upstream request (a stream whose client went away).
    #[wasm_bindgen(method, getter)]
    pub fn controller(this: &Exchange) -> web_sys::AbortController;
    #[wasm_bindgen(method, getter)]
    fn status(this: &Exchange) -> u16;
    #[wasm_bindgen(method, getter)]
    fn out(this: &Exchange) -> web_sys::Headers;
    #[wasm_bindgen(method, getter)]
    fn read(this: &Exchange) -> String;
    #[wasm_bindgen(method, getter, js_name = headersAt)]
    fn headers_at(this: &Exchange) -> f64;
    #[wasm_bindgen(method, getter)]
    fn body(this: &Exchange) -> Option<js_sys::Uint8Array>;
    #[wasm_bindgen(method, getter, js_name = bodyError)]
    fn body_error(this: &Exchange) -> Option<String>;
    fn reader_of(stream: &web_sys::ReadableStream) -> JsValue;
    fn read_chunk(reader: &JsValue) -> js_sys::Promise;
    fn client_stream() -> JsValue;
    fn client_readable(out: &JsValue) -> web_sys::ReadableStream;
    fn push_chunk(out: &JsValue, bytes: &[u8]) -> bool;
    fn close_client(out: &JsValue);
}

/// Reads a byte stream one chunk at a time through one JavaScript call per chunk (a
/// `ReadableStream` read from wasm through wasm-streams takes and releases a reader lock
/// around each chunk).
pub struct ChunkReader {
    reader: JsValue,
}

impl ChunkReader {
    pub fn new(stream: &web_sys::ReadableStream) -> Self {
        ChunkReader { reader: reader_of(stream) }
    }

    /// The next read: a chunk, `None` at the end, or the error upstream broke off with.
    /// Keep the future until it resolves: dropping it would drop the chunk it reads.
    pub fn read(&self) -> JsFuture {
        JsFuture::from(read_chunk(&self.reader))
    }
}

/// What a finished read gave: `Ok(Some(bytes))`, `Ok(None)` at the end.
pub fn chunk_of(read: Result<JsValue, JsValue>) -> Result<Option<Vec<u8>>, JsValue> {
    let value = read?;
    if value.is_null() {
        return Ok(None);
    }
    Ok(Some(js_sys::Uint8Array::new(&value).to_vec()))
}

/// The client's body: a JavaScript stream the pump pushes chunks into (copied out of wasm
/// memory), closed when the pump is done. It is never errored.
pub struct ClientStream {
    out: JsValue,
}

impl ClientStream {
    pub fn new() -> Self {
        ClientStream { out: client_stream() }
    }

    pub fn readable(&self) -> web_sys::ReadableStream {
        client_readable(&self.out)
    }

    /// Hands a chunk to the client; `false` once the client cancelled its body.
    pub fn push(&self, bytes: &[u8]) -> bool {
        push_chunk(&self.out, bytes)
    }

    pub fn close(&self) {
        close_client(&self.out);
    }
}

/// Core's header rules as JavaScript arrays, made once per isolate.
struct Rules {
    request_drop_names: js_sys::Array,
    request_drop_prefixes: js_sys::Array,
    request_read_names: js_sys::Array,
    request_read_prefixes: js_sys::Array,
    response_drop_names: js_sys::Array,
    response_read_names: js_sys::Array,
    json_prefixes: js_sys::Array,
    json_suffixes: js_sys::Array,
}

fn array<'a>(items: impl IntoIterator<Item = &'a str>) -> js_sys::Array {
    items.into_iter().map(JsValue::from_str).collect()
}

thread_local! {
    static RULES: Rules = Rules {
        request_drop_names: array(gateway::request_dropped_names()),
        request_drop_prefixes: array(gateway::REQUEST_DROPPED_PREFIXES.iter().copied()),
        request_read_names: array(gateway::REQUEST_READ_NAMES.iter().copied()),
        request_read_prefixes: array(gateway::REQUEST_READ_PREFIXES.iter().copied()),
        response_drop_names: array(gateway::RESPONSE_DROPPED_NAMES.iter().copied()),
        response_read_names: array(UpstreamFacts::HEADERS.iter().copied().chain([CONTENT_TYPE])),
        json_prefixes: array(gateway::JSON_TYPE_PREFIXES.iter().copied()),
        json_suffixes: array(gateway::JSON_TYPE_SUFFIXES.iter().copied()),
    };
}

const CONTENT_TYPE: &str = "content-type";

/// `name\nvalue\n` lines as (name, value) pairs. Names and values never hold a line feed.
fn pairs(lines: &str) -> Vec<(String, String)> {
    let mut parts = lines.split('\n');
    let mut pairs = Vec::new();
    while let (Some(k), Some(v)) = (parts.next(), parts.next()) {
        pairs.push((k.to_owned(), v.to_owned()));
    }
    pairs
}

/// A request's headers, split by core's rules in one pass.
pub struct RequestHeaders {
    /// A copy of all headers minus those that never go upstream (`authorization` is set
    /// by the caller of this as the credentials decide).
    pub forward: web_sys::Headers,
    /// The headers the gateway reads (lower-case name, value), in the runtime's order.
    pub read: Vec<(String, String)>,
}

impl RequestHeaders {
    pub fn of(headers: &web_sys::Headers) -> Self {
        let split = RULES.with(|r| {
            split_request_headers(
                headers,
                &r.request_drop_names,
                &r.request_drop_prefixes,
                &r.request_read_names,
                &r.request_read_prefixes,
            )
        });
        let lines = split.get(1).as_string().unwrap_or_default();
        RequestHeaders { forward: split.get(0).unchecked_into(), read: pairs(&lines) }
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.read.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// Upstream's answer as the gateway needs it, from one call into the runtime: the fetch
/// (raced against its deadline, and aborted when that passes), the headers for the client
/// (a copy minus the dropped ones) and those the gateway reads, and a JSON body read
/// whole. Every other body stays in `response` for the caller to stream.
pub struct Upstream {
    pub exchange: Exchange,
    pub response: web_sys::Response,
    pub status: u16,
    pub out: web_sys::Headers,
    pub facts: UpstreamFacts,
    pub content_type: Option<String>,
    /// When the response headers came (unix ms).
    pub headers_at: i64,
    /// A JSON body: its bytes as JavaScript has them, or why reading it failed.
    pub json_body: Option<Result<js_sys::Uint8Array, String>>,
}

/// The upstream request, sent as `fetch(url, {method, headers, body, redirect: 'manual'})`
/// (`body`: bytes, a stream, or `undefined`): `None` if no response (headers) came within
/// `ms`, and the request is aborted.
pub async fn fetch_within_ms(
    url: &str,
    method: &str,
    headers: &web_sys::Headers,
    body: &JsValue,
    ms: u64,
) -> worker::Result<Option<Upstream>> {
    let call = RULES.with(|r| {
        exchange(url, method, headers, body, ms as f64, &r.response_drop_names, &r.response_read_names, &r.json_prefixes, &r.json_suffixes)
    });
    let answer = JsFuture::from(call).await?;
    if answer.is_null() {
        return Ok(None);
    }
    let x: Exchange = answer.unchecked_into();
    let read = pairs(&x.read());
    let content_type = read.iter().find(|(k, _)| k == CONTENT_TYPE).map(|(_, v)| v.clone());
    let facts = UpstreamFacts::from_headers(read.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let json_body = match (x.body(), x.body_error()) {
        (Some(b), _) => Some(Ok(b)),
        (None, Some(e)) => Some(Err(e)),
        (None, None) => None,
    };
    Ok(Some(Upstream {
        response: x.response(),
        status: x.status(),
        out: x.out(),
        facts,
        content_type,
        headers_at: x.headers_at() as i64,
        json_body,
        exchange: x,
    }))
}

/// A whole request body as JavaScript bytes, read with one
/// `arrayBuffer()`. (`Response::bytes` pulls a `ReadableStream` chunk by chunk through
/// wasm, taking and releasing a reader lock each time.)
pub async fn whole_body(message: &JsValue) -> worker::Result<js_sys::Uint8Array> {
    Ok(JsFuture::from(read_bytes(message)).await?.unchecked_into())
}

/// The client's response, in one call: `headers` with `set` set and `server-timing`
/// appended, and `body` as JavaScript has it (bytes never copied back out of wasm, a
/// stream, or null).
pub fn response(
    body: &JsValue,
    status: u16,
    headers: &web_sys::Headers,
    set: &[(&str, &str)],
    server_timing: &str,
) -> worker::Result<web_sys::Response> {
    let mut lines = String::new();
    for (k, v) in set {
        lines.push_str(k);
        lines.push('\n');
        lines.push_str(v);
        lines.push('\n');
    }
    Ok(respond(body, status, headers, &lines, server_timing)?)
}

