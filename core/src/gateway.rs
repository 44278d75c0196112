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

impl UpstreamBase {
    pub const DEFAULT: &'static str = "https://api.openai.com";

    pub fn parse(text: &str) -> Result<UpstreamBase, String> {
        let t = text.trim();
        let (scheme, rest) = if let Some(r) = t.strip_prefix("https://") {
            ("https://", r)
        } else if let Some(r) = t.strip_prefix("http://") {
            ("http://", r)
        } else {
            return Err(format!("OPENAI_BASE_URL {t:?} must start with https:// or http://"));
        };
        let rest = rest.trim_end_matches('/');
        let rest = rest.strip_suffix("/v1").unwrap_or(rest);
        let host = rest.split('/').next().unwrap_or("");
        if host.is_empty() || rest.contains(['?', '#', '@', ' ']) {
            return Err(format!("OPENAI_BASE_URL {t:?} must be an origin such as https://api.openai.com"));
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
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection",
    "te", "trailer", "transfer-encoding", "upgrade", "host", "content-length",
];

/// Whether a request header goes upstream. `authorization` is decided by [`Credentials`].
pub fn forwards_request_header(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    !(HOP_BY_HOP.contains(&n.as_str())
        || n.starts_with(HEADER_PREFIX)
        || n == "authorization"
        // Cloudflare's own request metadata (client IP, ray id) stays with us.
        || n.starts_with("cf-")
        || n == "x-real-ip"
        || n.starts_with("x-forwarded-"))
}

/// Whether an upstream response header goes back to the client.
pub fn forwards_response_header(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    !HOP_BY_HOP.contains(&n.as_str())
}

/// How the caller authenticated, and so which `Authorization` goes upstream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credentials<'a> {
    /// `Authorization: Bearer <gateway key>`: upstream gets the gateway's own OpenAI key.
    Managed { gateway_key: &'a str },
    /// `x-llmobserve-key: <gateway key>` plus the caller's own `Authorization`, which is
    /// forwarded untouched and never stored.
    PassThrough { gateway_key: &'a str, upstream_authorization: &'a str },
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
        (Some(key), Some(auth)) if !auth.trim().is_empty() => {
            Ok(Credentials::PassThrough { gateway_key: key, upstream_authorization: auth })
        }
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
            Credentials::Managed { gateway_key } | Credentials::PassThrough { gateway_key, .. } => gateway_key,
        }
    }
}

/// What the request body says that matters for pricing. The body itself is forwarded
/// unchanged; this only reads it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RequestFacts {
    pub model: Option<String>,
    pub stream: bool,
}

#[derive(Deserialize)]
struct RawRequest {
    model: Option<serde_json::Value>,
    stream: Option<serde_json::Value>,
}

impl RequestFacts {
    /// Reads `model` and `stream` from a JSON body; anything else (multipart, empty,
    /// invalid JSON) gives empty facts: upstream, not the gateway, judges the request.
    pub fn from_body(body: &[u8]) -> RequestFacts {
        match serde_json::from_slice::<RawRequest>(body) {
            Ok(r) => RequestFacts {
                model: r.model.and_then(|m| m.as_str().map(str::to_owned)),
                stream: r.stream.and_then(|s| s.as_bool()).unwrap_or(false),
            },
            Err(_) => RequestFacts::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_base_is_normalised_and_validated() {
        assert_eq!(UpstreamBase::parse("https://api.openai.com").unwrap().as_str(), "https://api.openai.com");
        assert_eq!(UpstreamBase::parse("https://api.openai.com/v1/").unwrap().as_str(), "https://api.openai.com");
        assert_eq!(UpstreamBase::parse("http://127.0.0.1:9999").unwrap().url_for("/v1/chat/completions"),
            "http://127.0.0.1:9999/v1/chat/completions");
        assert_eq!(UpstreamBase::parse("https://proxy.corp/openai/v1").unwrap().as_str(), "https://proxy.corp/openai");
        for bad in ["api.openai.com", "ftp://x", "https://", "https://user@evil.com", "https://a.com?x=1"] {
            assert!(UpstreamBase::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn llmobserve_and_hop_by_hop_headers_never_go_upstream() {
        for h in ["x-llmobserve-tenant", "X-LLMObserve-Key", "connection", "Transfer-Encoding", "host",
                  "authorization", "cf-connecting-ip", "x-forwarded-for", "content-length"] {
            assert!(!forwards_request_header(h), "{h}");
        }
        for h in ["content-type", "openai-organization", "openai-project", "x-stainless-lang", "idempotency-key", "x-mock-status"] {
            assert!(forwards_request_header(h), "{h}");
        }
        assert!(forwards_response_header("x-ratelimit-remaining-tokens"));
        assert!(!forwards_response_header("transfer-encoding"));
    }

    #[test]
    fn credentials_modes() {
        let key = format!("llmo_{}", "a".repeat(64));
        let bearer = format!("Bearer {key}");
        assert_eq!(credentials(Some(&bearer), None), Ok(Credentials::Managed { gateway_key: &key }));
        assert_eq!(
            credentials(Some("Bearer sk-user"), Some(&key)),
            Ok(Credentials::PassThrough { gateway_key: &key, upstream_authorization: "Bearer sk-user" })
        );
        assert_eq!(credentials(None, None), Err(CredentialError::Missing));
        assert_eq!(credentials(Some("Bearer "), None), Err(CredentialError::Missing));
        assert_eq!(credentials(Some("Bearer sk-user"), None), Err(CredentialError::NotAGatewayKey));
        assert_eq!(credentials(None, Some(&key)), Err(CredentialError::PassThroughWithoutAuthorization));
    }

    #[test]
    fn request_facts() {
        let f = RequestFacts::from_body(br#"{"model":"gpt-4o","stream":true,"messages":[]}"#);
        assert_eq!(f, RequestFacts { model: Some("gpt-4o".into()), stream: true });
        assert_eq!(RequestFacts::from_body(b"--boundary\r\n"), RequestFacts::default());
        assert_eq!(RequestFacts::from_body(br#"{"model":5,"stream":"yes"}"#), RequestFacts::default());
    }
}
