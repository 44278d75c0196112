//! The one error type of the worker and the one place where errors become responses.
//! Bodies are shaped like OpenAI's (`{"error":{"message","type","param","code"}}`), so
//! the official clients surface our messages without special handling.

use serde_json::json;
use worker::{Headers, Response};

#[derive(Debug)]
pub struct ApiError {
    pub status: u16,
    /// OpenAI's `type`: `invalid_request_error`, `authentication_error`, ...
    pub kind: &'static str,
    /// A stable machine-readable code.
    pub code: &'static str,
    /// What went wrong and what to do about it.
    pub message: String,
    pub param: Option<String>,
}

impl ApiError {
    pub fn new(status: u16, kind: &'static str, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { status, kind, code, message: message.into(), param: None }
    }
    pub fn with_param(mut self, param: impl Into<String>) -> ApiError {
        self.param = Some(param.into());
        self
    }
    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError::new(401, "authentication_error", "invalid_api_key", message)
    }
    pub fn forbidden(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(403, "permission_error", code, message)
    }
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(400, "invalid_request_error", code, message)
    }
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(404, "invalid_request_error", "not_found", message)
    }
    pub fn misconfigured(message: impl Into<String>) -> ApiError {
        ApiError::new(500, "server_error", "gateway_misconfigured", message)
    }
    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(500, "server_error", "internal_error", message)
    }

    pub fn into_response(self) -> Response {
        let body = json!({
            "error": { "message": self.message, "type": self.kind, "param": self.param, "code": self.code }
        });
        let headers = Headers::new();
        let _ = headers.set("content-type", "application/json");
        Response::builder().with_status(self.status).with_headers(headers).fixed(body.to_string().into_bytes())
    }
}

/// A failure inside the runtime (a JavaScript exception, a D1 error) is our fault, not
/// the caller's: it is logged with its detail and answered with a generic 500.
impl From<worker::Error> for ApiError {
    fn from(e: worker::Error) -> ApiError {
        worker::console_error!("internal error: {e}");
        ApiError::internal("llmobserve hit an internal error; the details are in the worker's log")
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

impl From<wasm_bindgen::JsValue> for ApiError {
    fn from(e: wasm_bindgen::JsValue) -> ApiError {
        ApiError::from(worker::Error::from(e))
    }
}
