//! `GET /openapi.json`: the OpenAPI 3.1 document of the whole HTTP surface. It is a file
//! in the repository (`worker/openapi.json`), compiled in; core's tests check that it
//! describes exactly the routes of `llmobserve_core::routes`, and the end-to-end tests
//! validate real responses against its schemas.

use worker::{Headers, Response};

use crate::error::ApiResult;

const DOCUMENT: &str = include_str!("../openapi.json");

pub fn document() -> ApiResult<Response> {
    let headers = Headers::new();
    headers.set("content-type", "application/json")?;
    headers.set("cache-control", "public, max-age=300")?;
    Ok(Response::builder().with_status(200).with_headers(headers).fixed(DOCUMENT.as_bytes().to_vec()))
}
