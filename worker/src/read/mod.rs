//! The read API. Invariants:
//! - the scope (tenant, and possibly customer) comes from `Principal::read_scope`, i.e.
//!   from the caller's key, before any table is touched;
//! - every statement comes from `llmobserve_core::read_sql`, built from that scope
//!   (tenant filter first, bound parameters only);
//! - every row read back is checked against the scope once more before it is returned
//!   ([`check_scope`]): a query bug becomes a 500, never a leak.

pub mod costs;
pub mod customers;
pub mod events;
pub mod insights;
pub mod runs;

use llmobserve_core::access::ReadScope;
use llmobserve_core::query::QueryError;
use llmobserve_core::views::StoredEvent;
use worker::Request;

use crate::error::{ApiError, ApiResult};

impl From<QueryError> for ApiError {
    fn from(e: QueryError) -> ApiError {
        let err = ApiError::bad_request(e.code, e.message);
        match e.param {
            Some(p) => err.with_param(p),
            None => err,
        }
    }
}

/// The raw (percent-encoded) query string, without `?`.
pub fn raw_query(req: &Request) -> ApiResult<Option<String>> {
    Ok(req.url()?.query().map(str::to_owned))
}

/// Defence in depth: every row must be inside the scope the SQL was built from.
pub fn check_scope<'a>(scope: &ReadScope, rows: impl IntoIterator<Item = (&'a str, Option<&'a str>)>) -> ApiResult<()> {
    for (tenant, customer) in rows {
        if !scope.contains(tenant, customer) {
            worker::console_error!("read returned a row outside its scope (tenant {})", scope.tenant());
            return Err(ApiError::internal("llmobserve refused to return rows outside the caller's scope; this is a bug, please report it"));
        }
    }
    Ok(())
}

pub fn check_events(scope: &ReadScope, rows: &[StoredEvent]) -> ApiResult<()> {
    check_scope(scope, rows.iter().map(|e| (e.tenant_id.as_str(), e.customer_id.as_deref())))
}

/// The scope as the `tenant_id` / `customer_id` fields of a response.
pub fn scope_fields(scope: &ReadScope) -> (String, Option<String>) {
    (scope.tenant().as_str().to_owned(), scope.customer().map(|c| c.as_str().to_owned()))
}
