//! `GET /runs/latest` (newest events, one page) and `GET /events` (every matching event,
//! oldest first, streamed as NDJSON or CSV page by page).

use futures_util::stream;
use llmobserve_core::access::{Principal, ReadScope};
use llmobserve_core::query::{EventCursor, EventFilters, ExportFormat, ExportQuery, LatestQuery};
use llmobserve_core::read_sql;
use llmobserve_core::views::{StoredEvent, EVENT_CSV_HEADER};
use serde_json::json;
use worker::{Env, Headers, Request, Response};

use super::{check_events, raw_query, scope_fields};
use crate::error::ApiResult;
use crate::json_response;
use crate::store;

/// `GET /runs/latest`: the newest events, newest first, with keyset pagination.
pub async fn latest(req: &Request, env: &Env, who: &Principal) -> ApiResult<Response> {
    let q = LatestQuery::parse(raw_query(req)?.as_deref())?;
    let scope = who.read_scope(q.tenant.as_ref(), q.customer.as_ref())?;
    let stmt = read_sql::latest_events(&scope, &q.filters, q.cursor.as_ref(), q.limit);
    let mut rows = store::events(env, &stmt).await?;
    check_events(&scope, &rows)?;
    let more = rows.len() > q.limit as usize;
    rows.truncate(q.limit as usize);
    let next_cursor = if more {
        rows.last().map(|e| EventCursor { started_at: i64::try_from(e.started_at).unwrap_or(i64::MAX), id: e.id.clone() }.encode())
    } else {
        None
    };
    let (tenant, customer) = scope_fields(&scope);
    json_response(200, &json!({
        "tenant_id": tenant,
        "customer_id": customer,
        "data": rows.iter().map(StoredEvent::to_json).collect::<Vec<_>>(),
        "has_more": more,
        "next_cursor": next_cursor,
    }))
}

/// Rows per D1 query of an export: one chunk of the response each.
const EXPORT_PAGE: u32 = 1000;

struct Export {
    env: Env,
    scope: ReadScope,
    filters: EventFilters,
    format: ExportFormat,
    /// The page to send next; `None` once the last page has been sent.
    page: Option<Vec<StoredEvent>>,
    header_pending: bool,
}

fn encode(format: ExportFormat, header: bool, rows: &[StoredEvent]) -> Vec<u8> {
    let mut out = String::with_capacity(rows.len() * 600 + 512);
    match format {
        ExportFormat::Ndjson => {
            for e in rows {
                out.push_str(&e.to_json().to_string());
                out.push('\n');
            }
        }
        ExportFormat::Csv => {
            if header {
                out.push_str(EVENT_CSV_HEADER);
                out.push_str("\r\n");
            }
            for e in rows {
                out.push_str(&e.to_csv_record());
                out.push_str("\r\n");
            }
        }
    }
    out.into_bytes()
}

/// The next chunk of an export: the current page, after fetching the one that follows.
async fn next_chunk(mut s: Export) -> Option<(Result<Vec<u8>, worker::Error>, Export)> {
    let page = s.page.take()?;
    if page.len() == EXPORT_PAGE as usize {
        let after = page.last().map(|e| EventCursor { started_at: i64::try_from(e.started_at).unwrap_or(i64::MAX), id: e.id.clone() });
        let stmt = read_sql::export_page(&s.scope, &s.filters, after.as_ref(), EXPORT_PAGE);
        match store::events(&s.env, &stmt).await {
            Ok(rows) if check_events(&s.scope, &rows).is_ok() => s.page = Some(rows).filter(|r| !r.is_empty()),
            Ok(_) => return Some((Err(worker::Error::RustError("export stopped: a row outside the scope".into())), s)),
            Err(e) => {
                worker::console_error!("export of tenant {} stopped: {}", s.scope.tenant(), e.message);
                return Some((Err(worker::Error::RustError("export stopped: D1 failed".into())), s));
            }
        }
    }
    let chunk = encode(s.format, s.header_pending, &page);
    s.header_pending = false;
    Some((Ok(chunk), s))
}

/// `GET /events?format=ndjson|csv`: every matching event, oldest first. The first page
/// is read before the response starts (so that errors are still JSON errors); the rest
/// stream one D1 page at a time, so a large range never sits in memory.
pub async fn export(req: &Request, env: &Env, who: &Principal) -> ApiResult<Response> {
    let accept = req.headers().get("accept")?;
    let q = ExportQuery::parse(raw_query(req)?.as_deref(), accept.as_deref())?;
    let scope = who.read_scope(q.tenant.as_ref(), q.customer.as_ref())?;
    let first = store::events(env, &read_sql::export_page(&scope, &q.filters, None, EXPORT_PAGE)).await?;
    check_events(&scope, &first)?;
    let headers = Headers::new();
    headers.set("content-type", q.format.content_type())?;
    headers.set("cache-control", "no-store")?;
    headers.set("x-content-type-options", "nosniff")?;
    headers.set(
        "content-disposition",
        &format!("attachment; filename=\"llmobserve-events-{}.{}\"", scope.tenant(), q.format.extension()),
    )?;
    if first.is_empty() {
        return Ok(Response::builder().with_status(200).with_headers(headers).fixed(encode(q.format, true, &[])));
    }
    let state = Export { env: env.clone(), scope, filters: q.filters, format: q.format, page: Some(first), header_pending: true };
    let body = stream::unfold(state, next_chunk);
    Ok(Response::builder().with_status(200).with_headers(headers).from_stream(body)?)
}
