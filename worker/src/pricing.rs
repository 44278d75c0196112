//! Prices in the worker: the deployment's price book (compiled registry + D1 overrides),
//! `GET /pricing`, `PUT|DELETE /pricing/{model}` and `POST /admin/reprice`.
//!
//! Invariants: the rules live in core (`PriceBook`, `EntrySpec::compile`, `costing_for`);
//! every statement binds its parameters; re-pricing reads and writes one tenant's events
//! only, in keyset-paged batches.
//!
//! The book is cached per isolate for [`BOOK_TTL_MS`] so that a gateway call costs no D1
//! read while the overrides do not change. A change made through this isolate is seen at
//! once; other isolates see it within the TTL. Events priced in that window carry the
//! previous `price_version`, and a re-pricing run brings them up to date.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use llmobserve_core::access::Principal;
use llmobserve_core::attribution::TenantId;
use llmobserve_core::event::{costing_for, price_event_with, CallRecord, Event};
use llmobserve_core::keys::Scope;
use llmobserve_core::money::NanoUsd;
use llmobserve_core::pricing::spec::parse_day;
use llmobserve_core::pricing::{canonical_provider, entry_json, model_candidates, Costing, EntrySpec, Origin, PriceBook, UnpricedReason};
use llmobserve_core::time::UnixMillis;
use llmobserve_core::usage::{ImageQuality, ImageSize, Images, ServiceTier, Usage};
use serde::Deserialize;
use serde_json::{json, Value};
use worker::{Date, Env, Request, Response};

use crate::error::{ApiError, ApiResult};
use crate::json_response;
use crate::random::random_bytes;
use crate::store::{self, db, int, opt_int, opt_text, text, EventRow};

/// How long an isolate reuses the overrides it read from D1.
pub const BOOK_TTL_MS: u64 = 30_000;
/// Events re-priced per request; a longer range continues with `run_id`.
const REPRICE_MAX_EVENTS: usize = 2_000;
const REPRICE_PAGE: u32 = 250;

thread_local! {
    static BOOK: RefCell<Option<(u64, Rc<PriceBook>)>> = const { RefCell::new(None) };
}

fn now_ms() -> u64 {
    Date::now().as_millis()
}

#[derive(Deserialize)]
struct Revision {
    r: Option<f64>,
}

#[derive(Deserialize)]
struct OverrideRow {
    id: f64,
    spec: Option<String>,
}

/// Reads every override from D1 and builds the book. The newest row per (provider, model,
/// effective_from) wins; a deleted one (spec NULL) removes the override.
async fn load_book(env: &Env) -> ApiResult<PriceBook> {
    let rows = db(env)?
        .prepare(
            "SELECT o.id AS id, o.spec AS spec FROM price_overrides o \
             WHERE o.id = (SELECT MAX(p.id) FROM price_overrides p WHERE p.provider = o.provider \
             AND p.model = o.model AND p.effective_from = o.effective_from) ORDER BY o.id",
        )
        .all()
        .await?
        .results::<OverrideRow>()?;
    let revision: Option<Revision> = db(env)?.prepare("SELECT MAX(id) AS r FROM price_overrides").first(None).await?;
    let mut overrides = Vec::new();
    for row in rows {
        let Some(spec) = row.spec else { continue };
        match serde_json::from_str::<EntrySpec>(&spec).map_err(|e| e.to_string()).and_then(|s| s.compile(Origin::Override)) {
            Ok(entry) => overrides.push(entry),
            Err(e) => worker::console_error!("price override {} ignored: {e}", row.id),
        }
    }
    Ok(PriceBook::with_overrides(overrides, revision.and_then(|r| r.r).unwrap_or(0.0) as u64))
}

/// The deployment's price book, from the per-isolate cache when it is fresh.
pub async fn book(env: &Env) -> ApiResult<Rc<PriceBook>> {
    let now = now_ms();
    if let Some(b) = BOOK.with(|c| c.borrow().as_ref().filter(|(at, _)| now.saturating_sub(*at) < BOOK_TTL_MS).map(|(_, b)| b.clone())) {
        return Ok(b);
    }
    let fresh = Rc::new(load_book(env).await?);
    BOOK.with(|c| *c.borrow_mut() = Some((now, fresh.clone())));
    Ok(fresh)
}

fn forget_book() {
    BOOK.with(|c| *c.borrow_mut() = None);
}

/// Prices a gateway or collector call with the deployment's book. If the overrides cannot
/// be read, the call is priced from the registry alone (its `price_version` says so) rather
/// than left unrecorded.
pub async fn price_call(env: &Env, call: CallRecord) -> Event {
    match book(env).await {
        Ok(b) => price_event_with(call, &b),
        Err(e) => {
            worker::console_error!("price overrides unavailable, registry prices used: {}", e.message);
            price_event_with(call, &PriceBook::registry())
        }
    }
}

fn query(req: &Request) -> ApiResult<Vec<(String, String)>> {
    Ok(req.url()?.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect())
}

fn param<'a>(q: &'a [(String, String)], name: &str) -> Option<&'a str> {
    q.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

fn day_param(q: &[(String, String)], name: &str) -> ApiResult<Option<llmobserve_core::time::Day>> {
    param(q, name)
        .map(|d| parse_day(d).map_err(|e| ApiError::bad_request("invalid_date", format!("{name}: {e}")).with_param(name)))
        .transpose()
}

/// `GET /pricing?provider=&model=&at=YYYY-MM-DD`: the effective registry (overrides first).
/// With `model` and `at`, `resolved` is the entry that prices that model on that day
/// (snapshots and fine-tunes resolve to their family).
pub async fn get_pricing(req: &Request, env: &Env, who: &Principal) -> ApiResult<Response> {
    who.require(Scope::Read)?;
    let q = query(req)?;
    let book = load_book(env).await?;
    let provider = param(&q, "provider");
    let model = param(&q, "model");
    let at = day_param(&q, "at")?;
    let data: Vec<Value> = book
        .entries()
        .filter(|e| provider.is_none_or(|p| e.provider == canonical_provider(p)))
        .filter(|e| model.is_none_or(|m| model_candidates(m).contains(&e.model.as_ref())))
        .map(entry_json)
        .collect();
    let resolved = match (model, at) {
        (Some(m), Some(day)) => book.find(provider.unwrap_or("openai"), m, day).map(entry_json),
        _ => None,
    };
    json_response(200, &json!({
        "price_version": book.version(),
        "registry_entries": llmobserve_core::pricing::REGISTRY.len(),
        "overrides": book.overrides().len(),
        "resolved": resolved,
        "data": data,
    }))
}

/// The model id of `/pricing/{model}`: the rest of the path, percent-decoded, so that
/// `meta-llama/llama-4-scout` and `ft:gpt-4o-mini:org::id` work.
pub fn model_from_path(segments: &[&str]) -> ApiResult<String> {
    let raw = segments.join("/");
    let mut out = Vec::with_capacity(raw.len());
    let b = raw.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok());
            if let Some(v) = hex {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    let model = String::from_utf8(out).map_err(|_| ApiError::bad_request("invalid_model", "the model id is not UTF-8"))?;
    if !llmobserve_core::pricing::spec::id_ok(&model) {
        return Err(ApiError::bad_request("invalid_model", "model must be 1 to 128 characters from [A-Za-z0-9-._:/@]").with_param("model"));
    }
    Ok(model)
}

fn who_label(who: &Principal) -> String {
    who.key_id.clone().unwrap_or_else(|| "admin-token".to_owned())
}

/// `PUT /pricing/{model}`: adds an override (admin). The body is a registry entry in JSON
/// (`{"effective_from":"2026-12-01","input":"2.00","output":"8.00"}`); `provider` defaults to
/// `openai`, `source` to who set it and `note`. Applies to events on and after
/// `effective_from`, from now on; re-price to apply it to events already recorded.
pub async fn put_override(mut req: Request, env: &Env, who: &Principal, model: &str) -> ApiResult<Response> {
    who.require(Scope::Admin)?;
    let bad = |m: String| ApiError::bad_request("invalid_price", m);
    let mut body: serde_json::Map<String, Value> = serde_json::from_slice(&req.bytes().await?).map_err(|e| {
        bad(format!("Body must be a JSON object like {{\"effective_from\":\"2026-12-01\",\"input\":\"2.00\",\"output\":\"8.00\",\"note\":\"negotiated\"}}: {e}"))
    })?;
    let note = match body.remove("note") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.len() <= 500 => Some(s),
        Some(_) => return Err(bad("note must be a string of at most 500 characters".to_owned()).with_param("note")),
    };
    if body.get("model").is_some_and(|m| m.as_str() != Some(model)) {
        return Err(bad(format!("the body's model differs from the path's `{model}`; drop it from the body")).with_param("model"));
    }
    body.insert("model".to_owned(), json!(model));
    // `gemini` is stored as `google`, so that the override matches the calls it is for.
    let provider = match body.get("provider") {
        None | Some(Value::Null) => "openai".to_owned(),
        Some(Value::String(p)) => canonical_provider(p).into_owned(),
        Some(_) => return Err(bad("provider must be a string such as \"openai\"".to_owned()).with_param("provider")),
    };
    body.insert("provider".to_owned(), json!(provider));
    let today = UnixMillis(now_ms() as i64).day().to_iso();
    let label = who_label(who);
    body.entry("source").or_insert_with(|| json!(format!("override by {label} on {today}{}", note.as_deref().map(|n| format!(": {n}")).unwrap_or_default())));
    let spec_value = Value::Object(body);
    let spec: EntrySpec = serde_json::from_value(spec_value.clone()).map_err(|e| bad(format!("{e}. Fields are those of core/prices/registry.toml; prices are USD decimal strings.")))?;
    let entry = spec.compile(Origin::Override).map_err(bad)?;
    db(env)?
        .prepare("INSERT INTO price_overrides (provider, model, effective_from, spec, note, created_by, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")
        .bind(&[
            text(&entry.provider),
            text(&entry.model),
            text(&entry.effective_from.to_iso()),
            text(&spec_value.to_string()),
            opt_text(note.as_deref()),
            text(&label),
            int(now_ms()),
        ])?
        .run()
        .await?;
    forget_book();
    let book = book(env).await?;
    json_response(200, &json!({ "price_version": book.version(), "override": entry_json(&entry) }))
}

/// `DELETE /pricing/{model}?provider=&effective_from=`: removes an override (admin).
pub async fn delete_override(req: &Request, env: &Env, who: &Principal, model: &str) -> ApiResult<Response> {
    who.require(Scope::Admin)?;
    let q = query(req)?;
    let provider = canonical_provider(param(&q, "provider").unwrap_or("openai"));
    let provider = provider.as_ref();
    let from = day_param(&q, "effective_from")?
        .ok_or_else(|| ApiError::bad_request("invalid_date", "name the override: add effective_from=YYYY-MM-DD").with_param("effective_from"))?;
    let current = load_book(env).await?;
    if !current.overrides().iter().any(|o| o.provider == provider && o.model == model && o.effective_from == from) {
        return Err(ApiError::not_found(format!("No override of {provider}/{model} from {}.", from.to_iso())));
    }
    db(env)?
        .prepare("INSERT INTO price_overrides (provider, model, effective_from, spec, note, created_by, created_at) VALUES (?1, ?2, ?3, NULL, 'deleted', ?4, ?5)")
        .bind(&[text(provider), text(model), text(&from.to_iso()), text(&who_label(who)), int(now_ms())])?
        .run()
        .await?;
    forget_book();
    let book = book(env).await?;
    json_response(200, &json!({ "deleted": true, "price_version": book.version() }))
}

// ---- re-pricing ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RepriceBody {
    tenant_id: Option<String>,
    /// First day (UTC), inclusive.
    from: Option<String>,
    /// Last day (UTC), inclusive.
    to: Option<String>,
    /// Continue a run that answered `"status": "running"`.
    run_id: Option<String>,
}

#[derive(Deserialize, Clone)]
struct RunRow {
    id: String,
    tenant_id: String,
    from_ms: f64,
    to_ms: f64,
    status: String,
    cursor_started_at: Option<f64>,
    cursor_id: Option<String>,
    events_seen: f64,
    events_changed: f64,
    priced_before: f64,
    priced_after: f64,
    total_before_nanousd: f64,
    total_after_nanousd: f64,
    old_price_versions: String,
    new_price_version: String,
    requested_by: Option<String>,
    created_at: f64,
    finished_at: Option<f64>,
}

const RUN_COLUMNS: &str = "id, tenant_id, from_ms, to_ms, status, cursor_started_at, cursor_id, events_seen, \
    events_changed, priced_before, priced_after, total_before_nanousd, total_after_nanousd, old_price_versions, \
    new_price_version, requested_by, created_at, finished_at";

fn usd(n: f64) -> Value {
    NanoUsd::new(n as u64).map_or(Value::Null, |c| json!(c.to_usd_string()))
}

fn run_json(r: &RunRow) -> Value {
    let old: Value = serde_json::from_str(&r.old_price_versions).unwrap_or_else(|_| json!({}));
    json!({
        "id": r.id,
        "tenant_id": r.tenant_id,
        "from": UnixMillis(r.from_ms as i64).to_rfc3339(),
        "to": UnixMillis(r.to_ms as i64).to_rfc3339(),
        "status": r.status,
        "events": r.events_seen as u64,
        "events_changed": r.events_changed as u64,
        "priced_before": r.priced_before as u64,
        "priced_after": r.priced_after as u64,
        "unpriced_before": (r.events_seen - r.priced_before) as u64,
        "unpriced_after": (r.events_seen - r.priced_after) as u64,
        "total_before_usd": usd(r.total_before_nanousd),
        "total_after_usd": usd(r.total_after_nanousd),
        "total_before_nanousd": r.total_before_nanousd as u64,
        "total_after_nanousd": r.total_after_nanousd as u64,
        "old_price_versions": old,
        "new_price_version": r.new_price_version,
        "requested_by": r.requested_by,
        "created_at": UnixMillis(r.created_at as i64).to_rfc3339(),
        "finished_at": r.finished_at.map(|f| UnixMillis(f as i64).to_rfc3339()),
    })
}

/// The raw usage stored on an event, as core prices it (`None` when none was recorded).
fn stored_usage(e: &EventRow) -> Option<Usage> {
    if e.usage_source == "missing" {
        return None;
    }
    let n = |v: f64| v.max(0.0) as u64;
    let images = (e.images > 0.0).then(|| Images {
        count: n(e.images),
        size: e.image_size.as_deref().and_then(|s| ImageSize::parse(s).ok()).unwrap_or_default(),
        quality: e.image_quality.as_deref().and_then(|q| ImageQuality::parse(q).ok()).unwrap_or_default(),
    });
    Some(Usage {
        input_tokens: n(e.input_tokens),
        cached_input_tokens: n(e.cached_input_tokens),
        output_tokens: n(e.output_tokens),
        reasoning_tokens: n(e.reasoning_tokens),
        audio_input_tokens: n(e.audio_input_tokens),
        audio_output_tokens: n(e.audio_output_tokens),
        cache_write_tokens: n(e.cache_write_tokens),
        cache_write_1h_tokens: n(e.cache_write_1h_tokens),
        cached_audio_input_tokens: n(e.cached_audio_input_tokens),
        image_input_tokens: n(e.image_input_tokens),
        cached_image_input_tokens: n(e.cached_image_input_tokens),
        image_output_tokens: n(e.image_output_tokens),
        audio_duration_ms: n(e.audio_duration_ms),
        characters: n(e.characters),
        images,
        service_tier: e.service_tier.as_deref().map(ServiceTier::parse).unwrap_or_default(),
    })
}

fn day_start_ms(text: &str, name: &str) -> ApiResult<i64> {
    let day = parse_day(text).map_err(|e| ApiError::bad_request("invalid_date", format!("{name}: {e}")).with_param(name))?;
    Ok(day.start().0)
}

/// `POST /admin/reprice` `{"tenant_id","from":"YYYY-MM-DD","to":"YYYY-MM-DD"}` (admin):
/// recomputes the cost of the tenant's events in the range from their stored raw usage with
/// the current price book, writes what changed, and records the run with its totals before
/// and after and the old and new price versions. At most 2,000 events per request: a run
/// that answers `"status":"running"` continues with `{"run_id": ...}`.
pub async fn reprice(mut req: Request, env: &Env, who: &Principal) -> ApiResult<Response> {
    who.require(Scope::Admin)?;
    let body: RepriceBody = serde_json::from_slice(&req.bytes().await?).map_err(|e| {
        ApiError::bad_request("invalid_body", format!("Body must be JSON like {{\"tenant_id\":\"acme-corp\",\"from\":\"2026-11-01\",\"to\":\"2026-11-30\"}} or {{\"run_id\":\"rp_...\"}}: {e}"))
    })?;
    let book = load_book(env).await?;
    let mut run = match &body.run_id {
        Some(id) => {
            let row: Option<RunRow> = db(env)?
                .prepare(format!("SELECT {RUN_COLUMNS} FROM repricing_runs WHERE id = ?1"))
                .bind(&[text(id)])?
                .first(None)
                .await?;
            let row = row.ok_or_else(|| ApiError::not_found(format!("No re-pricing run {id:?}.")))?;
            if row.status == "complete" {
                return json_response(200, &run_json(&row));
            }
            if row.new_price_version != book.version() {
                return Err(ApiError::new(409, "invalid_request_error", "prices_changed", format!(
                    "Prices changed since run {id} started (now {}); start a new run over the same range.", book.version())));
            }
            row
        }
        None => {
            let tenant = TenantId::parse(body.tenant_id.as_deref().unwrap_or(""))
                .map_err(|e| ApiError::bad_request("invalid_tenant", format!("tenant_id: {}", e.reason)).with_param("tenant_id"))?;
            let from = day_start_ms(body.from.as_deref().unwrap_or(""), "from")?;
            let to = day_start_ms(body.to.as_deref().unwrap_or(""), "to")? + 86_400_000;
            if to <= from {
                return Err(ApiError::bad_request("invalid_date", "to must be on or after from").with_param("to"));
            }
            let id = format!("rp_{}", random_bytes::<8>()?.iter().map(|b| format!("{b:02x}")).collect::<String>());
            let created_at = now_ms();
            db(env)?
                .prepare("INSERT INTO repricing_runs (id, tenant_id, from_ms, to_ms, status, new_price_version, requested_by, created_at) \
                          VALUES (?1, ?2, ?3, ?4, 'running', ?5, ?6, ?7)")
                .bind(&[text(&id), text(tenant.as_str()), int(from.max(0) as u64), int(to.max(0) as u64), text(book.version()),
                        text(&who_label(who)), int(created_at)])?
                .run()
                .await?;
            RunRow {
                id,
                tenant_id: tenant.as_str().to_owned(),
                from_ms: from.max(0) as f64,
                to_ms: to.max(0) as f64,
                status: "running".to_owned(),
                cursor_started_at: None,
                cursor_id: None,
                events_seen: 0.0,
                events_changed: 0.0,
                priced_before: 0.0,
                priced_after: 0.0,
                total_before_nanousd: 0.0,
                total_after_nanousd: 0.0,
                old_price_versions: "{}".to_owned(),
                new_price_version: book.version().to_owned(),
                requested_by: Some(who_label(who)),
                created_at: created_at as f64,
                finished_at: None,
            }
        }
    };
    let mut old_versions: BTreeMap<String, u64> = serde_json::from_str(&run.old_price_versions).unwrap_or_default();
    // Money is summed in integers; D1 hands numbers over as f64, exact below 2^53.
    let mut total_before = run.total_before_nanousd as u64;
    let mut total_after = run.total_after_nanousd as u64;
    let mut seen = 0usize;
    let mut done = false;
    while seen < REPRICE_MAX_EVENTS {
        let mut sql = format!("SELECT {} FROM events WHERE tenant_id = ?1 AND started_at >= ?2 AND started_at < ?3", store::EVENT_COLUMNS);
        let mut binds = vec![text(&run.tenant_id), int(run.from_ms as u64), int(run.to_ms as u64)];
        if let (Some(at), Some(id)) = (run.cursor_started_at, run.cursor_id.as_deref()) {
            binds.push(int(at as u64));
            binds.push(text(id));
            sql.push_str(" AND (started_at > ?4 OR (started_at = ?4 AND id > ?5))");
        }
        binds.push(int(u64::from(REPRICE_PAGE)));
        sql.push_str(&format!(" ORDER BY started_at, id LIMIT ?{}", binds.len()));
        let rows = db(env)?.prepare(sql).bind(&binds)?.all().await?.results::<EventRow>()?;
        let mut updates = Vec::new();
        for e in &rows {
            let usage = stored_usage(e);
            let costing = costing_for(&book, &e.provider, e.response_model.as_deref(), e.request_model.as_deref(),
                UnixMillis(e.started_at as i64), usage.as_ref());
            let new_cost = costing.cost().map(NanoUsd::nanos);
            let new_reason = match &costing {
                Costing::Unpriced(r) => Some(*r),
                _ => None,
            };
            let new_ref = costing.price_ref();
            let old_cost = e.cost_nanousd.map(|c| c as u64);
            run.events_seen += 1.0;
            if let Some(c) = old_cost {
                run.priced_before += 1.0;
                total_before = total_before.saturating_add(c);
            }
            if let Some(c) = new_cost {
                run.priced_after += 1.0;
                total_after = total_after.saturating_add(c);
            }
            *old_versions.entry(e.price_version.clone().unwrap_or_else(|| "none".to_owned())).or_default() += 1;
            let changed = old_cost != new_cost
                || e.price_ref != new_ref
                || e.unpriced_reason.as_deref() != new_reason.map(UnpricedReason::as_str)
                || e.price_version.as_deref() != Some(book.version());
            if changed {
                run.events_changed += 1.0;
                updates.push(db(env)?
                    .prepare("UPDATE events SET cost_nanousd = ?3, pricing_status = ?4, unpriced_reason = ?5, price_ref = ?6, \
                              price_version = ?7, repricing_run_id = ?8 WHERE tenant_id = ?1 AND id = ?2")
                    .bind(&[
                        text(&run.tenant_id),
                        text(&e.id),
                        opt_int(new_cost),
                        text(if new_cost.is_some() { "priced" } else { "unpriced" }),
                        opt_text(new_reason.map(UnpricedReason::as_str)),
                        opt_text(new_ref.as_deref()),
                        text(book.version()),
                        text(&run.id),
                    ])?);
            }
        }
        if !updates.is_empty() {
            // The days' rollups no longer match their events: reads stop using them and
            // the next cron run rebuilds them (in the same transaction as the updates).
            let day = 86_400_000.0;
            let stale = llmobserve_core::rollup_sql::mark_stale_range(&run.tenant_id, (run.from_ms / day).floor() as i64, (run.to_ms / day).ceil() as i64);
            updates.push(db(env)?.prepare(stale.sql.as_str()).bind(&stale.binds.iter().map(crate::store::bind_value).collect::<Vec<_>>())?);
            db(env)?.batch(updates).await?;
        }
        seen += rows.len();
        if let Some(last) = rows.last() {
            run.cursor_started_at = Some(last.started_at);
            run.cursor_id = Some(last.id.clone());
        }
        if rows.len() < REPRICE_PAGE as usize {
            done = true;
            break;
        }
    }
    if total_before > llmobserve_core::money::MAX_SAFE_INTEGER || total_after > llmobserve_core::money::MAX_SAFE_INTEGER {
        return Err(ApiError::bad_request("range_too_large", "the range's total cost exceeds what D1 stores exactly (about $9M); re-price a shorter range"));
    }
    run.total_before_nanousd = total_before as f64;
    run.total_after_nanousd = total_after as f64;
    if done {
        run.status = "complete".to_owned();
        run.finished_at = Some(now_ms() as f64);
    }
    run.old_price_versions = serde_json::to_string(&old_versions).unwrap_or_else(|_| "{}".to_owned());
    db(env)?
        .prepare("UPDATE repricing_runs SET status = ?3, cursor_started_at = ?4, cursor_id = ?5, events_seen = ?6, events_changed = ?7, \
                  priced_before = ?8, priced_after = ?9, total_before_nanousd = ?10, total_after_nanousd = ?11, \
                  old_price_versions = ?12, finished_at = ?13 WHERE tenant_id = ?1 AND id = ?2")
        .bind(&[
            text(&run.tenant_id),
            text(&run.id),
            text(&run.status),
            opt_int(run.cursor_started_at.map(|v| v as u64)),
            opt_text(run.cursor_id.as_deref()),
            int(run.events_seen as u64),
            int(run.events_changed as u64),
            int(run.priced_before as u64),
            int(run.priced_after as u64),
            int(total_before),
            int(total_after),
            text(&run.old_price_versions),
            opt_int(run.finished_at.map(|v| v as u64)),
        ])?
        .run()
        .await?;
    json_response(200, &run_json(&run))
}

/// `GET /admin/reprice/{run_id}` (admin): a run's report.
pub async fn get_run(env: &Env, who: &Principal, id: &str) -> ApiResult<Response> {
    who.require(Scope::Admin)?;
    let row: Option<RunRow> = db(env)?
        .prepare(format!("SELECT {RUN_COLUMNS} FROM repricing_runs WHERE id = ?1"))
        .bind(&[text(id)])?
        .first(None)
        .await?;
    let row = row.ok_or_else(|| ApiError::not_found(format!("No re-pricing run {id:?}.")))?;
    json_response(200, &run_json(&row))
}
