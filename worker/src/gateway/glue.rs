//! The few steps of a gateway call done in JavaScript because crossing into the runtime
//! once is cheaper than crossing for each piece (the benchmark's CPU profile:
//! `bench/profile.mjs`): reading all headers of a request or response as one string,
//! and racing the upstream fetch against its deadline without a Rust timer (whose closure
//! costs a crossing to set, another to clear, and another to free).

use wasm_bindgen::prelude::*;

#[wasm_bindgen(inline_js = r#"
export function header_lines(headers) {
  let s = '';
  for (const [k, v] of headers) s += k + '\n' + v + '\n';
  return s;
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
