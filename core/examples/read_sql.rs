//! Prints the SQL and bound values that the read API runs for a query string, as JSON, so
//! that benchmarks can time the bare statements and show their query plans.
//!
//! `cargo run -q -p llmobserve-core --example read_sql -- <latest|costs|customers|run> <tenant> [query] [run_id]`
#![allow(clippy::print_stdout)]

use llmobserve_core::access::Principal;
use llmobserve_core::attribution::{RunId, TenantId};
use llmobserve_core::query::{CostsQuery, CustomersQuery, LatestQuery};
use llmobserve_core::read_sql::{self, SqlValue, Statement};

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (kind, tenant) = match (args.first(), args.get(1)) {
        (Some(k), Some(t)) => (k.as_str(), TenantId::parse(t).map_err(|e| e.to_string())?),
        _ => return Err("usage: read_sql <latest|costs|customers|run> <tenant> [query] [run_id]".into()),
    };
    let query = args.get(2).map(String::as_str).filter(|q| !q.is_empty());
    let who = Principal::admin_token();
    let err = |e: llmobserve_core::query::QueryError| e.message;
    let stmt: Statement = match kind {
        "latest" => {
            let q = LatestQuery::parse(query).map_err(err)?;
            let scope = who.read_scope(Some(&tenant), q.customer.as_ref()).map_err(|e| e.message())?;
            read_sql::latest_events(&scope, &q.filters, q.cursor.as_ref(), q.limit)
        }
        "costs" => {
            let q = CostsQuery::parse(query).map_err(err)?;
            let scope = who.read_scope(Some(&tenant), q.customer.as_ref()).map_err(|e| e.message())?;
            read_sql::costs(&scope, &q.filters, &q.group_by, 10_000)
        }
        "customers" => {
            let q = CustomersQuery::parse(query).map_err(err)?;
            let scope = who.read_scope(Some(&tenant), q.customer.as_ref()).map_err(|e| e.message())?;
            read_sql::customers(&scope, &q.range, q.limit, q.offset)
        }
        "run" => {
            let run = RunId::parse(args.get(3).map_or("", String::as_str)).map_err(|e| e.to_string())?;
            let scope = who.read_scope(Some(&tenant), None).map_err(|e| e.message())?;
            read_sql::run_events(&scope, &run, 5001)
        }
        other => return Err(format!("unknown kind {other}")),
    };
    let binds: Vec<serde_json::Value> = stmt
        .binds
        .iter()
        .map(|b| match b {
            SqlValue::Text(s) => serde_json::json!(s),
            SqlValue::Int(n) => serde_json::json!(n),
        })
        .collect();
    println!("{}", serde_json::json!({ "sql": stmt.sql, "binds": binds }));
    Ok(())
}
