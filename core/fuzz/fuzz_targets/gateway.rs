//! What the gateway reads from a client's request and from upstream's response headers
//! (untrusted): JSON request bodies, multipart forms, the include_usage rewrite, the
//! credentials headers, upstream's rate-limit headers and error bodies.
#![no_main]

use libfuzzer_sys::fuzz_target;
use llmobserve_core::gateway::{bearer_token, credentials, multipart_text_fields, with_include_usage, RequestFacts, UpstreamBase, UpstreamFacts};
use serde_json::Value;

const INSERTED: &[u8] = br#""stream_options":{"include_usage":true}"#;

/// A multipart body built from `fields` with `boundary`, as a browser or SDK sends it.
fn multipart(boundary: &str, fields: &[(String, String)]) -> Vec<u8> {
    let mut b = Vec::new();
    for (name, value) in fields {
        b.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes());
    }
    b.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\nContent-Type: audio/wav\r\n\r\nRIFF\r\n--{boundary}--\r\n").as_bytes());
    b
}

fn check_body(data: &[u8]) {
    let facts = RequestFacts::from_body(data);
    // serde skips ignored members without checking their UTF-8: the reference reads the
    // body with invalid UTF-8 replaced.
    let lossy: Option<Value> = serde_json::from_str(&String::from_utf8_lossy(data)).ok();
    if let (Some(v), true) = (lossy, facts != RequestFacts::default()) {
        assert_eq!(facts.model.as_deref(), v.get("model").and_then(Value::as_str));
        assert_eq!(facts.stream, v.get("stream").and_then(Value::as_bool).unwrap_or(false));
        assert_eq!(facts.n, v.get("n").and_then(Value::as_u64));
        assert_eq!(facts.input_characters, v.get("input").and_then(Value::as_str).map(|s| s.chars().count() as u64));
    }

    match with_include_usage(data) {
        None => assert!(!serde_json::from_slice::<Value>(data).is_ok_and(|v| v.is_object())),
        Some(out) => {
            let before: serde_json::Map<String, Value> = serde_json::from_slice(data).expect("rewrote a body that is not an object");
            let after: serde_json::Map<String, Value> = serde_json::from_slice(&out).expect("the rewritten body is not a JSON object");
            assert_eq!(after.get("stream_options").and_then(|o| o.get("include_usage")), Some(&Value::Bool(true)));
            for (k, v) in &before {
                if k != "stream_options" {
                    assert_eq!(after.get(k), Some(v), "member {k:?} changed");
                }
            }
            assert_eq!(after.len(), before.len() + usize::from(!before.contains_key("stream_options")));
            if !before.contains_key("stream_options") {
                // Only the member (and a comma) was inserted: every other byte is the client's.
                let at = out.windows(INSERTED.len()).position(|w| w == INSERTED).expect("inserted member");
                let mut rest = out[..at].to_vec();
                let tail = &out[at + INSERTED.len()..];
                rest.extend_from_slice(tail.strip_prefix(b",").filter(|_| !before.is_empty()).unwrap_or(tail));
                assert_eq!(rest, data);
            }
        }
    }

    let mut up = UpstreamFacts::default();
    up.read_error_body(data);
    for t in [&up.error_type, &up.error_code].into_iter().flatten() {
        assert!(!t.is_empty() && t.len() <= 128);
    }
}

fuzz_target!(|data: &[u8]| {
    check_body(data);

    // Multipart: the input's first line is the Content-Type, the rest the body.
    let split = data.iter().position(|&b| b == b'\n').unwrap_or(data.len());
    let content_type = String::from_utf8_lossy(&data[..split]);
    let body = data.get(split + 1..).unwrap_or(b"");
    for (name, value) in multipart_text_fields(&content_type, body) {
        assert!(value.len() <= 1024, "field {name:?} over 1 KiB");
    }
    let _ = RequestFacts::from_multipart(&content_type, body);

    // Multipart round trip: fields built from the input's text come back as they went in.
    let text = String::from_utf8_lossy(data);
    let mut words = text.split('\u{0}');
    let boundary: String = words.next().unwrap_or("").chars().filter(|c| c.is_ascii_alphanumeric() || "'()+_,-./:=?".contains(*c)).take(70).collect();
    if !boundary.is_empty() {
        let delimiter = format!("--{boundary}");
        let fields: Vec<(String, String)> = words
            .filter_map(|w| {
                let (n, v) = w.split_once('=')?;
                // Field names are read case-insensitively (as lower case).
                let n: String = n.chars().filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_').take(32).collect();
                let v = v.to_owned();
                let ok = !n.is_empty() && v.len() <= 1024 && !v.contains(&delimiter) && !v.ends_with('\r')
                    && !format!("\r\n{v}").contains(&format!("\r\n{delimiter}"));
                ok.then_some((n, v))
            })
            .collect();
        let body = multipart(&boundary, &fields);
        for ct in [format!("multipart/form-data; boundary={boundary}"), format!("multipart/form-data; boundary=\"{boundary}\"")] {
            assert_eq!(multipart_text_fields(&ct, &body), fields, "multipart round trip, boundary {boundary:?}");
        }
        let facts = RequestFacts::from_multipart(&format!("multipart/form-data; boundary={boundary}"), &body);
        let first = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        assert_eq!(facts.model, first("model"));
        assert_eq!(facts.size, first("size"));
    }

    // Headers: the credentials and upstream's rate-limit headers.
    let lines: Vec<(&str, &str)> = text
        .split('\n')
        .map(|l| l.split_once(':').map(|(n, v)| (n, v.trim())).unwrap_or((l, "")))
        .collect();
    let up = UpstreamFacts::from_headers(lines.iter().copied());
    if let Some(id) = &up.request_id {
        assert!(id.len() <= 128);
    }
    for (name, value) in &lines {
        if let Some(t) = bearer_token(value) {
            assert!(!t.is_empty() && value.to_ascii_lowercase().trim_start().starts_with("bearer"));
        }
        let _ = credentials(Some(value), Some(name));
        let _ = credentials(Some(value), None);
        if let Ok(base) = UpstreamBase::parse(value) {
            let b = base.as_str();
            assert!(b.starts_with("https://") || b.starts_with("http://"));
            assert!(!b.ends_with('/') && !b.contains(['?', '#', '@', ' ']));
        }
    }
});
