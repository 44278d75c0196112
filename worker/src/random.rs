//! Randomness from the runtime's CSPRNG (`crypto.getRandomValues`).

use wasm_bindgen::prelude::*;

use crate::error::{ApiError, ApiResult};

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(catch, js_namespace = crypto, js_name = getRandomValues)]
    fn get_random_values(buf: &mut [u8]) -> Result<JsValue, JsValue>;
}

pub fn random_bytes<const N: usize>() -> ApiResult<[u8; N]> {
    let mut buf = [0u8; N];
    get_random_values(&mut buf).map_err(|_| ApiError::internal("crypto.getRandomValues failed"))?;
    Ok(buf)
}
