//! Key management (`/admin/keys`), for the admin token or a key with the `admin` scope.
//! What a key may be is decided in core (`key_policy`); this module reads bodies, mints
//! secrets and writes rows.
//!
//! Invariant: a secret appears in exactly one response, the one that made it (create or
//! rotate); D1 holds only its SHA-256 and a four-character hint.

use llmobserve_core::access::Principal;
use llmobserve_core::key_policy::{is_key_id, secret_hint, KeyPolicyError, KeyStatus, NewKeyRequest, RotateRequest};
use llmobserve_core::keys::{gateway_key_id, gateway_key_secret, secret_hash, Scope};
use llmobserve_core::query::KeysQuery;
use llmobserve_core::time::UnixMillis;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use worker::{Date, Env, Request, Response};

use crate::error::{ApiError, ApiResult};
use crate::json_response;
use crate::random::random_bytes;
use crate::read::raw_query;
use crate::store::{self, whole, KeyRow, NewKey};

/// Largest admin request body accepted.
const MAX_BODY: usize = 16 * 1024;

impl From<KeyPolicyError> for ApiError {
    fn from(e: KeyPolicyError) -> ApiError {
        ApiError::bad_request(e.code, e.message).with_param(e.param)
    }
}

fn iso(ms: f64) -> String {
    UnixMillis(i64::try_from(whole(ms)).unwrap_or(i64::MAX)).to_rfc3339()
}

fn now_ms() -> i64 {
    i64::try_from(Date::now().as_millis()).unwrap_or(i64::MAX)
}

fn key_json(k: &KeyRow, now: i64) -> Value {
    let revoked = k.revoked_at.map(|t| i64::try_from(whole(t)).unwrap_or(i64::MAX));
    let expires = k.expires_at.map(|t| i64::try_from(whole(t)).unwrap_or(i64::MAX));
    let previous_valid_until = k.previous_expires_at.filter(|t| (whole(*t) as i64) > now && revoked.is_none());
    json!({
        "id": k.id,
        "name": k.name,
        "scopes": k.scopes.split(',').filter(|s| !s.is_empty()).collect::<Vec<_>>(),
        "tenant_id": k.tenant_id,
        "customer_id": k.customer_id,
        "status": KeyStatus::of(revoked, expires, now).as_str(),
        "secret_hint": k.secret_hint,
        "created_at": iso(k.created_at),
        "created_by": k.created_by,
        "expires_at": k.expires_at.map(iso),
        "revoked_at": k.revoked_at.map(iso),
        "rotated_at": k.rotated_at.map(iso),
        "previous_secret_valid_until": previous_valid_until.map(iso),
    })
}

/// Reads a JSON body; an empty body is `empty` (or an error when there is none).
async fn json_body<T: DeserializeOwned>(req: &mut Request, example: &str, empty: Option<T>) -> ApiResult<T> {
    let bytes = req.bytes().await?;
    if bytes.len() > MAX_BODY {
        return Err(ApiError::new(413, "invalid_request_error", "body_too_large", format!("The body is larger than {MAX_BODY} bytes.")));
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        if let Some(e) = empty {
            return Ok(e);
        }
    }
    serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::bad_request("invalid_body", format!("Body must be JSON like {example}: {e}")))
}

fn key_id_param(id: &str) -> ApiResult<&str> {
    if is_key_id(id) {
        Ok(id)
    } else {
        Err(ApiError::bad_request("invalid_key_id", "A key id is `key_` followed by 16 lower-case hex digits, as returned by POST /admin/keys.")
            .with_param("key_id"))
    }
}

fn no_such_key(id: &str) -> ApiError {
    ApiError::not_found(format!("No active key {id}."))
}

/// `POST /admin/keys`: `{"name", "scopes", "tenant_id"?, "customer_id"?, "expires_at"?}`.
/// The secret is in the answer once and never again.
pub async fn create_key(mut req: Request, env: &Env, who: &Principal) -> ApiResult<Response> {
    who.require(Scope::Admin)?;
    let body: NewKeyRequest = json_body(
        &mut req,
        r#"{"name":"acme-dashboard","scopes":["read"],"tenant_id":"acme-corp","customer_id":"alice","expires_at":"2026-12-31T00:00:00Z"}"#,
        None,
    )
    .await?;
    let now = now_ms();
    let spec = body.validate(now)?;
    let secret = gateway_key_secret(&random_bytes::<32>()?);
    let id = gateway_key_id(&random_bytes::<8>()?);
    let scope_list = spec.scopes.to_list();
    let hint = secret_hint(&secret);
    let created_at = u64::try_from(now).unwrap_or(0);
    store::insert_key(env, &NewKey {
        id: &id,
        hash: &secret_hash(&secret),
        secret_hint: &hint,
        name: &spec.name,
        scopes: &scope_list,
        tenant_id: spec.tenant.as_ref().map(|t| t.as_str()),
        customer_id: spec.customer.as_ref().map(|c| c.as_str()),
        expires_at: spec.expires_at.and_then(|e| u64::try_from(e).ok()),
        created_at,
        created_by: who.key_id.as_deref(),
    })
    .await?;
    let row = store::key_by_id(env, &id).await?.ok_or_else(|| ApiError::internal("a key just created was not found"))?;
    let mut body = key_json(&row, now);
    body["key"] = json!(secret);
    json_response(201, &body)
}

/// `GET /admin/keys?tenant_id=&include_revoked=`: keys, without secrets.
pub async fn list_keys(req: &Request, env: &Env, who: &Principal) -> ApiResult<Response> {
    who.require(Scope::Admin)?;
    let q = KeysQuery::parse(raw_query(req)?.as_deref())?;
    let keys = store::list_keys(env, q.tenant.as_ref().map(|t| t.as_str()), q.include_revoked).await?;
    let now = now_ms();
    json_response(200, &json!({ "data": keys.iter().map(|k| key_json(k, now)).collect::<Vec<_>>() }))
}

/// `GET /admin/keys/{id}`.
pub async fn get_key(env: &Env, who: &Principal, id: &str) -> ApiResult<Response> {
    who.require(Scope::Admin)?;
    let id = key_id_param(id)?;
    let row = store::key_by_id(env, id).await?.ok_or_else(|| ApiError::not_found(format!("No key {id}.")))?;
    json_response(200, &key_json(&row, now_ms()))
}

/// `POST /admin/keys/{id}/rotate` with an optional `{"grace_period_seconds": N}`: a new
/// secret for the same key (same id, scopes and binding); the old secret stops working
/// at once, or after the grace period.
pub async fn rotate_key(mut req: Request, env: &Env, who: &Principal, id: &str) -> ApiResult<Response> {
    who.require(Scope::Admin)?;
    let id = key_id_param(id)?;
    let body: RotateRequest = json_body(&mut req, r#"{"grace_period_seconds":3600}"#, Some(RotateRequest::default())).await?;
    let grace = body.grace_ms()?;
    let now = now_ms();
    let secret = gateway_key_secret(&random_bytes::<32>()?);
    let previous_until = (grace > 0).then(|| u64::try_from(now + grace).unwrap_or(0));
    let now_u = u64::try_from(now).unwrap_or(0);
    if !store::rotate_key(env, id, &secret_hash(&secret), &secret_hint(&secret), now_u, previous_until).await? {
        return Err(no_such_key(id));
    }
    crate::auth::forget_key(id);
    let row = store::key_by_id(env, id).await?.ok_or_else(|| no_such_key(id))?;
    let mut body = key_json(&row, now);
    body["key"] = json!(secret);
    json_response(200, &body)
}

/// `DELETE /admin/keys/{id}`: revokes a key (and any rotated-out secret of it): at once in
/// this isolate, in every other within `auth::KEY_TTL_MS`.
pub async fn revoke_key(env: &Env, who: &Principal, id: &str) -> ApiResult<Response> {
    who.require(Scope::Admin)?;
    let id = key_id_param(id)?;
    if !store::revoke_key(env, id, u64::try_from(now_ms()).unwrap_or(0)).await? {
        return Err(no_such_key(id));
    }
    crate::auth::forget_key(id);
    let row = store::key_by_id(env, id).await?.ok_or_else(|| no_such_key(id))?;
    let mut body = key_json(&row, now_ms());
    body["revoked"] = json!(true);
    json_response(200, &body)
}
