//! D1 access. Invariants: every statement uses bound parameters only; every query on
//! `events` filters by `tenant_id` first (every index starts with it); integers stay
//! below 2^53 so they survive JavaScript numbers; event inserts are idempotent by id.

use llmobserve_core::event::{CallRecord, Event, Outcome};
use llmobserve_core::read_sql::{SqlValue, Statement};
use llmobserve_core::retry::PriorAttempt;
use llmobserve_core::time::UnixMillis;
use llmobserve_core::views::{MoreUsage, StoredEvent};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement, Env};

use crate::config;
use crate::error::ApiResult;

pub(crate) fn db(env: &Env) -> ApiResult<D1Database> {
    Ok(env.d1(config::DB)?)
}

pub(crate) fn text(s: &str) -> JsValue {
    JsValue::from_str(s)
}
pub(crate) fn opt_text(s: Option<&str>) -> JsValue {
    s.map_or(JsValue::NULL, JsValue::from_str)
}
/// Integers go to D1 as JavaScript numbers; callers keep them below 2^53.
pub(crate) fn int(n: u64) -> JsValue {
    JsValue::from_f64(n as f64)
}
pub(crate) fn opt_int(n: Option<u64>) -> JsValue {
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
pub(crate) const EVENT_COLUMNS: &str = "id, tenant_id, customer_id, section_path, run_id, attempt, key_id, provider, endpoint, \
    method, request_model, response_model, is_stream, status_code, error, input_tokens, cached_input_tokens, \
    output_tokens, reasoning_tokens, audio_input_tokens, audio_output_tokens, usage_source, pricing_status, \
    unpriced_reason, cost_nanousd, price_ref, price_version, started_at, latency_ms, outcome, ttfb_ms, \
    upstream_request_id, error_type, retry_after_ms, ratelimit_limit_requests, ratelimit_remaining_requests, \
    ratelimit_limit_tokens, ratelimit_remaining_tokens, properties, client_event_id, request_hash, is_retry, retry_of, \
    cache_write_tokens, \
    cache_write_1h_tokens, cached_audio_input_tokens, image_input_tokens, cached_image_input_tokens, \
    image_output_tokens, audio_duration_ms, characters, images, image_size, image_quality, service_tier";

fn insert_statement(db: &D1Database, e: &Event) -> ApiResult<D1PreparedStatement> {
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
        opt_text(e.price_version.as_deref()),
        int(c.started_at.0.max(0) as u64),
        int(c.latency_ms),
        text(c.outcome.as_str()),
        opt_int(c.ttfb_ms),
        opt_text(c.upstream.request_id.as_deref()),
        opt_text(c.upstream.error_type.as_deref()),
        opt_int(c.upstream.retry_after_ms),
        opt_int(c.upstream.limit_requests),
        opt_int(c.upstream.remaining_requests),
        opt_int(c.upstream.limit_tokens),
        opt_int(c.upstream.remaining_tokens),
        if a.properties.is_empty() { JsValue::NULL } else { text(&a.properties.to_json()) },
        opt_text(c.client_event_id.as_deref()),
        opt_text(c.request_hash.as_deref()),
        int(u64::from(c.is_retry)),
        opt_text(c.retry_of.as_deref()),
        int(u.cache_write_tokens),
        int(u.cache_write_1h_tokens),
        int(u.cached_audio_input_tokens),
        int(u.image_input_tokens),
        int(u.cached_image_input_tokens),
        int(u.image_output_tokens),
        int(u.audio_duration_ms),
        int(u.characters),
        int(u.images.map_or(0, |i| i.count)),
        opt_text(u.images.map(|i| i.size.to_text()).as_deref()),
        opt_text(u.images.map(|i| i.quality.as_str())),
        text(u.service_tier.as_str()),
    ];
    let placeholders: Vec<String> = (1..=values.len()).map(|i| format!("?{i}")).collect();
    let sql = format!("INSERT OR IGNORE INTO events ({EVENT_COLUMNS}) VALUES ({})", placeholders.join(", "));
    Ok(db.prepare(sql).bind(&values)?)
}

/// Writes an event; writing the same id again changes nothing.
pub async fn insert_event(env: &Env, e: &Event) -> ApiResult<()> {
    let db = db(env)?;
    insert_statement(&db, e)?.run().await?;
    Ok(())
}

/// After events were written for closed days that may already be rolled up (reported
/// late to the collector), marks those days stale so that reads and the next cron run do
/// not trust their rollups. A failure is logged: the events are stored, and the cron's
/// own re-check of recent days still finds them.
pub async fn mark_days_stale(env: &Env, events: &[Event], fresh: &[bool], today: i64) {
    let mut by_tenant: std::collections::BTreeMap<&str, std::collections::BTreeSet<i64>> = std::collections::BTreeMap::new();
    for (e, new) in events.iter().zip(fresh) {
        let day = e.call.started_at.0.div_euclid(86_400_000);
        if *new && day < today {
            by_tenant.entry(e.call.tenant.as_str()).or_default().insert(day);
        }
    }
    if by_tenant.is_empty() {
        return;
    }
    let run = async {
        let db = db(env)?;
        let stmts = by_tenant
            .iter()
            .map(|(tenant, days)| {
                let json = serde_json::Value::from(days.iter().copied().collect::<Vec<i64>>()).to_string();
                let s = llmobserve_core::rollup_sql::mark_stale(tenant, &json);
                db.prepare(s.sql.as_str()).bind(&s.binds.iter().map(bind_value).collect::<Vec<_>>())
            })
            .collect::<worker::Result<Vec<_>>>()?;
        db.batch(stmts).await?;
        Ok::<(), crate::error::ApiError>(())
    };
    if let Err(e) = run.await {
        worker::console_error!("late events stored, but their days could not be marked for a new rollup: {}", e.message);
    }
}

/// Writes events in one batch; for each, whether it was new (`false`: its id was already
/// stored, so nothing changed).
pub async fn insert_events(env: &Env, events: &[Event]) -> ApiResult<Vec<bool>> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let db = db(env)?;
    let statements = events.iter().map(|e| insert_statement(&db, e)).collect::<ApiResult<Vec<_>>>()?;
    let results = db.batch(statements).await?;
    Ok(results.iter().map(|r| r.meta().ok().flatten().and_then(|m| m.changes).unwrap_or(0) > 0).collect())
}

#[derive(Deserialize)]
struct PriorRow {
    id: String,
    attempt: Option<f64>,
    status_code: f64,
    outcome: String,
    started_at: f64,
}

/// The latest earlier event of the same tenant, run, section and request body.
pub async fn prior_attempt(env: &Env, call: &CallRecord) -> ApiResult<Option<PriorAttempt>> {
    let (Some(run), Some(hash)) = (&call.attribution.run_id, &call.request_hash) else {
        return Ok(None);
    };
    let section = call.attribution.section.as_ref().map(|s| s.as_str());
    let row = db(env)?
        .prepare(
            "SELECT id, attempt, status_code, outcome, started_at FROM events \
             WHERE tenant_id = ?1 AND run_id = ?2 AND request_hash = ?3 AND section_path IS ?4 \
             AND started_at <= ?5 AND id != ?6 ORDER BY started_at DESC, id DESC LIMIT 1",
        )
        .bind(&[
            text(call.tenant.as_str()),
            text(run.as_str()),
            text(hash),
            opt_text(section),
            int(call.started_at.0.max(0) as u64),
            text(&call.id),
        ])?
        .first::<PriorRow>(None)
        .await?;
    Ok(row.map(|r| PriorAttempt {
        id: r.id,
        attempt: r.attempt.map(|a| a as u32),
        status_code: r.status_code as u16,
        outcome: Outcome::parse(&r.outcome).unwrap_or_default(),
        started_at: UnixMillis(r.started_at as i64),
    }))
}

// ---- reads ----
//
// The read statements are built by `llmobserve_core::read_sql` from a `ReadScope`: every
// one filters by tenant first, with bound parameters only. This module only runs them.

pub(crate) fn bind_value(v: &SqlValue) -> JsValue {
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

/// Runs read statements as one batch (one round trip, one consistent snapshot) and
/// deserialises each one's rows.
pub async fn batch_rows<T: DeserializeOwned>(env: &Env, stmts: &[Statement]) -> ApiResult<Vec<Vec<T>>> {
    let db = db(env)?;
    let prepared = stmts
        .iter()
        .map(|s| db.prepare(s.sql.as_str()).bind(&s.binds.iter().map(bind_value).collect::<Vec<_>>()))
        .collect::<worker::Result<Vec<_>>>()?;
    let results = db.batch(prepared).await?;
    Ok(results.iter().map(|r| r.results::<T>()).collect::<worker::Result<Vec<_>>>()?)
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
    pub outcome: String,
    pub ttfb_ms: Option<f64>,
    pub upstream_request_id: Option<String>,
    pub error_type: Option<String>,
    pub retry_after_ms: Option<f64>,
    pub ratelimit_limit_requests: Option<f64>,
    pub ratelimit_remaining_requests: Option<f64>,
    pub ratelimit_limit_tokens: Option<f64>,
    pub ratelimit_remaining_tokens: Option<f64>,
    pub properties: Option<String>,
    pub client_event_id: Option<String>,
    pub request_hash: Option<String>,
    pub is_retry: f64,
    pub retry_of: Option<String>,
    #[serde(default)]
    pub cache_write_tokens: f64,
    #[serde(default)]
    pub cache_write_1h_tokens: f64,
    #[serde(default)]
    pub cached_audio_input_tokens: f64,
    #[serde(default)]
    pub image_input_tokens: f64,
    #[serde(default)]
    pub cached_image_input_tokens: f64,
    #[serde(default)]
    pub image_output_tokens: f64,
    #[serde(default)]
    pub audio_duration_ms: f64,
    #[serde(default)]
    pub characters: f64,
    #[serde(default)]
    pub images: f64,
    #[serde(default)]
    pub image_size: Option<String>,
    #[serde(default)]
    pub image_quality: Option<String>,
    #[serde(default)]
    pub service_tier: Option<String>,
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
            outcome: r.outcome,
            ttfb_ms: r.ttfb_ms.map(whole),
            upstream_request_id: r.upstream_request_id,
            error_type: r.error_type,
            retry_after_ms: r.retry_after_ms.map(whole),
            ratelimit_limit_requests: r.ratelimit_limit_requests.map(whole),
            ratelimit_remaining_requests: r.ratelimit_remaining_requests.map(whole),
            ratelimit_limit_tokens: r.ratelimit_limit_tokens.map(whole),
            ratelimit_remaining_tokens: r.ratelimit_remaining_tokens.map(whole),
            properties: r.properties,
            client_event_id: r.client_event_id,
            request_hash: r.request_hash,
            is_retry: r.is_retry != 0.0,
            retry_of: r.retry_of,
            more_usage: MoreUsage {
                cache_write_tokens: whole(r.cache_write_tokens),
                cache_write_1h_tokens: whole(r.cache_write_1h_tokens),
                cached_audio_input_tokens: whole(r.cached_audio_input_tokens),
                image_input_tokens: whole(r.image_input_tokens),
                cached_image_input_tokens: whole(r.cached_image_input_tokens),
                image_output_tokens: whole(r.image_output_tokens),
                audio_duration_ms: whole(r.audio_duration_ms),
                characters: whole(r.characters),
                images: whole(r.images),
                image_size: r.image_size,
                image_quality: r.image_quality,
                service_tier: r.service_tier,
            },
        }
    }
}

/// Runs a statement that selects `read_sql::EVENT_COLUMNS`.
pub async fn events(env: &Env, stmt: &Statement) -> ApiResult<Vec<StoredEvent>> {
    Ok(rows::<EventRow>(env, stmt).await?.into_iter().map(StoredEvent::from).collect())
}
