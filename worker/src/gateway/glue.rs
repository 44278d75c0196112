//! The few steps of a gateway call done in JavaScript because crossing into the runtime
//! once is cheaper than crossing for each piece (the benchmark's CPU profile:
//! `bench/profile.mjs`): reading all headers of a request or response as one string,
//! racing the upstream fetch against its deadline without a Rust timer (whose closure
//! costs a crossing to set, another to clear, and another to free), and moving a
//! stream's chunks in and out with one call each.

use wasm_bindgen::prelude::*;
use worker::wasm_bindgen_futures::JsFuture;

#[wasm_bindgen(inline_js = r#"
export function header_lines(headers) {
  let s = '';
  for (const [k, v] of headers) s += k + '\n' + v + '\n';
  return s;
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
export function fetch_within(url, init, ms) {
  let timer;
  const late = new Promise((resolve) => { timer = setTimeout(() => resolve(null), ms); });
  return Promise.race([fetch(url, init), late]).finally(() => clearTimeout(timer));
}
"#)]
extern "C" {
    fn header_lines(headers: &web_sys::Headers) -> String;
    fn fetch_within(url: &str, init: &web_sys::RequestInit, ms: f64) -> js_sys::Promise;
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

/// Every header as (lower-case name, value), in the runtime's order (names sorted, one
/// entry per name with repeated values joined). Names and values never hold a line feed.
pub fn header_pairs(headers: &web_sys::Headers) -> Vec<(String, String)> {
    let lines = header_lines(headers);
    let mut parts = lines.split('\n');
    let mut pairs = Vec::new();
    while let (Some(k), Some(v)) = (parts.next(), parts.next()) {
        pairs.push((k.to_owned(), v.to_owned()));
    }
    pairs
}

/// `fetch(url, init)`, or `None` if no response (headers) came within `ms`; the caller
/// aborts the fetch then.
pub async fn fetch_within_ms(url: &str, init: &web_sys::RequestInit, ms: u64) -> worker::Result<Option<web_sys::Response>> {
    let answer = worker::wasm_bindgen_futures::JsFuture::from(fetch_within(url, init, ms as f64)).await?;
    if answer.is_null() {
        return Ok(None);
    }
    Ok(Some(answer.dyn_into::<web_sys::Response>()?))
}
