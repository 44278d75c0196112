//! llmobserve-worker: the Cloudflare Worker entry points and the router. Each resource
//! lives in its own module; errors become responses in one place (`error.rs`); the
//! rules come from `llmobserve-core`.

#![recursion_limit = "256"]

mod admin;
mod auth;
mod collector;
mod config;
mod error;
mod gateway;
mod pricing;
mod random;
mod read_api;
mod store;

use llmobserve_core::pricing::REGISTRY_VERSION;
use serde_json::json;
use worker::{event, Context, Env, Headers, Method, Request, Response};

use error::{ApiError, ApiResult};

#[event(fetch)]
pub async fn fetch(req: Request, env: Env, ctx: Context) -> worker::Result<Response> {
    Ok(route(req, &env, &ctx).await.unwrap_or_else(ApiError::into_response))
}

pub(crate) fn json_response(status: u16, body: &serde_json::Value) -> ApiResult<Response> {
    let headers = Headers::new();
    headers.set("content-type", "application/json")?;
    Ok(Response::builder().with_status(status).with_headers(headers).fixed(body.to_string().into_bytes()))
}

async fn route(req: Request, env: &Env, ctx: &Context) -> ApiResult<Response> {
    let path = req.path();
    let method = req.method();
    if method == Method::Post && path == "/v1/events" {
        let who = auth::principal(&req, env).await?;
        return collector::report(req, env, &who).await;
    }
    if path == "/v1" || path.starts_with("/v1/") {
        return gateway::proxy(req, env, ctx).await;
    }
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (method, segments.as_slice()) {
        (Method::Get, ["health"]) => health(env).await,
        (Method::Post, ["admin", "keys"]) => {
            let who = auth::principal(&req, env).await?;
            admin::create_key(req, env, &who).await
        }
        (Method::Get, ["admin", "keys"]) => admin::list_keys(env, &auth::principal(&req, env).await?).await,
        (Method::Delete, ["admin", "keys", id]) => {
            admin::revoke_key(env, &auth::principal(&req, env).await?, id).await
        }
        (Method::Get, ["runs", "latest"]) => read_api::latest(&req, env, &auth::principal(&req, env).await?).await,
        (Method::Get, ["tenants", tenant, "customers"]) => {
            read_api::customers(env, &auth::principal(&req, env).await?, tenant).await
        }
        (Method::Get, ["pricing"]) => pricing::get_pricing(&req, env, &auth::principal(&req, env).await?).await,
        (Method::Put, ["pricing", model @ ..]) if !model.is_empty() => {
            let (who, model) = (auth::principal(&req, env).await?, pricing::model_from_path(model)?);
            pricing::put_override(req, env, &who, &model).await
        }
        (Method::Delete, ["pricing", model @ ..]) if !model.is_empty() => {
            let (who, model) = (auth::principal(&req, env).await?, pricing::model_from_path(model)?);
            pricing::delete_override(&req, env, &who, &model).await
        }
        (Method::Post, ["admin", "reprice"]) => {
            let who = auth::principal(&req, env).await?;
            pricing::reprice(req, env, &who).await
        }
        (Method::Get, ["admin", "reprice", id]) => pricing::get_run(env, &auth::principal(&req, env).await?, id).await,
        (Method::Get | Method::Head, _) => Ok(env.assets(config::ASSETS)?.fetch_request(req).await?),
        _ => Err(ApiError::not_found(format!("No route for {} {path}.", req.method()))),
    }
}

/// `GET /health`: the worker runs and D1 answers.
async fn health(env: &Env) -> ApiResult<Response> {
    let database = match store::ping(env).await {
        Ok(()) => "ok",
        Err(_) => "unavailable",
    };
    let status = if database == "ok" { 200 } else { 503 };
    json_response(status, &json!({
        "status": if status == 200 { "ok" } else { "degraded" },
        "service": "llmobserve",
        "version": env!("CARGO_PKG_VERSION"),
        "price_version": REGISTRY_VERSION,
        "database": database,
    }))
}
