//! `GET /runs/{run_id}`: the section tree of one run.

use llmobserve_core::access::Principal;
use llmobserve_core::query::{run_id_value, RunQuery};
use llmobserve_core::read_sql;
use llmobserve_core::runs::build_run_tree;
use llmobserve_core::views::{parse_sum, Sums};
use serde::Deserialize;
use serde_json::json;
use worker::{Env, Request, Response};

use super::{check_events, raw_query, scope_fields};
use crate::error::{ApiError, ApiResult};
use crate::json_response;
use crate::store::{self, whole};

/// Most events placed in one tree; beyond it the tree is cut (`truncated`), the totals
/// stay exact.
const MAX_RUN_EVENTS: u32 = 5000;

/// The sums of `read_sql`'s aggregates, as D1 returns them.
#[derive(Deserialize)]
pub struct SumsRow {
    pub calls: f64,
    pub priced_calls: f64,
    pub error_calls: f64,
    pub cost_nanousd: Option<String>,
    pub input_tokens: Option<String>,
    pub cached_input_tokens: Option<String>,
    pub output_tokens: Option<String>,
    pub reasoning_tokens: Option<String>,
}

impl SumsRow {
    pub fn sums(&self) -> Sums {
        Sums {
            calls: whole(self.calls),
            priced_calls: whole(self.priced_calls),
            error_calls: whole(self.error_calls),
            cost_nanousd: parse_sum(self.cost_nanousd.as_deref()),
            input_tokens: parse_sum(self.input_tokens.as_deref()),
            cached_input_tokens: parse_sum(self.cached_input_tokens.as_deref()),
            output_tokens: parse_sum(self.output_tokens.as_deref()),
            reasoning_tokens: parse_sum(self.reasoning_tokens.as_deref()),
        }
    }
}

pub async fn run_tree(req: &Request, env: &Env, who: &Principal, run_id: &str) -> ApiResult<Response> {
    let run = run_id_value("run_id", run_id)?;
    let q = RunQuery::parse(raw_query(req)?.as_deref())?;
    let scope = who.read_scope(q.tenant.as_ref(), q.customer.as_ref())?;
    let mut rows = store::events(env, &read_sql::run_events(&scope, &run, MAX_RUN_EVENTS + 1)).await?;
    check_events(&scope, &rows)?;
    if rows.is_empty() {
        return Err(ApiError::not_found(format!("No run {} is visible to this key in tenant {}.", run.as_str(), scope.tenant())));
    }
    let truncated = rows.len() > MAX_RUN_EVENTS as usize;
    rows.truncate(MAX_RUN_EVENTS as usize);
    let tree = build_run_tree(&rows);
    let totals = if truncated {
        let exact = store::rows::<SumsRow>(env, &read_sql::run_totals(&scope, &run)).await?;
        exact.first().map(SumsRow::sums).unwrap_or_default()
    } else {
        tree.totals.sums
    };
    let mut customers: Vec<&str> = rows.iter().filter_map(|e| e.customer_id.as_deref()).collect();
    customers.sort_unstable();
    customers.dedup();
    let (tenant, customer) = scope_fields(&scope);
    json_response(200, &json!({
        "run_id": run.as_str(),
        "tenant_id": tenant,
        "customer_id": customer,
        "customers": customers,
        "truncated": truncated,
        "event_limit": MAX_RUN_EVENTS,
        "totals": totals.to_json(),
        "tree": tree.to_json(),
    }))
}
