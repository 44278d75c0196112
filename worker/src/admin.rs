//! Key management (`/admin/keys`), for the admin token or a key with the `admin` scope.

use llmobserve_core::access::Principal;
use llmobserve_core::attribution::TenantId;
use llmobserve_core::keys::{gateway_key_id, gateway_key_secret, secret_hash, Scope, Scopes};
use llmobserve_core::time::UnixMillis;
use serde::Deserialize;
use serde_json::json;
use worker::{Date, Env, Request, Response};

use crate::error::{ApiError, ApiResult};
use crate::random::random_bytes;
use crate::store::{self, KeyRow, NewKey};
use crate::json_response;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateKey {
    name: String,
    #[serde(default)]
    scopes: Option<Vec<String>>,
    #[serde(default)]
    tenant_id: Option<String>,
}

fn key_json(k: &KeyRow) -> serde_json::Value {
    json!({
        "id": k.id,
        "name": k.name,
        "scopes": k.scopes.split(',').filter(|s| !s.is_empty()).collect::<Vec<_>>(),
        "tenant_id": k.tenant_id,
        "created_at": UnixMillis(k.created_at as i64).to_rfc3339(),
        "revoked_at": k.revoked_at.map(|t| UnixMillis(t as i64).to_rfc3339()),
    })
}

/// `POST /admin/keys`: `{"name": "...", "scopes": ["ingest"], "tenant_id": "acme-corp"}`.
/// The secret is in the answer once and never again.
pub async fn create_key(mut req: Request, env: &Env, who: &Principal) -> ApiResult<Response> {
    who.require(Scope::Admin)?;
    let body: CreateKey = serde_json::from_slice(&req.bytes().await?).map_err(|e| {
        ApiError::bad_request("invalid_body", format!(
            "Body must be JSON like {{\"name\":\"my-app\",\"scopes\":[\"ingest\"],\"tenant_id\":\"acme-corp\"}}: {e}"))
    })?;
    let name = body.name.trim();
    if name.is_empty() || name.len() > 100 {
        return Err(ApiError::bad_request("invalid_name", "name must be 1 to 100 characters").with_param("name"));
    }
    let scopes = match body.scopes {
        None => Scopes::new(vec![Scope::Ingest]),
        Some(list) => Scopes::new(
            list.iter()
                .map(|s| Scope::parse(s))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| ApiError::bad_request("invalid_scope", e).with_param("scopes"))?,
        ),
    };
    if scopes.is_empty() {
        return Err(ApiError::bad_request("invalid_scope", "scopes must name at least one of ingest, read, admin").with_param("scopes"));
    }
    let tenant = body
        .tenant_id
        .as_deref()
        .map(TenantId::parse)
        .transpose()
        .map_err(|e| ApiError::bad_request("invalid_tenant", format!("tenant_id: {}", e.reason)).with_param("tenant_id"))?;
    if tenant.is_some() && scopes.allows(Scope::Admin) {
        return Err(ApiError::bad_request("invalid_scope", "an admin key cannot be bound to a tenant; drop tenant_id or the admin scope").with_param("scopes"));
    }
    let secret = gateway_key_secret(&random_bytes::<32>()?);
    let id = gateway_key_id(&random_bytes::<8>()?);
    let created_at = Date::now().as_millis();
    let scope_list = scopes.to_list();
    store::insert_key(env, &NewKey {
        id: &id,
        hash: &secret_hash(&secret),
        name,
        scopes: &scope_list,
        tenant_id: tenant.as_ref().map(TenantId::as_str),
        created_at,
    })
    .await?;
    let row = KeyRow {
        id,
        name: name.to_owned(),
        scopes: scope_list,
        tenant_id: tenant.map(|t| t.as_str().to_owned()),
        created_at: created_at as f64,
        revoked_at: None,
    };
    let mut body = key_json(&row);
    body["key"] = json!(secret);
    json_response(201, &body)
}

/// `GET /admin/keys`: every key, without secrets.
pub async fn list_keys(env: &Env, who: &Principal) -> ApiResult<Response> {
    who.require(Scope::Admin)?;
    let keys = store::list_keys(env).await?;
    json_response(200, &json!({ "data": keys.iter().map(key_json).collect::<Vec<_>>() }))
}

/// `DELETE /admin/keys/{id}`: revokes a key at once.
pub async fn revoke_key(env: &Env, who: &Principal, id: &str) -> ApiResult<Response> {
    who.require(Scope::Admin)?;
    if !store::revoke_key(env, id, Date::now().as_millis()).await? {
        return Err(ApiError::not_found(format!("No active key {id:?}.")));
    }
    json_response(200, &json!({ "id": id, "revoked": true }))
}
