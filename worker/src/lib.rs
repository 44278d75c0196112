//! llmobserve-worker: the Cloudflare Worker entry points and the router. The routes are
//! data in `llmobserve_core::routes` (the OpenAPI document is checked against them);
//! each resource lives in its own module; errors become responses in one place
//! (`error.rs`); the rules come from `llmobserve-core`.

#![recursion_limit = "256"]

mod admin;
mod auth;
mod collector;
mod config;
mod cron;
mod error;
mod faults;
mod gateway;
mod ingest;
mod openapi;
mod pricing;
mod random;
mod read;
mod store;

use llmobserve_core::pricing::REGISTRY_VERSION;
use llmobserve_core::routes::{is_collector, is_gateway_path, match_route, Operation, PathError, RouteMatch};
use serde_json::json;
use worker::{event, Context, Date, Env, Headers, MessageBatch, Method, Request, Response, ScheduleContext, ScheduledEvent};

use error::{ApiError, ApiResult};

#[event(fetch)]
pub async fn fetch(req: Request, env: Env, ctx: Context) -> worker::Result<web_sys::Response> {
    let path = req.path();
    if is_gateway_path(&path) && !is_collector(req.method().as_ref(), &path) {
        // The gateway builds the runtime's response itself and reports its own phases.
        return Ok(gateway::proxy(req, &env, &ctx).await.unwrap_or_else(|e| e.into_response().into()));
    }
    let started = Date::now().as_millis();
    let mut resp = route(req, &env).await.unwrap_or_else(ApiError::into_response);
    // Every other answer reports the worker's time to its headers. Asset responses have
    // immutable headers: ignored.
    let total = Date::now().as_millis().saturating_sub(started);
    let _ = resp.headers_mut().append("server-timing", &format!("llmobserve-total;dur={total}"));
    Ok(resp.into())
}

/// The consumer of the events queue and of its dead-letter queue (`ingest`).
#[event(queue)]
pub async fn queue(batch: MessageBatch<serde_json::Value>, env: Env, _ctx: Context) -> worker::Result<()> {
    ingest::consume(batch, &env).await;
    Ok(())
}

/// The cron trigger (`[triggers]` in wrangler.toml): rollups, retention and insights. It
/// never fails as a whole: a tenant's error is logged and the next tenant goes on. Its
/// one log line (JSON) says what it did, with D1's rows read and written.
#[event(scheduled)]
pub async fn scheduled(event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    let started = Date::now().as_millis();
    let now = event.schedule() as i64;
    let stats = cron::run(&env, now).await;
    let elapsed = Date::now().as_millis().saturating_sub(started);
    worker::console_log!("{}", stats.to_json(now, cron::retention_days(&env), elapsed));
}

/// A JSON answer. API answers are never cached: they hold spend data and, once, secrets.
pub(crate) fn json_response(status: u16, body: &serde_json::Value) -> ApiResult<Response> {
    let headers = Headers::new();
    headers.set("content-type", "application/json")?;
    headers.set("cache-control", "no-store")?;
    Ok(Response::builder().with_status(status).with_headers(headers).fixed(body.to_string().into_bytes()))
}

impl From<PathError> for ApiError {
    fn from(e: PathError) -> ApiError {
        let code = match e.param {
            "run_id" => "invalid_run_id",
            "tenant_id" => "invalid_tenant",
            "key_id" => "invalid_key_id",
            _ => "invalid_path",
        };
        ApiError::bad_request(code, e.message).with_param(e.param)
    }
}

fn param<'a>(params: &'a [(&'static str, String)], name: &str) -> &'a str {
    params.iter().find(|(k, _)| *k == name).map_or("", |(_, v)| v.as_str())
}

async fn route(req: Request, env: &Env) -> ApiResult<Response> {
    let path = req.path();
    let method = req.method();
    if is_collector(method.as_ref(), &path) {
        let who = auth::principal(&req, env).await?;
        return collector::report(req, env, &who).await;
    }
    if path == faults::PATH && method == Method::Post && faults::enabled(env) {
        return faults::set(req, env).await;
    }
    let (op, params) = match match_route(method.as_ref(), &path)? {
        RouteMatch::Found(op, params) => (op, params),
        RouteMatch::MethodNotAllowed(allowed) => {
            let mut resp = ApiError::new(405, "invalid_request_error", "method_not_allowed", format!(
                "{method} is not allowed on {path}; use {}.", allowed.join(" or ")))
            .into_response();
            resp.headers_mut().set("allow", &allowed.join(", "))?;
            return Ok(resp);
        }
        RouteMatch::NotFound if matches!(method, Method::Get | Method::Head) => {
            return Ok(env.assets(config::ASSETS)?.fetch_request(req).await?);
        }
        RouteMatch::NotFound => return Err(ApiError::not_found(format!("No route for {method} {path}."))),
    };
    match op {
        Operation::Health => health(env).await,
        Operation::OpenApi => openapi::document(),
        Operation::CreateKey => {
            let who = auth::principal(&req, env).await?;
            admin::create_key(req, env, &who).await
        }
        Operation::ListKeys => admin::list_keys(&req, env, &auth::principal(&req, env).await?).await,
        Operation::GetKey => admin::get_key(env, &auth::principal(&req, env).await?, param(&params, "key_id")).await,
        Operation::RotateKey => {
            let who = auth::principal(&req, env).await?;
            admin::rotate_key(req, env, &who, param(&params, "key_id")).await
        }
        Operation::RevokeKey => admin::revoke_key(env, &auth::principal(&req, env).await?, param(&params, "key_id")).await,
        Operation::LatestEvents => read::events::latest(&req, env, &auth::principal(&req, env).await?).await,
        Operation::ExportEvents => read::events::export(&req, env, &auth::principal(&req, env).await?).await,
        Operation::RunTree => read::runs::run_tree(&req, env, &auth::principal(&req, env).await?, param(&params, "run_id")).await,
        Operation::TenantCustomers => {
            read::customers::customers(&req, env, &auth::principal(&req, env).await?, param(&params, "tenant_id")).await
        }
        Operation::Costs => read::costs::costs(&req, env, &auth::principal(&req, env).await?).await,
        Operation::DailyInsights => read::insights::daily(&req, env, &auth::principal(&req, env).await?).await,
        Operation::GetPricing => pricing::get_pricing(&req, env, &auth::principal(&req, env).await?).await,
        Operation::PutPriceOverride => {
            let who = auth::principal(&req, env).await?;
            let model = pricing::model_from_path(&param(&params, "model").split('/').collect::<Vec<_>>())?;
            pricing::put_override(req, env, &who, &model).await
        }
        Operation::DeletePriceOverride => {
            let who = auth::principal(&req, env).await?;
            let model = pricing::model_from_path(&param(&params, "model").split('/').collect::<Vec<_>>())?;
            pricing::delete_override(&req, env, &who, &model).await
        }
        Operation::Reprice => {
            let who = auth::principal(&req, env).await?;
            pricing::reprice(req, env, &who).await
        }
        Operation::GetRepriceRun => pricing::get_run(env, &auth::principal(&req, env).await?, param(&params, "run_id")).await,
    }
}

/// `GET /health`: the worker runs and D1 answers; how events are written, and how many
/// could not be (docs/delivery.md).
async fn health(env: &Env) -> ApiResult<Response> {
    let database = match store::ping(env).await {
        Ok(()) => "ok",
        Err(_) => "unavailable",
    };
    let parked = if database == "ok" { store::unwritten_events(env).await.ok() } else { None };
    let status = if database == "ok" { 200 } else { 503 };
    json_response(status, &json!({
        "status": if status == 200 { "ok" } else { "degraded" },
        "service": "llmobserve",
        "version": env!("CARGO_PKG_VERSION"),
        "price_version": REGISTRY_VERSION,
        "database": database,
        "ingest": {
            "write_mode": config::write_mode(env).map(config::WriteMode::as_str).unwrap_or("misconfigured"),
            "unwritten_events": parked,
            "unwritten_events_this_isolate": ingest::unwritten_here(),
            "deferred_to_queue_this_isolate": ingest::deferred_here(),
        },
    }))
}
