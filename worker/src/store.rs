//! D1 access. Invariants: every statement uses bound parameters only; every query on
//! `events` filters by `tenant_id` first (every index starts with it); integers stay
//! below 2^53 so they survive JavaScript numbers; event inserts are idempotent by id.

use llmobserve_core::event::Event;
use llmobserve_core::read_sql::{SqlValue, Statement};
use llmobserve_core::views::StoredEvent;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use wasm_bindgen::JsValue;
use worker::{D1Database, Env};

use crate::config;
use crate::error::ApiResult;

fn db(env: &Env) -> ApiResult<D1Database> {
    Ok(env.d1(config::DB)?)
}

fn text(s: &str) -> JsValue {
    JsValue::from_str(s)
}
fn opt_text(s: Option<&str>) -> JsValue {
    s.map_or(JsValue::NULL, JsValue::from_str)
}
/// Integers go to D1 as JavaScript numbers; callers keep them below 2^53.
fn int(n: u64) -> JsValue {
    JsValue::from_f64(n as f64)
}
fn opt_int(n: Option<u64>) -> JsValue {
    n.map_or(JsValue::NULL, int)
}

pub async fn ping(env: &Env) -> ApiResult<()> {
    db(env)?.prepare("SELECT 1").run().await?;
    Ok(())
}

// ---- keys ----

#[derive(Deserialize)]
pub struct KeyRow {
    pub id: String,
    pub name: String,
    pub scopes: String,
    pub tenant_id: Option<String>,
    pub customer_id: Option<String>,
    pub secret_hint: Option<String>,
    pub created_at: f64,
    pub created_by: Option<String>,
    pub expires_at: Option<f64>,
    pub revoked_at: Option<f64>,
    pub rotated_at: Option<f64>,
    pub previous_expires_at: Option<f64>,
}

const KEY_COLUMNS: &str = "id, name, scopes, tenant_id, customer_id, secret_hint, created_at, created_by, expires_at, \
    revoked_at, rotated_at, previous_expires_at";

/// A key found by the hash of a presented secret, and whether that secret is the key's
/// current one or its rotated-out predecessor.
#[derive(Deserialize)]
pub struct FoundKeyRow {
    #[serde(flatten)]
    pub key: KeyRow,
    pub is_current: f64,
}

pub async fn key_by_secret_hash(env: &Env, hash: &str) -> ApiResult<Option<FoundKeyRow>> {
    let stmt = db(env)?
        .prepare(format!(
            "SELECT {KEY_COLUMNS}, key_hash = ?1 AS is_current FROM api_keys WHERE key_hash = ?1 OR previous_key_hash = ?1"
        ))
        .bind(&[text(hash)])?;
    Ok(stmt.first::<FoundKeyRow>(None).await?)
}

pub struct NewKey<'a> {
    pub id: &'a str,
    pub hash: &'a str,
    pub secret_hint: &'a str,
    pub name: &'a str,
    pub scopes: &'a str,
    pub tenant_id: Option<&'a str>,
    pub customer_id: Option<&'a str>,
    pub expires_at: Option<u64>,
    pub created_at: u64,
    pub created_by: Option<&'a str>,
}

pub async fn insert_key(env: &Env, k: &NewKey<'_>) -> ApiResult<()> {
    db(env)?
        .prepare(
            "INSERT INTO api_keys (id, key_hash, secret_hint, name, scopes, tenant_id, customer_id, expires_at, created_at, created_by) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )
        .bind(&[
            text(k.id),
            text(k.hash),
            text(k.secret_hint),
            text(k.name),
            text(k.scopes),
            opt_text(k.tenant_id),
            opt_text(k.customer_id),
            opt_int(k.expires_at),
            int(k.created_at),
            opt_text(k.created_by),
        ])?
        .run()
        .await?;
    Ok(())
}

/// Keys, oldest first; optionally of one tenant only and without the revoked ones.
pub async fn list_keys(env: &Env, tenant: Option<&str>, include_revoked: bool) -> ApiResult<Vec<KeyRow>> {
    let sql = format!(
        "SELECT {KEY_COLUMNS} FROM api_keys WHERE (?1 IS NULL OR tenant_id = ?1) AND (?2 = 1 OR revoked_at IS NULL) \
         ORDER BY created_at, id"
    );
    let res = db(env)?.prepare(sql).bind(&[opt_text(tenant), int(u64::from(include_revoked))])?.all().await?;
    Ok(res.results::<KeyRow>()?)
}

pub async fn key_by_id(env: &Env, id: &str) -> ApiResult<Option<KeyRow>> {
    let stmt = db(env)?.prepare(format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE id = ?1")).bind(&[text(id)])?;
    Ok(stmt.first::<KeyRow>(None).await?)
}

/// Gives an active key a new secret. With a grace period the old secret keeps working
/// until `previous_expires_at`; without one it stops at once. `false` when no such
/// active key exists.
pub async fn rotate_key(env: &Env, id: &str, new_hash: &str, hint: &str, now: u64, previous_expires_at: Option<u64>) -> ApiResult<bool> {
    let res = db(env)?
        .prepare(
            "UPDATE api_keys SET previous_key_hash = CASE WHEN ?5 IS NULL THEN NULL ELSE key_hash END, \
             previous_expires_at = ?5, key_hash = ?2, secret_hint = ?3, rotated_at = ?4 \
             WHERE id = ?1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?4)",
        )
        .bind(&[text(id), text(new_hash), text(hint), int(now), opt_int(previous_expires_at)])?
        .run()
        .await?;
    Ok(res.meta()?.and_then(|m| m.changes).unwrap_or(0) > 0)
}

/// Revokes a key (and any rotated-out secret of it); `false` when no such active key exists.
pub async fn revoke_key(env: &Env, id: &str, at: u64) -> ApiResult<bool> {
    let res = db(env)?
        .prepare("UPDATE api_keys SET revoked_at = ?2, previous_key_hash = NULL, previous_expires_at = NULL WHERE id = ?1 AND revoked_at IS NULL")
        .bind(&[text(id), int(at)])?
        .run()
        .await?;
    Ok(res.meta()?.and_then(|m| m.changes).unwrap_or(0) > 0)
}

// ---- events ----

/// The columns an insert writes (reads select `read_sql::EVENT_COLUMNS`).
const EVENT_COLUMNS: &str = "id, tenant_id, customer_id, section_path, run_id, attempt, key_id, provider, endpoint, \
    method, request_model, response_model, is_stream, status_code, error, input_tokens, cached_input_tokens, \
    output_tokens, reasoning_tokens, audio_input_tokens, audio_output_tokens, usage_source, pricing_status, \
    unpriced_reason, cost_nanousd, price_ref, price_version, started_at, latency_ms";

/// Writes an event; writing the same id again changes nothing.
pub async fn insert_event(env: &Env, e: &Event) -> ApiResult<()> {
    let c = &e.call;
    let a = &c.attribution;
    let u = c.usage.unwrap_or_default();
    let values = [
        text(&c.id),
        text(c.tenant.as_str()),
        opt_text(a.customer.as_ref().map(|x| x.as_str())),
        opt_text(a.section.as_ref().map(|x| x.as_str())),
        opt_text(a.run_id.as_ref().map(|x| x.as_str())),
        opt_int(a.attempt.map(u64::from)),
        opt_text(c.key_id.as_deref()),
        text(&c.provider),
        text(&c.endpoint),
        text(&c.method),
        opt_text(c.request_model.as_deref()),
        opt_text(c.response_model.as_deref()),
        int(u64::from(c.is_stream)),
        int(u64::from(c.status_code)),
        opt_text(c.error.as_deref()),
        int(u.input_tokens),
        int(u.cached_input_tokens),
        int(u.output_tokens),
        int(u.reasoning_tokens),
        int(u.audio_input_tokens),
        int(u.audio_output_tokens),
        text(c.usage_source.as_str()),
        text(e.pricing_status()),
        opt_text(e.unpriced_reason.map(|r| r.as_str())),
        opt_int(e.cost.map(|x| x.nanos())),
        opt_text(e.price_ref.as_deref()),
        opt_text(e.price_version),
        int(c.started_at.0.max(0) as u64),
        int(c.latency_ms),
    ];
    let placeholders: Vec<String> = (1..=values.len()).map(|i| format!("?{i}")).collect();
    let sql = format!("INSERT OR IGNORE INTO events ({EVENT_COLUMNS}) VALUES ({})", placeholders.join(", "));
    db(env)?.prepare(sql).bind(&values)?.run().await?;
    Ok(())
}

// ---- reads ----
//
// The read statements are built by `llmobserve_core::read_sql` from a `ReadScope`: every
// one filters by tenant first, with bound parameters only. This module only runs them.

fn bind_value(v: &SqlValue) -> JsValue {
    match v {
        SqlValue::Text(s) => JsValue::from_str(s),
        // Values the builders bind (times, limits, status codes) are far below 2^53.
        SqlValue::Int(n) => JsValue::from_f64(*n as f64),
    }
}

/// Runs a read statement and deserialises its rows.
pub async fn rows<T: DeserializeOwned>(env: &Env, stmt: &Statement) -> ApiResult<Vec<T>> {
    let binds: Vec<JsValue> = stmt.binds.iter().map(bind_value).collect();
    let res = db(env)?.prepare(stmt.sql.as_str()).bind(&binds)?.all().await?;
    Ok(res.results::<T>()?)
}

/// An `events` row as D1 returns it (numbers are JavaScript numbers).
#[derive(Deserialize, Clone, Debug)]
pub struct EventRow {
    pub id: String,
    pub tenant_id: String,
    pub customer_id: Option<String>,
    pub section_path: Option<String>,
    pub run_id: Option<String>,
    pub attempt: Option<f64>,
    pub key_id: Option<String>,
    pub provider: String,
    pub endpoint: String,
    pub method: String,
    pub request_model: Option<String>,
    pub response_model: Option<String>,
    pub is_stream: f64,
    pub status_code: f64,
    pub error: Option<String>,
    pub input_tokens: f64,
    pub cached_input_tokens: f64,
    pub output_tokens: f64,
    pub reasoning_tokens: f64,
    pub audio_input_tokens: f64,
    pub audio_output_tokens: f64,
    pub usage_source: String,
    pub pricing_status: String,
    pub unpriced_reason: Option<String>,
    pub cost_nanousd: Option<f64>,
    pub price_ref: Option<String>,
    pub price_version: Option<String>,
    pub started_at: f64,
    pub latency_ms: f64,
}

/// A stored integer (always a whole number in 0..2^53) as `u64`.
pub fn whole(n: f64) -> u64 {
    if n.is_finite() && n > 0.0 { n as u64 } else { 0 }
}

impl From<EventRow> for StoredEvent {
    fn from(r: EventRow) -> StoredEvent {
        StoredEvent {
            id: r.id,
            tenant_id: r.tenant_id,
            customer_id: r.customer_id,
            section_path: r.section_path,
            run_id: r.run_id,
            attempt: r.attempt.map(|a| u32::try_from(whole(a)).unwrap_or(u32::MAX)),
            key_id: r.key_id,
            provider: r.provider,
            endpoint: r.endpoint,
            method: r.method,
            request_model: r.request_model,
            response_model: r.response_model,
            is_stream: r.is_stream != 0.0,
            status_code: u16::try_from(whole(r.status_code)).unwrap_or(0),
            error: r.error,
            input_tokens: whole(r.input_tokens),
            cached_input_tokens: whole(r.cached_input_tokens),
            output_tokens: whole(r.output_tokens),
            reasoning_tokens: whole(r.reasoning_tokens),
            audio_input_tokens: whole(r.audio_input_tokens),
            audio_output_tokens: whole(r.audio_output_tokens),
            usage_source: r.usage_source,
            pricing_status: r.pricing_status,
            unpriced_reason: r.unpriced_reason,
            cost_nanousd: r.cost_nanousd.map(whole),
            price_ref: r.price_ref,
            price_version: r.price_version,
            started_at: whole(r.started_at),
            latency_ms: whole(r.latency_ms),
        }
    }
}

/// Runs a statement that selects `read_sql::EVENT_COLUMNS`.
pub async fn events(env: &Env, stmt: &Statement) -> ApiResult<Vec<StoredEvent>> {
    Ok(rows::<EventRow>(env, stmt).await?.into_iter().map(StoredEvent::from).collect())
}
