//! Who may do what to which tenant's data.
//!
//! Invariant: every read and every write is scoped to exactly one tenant, decided here
//! from the caller's key before any table is touched. A key bound to a tenant can never
//! reach another tenant, whatever the request says; asking for another tenant's data
//! looks exactly like asking for a tenant that does not exist.

use crate::attribution::TenantId;
use crate::keys::{Scope, Scopes};

/// An authenticated caller: the bootstrap admin token or a gateway key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// The key's public id; `None` for the admin token.
    pub key_id: Option<String>,
    pub scopes: Scopes,
    /// The only tenant this key may touch, if it is bound to one.
    pub tenant: Option<TenantId>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AccessError {
    MissingScope(Scope),
    /// A tenant-bound key asked to write for another tenant.
    WrongTenant { bound: TenantId },
    /// An unbound key read without naming a tenant.
    TenantRequired,
    /// The tenant is not visible to this key (whether or not it exists).
    NotFound,
    InvalidTenant(String),
}

impl AccessError {
    pub fn message(&self) -> String {
        match self {
            AccessError::MissingScope(s) => format!("This key lacks the `{}` scope; create a key with it (POST /admin/keys).", s.as_str()),
            AccessError::WrongTenant { bound } => format!(
                "This key is bound to tenant `{bound}` and cannot record calls for another tenant; drop x-llmobserve-tenant or use a key for that tenant."
            ),
            AccessError::TenantRequired => "Name the tenant to read: add `tenant_id=<tenant>` to the query.".to_owned(),
            AccessError::NotFound => "No such tenant, or it is not visible to this key.".to_owned(),
            AccessError::InvalidTenant(m) => m.clone(),
        }
    }
}

impl Principal {
    /// The holder of `LLMOBSERVE_ADMIN_TOKEN`.
    pub fn admin_token() -> Principal {
        Principal { key_id: None, scopes: Scopes::new(vec![Scope::Admin]), tenant: None }
    }

    pub fn require(&self, scope: Scope) -> Result<(), AccessError> {
        if self.scopes.allows(scope) { Ok(()) } else { Err(AccessError::MissingScope(scope)) }
    }

    /// The tenant a proxied or reported call is recorded under: the key's tenant when it
    /// is bound (a different `x-llmobserve-tenant` is refused), else the header's, else
    /// `default`.
    pub fn tenant_for_write(&self, requested: Option<TenantId>) -> Result<TenantId, AccessError> {
        self.require(Scope::Ingest)?;
        match (&self.tenant, requested) {
            (Some(bound), Some(req)) if *bound != req => Err(AccessError::WrongTenant { bound: bound.clone() }),
            (Some(bound), _) => Ok(bound.clone()),
            (None, Some(req)) => Ok(req),
            (None, None) => Ok(TenantId::default_tenant()),
        }
    }

    /// The tenant a read is scoped to. A bound key reads its own tenant (naming another is
    /// `NotFound`, never a hint that it exists); an unbound key must name one.
    pub fn tenant_for_read(&self, requested: Option<&str>) -> Result<TenantId, AccessError> {
        self.require(Scope::Read)?;
        let requested = requested
            .map(|t| TenantId::parse(t).map_err(|e| AccessError::InvalidTenant(format!("tenant_id: {}", e.reason))))
            .transpose()?;
        match (&self.tenant, requested) {
            (Some(bound), Some(req)) if *bound != req => Err(AccessError::NotFound),
            (Some(bound), _) => Ok(bound.clone()),
            (None, Some(req)) => Ok(req),
            (None, None) => Err(AccessError::TenantRequired),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(scopes: &str, tenant: Option<&str>) -> Principal {
        Principal {
            key_id: Some("key_1".into()),
            scopes: Scopes::parse_list(scopes).unwrap(),
            tenant: tenant.map(|t| TenantId::parse(t).unwrap()),
        }
    }
    fn t(s: &str) -> TenantId {
        TenantId::parse(s).unwrap()
    }

    #[test]
    fn bound_key_writes_only_its_tenant() {
        let k = key("ingest", Some("acme-corp"));
        assert_eq!(k.tenant_for_write(None), Ok(t("acme-corp")));
        assert_eq!(k.tenant_for_write(Some(t("acme-corp"))), Ok(t("acme-corp")));
        assert!(matches!(k.tenant_for_write(Some(t("bigco-inc"))), Err(AccessError::WrongTenant { .. })));
    }

    #[test]
    fn unbound_key_writes_the_named_tenant_or_default() {
        let k = key("ingest", None);
        assert_eq!(k.tenant_for_write(Some(t("bigco-inc"))), Ok(t("bigco-inc")));
        assert_eq!(k.tenant_for_write(None), Ok(t("default")));
        assert_eq!(key("read", None).tenant_for_write(None), Err(AccessError::MissingScope(Scope::Ingest)));
    }

    #[test]
    fn reads_of_another_tenant_look_like_missing_tenants() {
        let k = key("read", Some("acme-corp"));
        assert_eq!(k.tenant_for_read(Some("bigco-inc")), Err(AccessError::NotFound));
        assert_eq!(k.tenant_for_read(None), Ok(t("acme-corp")));
        assert_eq!(key("read", None).tenant_for_read(None), Err(AccessError::TenantRequired));
        assert_eq!(key("ingest", Some("acme-corp")).tenant_for_read(None), Err(AccessError::MissingScope(Scope::Read)));
        assert!(matches!(Principal::admin_token().tenant_for_read(Some("bad tenant")), Err(AccessError::InvalidTenant(_))));
        assert_eq!(Principal::admin_token().tenant_for_read(Some("bigco-inc")), Ok(t("bigco-inc")));
    }
}
