//! The HTTP surface of the worker, as data: every route's method, path template and
//! operation. The worker dispatches on [`Operation`] with an exhaustive `match`, and a
//! test checks that the OpenAPI document (`worker/openapi.json`) describes exactly these
//! routes, so the document, the router and the handlers cannot drift apart.

use crate::query::{echo, percent_decode};

/// What a request asks the worker to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operation {
    Health,
    OpenApi,
    CreateKey,
    ListKeys,
    GetKey,
    RotateKey,
    RevokeKey,
    LatestEvents,
    RunTree,
    TenantCustomers,
    Costs,
    ExportEvents,
    DailyInsights,
    GetPricing,
    PutPriceOverride,
    DeletePriceOverride,
    Reprice,
    GetRepriceRun,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Route {
    pub method: &'static str,
    /// `/literal/{param}/...`: a `{param}` is one non-empty, percent-decoded segment; a
    /// last `{param*}` is all the remaining segments (at least one), handed over raw
    /// (still percent-encoded) for its handler to decode.
    pub path: &'static str,
    pub operation: Operation,
}

const fn route(method: &'static str, path: &'static str, operation: Operation) -> Route {
    Route { method, path, operation }
}

/// Every route but the gateway (`/v1/*`, see [`is_gateway_path`]) and the dashboard's
/// static assets (any other `GET`).
pub const ROUTES: &[Route] = &[
    route("GET", "/health", Operation::Health),
    route("GET", "/openapi.json", Operation::OpenApi),
    route("POST", "/admin/keys", Operation::CreateKey),
    route("GET", "/admin/keys", Operation::ListKeys),
    route("GET", "/admin/keys/{key_id}", Operation::GetKey),
    route("DELETE", "/admin/keys/{key_id}", Operation::RevokeKey),
    route("POST", "/admin/keys/{key_id}/rotate", Operation::RotateKey),
    route("GET", "/runs/latest", Operation::LatestEvents),
    route("GET", "/runs/{run_id}", Operation::RunTree),
    route("GET", "/tenants/{tenant_id}/customers", Operation::TenantCustomers),
    route("GET", "/costs", Operation::Costs),
    route("GET", "/events", Operation::ExportEvents),
    route("GET", "/insights/daily", Operation::DailyInsights),
    route("GET", "/pricing", Operation::GetPricing),
    route("PUT", "/pricing/{model*}", Operation::PutPriceOverride),
    route("DELETE", "/pricing/{model*}", Operation::DeletePriceOverride),
    route("POST", "/admin/reprice", Operation::Reprice),
    route("GET", "/admin/reprice/{run_id}", Operation::GetRepriceRun),
];

/// The collector: `POST /v1/events`, answered before the gateway takes `/v1/*`.
pub fn is_collector(method: &str, path: &str) -> bool {
    method == "POST" && path == "/v1/events"
}

/// A route's path as the OpenAPI document writes it (`{model*}` -> `{model}`).
pub fn documented_path(template: &str) -> String {
    template.replace("*}", "}")
}

/// Whether a path belongs to the OpenAI-compatible gateway (any method).
pub fn is_gateway_path(path: &str) -> bool {
    path == "/v1" || path.starts_with("/v1/")
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RouteMatch {
    /// The operation and its path parameters, decoded.
    Found(Operation, Vec<(&'static str, String)>),
    /// The path exists, with other methods.
    MethodNotAllowed(Vec<&'static str>),
    NotFound,
}

/// A path parameter that is not valid UTF-8 once percent-decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathError {
    pub param: &'static str,
    pub message: String,
}

fn segments(path: &str) -> Vec<&str> {
    let p = path.trim_start_matches('/').trim_end_matches('/');
    if p.is_empty() { Vec::new() } else { p.split('/').collect() }
}

/// How well `path` fits `template`: `None` if not at all, else the number of literal
/// segments (more literal wins: `/runs/latest` over `/runs/{run_id}`).
fn fit(template: &str, path: &[&str]) -> Option<usize> {
    let t = segments(template);
    let rest = t.last().is_some_and(|s| s.ends_with("*}"));
    if t.len() != path.len() && !(rest && path.len() > t.len()) {
        return None;
    }
    if path.iter().any(|s| s.is_empty()) {
        return None;
    }
    let mut literal = 0;
    for (ts, ps) in t.iter().zip(path) {
        if ts.starts_with('{') {
            if ps.is_empty() {
                return None;
            }
        } else if ts == ps {
            literal += 1;
        } else {
            return None;
        }
    }
    Some(literal)
}

/// Finds the route of `method` and `path` (the URL's path, still percent-encoded).
pub fn match_route(method: &str, path: &str) -> Result<RouteMatch, PathError> {
    let segs = segments(path);
    let best = ROUTES.iter().filter_map(|r| fit(r.path, &segs).map(|f| (f, r))).max_by_key(|(f, _)| *f);
    let Some((_, best)) = best else { return Ok(RouteMatch::NotFound) };
    let same_path: Vec<&Route> = ROUTES.iter().filter(|r| r.path == best.path).collect();
    let Some(r) = same_path.iter().find(|r| r.method == method) else {
        return Ok(RouteMatch::MethodNotAllowed(same_path.iter().map(|r| r.method).collect()));
    };
    let mut params = Vec::new();
    let template = segments(r.path);
    for (i, (ts, ps)) in template.iter().zip(&segs).enumerate() {
        if let Some(name) = ts.strip_prefix('{').and_then(|n| n.strip_suffix("*}")) {
            let name: &'static str = ROUTE_PARAMS.iter().find(|p| **p == name).copied().unwrap_or("path");
            params.push((name, segs[i..].join("/")));
            break;
        }
        if let Some(name) = ts.strip_prefix('{').and_then(|n| n.strip_suffix('}')) {
            let name: &'static str = ROUTE_PARAMS.iter().find(|p| **p == name).copied().unwrap_or("path");
            let bytes = percent_decode(ps).ok_or_else(|| PathError { param: name, message: format!(
                "{name} in the path has a `%` that is not followed by two hex digits") })?;
            let text = String::from_utf8(bytes).map_err(|_| PathError { param: name, message: format!(
                "{name} in the path is not UTF-8 once percent-decoded: {}", echo(ps)) })?;
            params.push((name, text));
        }
    }
    Ok(RouteMatch::Found(r.operation, params))
}

/// The names of path parameters, as `'static` strings.
const ROUTE_PARAMS: &[&str] = &["key_id", "run_id", "tenant_id", "model"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_routes_win_and_parameters_are_decoded() {
        assert_eq!(match_route("GET", "/runs/latest"), Ok(RouteMatch::Found(Operation::LatestEvents, vec![])));
        assert_eq!(match_route("GET", "/runs/latest/"), Ok(RouteMatch::Found(Operation::LatestEvents, vec![])));
        assert_eq!(match_route("GET", "/runs/run%2D1"), Ok(RouteMatch::Found(Operation::RunTree, vec![("run_id", "run-1".into())])));
        assert_eq!(match_route("GET", "/tenants/acme-corp/customers"),
            Ok(RouteMatch::Found(Operation::TenantCustomers, vec![("tenant_id", "acme-corp".into())])));
        assert_eq!(match_route("POST", "/admin/keys/key_0123456789abcdef/rotate"),
            Ok(RouteMatch::Found(Operation::RotateKey, vec![("key_id", "key_0123456789abcdef".into())])));
    }

    #[test]
    fn wrong_methods_and_unknown_paths() {
        assert_eq!(match_route("POST", "/runs/latest"), Ok(RouteMatch::MethodNotAllowed(vec!["GET"])));
        assert_eq!(match_route("PUT", "/admin/keys/key_1"), Ok(RouteMatch::MethodNotAllowed(vec!["GET", "DELETE"])));
        assert_eq!(match_route("GET", "/nope"), Ok(RouteMatch::NotFound));
        assert_eq!(match_route("GET", "/runs//x"), Ok(RouteMatch::NotFound));
        assert_eq!(match_route("GET", "/"), Ok(RouteMatch::NotFound));
    }

    #[test]
    fn a_rest_parameter_takes_the_remaining_segments_raw() {
        assert_eq!(match_route("PUT", "/pricing/ft:gpt-4o/acme%2Dv2"),
            Ok(RouteMatch::Found(Operation::PutPriceOverride, vec![("model", "ft:gpt-4o/acme%2Dv2".into())])));
        assert_eq!(match_route("DELETE", "/pricing/gpt-4o"),
            Ok(RouteMatch::Found(Operation::DeletePriceOverride, vec![("model", "gpt-4o".into())])));
        assert_eq!(match_route("GET", "/pricing"), Ok(RouteMatch::Found(Operation::GetPricing, vec![])));
        assert_eq!(match_route("PUT", "/pricing"), Ok(RouteMatch::MethodNotAllowed(vec!["GET"])));
        assert_eq!(match_route("PUT", "/pricing/a//b"), Ok(RouteMatch::NotFound));
        assert!(is_collector("POST", "/v1/events") && !is_collector("GET", "/v1/events"));
    }

    #[test]
    fn non_utf8_path_parameters_are_errors() {
        assert_eq!(match_route("GET", "/runs/%FF%FE").unwrap_err().param, "run_id");
        assert_eq!(match_route("GET", "/runs/%G1").unwrap_err().param, "run_id");
    }

    /// The OpenAPI document describes exactly the routes served: no undocumented route,
    /// no documented route that is not served, path parameters declared as such.
    #[test]
    fn the_openapi_document_describes_exactly_these_routes() {
        let doc: serde_json::Value = serde_json::from_str(include_str!("../../worker/openapi.json")).unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        let mut documented = std::collections::BTreeSet::new();
        let mut operation_ids = std::collections::BTreeSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                if method == "parameters" {
                    continue;
                }
                assert!(operation_ids.insert(op["operationId"].as_str().unwrap().to_owned()), "duplicate operationId at {path}");
                if is_gateway_path(path) {
                    continue;
                }
                documented.insert((method.to_ascii_uppercase(), path.clone()));
                let declared: Vec<&str> = item["parameters"].as_array().into_iter().chain(op["parameters"].as_array())
                    .flatten().filter(|p| p["in"] == "path").map(|p| p["name"].as_str().unwrap()).collect();
                let in_template: Vec<&str> = segments(path).into_iter()
                    .filter_map(|s| s.strip_prefix('{').and_then(|n| n.strip_suffix('}'))).collect();
                assert_eq!(declared, in_template, "path parameters of {method} {path}");
            }
        }
        let served: std::collections::BTreeSet<(String, String)> =
            ROUTES.iter().map(|r| (r.method.to_owned(), documented_path(r.path))).collect();
        assert_eq!(documented, served, "worker/openapi.json and core/src/routes.rs disagree");
        assert!(doc["paths"]["/v1/chat/completions"]["post"].is_object(), "the gateway is documented");
        assert!(doc["paths"]["/v1/events"]["post"].is_object(), "the collector is documented");
    }

    #[test]
    fn every_parameter_has_a_static_name() {
        for r in ROUTES {
            for s in segments(r.path) {
                if let Some(n) = s.strip_prefix('{').and_then(|n| n.strip_suffix('}')) {
                    assert!(ROUTE_PARAMS.contains(&n.trim_end_matches('*')), "{n}");
                }
            }
        }
        assert!(is_gateway_path("/v1/chat/completions") && is_gateway_path("/v1") && !is_gateway_path("/v10"));
    }
}
