//! Configuration from the worker's bindings (wrangler.toml vars and secrets). A binding's
//! text is read once per isolate and kept (a deployment or secret change starts new
//! isolates): each read from the runtime costs two lookups through wasm-bindgen, several
//! per call. A bad value is reported to every caller as a misconfiguration that says which
//! setting to fix.

use std::cell::RefCell;
use std::collections::HashMap;

use llmobserve_core::gateway::UpstreamBase;
use worker::Env;

use crate::error::{ApiError, ApiResult};

pub const DB: &str = "DB";
pub const ASSETS: &str = "ASSETS";
/// The producer binding of the events queue.
pub const EVENTS_QUEUE: &str = "EVENTS_QUEUE";
const MIN_ADMIN_TOKEN_LEN: usize = 16;

thread_local! {
    static TEXTS: RefCell<HashMap<&'static str, Option<String>>> = RefCell::new(HashMap::new());
}

/// The binding `name` as text (a secret or a var), `None` if unset or blank.
pub(crate) fn text(env: &Env, name: &'static str) -> Option<String> {
    if let Some(known) = TEXTS.with(|t| t.borrow().get(name).cloned()) {
        return known;
    }
    let read = read_text(env, name);
    TEXTS.with(|t| t.borrow_mut().insert(name, read.clone()));
    read
}

fn read_text(env: &Env, name: &str) -> Option<String> {
    env.secret(name)
        .map(|s| s.to_string())
        .or_else(|_| env.var(name).map(|v| v.to_string()))
        .ok()
        .filter(|s| !s.trim().is_empty())
}

/// `OPENAI_BASE_URL`, default `https://api.openai.com`.
pub fn upstream(env: &Env) -> ApiResult<UpstreamBase> {
    let raw = text(env, "OPENAI_BASE_URL").unwrap_or_else(|| UpstreamBase::DEFAULT.to_owned());
    UpstreamBase::parse(&raw).map_err(ApiError::misconfigured)
}

/// The gateway's own OpenAI key, used in managed mode (`OPENAI_API_KEY` secret).
pub fn openai_api_key(env: &Env) -> ApiResult<String> {
    text(env, "OPENAI_API_KEY").ok_or_else(|| {
        ApiError::misconfigured(
            "Managed mode needs the gateway's own OpenAI key: run `wrangler secret put OPENAI_API_KEY`, \
             or call in pass-through mode (gateway key in `x-llmobserve-key`, your OpenAI key in `Authorization`).",
        )
    })
}

/// The bootstrap admin secret (`LLMOBSERVE_ADMIN_TOKEN`).
pub fn admin_token(env: &Env) -> ApiResult<String> {
    let token = text(env, "LLMOBSERVE_ADMIN_TOKEN").ok_or_else(|| {
        ApiError::misconfigured("No admin token is configured: run `wrangler secret put LLMOBSERVE_ADMIN_TOKEN`.")
    })?;
    if token.len() < MIN_ADMIN_TOKEN_LEN {
        return Err(ApiError::misconfigured(format!(
            "LLMOBSERVE_ADMIN_TOKEN is shorter than {MIN_ADMIN_TOKEN_LEN} characters; set a longer random secret."
        )));
    }
    Ok(token)
}

fn number(env: &Env, name: &'static str, default: u64) -> ApiResult<u64> {
    match text(env, name) {
        None => Ok(default),
        Some(v) => v
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| ApiError::misconfigured(format!("{name} must be a positive whole number, got {v:?}"))),
    }
}

/// How long to wait for upstream's response headers (`UPSTREAM_TIMEOUT_MS`, default 10
/// minutes: reasoning models can think for a long time before they answer).
pub fn upstream_timeout_ms(env: &Env) -> ApiResult<u64> {
    number(env, "UPSTREAM_TIMEOUT_MS", 600_000)
}

/// The largest request body accepted (`MAX_REQUEST_BYTES`, default 100 MiB, the Workers
/// platform's own limit on the lower plans).
pub fn max_request_bytes(env: &Env) -> ApiResult<u64> {
    number(env, "MAX_REQUEST_BYTES", 100 * 1024 * 1024)
}

/// How long a new writer of gateway events waits for the events of the calls right
/// behind it, so that they share one write (`EVENT_BATCH_MS`, default 10; 0 writes at
/// once). At most 50: an event waits no more than [`crate::ingest`]'s patience.
pub fn event_batch_ms(env: &Env) -> ApiResult<u64> {
    const NAME: &str = "EVENT_BATCH_MS";
    match text(env, NAME) {
        None => Ok(10),
        Some(v) => v.trim().parse::<u64>().ok().filter(|n| *n <= 50).ok_or_else(|| {
            ApiError::misconfigured(format!("{NAME} must be a whole number of milliseconds from 0 to 50, got {v:?}"))
        }),
    }
}

/// How gateway events reach D1 (`EVENT_WRITE_MODE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteMode {
    /// Write to D1 at once; the queue takes what fails.
    Direct,
    /// Send to the queue, whose consumer writes batches; D1 at once if the queue refuses.
    Queue,
}

impl WriteMode {
    pub fn as_str(self) -> &'static str {
        match self {
            WriteMode::Direct => "direct",
            WriteMode::Queue => "queue",
        }
    }
}

/// `EVENT_WRITE_MODE`: `direct` (default) or `queue`.
pub fn write_mode(env: &Env) -> ApiResult<WriteMode> {
    match text(env, "EVENT_WRITE_MODE").as_deref().map(str::trim) {
        None | Some("direct") => Ok(WriteMode::Direct),
        Some("queue") => Ok(WriteMode::Queue),
        Some(other) => Err(ApiError::misconfigured(format!("EVENT_WRITE_MODE must be direct or queue, got {other:?}"))),
    }
}
