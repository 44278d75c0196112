//! The attribution context of one run (one request of the user's application): tenant,
//! customer, section path and run id, and the `x-llmobserve-*` headers that carry it.
//!
//! Invariant: a context is an immutable value built only from core's validated types;
//! nesting a section returns a new context, so a context the SDK holds is one the gateway
//! accepts, and one request's context can never be changed by another's.

use llmobserve_core::attribution::{
    AttributionError, CustomerId, Properties, RunId, SectionPath, TenantId, ATTEMPT, CUSTOMER, MAX_ATTEMPT,
    PROPERTY_PREFIX, RUN_ID, SECTION, TENANT,
};
use llmobserve_core::keys::event_id;

/// The attribution of one run of the user's application.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Context {
    tenant: Option<TenantId>,
    customer: Option<CustomerId>,
    section: Option<SectionPath>,
    run_id: Option<RunId>,
    /// Free-form properties of the run (`x-llmobserve-property-<name>`).
    properties: Properties,
}

/// A new run id: a time-ordered UUIDv7 (core's event id format), from the clock and 10
/// random bytes that the caller supplies, so that this crate never reads a clock or an RNG
/// itself (neither exists on wasm32-unknown-unknown). A UUID is always a valid run id; the
/// `Result` only keeps that promise checked rather than assumed.
pub fn new_run_id(unix_ms: u64, random: &[u8; 10]) -> Result<RunId, AttributionError> {
    RunId::parse(&event_id(unix_ms, random))
}

fn section_error(reason: String) -> AttributionError {
    AttributionError { header: SECTION.to_owned(), reason }
}

/// A section name is one level of the path: `/` would silently create two.
fn check_one_level(name: &str) -> Result<(), AttributionError> {
    if name.contains('/') {
        return Err(section_error(format!(
            "section name {name:?} contains `/`; a name is one level, nest sections instead"
        )));
    }
    Ok(())
}

impl Context {
    pub fn new() -> Context {
        Context::default()
    }

    /// A fresh context for a new run: no tenant, customer or section, a new run id.
    pub fn new_run(unix_ms: u64, random: &[u8; 10]) -> Result<Context, AttributionError> {
        Ok(Context { run_id: Some(new_run_id(unix_ms, random)?), ..Context::default() })
    }

    /// A context from its parts as strings, each validated as the gateway validates it.
    pub fn from_parts(
        tenant: Option<&str>,
        customer: Option<&str>,
        section: Option<&str>,
        run_id: Option<&str>,
    ) -> Result<Context, AttributionError> {
        Ok(Context {
            tenant: tenant.map(TenantId::parse).transpose()?,
            customer: customer.map(CustomerId::parse).transpose()?,
            section: section.map(SectionPath::parse).transpose()?,
            run_id: run_id.map(RunId::parse).transpose()?,
            properties: Properties::default(),
        })
    }

    /// The same context with property `name` set to `value`, or removed (`None`),
    /// validated as the gateway validates `x-llmobserve-property-<name>` (names are
    /// lower-cased; at most 16 properties).
    pub fn with_property(&self, name: &str, value: Option<&str>) -> Result<Context, AttributionError> {
        let mut properties = self.properties.clone();
        match value {
            Some(v) => properties.set(&format!("{PROPERTY_PREFIX}{name}"), name, v)?,
            None => properties.remove(name),
        }
        Ok(Context { properties, ..self.clone() })
    }

    /// The run's properties, sorted by name.
    pub fn properties(&self) -> impl Iterator<Item = (&str, &str)> {
        self.properties.iter()
    }

    pub fn with_tenant(&self, tenant: &str) -> Result<Context, AttributionError> {
        Ok(Context { tenant: Some(TenantId::parse(tenant)?), ..self.clone() })
    }

    pub fn with_customer(&self, customer: &str) -> Result<Context, AttributionError> {
        Ok(Context { customer: Some(CustomerId::parse(customer)?), ..self.clone() })
    }

    pub fn with_run_id(&self, run_id: &str) -> Result<Context, AttributionError> {
        Ok(Context { run_id: Some(RunId::parse(run_id)?), ..self.clone() })
    }

    /// The same context with the section path replaced (`None`: the root).
    pub fn with_section_path(&self, section: Option<SectionPath>) -> Context {
        Context { section, ..self.clone() }
    }

    /// A context one section deeper: `agent:research_assistant` + `tool:search`.
    pub fn with_section(&self, name: &str) -> Result<Context, AttributionError> {
        check_one_level(name)?;
        let path = match &self.section {
            Some(p) => format!("{}/{name}", p.as_str()),
            None => name.to_owned(),
        };
        Ok(Context { section: Some(SectionPath::parse(&path)?), ..self.clone() })
    }

    /// A context for attempt `attempt` (from 1) of the retried operation `name`: one
    /// section deeper, `retry:<name>:attempt_<n>`, the form the gateway reads attempts from.
    pub fn with_retry_attempt(&self, name: &str, attempt: u32) -> Result<Context, AttributionError> {
        if !(1..=MAX_ATTEMPT).contains(&attempt) {
            return Err(AttributionError {
                header: ATTEMPT.to_owned(),
                reason: format!("must be a whole number from 1 to {MAX_ATTEMPT}, got {attempt}"),
            });
        }
        check_one_level(name)?;
        self.with_section(&format!("retry:{name}:attempt_{attempt}"))
    }

    pub fn tenant(&self) -> Option<&str> {
        self.tenant.as_ref().map(TenantId::as_str)
    }

    pub fn customer(&self) -> Option<&str> {
        self.customer.as_ref().map(CustomerId::as_str)
    }

    pub fn section(&self) -> Option<&str> {
        self.section.as_ref().map(SectionPath::as_str)
    }

    pub fn section_path(&self) -> Option<&SectionPath> {
        self.section.as_ref()
    }

    pub fn run_id(&self) -> Option<&str> {
        self.run_id.as_ref().map(RunId::as_str)
    }

    /// The attempt number of the innermost retry section, as the gateway will read it.
    pub fn attempt(&self) -> Option<u32> {
        self.section.as_ref().and_then(SectionPath::retry_attempt)
    }

    /// The headers to send with a call through the gateway, for any HTTP client.
    pub fn headers(&self) -> Vec<(String, String)> {
        let mut h = Vec::with_capacity(5);
        if let Some(t) = &self.tenant {
            h.push((TENANT.to_owned(), t.as_str().to_owned()));
        }
        if let Some(c) = &self.customer {
            h.push((CUSTOMER.to_owned(), c.as_str().to_owned()));
        }
        if let Some(s) = &self.section {
            h.push((SECTION.to_owned(), s.as_str().to_owned()));
        }
        if let Some(n) = self.attempt() {
            h.push((ATTEMPT.to_owned(), n.to_string()));
        }
        if let Some(r) = &self.run_id {
            h.push((RUN_ID.to_owned(), r.as_str().to_owned()));
        }
        for (k, v) in self.properties.iter() {
            h.push((format!("{PROPERTY_PREFIX}{k}"), v.to_owned()));
        }
        h
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use llmobserve_core::attribution::parse_attribution;

    #[test]
    fn nested_sections_build_the_reference_path() {
        let ctx = Context::new()
            .with_tenant("acme-corp").unwrap()
            .with_customer("alice").unwrap()
            .with_section("agent:research_assistant").unwrap()
            .with_section("step:analyze_results").unwrap()
            .with_retry_attempt("llm_analysis", 2).unwrap();
        assert_eq!(ctx.section(), Some("agent:research_assistant/step:analyze_results/retry:llm_analysis:attempt_2"));
        assert_eq!(ctx.attempt(), Some(2));
        let h = ctx.headers();
        assert!(h.contains(&(TENANT.to_owned(), "acme-corp".to_owned())));
        assert!(h.contains(&(ATTEMPT.to_owned(), "2".to_owned())));
    }

    #[test]
    fn headers_parse_back_to_the_same_attribution_in_the_gateway() {
        let ctx = Context::new_run(1_764_290_458_123, &[7; 10]).unwrap()
            .with_tenant("bigco-inc").unwrap()
            .with_customer("bob@example.com").unwrap()
            .with_section("agent:a").unwrap()
            .with_retry_attempt("x", 3).unwrap()
            .with_section("tool:y").unwrap()
            .with_property("Feature", Some("summary")).unwrap()
            .with_property("plan", Some("pro")).unwrap();
        let headers = ctx.headers();
        let a = parse_attribution(headers.iter().map(|(k, v)| (k.as_str(), v.as_str()))).unwrap();
        assert_eq!(a.properties.iter().collect::<Vec<_>>(), vec![("feature", "summary"), ("plan", "pro")]);
        assert_eq!(a.tenant.unwrap().as_str(), "bigco-inc");
        assert_eq!(a.customer.unwrap().as_str(), "bob@example.com");
        assert_eq!(a.section.unwrap().as_str(), "agent:a/retry:x:attempt_3/tool:y");
        assert_eq!(a.attempt, Some(3), "a section inside a retry attempt belongs to that attempt");
        assert_eq!(a.run_id.unwrap().as_str(), ctx.run_id().unwrap());
    }

    #[test]
    fn contexts_are_values_a_child_never_changes_its_parent() {
        let parent = Context::new().with_section("agent:a").unwrap();
        let child = parent.with_section("tool:b").unwrap();
        assert_eq!(parent.section(), Some("agent:a"));
        assert_eq!(child.section(), Some("agent:a/tool:b"));
    }

    #[test]
    fn invalid_names_are_refused_with_the_gateway_message() {
        assert!(Context::new().with_section("bad/../name").is_err());
        let e = Context::new().with_section("a b").unwrap_err();
        assert_eq!(e.header, SECTION);
        assert!(e.to_string().contains("' '"), "{e}");
        assert!(Context::new().with_tenant("acme corp").is_err());
        assert!(Context::new().with_run_id("").is_err());
    }

    #[test]
    fn a_section_name_with_a_slash_is_refused_not_split_into_two_levels() {
        let e = Context::new().with_section("agent:a/tool:b").unwrap_err();
        assert!(e.reason.contains("one level"), "{e}");
        assert!(Context::new().with_retry_attempt("a/b", 1).is_err());
    }

    #[test]
    fn retry_attempts_are_numbered_from_1_to_the_gateway_maximum() {
        assert!(Context::new().with_retry_attempt("x", 0).is_err());
        assert_eq!(Context::new().with_retry_attempt("x", MAX_ATTEMPT).unwrap().attempt(), Some(MAX_ATTEMPT));
        let e = Context::new().with_retry_attempt("x", MAX_ATTEMPT + 1).unwrap_err();
        assert_eq!(e.header, ATTEMPT);
    }

    #[test]
    fn generated_run_ids_are_valid_and_distinct() {
        let a = new_run_id(1_764_290_458_123, &[1; 10]).unwrap();
        let b = new_run_id(1_764_290_458_123, &[2; 10]).unwrap();
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 36);
        assert!(a.as_str().starts_with("019ac7"), "time-ordered: {a}");
    }

    #[test]
    fn from_parts_validates_every_part() {
        let c = Context::from_parts(Some("acme"), None, Some("agent:a"), Some("r1")).unwrap();
        assert_eq!((c.tenant(), c.customer(), c.section(), c.run_id()), (Some("acme"), None, Some("agent:a"), Some("r1")));
        assert!(Context::from_parts(None, Some("a b"), None, None).is_err());
        assert!(Context::from_parts(None, None, Some("a//b"), None).is_err());
    }

    #[test]
    fn properties_are_set_replaced_removed_and_validated_like_the_gateway() {
        let ctx = Context::new().with_property("feature", Some("a")).unwrap();
        let ctx = ctx.with_property("feature", Some("b")).unwrap();
        assert_eq!(ctx.properties().collect::<Vec<_>>(), vec![("feature", "b")]);
        assert!(ctx.headers().contains(&("x-llmobserve-property-feature".to_owned(), "b".to_owned())));
        let e = ctx.with_property("bad name", Some("x")).unwrap_err();
        assert_eq!(e.header, "x-llmobserve-property-bad name");
        assert!(ctx.with_property("feature", Some("\u{7f}")).is_err());
        let gone = ctx.with_property("FEATURE", None).unwrap();
        assert_eq!(gone.properties().count(), 0);
        assert_eq!(ctx.properties().count(), 1, "a context is a value: removing makes a new one");
    }
}
