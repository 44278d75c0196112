//! Turns request credentials into a [`Principal`]: the admin token, or a gateway key
//! looked up by the hash of its secret in D1. The rules of what a principal may do live
//! in core (`access`, `key_policy`); this module only reads headers and rows.
//!
//! Invariant: a credential is never logged, echoed or stored; only its SHA-256 is
//! compared. Unknown, revoked, expired and rotated-out keys get the same answer.
//!
//! A key found in D1 is cached per isolate, by the hash of its secret, for [`KEY_TTL_MS`],
//! so a gateway call with a key seen recently costs no D1 read. Expiry and grace periods
//! are judged on every use against the clock; a revocation or rotation made through this
//! isolate drops the cached entries at once, and other isolates see it within the TTL.
//! Unknown secrets are never cached.

use llmobserve_core::access::{AccessError, Principal};
use llmobserve_core::attribution::{CustomerId, TenantId};
use llmobserve_core::gateway::bearer_token;
use llmobserve_core::key_policy::{admits, credential_shape_ok, FoundKey};
use llmobserve_core::keys::{looks_like_gateway_key, secret_hash, secrets_equal, Scopes};
use std::cell::RefCell;

use llmobserve_core::ttl_cache::TtlCache;
use worker::{Date, Env, Request};

use crate::config;
use crate::error::{ApiError, ApiResult};
use crate::store;

impl From<AccessError> for ApiError {
    fn from(e: AccessError) -> ApiError {
        let msg = e.message();
        match e {
            AccessError::MissingScope(_) => ApiError::forbidden("insufficient_scope", msg),
            AccessError::WrongTenant { .. } => ApiError::forbidden("tenant_mismatch", msg),
            AccessError::TenantRequired => ApiError::bad_request("tenant_required", msg).with_param("tenant_id"),
            AccessError::InvalidTenant(_) => ApiError::bad_request("invalid_tenant", msg).with_param("tenant_id"),
            AccessError::NotFound => ApiError::not_found(msg),
        }
    }
}

fn rejected() -> ApiError {
    ApiError::unauthorized("Invalid, expired or revoked llmobserve key. Create one with POST /admin/keys.")
}

fn millis(ms: Option<f64>) -> Option<i64> {
    ms.map(|m| i64::try_from(store::whole(m)).unwrap_or(i64::MAX))
}

/// How long an isolate reuses a key row it read from D1.
pub const KEY_TTL_MS: u64 = 30_000;
/// Most secrets an isolate remembers (a few MB at most).
const KEY_CACHE_CAPACITY: usize = 10_000;

/// What a key row says, decoded once: its state, judged against the clock at each use,
/// and the principal it authenticates as.
#[derive(Clone)]
struct KnownKey {
    state: FoundKey,
    principal: Principal,
}

thread_local! {
    static KEYS: RefCell<TtlCache<KnownKey>> = RefCell::new(TtlCache::new(KEY_TTL_MS, KEY_CACHE_CAPACITY));
}

/// Drops every cached secret of key `id` (after it was revoked or rotated here).
pub fn forget_key(id: &str) {
    KEYS.with(|k| k.borrow_mut().forget_where(|known| known.principal.key_id.as_deref() == Some(id)));
}

/// Resolves a gateway key. Unknown, revoked, expired and rotated-out keys get the same answer.
pub async fn principal_for_key(env: &Env, secret: &str) -> ApiResult<Principal> {
    if !looks_like_gateway_key(secret) {
        return Err(rejected());
    }
    let hash = secret_hash(secret);
    let now_ms = Date::now().as_millis();
    let cached = KEYS.with(|k| k.borrow().get(&hash, now_ms).cloned());
    let known = match cached {
        Some(known) => known,
        None => {
            let found = store::key_by_secret_hash(env, &hash).await?.ok_or_else(rejected)?;
            let known = known_key(found)?;
            KEYS.with(|k| k.borrow_mut().insert(hash, known.clone(), now_ms));
            known
        }
    };
    if !admits(known.state, i64::try_from(now_ms).unwrap_or(i64::MAX)) {
        return Err(rejected());
    }
    Ok(known.principal)
}

fn known_key(found: store::FoundKeyRow) -> ApiResult<KnownKey> {
    let row = found.key;
    let state = FoundKey {
        revoked_at: millis(row.revoked_at),
        expires_at: millis(row.expires_at),
        matched_previous: found.is_current == 0.0,
        previous_expires_at: millis(row.previous_expires_at),
    };
    let scopes = Scopes::parse_list(&row.scopes)
        .map_err(|e| ApiError::internal(format!("stored scopes of key {} are invalid: {e}", row.id)))?;
    let tenant = row
        .tenant_id
        .as_deref()
        .map(TenantId::parse)
        .transpose()
        .map_err(|e| ApiError::internal(format!("stored tenant of key {} is invalid: {e}", row.id)))?;
    let customer = row
        .customer_id
        .as_deref()
        .map(CustomerId::parse)
        .transpose()
        .map_err(|e| ApiError::internal(format!("stored customer of key {} is invalid: {e}", row.id)))?;
    if customer.is_some() && tenant.is_none() {
        return Err(ApiError::internal(format!("key {} is bound to a customer but not to a tenant", row.id)));
    }
    Ok(KnownKey { state, principal: Principal { key_id: Some(row.id), scopes, tenant, customer } })
}

/// Authenticates a management or read request: `Authorization: Bearer <admin token>` or
/// `Authorization: Bearer <gateway key>`.
pub async fn principal(req: &Request, env: &Env) -> ApiResult<Principal> {
    let header = req.headers().get("authorization").ok().flatten();
    let Some(header) = header else {
        return Err(ApiError::unauthorized("Send `Authorization: Bearer <admin token or llmobserve key>`."));
    };
    let token = bearer_token(&header)
        .ok_or_else(|| ApiError::unauthorized("`Authorization` must be `Bearer <admin token or llmobserve key>`."))?;
    if !credential_shape_ok(token) {
        return Err(ApiError::unauthorized(
            "The bearer token is malformed: a token is printable ASCII, without quotes, backslashes or spaces, at most 512 characters.",
        ));
    }
    if looks_like_gateway_key(token) {
        return principal_for_key(env, token).await;
    }
    let admin = config::admin_token(env)?;
    if secrets_equal(token, &admin) {
        Ok(Principal::admin_token())
    } else {
        Err(ApiError::unauthorized("Invalid admin token or llmobserve key."))
    }
}
