//! Who may do what to which tenant's data.
//!
//! Invariant: every read and every write is scoped to exactly one tenant, decided here
//! from the caller's key before any table is touched. A key bound to a tenant can never
//! reach another tenant, whatever the request says; asking for another tenant's data
//! looks exactly like asking for a tenant that does not exist. A read key bound to one
//! customer of its tenant sees that customer's rows only, with the same 404 rule.

use crate::attribution::{CustomerId, TenantId};
use crate::keys::{Scope, Scopes};

/// An authenticated caller: the bootstrap admin token or a gateway key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// The key's public id; `None` for the admin token.
    pub key_id: Option<String>,
    pub scopes: Scopes,
    /// The only tenant this key may touch, if it is bound to one.
    pub tenant: Option<TenantId>,
    /// The only customer of `tenant` this key may read, if it is bound to one (a read key
    /// that a tenant hands to its own customer). Only ever set together with `tenant`.
    pub customer: Option<CustomerId>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AccessError {
    MissingScope(Scope),
    /// A tenant-bound key asked to write for another tenant.
    WrongTenant { bound: TenantId },
    /// An unbound key read without naming a tenant.
    TenantRequired,
    /// The tenant (or customer) is not visible to this key, whether or not it exists.
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
            AccessError::NotFound => "Not found: no such tenant or customer, or it is not visible to this key.".to_owned(),
            AccessError::InvalidTenant(m) => m.clone(),
        }
    }
}

/// The rows a read may return: one tenant, and within it possibly one customer.
///
/// Only [`Principal::read_scope`] makes one, so a read query that takes a `ReadScope`
/// cannot be run without the access rules having been applied first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadScope {
    tenant: TenantId,
    customer: Option<CustomerId>,
}

impl ReadScope {
    pub fn tenant(&self) -> &TenantId {
        &self.tenant
    }

    /// The one customer the rows must belong to: the key's binding, or the `customer_id`
    /// filter the caller asked for.
    pub fn customer(&self) -> Option<&CustomerId> {
        self.customer.as_ref()
    }

    /// Whether a row of `tenant` / `customer` is inside this scope. The read queries
    /// filter in SQL; this is the same rule as a predicate, for tests and for checks on
    /// rows read back.
    pub fn contains(&self, tenant: &str, customer: Option<&str>) -> bool {
        tenant == self.tenant.as_str()
            && match &self.customer {
                Some(c) => customer == Some(c.as_str()),
                None => true,
            }
    }

    /// A scope for tests of code downstream of the access rules (the SQL builders).
    #[cfg(test)]
    pub(crate) fn for_tests(tenant: &str, customer: Option<&str>) -> ReadScope {
        ReadScope {
            tenant: TenantId::parse(tenant).unwrap_or_else(|_| TenantId::default_tenant()),
            customer: customer.and_then(|c| CustomerId::parse(c).ok()),
        }
    }
}

impl Principal {
    /// The holder of `LLMOBSERVE_ADMIN_TOKEN`.
    pub fn admin_token() -> Principal {
        Principal { key_id: None, scopes: Scopes::new(vec![Scope::Admin]), tenant: None, customer: None }
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

    /// The tenant of a read of tenant-level data that holds nothing per customer (such
    /// as the tenant's prices). A bound key reads its own tenant (naming another is
    /// `NotFound`, never a hint that it exists); an unbound key must name one. Anything
    /// with rows per customer must use [`Principal::read_scope`] instead.
    pub fn tenant_for_read(&self, requested: Option<&str>) -> Result<TenantId, AccessError> {
        let requested = requested
            .map(|t| TenantId::parse(t).map_err(|e| AccessError::InvalidTenant(format!("tenant_id: {}", e.reason))))
            .transpose()?;
        Ok(self.read_scope(requested.as_ref(), None)?.tenant)
    }

    /// The scope of a read: which tenant, and possibly which customer, the rows must
    /// belong to. `tenant` and `customer` are what the request asked for (query or path).
    ///
    /// - The key needs the `read` scope (admin implies it).
    /// - A tenant-bound key reads its own tenant; naming another is `NotFound`.
    /// - An unbound key must name a tenant.
    /// - A customer-bound key reads its own customer; naming another is `NotFound`.
    /// - Otherwise a named customer narrows the scope to that customer.
    pub fn read_scope(&self, tenant: Option<&TenantId>, customer: Option<&CustomerId>) -> Result<ReadScope, AccessError> {
        self.require(Scope::Read)?;
        let tenant = match (&self.tenant, tenant) {
            (Some(bound), Some(req)) if bound != req => return Err(AccessError::NotFound),
            (Some(bound), _) => bound.clone(),
            (None, Some(req)) => req.clone(),
            (None, None) => return Err(AccessError::TenantRequired),
        };
        let customer = match (&self.customer, customer) {
            (Some(bound), Some(req)) if bound != req => return Err(AccessError::NotFound),
            (Some(bound), _) => Some(bound.clone()),
            (None, req) => req.cloned(),
        };
        Ok(ReadScope { tenant, customer })
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
            customer: None,
        }
    }
    fn t(s: &str) -> TenantId {
        TenantId::parse(s).unwrap()
    }
    fn c(s: &str) -> CustomerId {
        CustomerId::parse(s).unwrap()
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

    #[test]
    fn customer_bound_key_reads_only_its_customer() {
        let mut k = key("read", Some("acme-corp"));
        k.customer = Some(c("alice"));
        let own = k.read_scope(None, None).unwrap();
        assert_eq!((own.tenant().as_str(), own.customer().map(CustomerId::as_str)), ("acme-corp", Some("alice")));
        assert_eq!(k.read_scope(Some(&t("acme-corp")), Some(&c("alice"))), Ok(own.clone()));
        assert_eq!(k.read_scope(None, Some(&c("bob"))), Err(AccessError::NotFound));
        assert_eq!(k.read_scope(Some(&t("bigco-inc")), Some(&c("alice"))), Err(AccessError::NotFound));
        assert!(own.contains("acme-corp", Some("alice")));
        assert!(!own.contains("acme-corp", Some("bob")));
        assert!(!own.contains("acme-corp", None), "a tenant-wide row is not the customer's");
        assert!(!own.contains("bigco-inc", Some("alice")));
    }

    #[test]
    fn a_customer_filter_narrows_an_unbound_read() {
        let admin = Principal::admin_token();
        let s = admin.read_scope(Some(&t("bigco-inc")), Some(&c("bob"))).unwrap();
        assert!(s.contains("bigco-inc", Some("bob")) && !s.contains("bigco-inc", Some("carol")));
        let all = admin.read_scope(Some(&t("bigco-inc")), None).unwrap();
        assert!(all.contains("bigco-inc", None) && all.contains("bigco-inc", Some("carol")));
        assert!(!all.contains("bigco-inc-2", None), "tenants match exactly, not by prefix");
    }
}
