//! The rules of gateway keys as an admin manages them: what a new key may be, how long a
//! rotated secret keeps working, and whether a stored key may still authenticate.
//!
//! Invariants: an admin key is never bound to a tenant; a customer-bound key is a
//! read-only key of one tenant; a key authenticates only while it is neither revoked nor
//! expired, and a rotated-out secret only until its grace period ends.

use serde::Deserialize;

use crate::attribution::{CustomerId, TenantId};
use crate::keys::{Scope, Scopes};
use crate::query::parse_instant;

pub const MAX_NAME_LEN: usize = 100;
/// Longest grace period of a rotated secret: 7 days.
pub const MAX_GRACE_SECONDS: u64 = 7 * 86_400;
/// Longest credential looked at: anything longer is refused before it is hashed.
pub const MAX_CREDENTIAL_LEN: usize = 512;

/// A refused key request: a stable code, the field, and what to change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyPolicyError {
    pub code: &'static str,
    pub param: &'static str,
    pub message: String,
}

fn refuse(code: &'static str, param: &'static str, message: impl Into<String>) -> KeyPolicyError {
    KeyPolicyError { code, param, message: message.into() }
}

/// The body of `POST /admin/keys`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct NewKeyRequest {
    pub name: String,
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
    #[serde(default)]
    pub tenant_id: Option<String>,
    #[serde(default)]
    pub customer_id: Option<String>,
    /// RFC 3339, a UTC day or unix ms; must be in the future.
    #[serde(default)]
    pub expires_at: Option<String>,
}

/// A valid new key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeySpec {
    pub name: String,
    pub scopes: Scopes,
    pub tenant: Option<TenantId>,
    pub customer: Option<CustomerId>,
    pub expires_at: Option<i64>,
}

impl NewKeyRequest {
    pub fn validate(&self, now_ms: i64) -> Result<KeySpec, KeyPolicyError> {
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME_LEN || name.chars().any(char::is_control) {
            return Err(refuse("invalid_name", "name", format!("name must be 1 to {MAX_NAME_LEN} characters, without control characters")));
        }
        let scopes = match &self.scopes {
            None => Scopes::new(vec![Scope::Ingest]),
            Some(list) => Scopes::new(
                list.iter().map(|s| Scope::parse(s)).collect::<Result<Vec<_>, _>>().map_err(|e| refuse("invalid_scope", "scopes", e))?,
            ),
        };
        if scopes.is_empty() {
            return Err(refuse("invalid_scope", "scopes", "scopes must name at least one of ingest, read, admin"));
        }
        let tenant = self
            .tenant_id
            .as_deref()
            .map(TenantId::parse)
            .transpose()
            .map_err(|e| refuse("invalid_tenant", "tenant_id", format!("tenant_id: {}", e.reason)))?;
        let customer = self
            .customer_id
            .as_deref()
            .map(CustomerId::parse)
            .transpose()
            .map_err(|e| refuse("invalid_customer", "customer_id", format!("customer_id: {}", e.reason)))?;
        if tenant.is_some() && scopes.allows(Scope::Admin) {
            return Err(refuse("invalid_scope", "scopes", "an admin key cannot be bound to a tenant; drop tenant_id or the admin scope"));
        }
        if customer.is_some() {
            if tenant.is_none() {
                return Err(refuse("invalid_customer", "customer_id", "a customer-bound key needs tenant_id too: a customer belongs to one tenant"));
            }
            if scopes != Scopes::new(vec![Scope::Read]) {
                return Err(refuse("invalid_scope", "scopes", "a customer-bound key can only read: set scopes to [\"read\"]"));
            }
        }
        let expires_at = match self.expires_at.as_deref() {
            None => None,
            Some(t) => {
                let at = parse_instant(t).map_err(|m| refuse("invalid_expires_at", "expires_at", format!("expires_at: {m}")))?;
                if at <= now_ms {
                    return Err(refuse("invalid_expires_at", "expires_at", "expires_at must be in the future"));
                }
                Some(at)
            }
        };
        Ok(KeySpec { name: name.to_owned(), scopes, tenant, customer, expires_at })
    }
}

/// The body of `POST /admin/keys/{id}/rotate` (may be empty).
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RotateRequest {
    #[serde(default)]
    pub grace_period_seconds: Option<u64>,
}

impl RotateRequest {
    /// The grace period in milliseconds during which the old secret still works.
    pub fn grace_ms(&self) -> Result<i64, KeyPolicyError> {
        let s = self.grace_period_seconds.unwrap_or(0);
        if s > MAX_GRACE_SECONDS {
            return Err(refuse("invalid_grace_period", "grace_period_seconds",
                format!("grace_period_seconds must be 0 to {MAX_GRACE_SECONDS} (7 days)")));
        }
        Ok(i64::try_from(s * 1000).unwrap_or(0))
    }
}

/// The state of a stored key, as listed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyStatus {
    Active,
    Revoked,
    Expired,
}

impl KeyStatus {
    pub fn of(revoked_at: Option<i64>, expires_at: Option<i64>, now_ms: i64) -> KeyStatus {
        if revoked_at.is_some() {
            KeyStatus::Revoked
        } else if expires_at.is_some_and(|e| e <= now_ms) {
            KeyStatus::Expired
        } else {
            KeyStatus::Active
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            KeyStatus::Active => "active",
            KeyStatus::Revoked => "revoked",
            KeyStatus::Expired => "expired",
        }
    }
}

/// A stored key found by the hash of a presented secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FoundKey {
    pub revoked_at: Option<i64>,
    pub expires_at: Option<i64>,
    /// The secret matched the key's previous (rotated-out) secret, not its current one.
    pub matched_previous: bool,
    pub previous_expires_at: Option<i64>,
}

/// Whether a found key authenticates at `now_ms`.
pub fn admits(k: FoundKey, now_ms: i64) -> bool {
    KeyStatus::of(k.revoked_at, k.expires_at, now_ms) == KeyStatus::Active
        && (!k.matched_previous || k.previous_expires_at.is_some_and(|e| now_ms < e))
}

/// Whether a credential is worth looking up: printable ASCII without quotes or spaces,
/// at most [`MAX_CREDENTIAL_LEN`] bytes. Anything else is refused without a lookup.
pub fn credential_shape_ok(token: &str) -> bool {
    !token.is_empty()
        && token.len() <= MAX_CREDENTIAL_LEN
        && token.bytes().all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\'' && b != b'\\')
}

/// What a listing shows of a secret so that a person can tell keys apart: the prefix
/// and the last four characters (16 of its 256 bits).
pub fn secret_hint(secret: &str) -> String {
    let tail: String = secret.chars().rev().take(4).collect::<Vec<_>>().into_iter().rev().collect();
    format!("llmo_...{tail}")
}

/// Whether `id` has the shape of a key id (`key_` + 16 hex digits).
pub fn is_key_id(id: &str) -> bool {
    id.strip_prefix("key_").is_some_and(|h| h.len() == 16 && h.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(scopes: &[&str], tenant: Option<&str>, customer: Option<&str>) -> NewKeyRequest {
        NewKeyRequest {
            name: "k".into(),
            scopes: Some(scopes.iter().map(|s| s.to_string()).collect()),
            tenant_id: tenant.map(str::to_owned),
            customer_id: customer.map(str::to_owned),
            expires_at: None,
        }
    }

    #[test]
    fn customer_bound_keys_are_read_only_keys_of_one_tenant() {
        assert!(req(&["read"], Some("acme-corp"), Some("alice")).validate(0).is_ok());
        assert_eq!(req(&["read"], None, Some("alice")).validate(0).unwrap_err().param, "customer_id");
        assert_eq!(req(&["read", "ingest"], Some("acme-corp"), Some("alice")).validate(0).unwrap_err().param, "scopes");
        assert_eq!(req(&["admin"], Some("acme-corp"), None).validate(0).unwrap_err().code, "invalid_scope");
        assert_eq!(req(&[], None, None).validate(0).unwrap_err().code, "invalid_scope");
        assert_eq!(req(&["write"], None, None).validate(0).unwrap_err().code, "invalid_scope");
        assert_eq!(req(&["read"], Some("acme corp"), None).validate(0).unwrap_err().code, "invalid_tenant");
    }

    #[test]
    fn names_and_expiry() {
        let mut r = req(&["read"], None, None);
        r.name = "  ".into();
        assert_eq!(r.validate(0).unwrap_err().code, "invalid_name");
        r.name = "ok\u{0}".into();
        assert_eq!(r.validate(0).unwrap_err().code, "invalid_name");
        r.name = "ok".into();
        r.expires_at = Some("2025-11-28".into());
        assert_eq!(r.validate(1_764_288_000_000).unwrap_err().code, "invalid_expires_at");
        assert_eq!(r.validate(1_764_287_999_999).unwrap().expires_at, Some(1_764_288_000_000));
    }

    #[test]
    fn rotated_secrets_work_only_during_their_grace_period() {
        let k = FoundKey { revoked_at: None, expires_at: None, matched_previous: true, previous_expires_at: Some(100) };
        assert!(admits(k, 99));
        assert!(!admits(k, 100));
        assert!(!admits(FoundKey { previous_expires_at: None, ..k }, 0));
        assert!(admits(FoundKey { matched_previous: false, ..k }, 1000));
        assert!(!admits(FoundKey { matched_previous: false, revoked_at: Some(1), ..k }, 1000), "revoked");
        assert!(!admits(FoundKey { matched_previous: false, expires_at: Some(1000), ..k }, 1000), "expired");
        assert!(RotateRequest { grace_period_seconds: Some(MAX_GRACE_SECONDS + 1) }.grace_ms().is_err());
        assert_eq!(RotateRequest::default().grace_ms(), Ok(0));
    }

    #[test]
    fn credentials_with_quotes_nul_or_great_length_are_refused_unread() {
        assert!(credential_shape_ok(&format!("llmo_{}", "a".repeat(64))));
        for bad in ["", "a\"b", "a'b", "a\\b", "a b", "a\u{0}b", "ünï", &"a".repeat(MAX_CREDENTIAL_LEN + 1)] {
            assert!(!credential_shape_ok(bad), "{bad:?}");
        }
    }

    #[test]
    fn hints_and_ids() {
        assert_eq!(secret_hint(&format!("llmo_{}abcd", "0".repeat(60))), "llmo_...abcd");
        assert!(is_key_id("key_0123456789abcdef"));
        assert!(!is_key_id("key_0123456789ABCDEF") && !is_key_id("key_1") && !is_key_id("key_0123456789abcdef' OR 1"));
    }
}
