//! llmobserve-core: the rules of llmobserve, as pure Rust.
//!
//! Nothing here knows about JavaScript, D1 or fetch: functions take bytes, strings,
//! numbers and a clock value, and return values. The worker and the SDK are adapters
//! around this crate, which is why it can be tested, fuzzed and benchmarked natively.

pub mod access;
pub mod attribution;
pub mod batching;
pub mod collector;
pub mod decimal;
pub mod endpoints;
pub mod event;
pub mod event_row;
pub mod gateway;
pub mod group_commit;
pub mod insights;
pub mod key_policy;
pub mod keys;
pub mod money;
pub mod pricing;
pub mod query;
pub mod read_sql;
pub mod retry;
pub mod rollup_sql;
pub mod routes;
pub mod runs;
pub mod sse;
pub mod stream;
pub mod time;
pub mod ttl_cache;
pub mod tokens;
pub mod usage;
pub mod views;
