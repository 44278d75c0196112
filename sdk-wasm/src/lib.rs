//! llmobserve-sdk: builds the attribution context of one request of the user's
//! application and turns it into the `x-llmobserve-*` headers the gateway reads.
//!
//! Invariant: a context is an immutable value; nesting a section returns a new context,
//! so one request's context can never be changed by another's. Validation is core's, the
//! same code the gateway runs, so a context the SDK accepts is one the gateway accepts.

use llmobserve_core::attribution::{
    AttributionError, CustomerId, RunId, SectionPath, TenantId, ATTEMPT, CUSTOMER, RUN_ID, SECTION, TENANT,
};
use wasm_bindgen::prelude::*;

/// The attribution of one request of the user's application.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Context {
    tenant: Option<TenantId>,
    customer: Option<CustomerId>,
    section: Option<SectionPath>,
    run_id: Option<RunId>,
}

impl Context {
    pub fn new() -> Context {
        Context::default()
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

    /// A context one section deeper: `agent:research_assistant` + `tool:search`.
    pub fn with_section(&self, name: &str) -> Result<Context, AttributionError> {
        let path = match &self.section {
            Some(p) => format!("{}/{name}", p.as_str()),
            None => name.to_owned(),
        };
        Ok(Context { section: Some(SectionPath::parse(&path)?), ..self.clone() })
    }

    /// A context for attempt `n` (from 1) of the retried operation `name`: the section
    /// `retry:<name>:attempt_<n>`.
    pub fn with_retry_attempt(&self, name: &str, attempt: u32) -> Result<Context, AttributionError> {
        self.with_section(&format!("retry:{name}:attempt_{attempt}"))
    }

    pub fn section(&self) -> Option<&str> {
        self.section.as_ref().map(SectionPath::as_str)
    }

    /// The headers to send with a call through the gateway.
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        let mut h = Vec::new();
        if let Some(t) = &self.tenant {
            h.push((TENANT, t.as_str().to_owned()));
        }
        if let Some(c) = &self.customer {
            h.push((CUSTOMER, c.as_str().to_owned()));
        }
        if let Some(s) = &self.section {
            h.push((SECTION, s.as_str().to_owned()));
            if let Some(n) = s.retry_attempt() {
                h.push((ATTEMPT, n.to_string()));
            }
        }
        if let Some(r) = &self.run_id {
            h.push((RUN_ID, r.as_str().to_owned()));
        }
        h
    }
}

/// JavaScript: validates a section path exactly as the gateway will, returning the error
/// message (or `undefined` when it is valid).
#[wasm_bindgen(js_name = validateSectionPath)]
pub fn validate_section_path(path: &str) -> Option<String> {
    SectionPath::parse(path).err().map(|e| e.to_string())
}

/// JavaScript: the section path one level below `parent` (or a new root).
#[wasm_bindgen(js_name = childSectionPath)]
pub fn child_section_path(parent: Option<String>, name: &str) -> Result<String, JsError> {
    let ctx = match parent {
        Some(p) => Context { section: Some(SectionPath::parse(&p).map_err(|e| JsError::new(&e.to_string()))?), ..Context::default() },
        None => Context::default(),
    };
    let child = ctx.with_section(name).map_err(|e| JsError::new(&e.to_string()))?;
    Ok(child.section().unwrap_or_default().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_sections_build_the_reference_path() {
        let ctx = Context::new()
            .with_tenant("acme-corp").unwrap()
            .with_customer("alice").unwrap()
            .with_section("agent:research_assistant").unwrap()
            .with_section("step:analyze_results").unwrap()
            .with_retry_attempt("llm_analysis", 2).unwrap();
        assert_eq!(ctx.section(), Some("agent:research_assistant/step:analyze_results/retry:llm_analysis:attempt_2"));
        let h = ctx.headers();
        assert!(h.contains(&(TENANT, "acme-corp".to_owned())));
        assert!(h.contains(&(ATTEMPT, "2".to_owned())));
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
        assert!(validate_section_path("a b").unwrap().contains("x-llmobserve-section"));
        assert_eq!(validate_section_path("agent:a/tool:b"), None);
    }
}
