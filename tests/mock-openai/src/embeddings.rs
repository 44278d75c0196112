//! `POST /v1/embeddings`: a `list` of `embedding` objects (floats or base64).

use serde_json::Value;

use crate::json::{base64_encode, J};
use crate::{text_bytes, Answer, Ctx, Usage};

/// Dimensions of a vector when the request does not ask for `dimensions`.
pub const DEFAULT_DIMENSIONS: usize = 8;
/// The most `dimensions` the mock accepts.
pub const MAX_DIMENSIONS: usize = 4096;

/// A deterministic unit vector for an input.
pub fn vector(seed: &[u8], dims: usize) -> Vec<f32> {
    // FNV-1a, then splitmix64 for the components.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in seed {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    let mut v: Vec<f32> = (0..dims)
        .map(|_| {
            h = h.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = h;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^= z >> 31;
            ((z >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect();
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        for x in &mut v {
            *x /= norm;
        }
    }
    v
}

pub(crate) fn embeddings(ctx: &Ctx) -> Answer {
    let request = ctx.json_object()?;
    let model = ctx.model(&request)?;
    let input = request.get("input").cloned().unwrap_or(Value::Null);
    // One embedding per string or token array.
    let items: Vec<Value> = match &input {
        Value::String(_) => vec![input.clone()],
        Value::Array(a) if !a.is_empty() && a.iter().all(Value::is_number) => vec![input.clone()],
        Value::Array(a) if !a.is_empty() => a.clone(),
        _ => {
            return Err(ctx.invalid(
                "'input' must be a non-empty string or array of strings or token arrays",
                Some("input"),
            ))
        }
    };
    let dims = match request.get("dimensions") {
        None | Some(Value::Null) => DEFAULT_DIMENSIONS,
        Some(v) => match v.as_u64().and_then(|d| usize::try_from(d).ok()) {
            Some(d) if (1..=MAX_DIMENSIONS).contains(&d) => d,
            _ => {
                return Err(ctx.invalid(
                    &format!("'dimensions' must be an integer from 1 to {MAX_DIMENSIONS}"),
                    Some("dimensions"),
                ))
            }
        },
    };
    let base64 = match request.get("encoding_format").and_then(Value::as_str) {
        None | Some("float") => false,
        Some("base64") => true,
        Some(other) => {
            return Err(ctx.invalid(
                &format!("'encoding_format' must be 'float' or 'base64', got '{other}'"),
                Some("encoding_format"),
            ))
        }
    };
    let data: Vec<J> = items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let seed = match item {
                Value::String(s) => s.clone().into_bytes(),
                other => other.to_string().into_bytes(),
            };
            let v = vector(&seed, dims);
            let embedding = if base64 {
                let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
                J::S(base64_encode(&bytes))
            } else {
                J::arr(v.into_iter().map(J::from))
            };
            obj! { "object" => "embedding", "index" => i, "embedding" => embedding }
        })
        .collect();
    let usage = Usage::with_defaults(text_bytes(&input), 0, &ctx.mock);
    let body = obj! {
        "object" => "list",
        "data" => data,
        "model" => model,
        "usage" => obj! { "prompt_tokens" => usage.prompt, "total_tokens" => usage.prompt },
    };
    ctx.ok(&body, Some(usage.prompt))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_are_deterministic_unit_vectors() {
        let a = vector(b"hello", 8);
        assert_eq!(a, vector(b"hello", 8));
        assert_ne!(a, vector(b"hellp", 8));
        let norm: f32 = a.iter().map(|x| x * x).sum();
        assert!((norm - 1.0).abs() < 1e-5);
    }
}
