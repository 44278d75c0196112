//! Turns request credentials into a [`Principal`]: the admin token, or a gateway key
//! looked up by its hash in D1. The rules of what a principal may do live in core.

use llmobserve_core::access::{AccessError, Principal};
use llmobserve_core::attribution::TenantId;
use llmobserve_core::gateway::bearer_token;
use llmobserve_core::keys::{looks_like_gateway_key, secret_hash, secrets_equal, Scopes};
use worker::{Env, Request};

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

/// The bearer token of `Authorization`, if any.
pub fn bearer(req: &Request) -> Option<String> {
    let value = req.headers().get("authorization").ok()??;
    bearer_token(&value).map(str::to_owned)
}

/// Resolves a gateway key. Unknown and revoked keys get the same answer.
pub async fn principal_for_key(env: &Env, secret: &str) -> ApiResult<Principal> {
    let rejected = || ApiError::unauthorized("Invalid or revoked llmobserve key. Create one with POST /admin/keys.");
    if !looks_like_gateway_key(secret) {
        return Err(rejected());
    }
    let row = store::key_by_hash(env, &secret_hash(secret)).await?.ok_or_else(rejected)?;
    if row.revoked_at.is_some() {
        return Err(rejected());
    }
    let scopes = Scopes::parse_list(&row.scopes)
        .map_err(|e| ApiError::internal(format!("stored scopes of key {} are invalid: {e}", row.id)))?;
    let tenant = row
        .tenant_id
        .as_deref()
        .map(TenantId::parse)
        .transpose()
        .map_err(|e| ApiError::internal(format!("stored tenant of key {} is invalid: {e}", row.id)))?;
    Ok(Principal { key_id: Some(row.id), scopes, tenant })
}

/// Authenticates a management or read request: `Authorization: Bearer <admin token>` or
/// `Authorization: Bearer <gateway key>`.
pub async fn principal(req: &Request, env: &Env) -> ApiResult<Principal> {
    let token = bearer(req).ok_or_else(|| {
        ApiError::unauthorized("Send `Authorization: Bearer <admin token or llmobserve key>`.")
    })?;
    if looks_like_gateway_key(&token) {
        return principal_for_key(env, &token).await;
    }
    let admin = config::admin_token(env)?;
    if secrets_equal(&token, &admin) {
        Ok(Principal::admin_token())
    } else {
        Err(ApiError::unauthorized("Invalid admin token or llmobserve key."))
    }
}
