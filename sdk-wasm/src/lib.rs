//! llmobserve-sdk: the attribution context of the user's application (tenant, customer,
//! section path, run id, retry attempts) and the `x-llmobserve-*` headers that carry it to
//! the gateway; checks for events reported to the collector.
//!
//! One crate, two faces. Natively it is a Rust library: [`Context`], a thread- or
//! task-local current context with guard-based [`section`]s, a tokio [`scope`] per request
//! and [`headers`] for any HTTP client. Compiled to wasm32 it is the rule engine of the
//! `llmobserve` npm package (src/js.rs); the JavaScript layer keeps only what must be
//! JavaScript (AsyncLocalStorage, fetch, timers).
//!
//! Invariant: every rule (validation, path building, header encoding, run ids, retry
//! numbering and backoff, event checks) is here or in llmobserve-core, never in JavaScript;
//! attribution values are validated by core, the same code the gateway runs.

pub mod context;
pub mod report;
pub mod retry;

#[cfg(target_arch = "wasm32")]
mod js;
#[cfg(not(target_arch = "wasm32"))]
mod native;

pub use context::Context;
pub use llmobserve_core::attribution::AttributionError;
#[cfg(not(target_arch = "wasm32"))]
pub use native::*;
pub use retry::RetryPolicy;
