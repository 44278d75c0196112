//! Gateway keys and the admin token: format, hashing, scopes, comparison.
//!
//! Invariant: a key's secret is shown once, when it is made; only its SHA-256 is stored.
//! Keys are 256 random bits, so an unsalted hash is enough (as for GitHub tokens) and a
//! lookup by hash is a single indexed read.

use sha2::{Digest, Sha256};

pub const GATEWAY_KEY_PREFIX: &str = "llmo_";
const HEX: &[u8; 16] = b"0123456789abcdef";

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(HEX[usize::from(b >> 4)] as char);
        s.push(HEX[usize::from(b & 15)] as char);
    }
    s
}

/// A new gateway key's secret from 32 random bytes: `llmo_` + 64 hex digits.
pub fn gateway_key_secret(random: &[u8; 32]) -> String {
    format!("{GATEWAY_KEY_PREFIX}{}", hex(random))
}

/// A key's public id from 8 random bytes (independent of the secret).
pub fn gateway_key_id(random: &[u8; 8]) -> String {
    format!("key_{}", hex(random))
}

/// Whether `text` has the shape of a gateway key (it may still be unknown or revoked).
pub fn looks_like_gateway_key(text: &str) -> bool {
    text.strip_prefix(GATEWAY_KEY_PREFIX)
        .is_some_and(|h| h.len() == 64 && h.bytes().all(|b| HEX.contains(&b)))
}

/// The stored form of a secret: lower-case hex SHA-256.
pub fn secret_hash(secret: &str) -> String {
    sha256_hex(secret.as_bytes())
}

/// Lower-case hex SHA-256 of any bytes (request bodies, for implicit retry detection).
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Compares two secrets in time independent of where they differ (both are hashed
/// first, so their lengths leak nothing either).
pub fn secrets_equal(a: &str, b: &str) -> bool {
    let (ha, hb) = (Sha256::digest(a.as_bytes()), Sha256::digest(b.as_bytes()));
    ha.iter().zip(hb.iter()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// What a key may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// Send calls through the gateway and report events.
    Ingest,
    /// Read events, costs and insights.
    Read,
    /// Manage keys and prices.
    Admin,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Ingest => "ingest",
            Scope::Read => "read",
            Scope::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Result<Scope, String> {
        match text {
            "ingest" => Ok(Scope::Ingest),
            "read" => Ok(Scope::Read),
            "admin" => Ok(Scope::Admin),
            other => Err(format!("unknown scope {other:?}; use ingest, read or admin")),
        }
    }
}

/// A set of scopes, stored in D1 as a comma-separated list (`ingest,read`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scopes(Vec<Scope>);

impl Scopes {
    pub fn new(mut scopes: Vec<Scope>) -> Scopes {
        scopes.sort();
        scopes.dedup();
        Scopes(scopes)
    }

    pub fn parse_list(text: &str) -> Result<Scopes, String> {
        text.split(',').filter(|s| !s.is_empty()).map(Scope::parse).collect::<Result<Vec<_>, _>>().map(Scopes::new)
    }

    pub fn allows(&self, scope: Scope) -> bool {
        self.0.contains(&scope) || self.0.contains(&Scope::Admin)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = Scope> + '_ {
        self.0.iter().copied()
    }

    pub fn to_list(&self) -> String {
        self.0.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(",")
    }
}

/// A time-ordered, globally unique event id in UUIDv7 layout: 48 bits of milliseconds,
/// then 74 random bits. Minted at request entry, so a retried write of the same event can
/// never be counted twice.
pub fn event_id(unix_ms: u64, random: &[u8; 10]) -> String {
    let mut b = [0u8; 16];
    let ms = unix_ms.to_be_bytes();
    b[..6].copy_from_slice(&ms[2..]);
    b[6..].copy_from_slice(random);
    b[6] = 0x70 | (b[6] & 0x0f);
    b[8] = 0x80 | (b[8] & 0x3f);
    let h = hex(&b);
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
}

/// The event id of a call reported to the collector: derived from the tenant and the
/// client's own id (UUIDv8 layout over SHA-256), so a re-sent event maps to the same row
/// while two tenants that happen to use the same id never collide.
pub fn reported_event_id(tenant: &str, client_id: &str) -> String {
    let mut h = Sha256::new();
    h.update(tenant.as_bytes());
    h.update([0u8]);
    h.update(client_id.as_bytes());
    let digest = h.finalize();
    let mut b = [0u8; 16];
    b.copy_from_slice(&digest[..16]);
    b[6] = 0x80 | (b[6] & 0x0f);
    b[8] = 0x80 | (b[8] & 0x3f);
    let h = hex(&b);
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_format_and_hash() {
        let k = gateway_key_secret(&[0xab; 32]);
        assert!(k.starts_with("llmo_abab"));
        assert!(looks_like_gateway_key(&k));
        assert!(!looks_like_gateway_key("sk-proj-abc"));
        assert!(!looks_like_gateway_key(&k[..k.len() - 1]));
        // SHA-256("abc")
        assert_eq!(secret_hash("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn secrets_compare() {
        assert!(secrets_equal("s3cret", "s3cret"));
        assert!(!secrets_equal("s3cret", "s3cres"));
        assert!(!secrets_equal("s3cret", ""));
    }

    #[test]
    fn scopes_parse_and_admin_implies_all() {
        let s = Scopes::parse_list("read,ingest,read").unwrap();
        assert_eq!(s.to_list(), "ingest,read");
        assert!(s.allows(Scope::Read) && !s.allows(Scope::Admin));
        assert!(Scopes::parse_list("admin").unwrap().allows(Scope::Ingest));
        assert!(Scopes::parse_list("write").is_err());
    }

    #[test]
    fn event_ids_are_uuid_v7_and_sort_by_time() {
        let a = event_id(1_764_290_458_123, &[0xff; 10]);
        let b = event_id(1_764_290_458_124, &[0x00; 10]);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "7");
        assert!(a < b);
    }

    #[test]
    fn reported_ids_are_stable_per_tenant_and_distinct_across_tenants() {
        let a = reported_event_id("acme-corp", "evt-1");
        assert_eq!(a, reported_event_id("acme-corp", "evt-1"));
        assert_ne!(a, reported_event_id("bigco-inc", "evt-1"));
        assert_ne!(reported_event_id("a", "bc"), reported_event_id("ab", "c"));
        assert_eq!(&a[14..15], "8");
    }
}
