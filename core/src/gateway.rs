//! The gateway's rules, independent of any runtime: which credentials a request carries,
//! which headers cross the gateway, where upstream is, and what a request body says.
//!
//! Invariant: the upstream origin comes from configuration only, never from a request;
//! no `x-llmobserve-*` header and no hop-by-hop header is ever forwarded.

use serde::Deserialize;

use crate::attribution::HEADER_PREFIX;
use crate::keys::looks_like_gateway_key;

/// The configured upstream origin, e.g. `https://api.openai.com` (a trailing `/` or `/v1`
/// is accepted and dropped: request paths already start with `/v1`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpstreamBase(String);

/// `host`, `host:port`, `[v6]` or `[v6]:port`, with a port of 1 to 5 digits.
fn host_and_port_ok(host: &str) -> bool {
    let port_ok = |p: &str| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit());
    match host.strip_prefix('[') {
        Some(v6) => match v6.split_once(']') {
            Some((addr, after)) => !addr.is_empty() && (after.is_empty() || after.strip_prefix(':').is_some_and(port_ok)),
            None => false,
        },
        None => match host.rsplit_once(':') {
            Some((name, port)) => !name.is_empty() && port_ok(port),
            None => true,
        },
    }
}

impl UpstreamBase {
    pub const DEFAULT: &'static str = "https://api.openai.com";

    pub fn parse(text: &str) -> Result<UpstreamBase, String> {
        let t = text.trim();
        let (scheme, rest) = if let Some(r) = t.strip_prefix("https://") {
            ("https://", r)
        } else if let Some(r) = t.strip_prefix("http://") {
            ("http://", r)
        } else {
            return Err(format!(
                "OPENAI_BASE_URL {t:?} must start with https:// or http://"
            ));
        };
        let rest = rest.trim_end_matches('/');
        // Slashes before a trailing /v1 go too (`https://host//v1/`).
        let rest = rest.strip_suffix("/v1").unwrap_or(rest).trim_end_matches('/');
        let host = rest.split('/').next().unwrap_or("");
        if host.is_empty() || !host_and_port_ok(host) || rest.contains("//") || rest.contains(['?', '#', '@', ' ']) {
            return Err(format!(
                "OPENAI_BASE_URL {t:?} must be an origin such as https://api.openai.com"
            ));
        }
        Ok(UpstreamBase(format!("{scheme}{rest}")))
    }

    /// The upstream URL for a request path (and query) such as `/v1/chat/completions?x=1`.
    pub fn url_for(&self, path_and_query: &str) -> String {
        format!("{}{}", self.0, path_and_query)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Headers that describe one connection, not the message (RFC 9110 section 7.6.1), plus
/// those the platform sets itself.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
];

/// Request headers that never go upstream by name, besides the hop-by-hop ones:
/// `authorization` is replaced as [`Credentials`] decide. Kept as data so that a runtime
/// can apply them in one pass over the headers ([`forwards_request_header`] is the same
/// rule; [`request_dropped_names`] lists them all).
const REQUEST_ALSO_DROPPED: &[&str] = &["authorization", "x-real-ip"];

/// Every request header name that never goes upstream (see also [`REQUEST_DROPPED_PREFIXES`]).
pub fn request_dropped_names() -> impl Iterator<Item = &'static str> {
    HOP_BY_HOP.iter().chain(REQUEST_ALSO_DROPPED).copied()
}
/// Our own headers, Cloudflare's request metadata (client IP, ray id), proxies' trail.
pub const REQUEST_DROPPED_PREFIXES: &[&str] = &[HEADER_PREFIX, "cf-", "x-forwarded-"];

/// The request headers the gateway itself reads: credentials, body facts, and every
/// `x-llmobserve-*` header (attribution; an unknown one is an error).
pub const REQUEST_READ_NAMES: &[&str] = &["authorization", "content-type", "content-length"];
pub const REQUEST_READ_PREFIXES: &[&str] = &[HEADER_PREFIX];

/// Whether a request header goes upstream. `authorization` is decided by [`Credentials`].
pub fn forwards_request_header(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    !(request_dropped_names().any(|d| d == n) || REQUEST_DROPPED_PREFIXES.iter().any(|p| n.starts_with(p)))
}

/// Whether the gateway reads a request header ([`REQUEST_READ_NAMES`], [`REQUEST_READ_PREFIXES`]).
pub fn reads_request_header(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    REQUEST_READ_NAMES.contains(&n.as_str()) || REQUEST_READ_PREFIXES.iter().any(|p| n.starts_with(p))
}

/// Upstream response headers that never go back to the client: fixed names, so a runtime
/// deletes them without looking at the others.
pub const RESPONSE_DROPPED_NAMES: &[&str] = HOP_BY_HOP;

/// Whether an upstream response header goes back to the client.
pub fn forwards_response_header(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    !RESPONSE_DROPPED_NAMES.contains(&n.as_str())
}

/// The path of a serialized request URL (`https://host/v1/x?q=1` gives `/v1/x`) and the
/// path with its query (`/v1/x?q=1`), without parsing the URL again: a runtime's URL is
/// already normalised, so the first `/` after the authority starts the path, and a `#`
/// fragment never reaches a server.
pub fn path_and_query(url: &str) -> (&str, &str) {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let target = match url[after_scheme..].find('/') {
        Some(i) => &url[after_scheme + i..],
        None => "/",
    };
    let target = target.split('#').next().unwrap_or(target);
    let path = target.split('?').next().unwrap_or(target);
    (path, target)
}

/// How the caller authenticated, and so which `Authorization` goes upstream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credentials<'a> {
    /// `Authorization: Bearer <gateway key>`: upstream gets the gateway's own OpenAI key.
    Managed { gateway_key: &'a str },
    /// `x-llmobserve-key: <gateway key>` plus the caller's own `Authorization`, which is
    /// forwarded untouched and never stored.
    PassThrough {
        gateway_key: &'a str,
        upstream_authorization: &'a str,
    },
}

/// Why a request has no usable credentials. Each message says what to send instead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CredentialError {
    Missing,
    NotAGatewayKey,
    PassThroughWithoutAuthorization,
}

impl CredentialError {
    pub fn message(self) -> &'static str {
        match self {
            CredentialError::Missing => "No gateway key. Send `Authorization: Bearer llmo_...` (the gateway uses its own OpenAI key) or `x-llmobserve-key: llmo_...` with your own OpenAI key in `Authorization`.",
            CredentialError::NotAGatewayKey => "The bearer token is not an llmobserve gateway key (llmo_...). To use your own OpenAI key, send it in `Authorization` and the gateway key in `x-llmobserve-key`.",
            CredentialError::PassThroughWithoutAuthorization => "`x-llmobserve-key` selects pass-through mode, which forwards your own OpenAI key: send it as `Authorization: Bearer sk-...`, or send the gateway key itself as the bearer token.",
        }
    }
}

/// The token of an `Authorization: Bearer <token>` value (scheme in any case), if any.
pub fn bearer_token(authorization: &str) -> Option<&str> {
    let a = authorization.trim();
    let (scheme, token) = a.split_once(' ').unwrap_or((a, ""));
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Reads the credentials from the `authorization` and `x-llmobserve-key` header values.
pub fn credentials<'a>(
    authorization: Option<&'a str>,
    llmobserve_key: Option<&'a str>,
) -> Result<Credentials<'a>, CredentialError> {
    let bearer = authorization.and_then(bearer_token);
    match (llmobserve_key.map(str::trim), authorization) {
        (Some(key), Some(auth)) if !auth.trim().is_empty() => Ok(Credentials::PassThrough {
            gateway_key: key,
            upstream_authorization: auth,
        }),
        (Some(_), _) => Err(CredentialError::PassThroughWithoutAuthorization),
        (None, _) => match bearer {
            Some(b) if looks_like_gateway_key(b) => Ok(Credentials::Managed { gateway_key: b }),
            Some(_) => Err(CredentialError::NotAGatewayKey),
            None => Err(CredentialError::Missing),
        },
    }
}

impl Credentials<'_> {
    pub fn gateway_key(&self) -> &str {
        match self {
            Credentials::Managed { gateway_key } | Credentials::PassThrough { gateway_key, .. } => {
                gateway_key
            }
        }
    }
}

/// Whether the gateway reads a request body (to learn the model and how it streams) or
/// streams it upstream untouched. JSON bodies are read, and so are the multipart forms of
/// the audio and image endpoints, whose price depends on their fields; file uploads and
/// other bodies go through without being copied into the worker.
pub fn reads_request_body(path: &str, content_type: Option<&str>) -> bool {
    let ct = content_type.unwrap_or("").trim().to_ascii_lowercase();
    if ct.is_empty() || is_json(&ct) {
        return true;
    }
    ct.starts_with("multipart/form-data") && (path.starts_with("/v1/audio/") || path.starts_with("/v1/images/"))
}

/// Whether the gateway reads a response body to extract usage (JSON), or streams it back
/// untouched (audio, files, anything else).
pub fn reads_response_body(content_type: Option<&str>) -> bool {
    is_json(&content_type.unwrap_or("").trim().to_ascii_lowercase())
}

/// JSON media types, as data a runtime can apply to a trimmed, lower-case content type:
/// those that start with one of the first and those that end with one of the second.
/// (The worker applies them in JavaScript to decide, in the same call as the fetch,
/// whether to read a response body whole: `worker/src/gateway/glue.rs`, `exchange`.
/// [`reads_response_body`] is that rule, tested here.)
pub const JSON_TYPE_PREFIXES: &[&str] = &["application/json"];
pub const JSON_TYPE_SUFFIXES: &[&str] = &["+json"];

fn is_json(lower: &str) -> bool {
    JSON_TYPE_PREFIXES.iter().any(|p| lower.starts_with(p)) || JSON_TYPE_SUFFIXES.iter().any(|x| lower.ends_with(x))
}

/// The small text fields of a `multipart/form-data` body (`model`, `n`, `size`, ...);
/// file parts and fields over 1 KiB are skipped. Empty when the body is not multipart.
pub fn multipart_text_fields(content_type: &str, body: &[u8]) -> Vec<(String, String)> {
    let Some(boundary) = content_type.split(';').find_map(|p| {
        let p = p.trim();
        p.strip_prefix("boundary=").map(|b| b.trim_matches('"'))
    }) else {
        return Vec::new();
    };
    if boundary.is_empty() {
        return Vec::new();
    }
    let delimiter = format!("--{boundary}");
    let d = delimiter.as_bytes();
    let mut fields = Vec::new();
    let mut rest = body;
    while let Some(at) = rest.windows(d.len()).position(|w| w == d) {
        rest = &rest[at + d.len()..];
        let Some(head_end) = rest.windows(4).position(|w| w == b"\r\n\r\n") else { break };
        let head = String::from_utf8_lossy(&rest[..head_end]).to_ascii_lowercase();
        let content = &rest[head_end + 4..];
        let end = content.windows(d.len()).position(|w| w == d).unwrap_or(content.len());
        let value = content[..end].strip_suffix(b"\r\n").unwrap_or(&content[..end]);
        let name = head.split(';').find_map(|p| p.trim().strip_prefix("name=").map(|n| n.trim_matches('"').to_owned()));
        if let (Some(name), false) = (name, head.contains("filename=")) {
            if value.len() <= 1024 {
                if let Ok(v) = std::str::from_utf8(value) {
                    fields.push((name, v.to_owned()));
                }
            }
        }
    }
    fields
}

/// What the request body says that matters for pricing. The body itself is forwarded
/// unchanged; this only reads it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RequestFacts {
    pub model: Option<String>,
    pub stream: bool,
    /// The client itself asked for a usage chunk (`stream_options.include_usage: true`).
    pub include_usage: bool,
    /// Images asked for (`n`), their `size` and `quality` (image endpoints).
    pub n: Option<u64>,
    pub size: Option<String>,
    pub quality: Option<String>,
    /// Characters of a speech request's `input` (what text-to-speech is billed by).
    pub input_characters: Option<u64>,
}

#[derive(Deserialize)]
struct RawRequest {
    model: Option<serde_json::Value>,
    stream: Option<serde_json::Value>,
    stream_options: Option<serde_json::Value>,
    n: Option<serde_json::Value>,
    size: Option<serde_json::Value>,
    quality: Option<serde_json::Value>,
    input: Option<serde_json::Value>,
}

impl RequestFacts {
    /// Reads the facts of a multipart form (audio and image endpoints).
    pub fn from_multipart(content_type: &str, body: &[u8]) -> RequestFacts {
        let fields = multipart_text_fields(content_type, body);
        let field = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        RequestFacts {
            model: field("model"),
            n: field("n").and_then(|n| n.trim().parse().ok()),
            size: field("size"),
            quality: field("quality"),
            ..RequestFacts::default()
        }
    }

    /// Reads `model` and `stream` from a JSON body; anything else (multipart, empty,
    /// invalid JSON) gives empty facts: upstream, not the gateway, judges the request.
    pub fn from_body(body: &[u8]) -> RequestFacts {
        match serde_json::from_slice::<RawRequest>(body) {
            Ok(r) => RequestFacts {
                model: r.model.and_then(|m| m.as_str().map(str::to_owned)),
                stream: r.stream.and_then(|s| s.as_bool()).unwrap_or(false),
                include_usage: r
                    .stream_options
                    .and_then(|o| o.get("include_usage").and_then(serde_json::Value::as_bool))
                    .unwrap_or(false),
                n: r.n.and_then(|n| n.as_u64()),
                size: r.size.and_then(|v| v.as_str().map(str::to_owned)),
                quality: r.quality.and_then(|v| v.as_str().map(str::to_owned)),
                input_characters: r.input.and_then(|v| v.as_str().map(|t| t.chars().count() as u64)),
            },
            Err(_) => RequestFacts::default(),
        }
    }
}

/// The request body with `stream_options.include_usage` set to true, so that upstream
/// reports exact usage at the end of the stream. Changes nothing else: when the body has
/// no `stream_options`, the member is inserted after the opening brace and every other
/// byte stays as the client sent it. `None` when the body is not a JSON object.
pub fn with_include_usage(body: &[u8]) -> Option<Vec<u8>> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let object = value.as_object()?;
    if !object.contains_key("stream_options") {
        let brace = body.iter().position(|&b| b == b'{')?;
        let mut out = Vec::with_capacity(body.len() + 40);
        out.extend_from_slice(&body[..=brace]);
        out.extend_from_slice(br#""stream_options":{"include_usage":true}"#);
        if !object.is_empty() {
            out.push(b',');
        }
        out.extend_from_slice(&body[brace + 1..]);
        return Some(out);
    }
    let mut object = object.clone();
    let options = object
        .entry("stream_options")
        .or_insert_with(|| serde_json::Value::Object(serde_json::Map::new()));
    if !options.is_object() {
        *options = serde_json::Value::Object(serde_json::Map::new());
    }
    if let Some(o) = options.as_object_mut() {
        o.insert("include_usage".to_owned(), serde_json::Value::Bool(true));
    }
    serde_json::to_vec(&object).ok()
}

/// What upstream's response headers (and error body) say beyond the body itself: its
/// request id, rate-limit headroom, and for errors their type, code and `retry-after`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UpstreamFacts {
    pub request_id: Option<String>,
    pub retry_after_ms: Option<u64>,
    pub limit_requests: Option<u64>,
    pub remaining_requests: Option<u64>,
    pub limit_tokens: Option<u64>,
    pub remaining_tokens: Option<u64>,
    pub error_type: Option<String>,
    pub error_code: Option<String>,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: Option<ErrorObject>,
}

#[derive(Deserialize)]
struct ErrorObject {
    #[serde(rename = "type")]
    kind: Option<serde_json::Value>,
    code: Option<serde_json::Value>,
}

fn json_text(v: Option<serde_json::Value>) -> Option<String> {
    match v? {
        serde_json::Value::String(s) => Some(s),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
    .filter(|s| !s.is_empty() && s.len() <= 128)
}

impl UpstreamFacts {
    /// Every header [`UpstreamFacts::from_headers`] reads: a runtime can hand over just these.
    pub const HEADERS: &'static [&'static str] = &[
        "x-request-id",
        "x-ratelimit-limit-requests",
        "x-ratelimit-remaining-requests",
        "x-ratelimit-limit-tokens",
        "x-ratelimit-remaining-tokens",
        "retry-after-ms",
        "retry-after",
    ];

    /// Reads OpenAI's response headers (`x-request-id`, `x-ratelimit-*`, `retry-after`,
    /// `retry-after-ms`). Names in any case; values that do not parse are ignored.
    pub fn from_headers<'a>(headers: impl IntoIterator<Item = (&'a str, &'a str)>) -> UpstreamFacts {
        let mut f = UpstreamFacts::default();
        let mut retry_after_s = None;
        for (name, value) in headers {
            let value = value.trim();
            let num = || value.parse::<u64>().ok();
            match name.to_ascii_lowercase().as_str() {
                "x-request-id" if value.len() <= 128 => f.request_id = Some(value.to_owned()),
                "x-ratelimit-limit-requests" => f.limit_requests = num(),
                "x-ratelimit-remaining-requests" => f.remaining_requests = num(),
                "x-ratelimit-limit-tokens" => f.limit_tokens = num(),
                "x-ratelimit-remaining-tokens" => f.remaining_tokens = num(),
                "retry-after-ms" => f.retry_after_ms = num(),
                "retry-after" => retry_after_s = num(),
                _ => {}
            }
        }
        if f.retry_after_ms.is_none() {
            f.retry_after_ms = retry_after_s.and_then(|s| s.checked_mul(1000));
        }
        f
    }

    /// Adds the `type` and `code` of an OpenAI-shaped error body, if it is one.
    pub fn read_error_body(&mut self, body: &[u8]) {
        if let Ok(ErrorBody { error: Some(e) }) = serde_json::from_slice::<ErrorBody>(body) {
            self.error_type = json_text(e.kind);
            self.error_code = json_text(e.code);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_base_is_normalised_and_validated() {
        assert_eq!(
            UpstreamBase::parse("https://api.openai.com")
                .unwrap()
                .as_str(),
            "https://api.openai.com"
        );
        assert_eq!(
            UpstreamBase::parse("https://api.openai.com/v1/")
                .unwrap()
                .as_str(),
            "https://api.openai.com"
        );
        assert_eq!(
            UpstreamBase::parse("http://127.0.0.1:9999")
                .unwrap()
                .url_for("/v1/chat/completions"),
            "http://127.0.0.1:9999/v1/chat/completions"
        );
        assert_eq!(
            UpstreamBase::parse("https://proxy.corp/openai/v1")
                .unwrap()
                .as_str(),
            "https://proxy.corp/openai"
        );
        for bad in [
            "api.openai.com",
            "ftp://x",
            "https://",
            "https://user@evil.com",
            "https://a.com?x=1",
            // Found by the gateway fuzz target: "apps://" once passed, ending in a slash.
            "https://apps:///v1/",
            "https://host:/v1",
            "https://host:http/v1",
            "https://host//path/v1",
        ] {
            assert!(UpstreamBase::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(UpstreamBase::parse("https://host//v1/").unwrap().as_str(), "https://host");
        assert_eq!(UpstreamBase::parse("http://127.0.0.1:8787/v1").unwrap().as_str(), "http://127.0.0.1:8787");
        assert_eq!(UpstreamBase::parse("http://[::1]:8787/v1").unwrap().as_str(), "http://[::1]:8787");
        assert_eq!(UpstreamBase::parse("http://[::1]").unwrap().as_str(), "http://[::1]");
        assert!(UpstreamBase::parse("http://[::1]:").is_err());
    }

    #[test]
    fn llmobserve_and_hop_by_hop_headers_never_go_upstream() {
        for h in [
            "x-llmobserve-tenant",
            "X-LLMObserve-Key",
            "connection",
            "Transfer-Encoding",
            "host",
            "authorization",
            "cf-connecting-ip",
            "x-forwarded-for",
            "content-length",
        ] {
            assert!(!forwards_request_header(h), "{h}");
        }
        for h in [
            "content-type",
            "openai-organization",
            "openai-project",
            "x-stainless-lang",
            "idempotency-key",
            "x-mock-status",
        ] {
            assert!(forwards_request_header(h), "{h}");
        }
        assert!(forwards_response_header("x-ratelimit-remaining-tokens"));
        assert!(!forwards_response_header("transfer-encoding"));
    }

    #[test]
    fn the_gateway_reads_its_own_headers_credentials_and_body_facts_only() {
        for h in ["Authorization", "x-llmobserve-tenant", "x-llmobserve-property-team", "x-llmobserve-typo", "content-type", "content-length"] {
            assert!(reads_request_header(h), "{h}");
        }
        for h in ["x-stainless-lang", "openai-organization", "user-agent", "cf-ray"] {
            assert!(!reads_request_header(h), "{h}");
        }
        // Everything it reads that identifies the caller stays here.
        for h in ["authorization", "x-llmobserve-key", "x-llmobserve-tenant"] {
            assert!(!forwards_request_header(h), "{h}");
        }
    }

    #[test]
    fn upstream_facts_read_only_the_headers_they_name() {
        let all = [
            ("x-request-id", "req_1"),
            ("x-ratelimit-limit-requests", "500"),
            ("x-ratelimit-remaining-requests", "499"),
            ("x-ratelimit-limit-tokens", "200000"),
            ("x-ratelimit-remaining-tokens", "199000"),
            ("retry-after-ms", "20"),
            ("openai-processing-ms", "7"),
            ("date", "x"),
        ];
        let named = all.iter().copied().filter(|(k, _)| UpstreamFacts::HEADERS.contains(k));
        assert_eq!(UpstreamFacts::from_headers(named), UpstreamFacts::from_headers(all));
        assert_eq!(UpstreamFacts::from_headers(all).retry_after_ms, Some(20));
    }

    #[test]
    fn path_and_query_of_a_serialized_url() {
        assert_eq!(path_and_query("https://gw.example/v1/chat/completions"), ("/v1/chat/completions", "/v1/chat/completions"));
        assert_eq!(path_and_query("http://127.0.0.1:8787/v1/files?purpose=batch&x=%3F"), ("/v1/files", "/v1/files?purpose=batch&x=%3F"));
        assert_eq!(path_and_query("https://gw.example/v1/models#frag"), ("/v1/models", "/v1/models"));
        assert_eq!(path_and_query("https://gw.example"), ("/", "/"));
        assert_eq!(path_and_query("https://gw.example/?a=1"), ("/", "/?a=1"));
    }

    #[test]
    fn credentials_modes() {
        let key = format!("llmo_{}", "a".repeat(64));
        let bearer = format!("Bearer {key}");
        assert_eq!(
            credentials(Some(&bearer), None),
            Ok(Credentials::Managed { gateway_key: &key })
        );
        assert_eq!(
            credentials(Some("Bearer sk-user"), Some(&key)),
            Ok(Credentials::PassThrough {
                gateway_key: &key,
                upstream_authorization: "Bearer sk-user"
            })
        );
        assert_eq!(credentials(None, None), Err(CredentialError::Missing));
        assert_eq!(
            credentials(Some("Bearer "), None),
            Err(CredentialError::Missing)
        );
        assert_eq!(
            credentials(Some("Bearer sk-user"), None),
            Err(CredentialError::NotAGatewayKey)
        );
        assert_eq!(
            credentials(None, Some(&key)),
            Err(CredentialError::PassThroughWithoutAuthorization)
        );
    }

    #[test]
    fn request_facts() {
        let f = RequestFacts::from_body(br#"{"model":"gpt-4o","stream":true,"messages":[]}"#);
        assert_eq!(
            f,
            RequestFacts {
                model: Some("gpt-4o".into()),
                stream: true,
                ..RequestFacts::default()
            }
        );
        assert!(
            RequestFacts::from_body(br#"{"stream":true,"stream_options":{"include_usage":true}}"#)
                .include_usage
        );
        assert_eq!(
            RequestFacts::from_body(b"--boundary\r\n"),
            RequestFacts::default()
        );
        assert_eq!(
            RequestFacts::from_body(br#"{"model":5,"stream":"yes"}"#),
            RequestFacts::default()
        );
    }

    #[test]
    fn include_usage_is_added_without_touching_the_rest() {
        let body = br#"{ "model": "gpt-4o", "stream": true, "messages": [] }"#;
        let out = with_include_usage(body).unwrap();
        assert_eq!(out, br#"{"stream_options":{"include_usage":true}, "model": "gpt-4o", "stream": true, "messages": [] }"#);
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["stream_options"]["include_usage"], true);
        let with_opts = with_include_usage(
            br#"{"stream_options":{"include_obfuscation":false},"stream":true}"#,
        )
        .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&with_opts).unwrap();
        assert_eq!(
            v["stream_options"],
            serde_json::json!({"include_obfuscation": false, "include_usage": true})
        );
        assert_eq!(
            with_include_usage(b"{}").unwrap(),
            br#"{"stream_options":{"include_usage":true}}"#
        );
        assert_eq!(with_include_usage(b"[1]"), None);
        assert_eq!(with_include_usage(b"not json"), None);
    }

    #[test]
    fn upstream_facts_from_rate_limit_headers_and_error_body() {
        let mut f = UpstreamFacts::from_headers([
            ("X-Request-Id", "req_123"),
            ("x-ratelimit-limit-requests", "10000"),
            ("x-ratelimit-remaining-requests", "0"),
            ("x-ratelimit-limit-tokens", "30000000"),
            ("x-ratelimit-remaining-tokens", "29999989"),
            ("x-ratelimit-reset-requests", "6ms"),
            ("retry-after", "2"),
        ]);
        f.read_error_body(br#"{"error":{"message":"slow down","type":"requests","param":null,"code":"rate_limit_exceeded"}}"#);
        assert_eq!(f, UpstreamFacts {
            request_id: Some("req_123".into()),
            retry_after_ms: Some(2000),
            limit_requests: Some(10000),
            remaining_requests: Some(0),
            limit_tokens: Some(30_000_000),
            remaining_tokens: Some(29_999_989),
            error_type: Some("requests".into()),
            error_code: Some("rate_limit_exceeded".into()),
        });
        let g = UpstreamFacts::from_headers([("retry-after-ms", "150"), ("retry-after", "9"), ("x-ratelimit-remaining-tokens", "lots")]);
        assert_eq!((g.retry_after_ms, g.remaining_tokens), (Some(150), None));
        let mut h = UpstreamFacts::default();
        h.read_error_body(b"<html>502</html>");
        assert_eq!(h, UpstreamFacts::default());
    }

    #[test]
    fn which_bodies_are_read() {
        assert!(reads_request_body("/v1/chat/completions", Some("application/json")));
        assert!(reads_request_body("/v1/chat/completions", None));
        assert!(reads_request_body("/v1/audio/transcriptions", Some("multipart/form-data; boundary=x")));
        assert!(!reads_request_body("/v1/files", Some("multipart/form-data; boundary=x")));
        assert!(!reads_request_body("/v1/uploads/u1/parts", Some("application/octet-stream")));
        assert!(reads_response_body(Some("application/json; charset=utf-8")));
        assert!(!reads_response_body(Some("audio/mpeg")));
    }

    #[test]
    fn multipart_fields_skip_files() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.mp3\"\r\nContent-Type: audio/mpeg\r\n\r\nID3\x00\xff--X\r\n--XyZ\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nwhisper-1\r\n--XyZ\r\nContent-Disposition: form-data; name=\"n\"\r\n\r\n2\r\n--XyZ--\r\n";
        let f = multipart_text_fields("multipart/form-data; boundary=XyZ", body);
        assert_eq!(f, vec![("model".to_owned(), "whisper-1".to_owned()), ("n".to_owned(), "2".to_owned())]);
        assert_eq!(RequestFacts::from_multipart("multipart/form-data; boundary=\"XyZ\"", body).model.as_deref(), Some("whisper-1"));
        assert!(multipart_text_fields("application/json", body).is_empty());
    }
}
