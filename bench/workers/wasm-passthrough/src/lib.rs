//! The Rust/wasm floor of the gateway benchmark: a workers-rs Worker that forwards every
//! request to `UPSTREAM` unchanged and returns upstream's response as it comes, both as
//! the runtime's own objects (no body goes through wasm). What it costs is what any
//! Rust/wasm Worker on this stack pays before doing work of its own: the workers-rs
//! entry, wasm-bindgen's futures and the crossings between wasm and JavaScript.

use llmobserve_core::gateway::path_and_query;
use wasm_bindgen::JsCast;
use worker::wasm_bindgen_futures::JsFuture;
use worker::{event, Context, Env, Request};

#[event(fetch)]
pub async fn fetch(req: Request, env: Env, _ctx: Context) -> worker::Result<web_sys::Response> {
    let upstream = env.var("UPSTREAM")?.to_string();
    let url = req.inner().url();
    let (_, path_and_query) = path_and_query(&url);
    let global: web_sys::WorkerGlobalScope = js_sys::global().unchecked_into();
    // `fetch(url, request)`, as the JS passthrough does: the request is the init.
    let sent = global.fetch_with_str_and_init(&format!("{upstream}{path_and_query}"), req.inner().unchecked_ref());
    Ok(JsFuture::from(sent).await?.unchecked_into())
}
