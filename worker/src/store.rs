//! D1 access. Invariants: every statement uses bound parameters only; every query on
//! `events` filters by `tenant_id` first (every index starts with it); integers stay
//! below 2^53 so they survive JavaScript numbers; event inserts are idempotent by id.

use llmobserve_core::batching::json_arrays;
use llmobserve_core::event::{Event, Outcome};
use llmobserve_core::event_row::{self, insert_one};
pub use llmobserve_core::event_row::{event_row, EventWrite};
use llmobserve_core::read_sql::{SqlValue, Statement};
use llmobserve_core::retry::{remark_chain, ChainLink, PriorAttempt, RetryInfo};
use llmobserve_core::time::UnixMillis;
use llmobserve_core::views::{MoreUsage, StoredEvent};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement, Env};

use crate::config;
use crate::error::{ApiError, ApiResult};

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

/// The columns of `store::EventRow` (what re-pricing reads back).
pub(crate) const EVENT_COLUMNS: &str = "id, tenant_id, customer_id, section_path, run_id, attempt, key_id, provider, endpoint, \
    method, request_model, response_model, is_stream, status_code, error, input_tokens, cached_input_tokens, \
    output_tokens, reasoning_tokens, audio_input_tokens, audio_output_tokens, usage_source, pricing_status, \
    unpriced_reason, cost_nanousd, price_ref, price_version, started_at, latency_ms, outcome, ttfb_ms, \
    upstream_request_id, error_type, retry_after_ms, ratelimit_limit_requests, ratelimit_remaining_requests, \
    ratelimit_limit_tokens, ratelimit_remaining_tokens, properties, client_event_id, request_hash, is_retry, retry_of, \
    cache_write_tokens, \
    cache_write_1h_tokens, cached_audio_input_tokens, image_input_tokens, cached_image_input_tokens, \
    image_output_tokens, audio_duration_ms, characters, images, image_size, image_quality, service_tier";

/// The run, section and request body that make retry chains, when the row has them.
fn chain_of(row: &EventWrite) -> Option<ChainKey> {
    Some(ChainKey {
        tenant: row.text("tenant_id")?.to_owned(),
        run: row.text("run_id")?.to_owned(),
        hash: row.text("request_hash")?.to_owned(),
        section: row.text("section_path").map(str::to_owned),
    })
}

/// Where a row stands in its chain: started, then id.
fn position(row: &EventWrite) -> (u64, &str) {
    (row.number("started_at").unwrap_or(0), row.id())
}

/// A value of an event row, as D1 binds it (checked by core's `check_value` first).
fn json_to_js(v: &serde_json::Value) -> JsValue {
    use serde_json::Value as V;
    match v {
        V::String(s) => text(s),
        V::Bool(b) => int(u64::from(*b)),
        V::Number(n) => JsValue::from_f64(n.as_f64().unwrap_or(0.0)),
        _ => JsValue::NULL,
    }
}

/// `INSERT OR IGNORE` of one row (core's `insert_one`).
fn insert_statement(db: &D1Database, row: &EventWrite) -> ApiResult<D1PreparedStatement> {
    let (sql, values) = insert_one(row).map_err(ApiError::internal)?;
    Ok(db.prepare(sql).bind(&values.into_iter().map(json_to_js).collect::<Vec<_>>())?)
}

/// The most JSON bound as one parameter: a batch's rows, or its retry updates.
const JSON_PARAM_MAX_BYTES: usize = 500_000;

/// `INSERT OR IGNORE` of many rows, one parameter per statement (core's `insert_many`).
fn insert_many(db: &D1Database, rows: &[&EventWrite]) -> ApiResult<Vec<D1PreparedStatement>> {
    event_row::insert_many(rows, JSON_PARAM_MAX_BYTES)
        .map_err(ApiError::internal)?
        .iter()
        .map(|s| Ok(db.prepare(&s.sql).bind(&[text(&s.rows)])?))
        .collect()
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
/// stored, so nothing changed). Retry facts stay as the rows declare them (the collector).
pub async fn insert_events(env: &Env, events: &[Event]) -> ApiResult<Vec<bool>> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let db = db(env)?;
    let statements = events.iter().map(|e| insert_statement(&db, &event_row(e))).collect::<ApiResult<Vec<_>>>()?;
    let results = db.batch(statements).await?;
    Ok(results.iter().map(|r| r.meta().ok().flatten().and_then(|m| m.changes).unwrap_or(0) > 0).collect())
}

/// The calls that can retry one another: one tenant, run, section and request body.
#[derive(Clone, Debug, PartialEq, Eq)]
struct ChainKey {
    tenant: String,
    run: String,
    hash: String,
    section: Option<String>,
}

/// How many stored calls after a newly written one are re-marked (a longer chain of
/// identical calls in one run keeps the facts it had past this point).
const CHAIN_LIMIT: u32 = 100;

const CHAIN_WHERE: &str = "tenant_id = ?1 AND run_id = ?2 AND request_hash = ?3 AND section_path IS ?4";

fn chain_binds(k: &ChainKey, (at, id): (u64, &str)) -> [JsValue; 6] {
    [text(&k.tenant), text(&k.run), text(&k.hash), opt_text(k.section.as_deref()), int(at), text(id)]
}

#[derive(Deserialize)]
struct PriorRow {
    id: String,
    attempt: Option<f64>,
    status_code: f64,
    outcome: String,
    started_at: f64,
}

#[derive(Deserialize)]
struct LinkRow {
    id: String,
    declared_attempt: Option<f64>,
    attempt: Option<f64>,
    is_retry: f64,
    retry_of: Option<String>,
    status_code: f64,
    outcome: String,
    started_at: f64,
}

fn small(n: Option<f64>) -> Option<u32> {
    n.map(|a| u32::try_from(whole(a)).unwrap_or(u32::MAX))
}

/// Writes events idempotently, then completes their retry facts. The facts of a call
/// depend on the stored calls before it in its chain, so for each chain the batch touches
/// they are recomputed from its earliest new call onwards (`retry::remark_chain`): events
/// written out of order, twice, or in one batch end with the facts of in-order writes.
/// Safe to repeat: a write that failed half-way is completed by writing it again.
pub async fn write_events<R: AsRef<EventWrite>>(env: &Env, rows: &[R]) -> ApiResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    crate::faults::d1_event_write()?;
    crate::faults::poison(rows.iter().map(|r| r.as_ref().tenant()))?;
    let db = db(env)?;
    // The earliest row of each chain in this batch.
    let mut chains: Vec<(ChainKey, (u64, &str))> = Vec::new();
    for row in rows {
        let row = row.as_ref();
        let Some(key) = chain_of(row) else { continue };
        match chains.iter_mut().find(|(k, _)| *k == key) {
            Some((_, first)) => *first = (*first).min(position(row)),
            None => chains.push((key, position(row))),
        }
    }
    let mut statements = insert_many(&db, &rows.iter().map(AsRef::as_ref).collect::<Vec<_>>())?;
    let inserts = statements.len();
    for (key, first) in &chains {
        let before = db
            .prepare(format!(
                "SELECT id, attempt, status_code, outcome, started_at FROM events WHERE {CHAIN_WHERE} \
                 AND (started_at < ?5 OR (started_at = ?5 AND id < ?6)) ORDER BY started_at DESC, id DESC LIMIT 1"
            ))
            .bind(&chain_binds(key, *first))?;
        let links = db
            .prepare(format!(
                "SELECT id, declared_attempt, attempt, is_retry, retry_of, status_code, outcome, started_at FROM events \
                 WHERE {CHAIN_WHERE} AND (started_at > ?5 OR (started_at = ?5 AND id >= ?6)) \
                 ORDER BY started_at, id LIMIT {CHAIN_LIMIT}"
            ))
            .bind(&chain_binds(key, *first))?;
        statements.push(before);
        statements.push(links);
    }
    // One round trip: the inserts, then each chain's context as it stands after them.
    let results = db.batch(statements).await?;
    // Every row whose retry facts change, in JSON arrays for one UPDATE each rather than
    // a statement per row (in the benchmark, where every call repeats the one before,
    // every row changes).
    let mut updates: Vec<String> = Vec::new();
    for (i, (key, _)) in chains.iter().enumerate() {
        let (Some(before), Some(links)) = (results.get(inserts + 2 * i), results.get(inserts + 2 * i + 1)) else {
            return Err(ApiError::internal("D1 answered a batch with fewer results than statements"));
        };
        let before = before.results::<PriorRow>()?.into_iter().next().map(|r| PriorAttempt {
            id: r.id,
            attempt: small(r.attempt),
            status_code: u16::try_from(whole(r.status_code)).unwrap_or(0),
            outcome: Outcome::parse(&r.outcome).unwrap_or_default(),
            started_at: UnixMillis(whole(r.started_at) as i64),
        });
        let links: Vec<ChainLink> = links
            .results::<LinkRow>()?
            .into_iter()
            .map(|r| ChainLink {
                id: r.id,
                declared_attempt: small(r.declared_attempt),
                status_code: u16::try_from(whole(r.status_code)).unwrap_or(0),
                outcome: Outcome::parse(&r.outcome).unwrap_or_default(),
                started_at: UnixMillis(whole(r.started_at) as i64),
                stored: RetryInfo { attempt: small(r.attempt), is_retry: r.is_retry != 0.0, retry_of: r.retry_of },
            })
            .collect();
        for (j, info) in remark_chain(before.as_ref(), &links) {
            updates.push(
                serde_json::json!({
                    "tenant": key.tenant,
                    "id": links[j].id,
                    "attempt": info.attempt,
                    "is_retry": u8::from(info.is_retry),
                    "retry_of": info.retry_of,
                })
                .to_string(),
            );
        }
    }
    if !updates.is_empty() {
        let sql = "UPDATE events SET attempt = json_extract(u.value, '$.attempt'), \
                   is_retry = json_extract(u.value, '$.is_retry'), retry_of = json_extract(u.value, '$.retry_of') \
                   FROM json_each(?1) AS u \
                   WHERE events.tenant_id = json_extract(u.value, '$.tenant') AND events.id = json_extract(u.value, '$.id')";
        let statements = json_arrays(&updates, JSON_PARAM_MAX_BYTES)
            .iter()
            .map(|array| db.prepare(sql).bind(&[text(array)]))
            .collect::<worker::Result<Vec<_>>>()?;
        db.batch(statements).await?;
    }
    Ok(())
}

// ---- ingestion failures ----

/// Parks an event that could not be written in `ingest_failures` (counted in `/health`,
/// replayable from its row). `false` when it was parked before.
pub async fn park_failed_event(env: &Env, row: &EventWrite, stage: &str, reason: &str, at: u64) -> ApiResult<bool> {
    let body = serde_json::to_string(row).map_err(|e| ApiError::internal(e.to_string()))?;
    let res = db(env)?
        .prepare(
            "INSERT OR IGNORE INTO ingest_failures (event_id, tenant_id, stage, reason, failed_at, event_row) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .bind(&[text(row.id()), text(row.tenant()), text(stage), text(reason), int(at), text(&body)])?
        .run()
        .await?;
    Ok(res.meta()?.and_then(|m| m.changes).unwrap_or(0) > 0)
}

#[derive(Deserialize)]
struct CountRow {
    n: f64,
}

/// How many events are parked in `ingest_failures` (all tenants: an operator's figure).
pub async fn unwritten_events(env: &Env) -> ApiResult<u64> {
    let row = db(env)?.prepare("SELECT COUNT(*) AS n FROM ingest_failures").first::<CountRow>(None).await?;
    Ok(row.map_or(0, |r| whole(r.n)))
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
