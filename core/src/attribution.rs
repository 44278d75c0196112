//! The attribution protocol: who and what caused a call, carried in `x-llmobserve-*`
//! request headers (see docs/attribution.md).
//!
//! Invariant: a value of these types exists only if it passed validation, so everything
//! downstream (D1 rows, section trees, headers) can trust it.

use std::fmt;

pub const HEADER_PREFIX: &str = "x-llmobserve-";
pub const TENANT: &str = "x-llmobserve-tenant";
pub const CUSTOMER: &str = "x-llmobserve-customer";
pub const SECTION: &str = "x-llmobserve-section";
pub const RUN_ID: &str = "x-llmobserve-run-id";
pub const ATTEMPT: &str = "x-llmobserve-attempt";
/// Carries the gateway key in pass-through mode; read by auth, not by attribution.
pub const KEY: &str = "x-llmobserve-key";
/// Prefix of free-form property headers: `x-llmobserve-property-<name>`.
pub const PROPERTY_PREFIX: &str = "x-llmobserve-property-";

pub const MAX_ID_LEN: usize = 128;
pub const MAX_SEGMENT_LEN: usize = 64;
pub const MAX_SECTION_DEPTH: usize = 16;
pub const MAX_SECTION_LEN: usize = 512;
pub const MAX_ATTEMPT: u32 = 1000;
pub const MAX_PROPERTIES: usize = 16;
pub const MAX_PROPERTY_NAME_LEN: usize = 64;
pub const MAX_PROPERTY_VALUE_LEN: usize = 256;

/// A bad attribution value: which header, and what to change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttributionError {
    pub header: String,
    pub reason: String,
}

impl fmt::Display for AttributionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid {} header: {}", self.header, self.reason)
    }
}

impl std::error::Error for AttributionError {}

fn err(header: &str, reason: impl Into<String>) -> AttributionError {
    AttributionError { header: header.to_owned(), reason: reason.into() }
}

/// Characters allowed in ids (tenant, customer, run): letters, digits and `-._:@+`,
/// starting with a letter or digit. Wide enough for emails and UUIDs, narrow enough to
/// be safe in paths, CSV and logs.
fn check_id(header: &str, value: &str) -> Result<(), AttributionError> {
    if value.is_empty() || value.len() > MAX_ID_LEN {
        return Err(err(header, format!("must be 1 to {MAX_ID_LEN} characters, got {}", value.len())));
    }
    if !value.as_bytes()[0].is_ascii_alphanumeric() {
        return Err(err(header, "must start with a letter or digit"));
    }
    if let Some(c) = value.chars().find(|c| !(c.is_ascii_alphanumeric() || "-._:@+".contains(*c))) {
        return Err(err(header, format!("character {c:?} is not allowed (use letters, digits and - . _ : @ +)")));
    }
    Ok(())
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $header:expr) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            pub fn parse(value: &str) -> Result<Self, AttributionError> {
                check_id($header, value)?;
                Ok(Self(value.to_owned()))
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_type!(
    /// A tenant: one of the companies whose calls the application makes.
    TenantId, TENANT
);
id_type!(
    /// One of a tenant's own customers (an end user, a workspace, an email).
    CustomerId, CUSTOMER
);
id_type!(
    /// One request of the user's application: all calls that share a run id.
    RunId, RUN_ID
);

impl TenantId {
    /// The tenant of calls that name none and whose key is bound to none.
    pub fn default_tenant() -> TenantId {
        TenantId("default".to_owned())
    }
}

/// A hierarchical section path such as
/// `agent:research_assistant/step:analyze_results/retry:llm_analysis:attempt_2`:
/// segments separated by `/`, each of letters, digits and `-._:`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SectionPath(String);

impl SectionPath {
    pub fn parse(value: &str) -> Result<SectionPath, AttributionError> {
        if value.is_empty() || value.len() > MAX_SECTION_LEN {
            return Err(err(SECTION, format!("must be 1 to {MAX_SECTION_LEN} characters, got {}", value.len())));
        }
        let segments: Vec<&str> = value.split('/').collect();
        if segments.len() > MAX_SECTION_DEPTH {
            return Err(err(SECTION, format!("is {} sections deep; at most {MAX_SECTION_DEPTH} allowed", segments.len())));
        }
        for (i, seg) in segments.iter().enumerate() {
            if seg.is_empty() {
                return Err(err(SECTION, format!("section {} is empty (no leading, trailing or double `/`)", i + 1)));
            }
            if seg.len() > MAX_SEGMENT_LEN {
                return Err(err(SECTION, format!("section {:?} is longer than {MAX_SEGMENT_LEN} characters", seg)));
            }
            if !seg.as_bytes()[0].is_ascii_alphanumeric() {
                return Err(err(SECTION, format!("section {seg:?} must start with a letter or digit")));
            }
            if let Some(c) = seg.chars().find(|c| !(c.is_ascii_alphanumeric() || "-._:".contains(*c))) {
                return Err(err(SECTION, format!("character {c:?} is not allowed in a section (use letters, digits and - . _ :, and / between sections)")));
            }
        }
        Ok(SectionPath(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn segments(&self) -> impl DoubleEndedIterator<Item = &str> {
        self.0.split('/')
    }

    /// The attempt number of the innermost `retry:<name>:attempt_<n>` segment, if any.
    pub fn retry_attempt(&self) -> Option<u32> {
        self.segments().rev().find_map(|seg| {
            let rest = seg.strip_prefix("retry:")?;
            let (_, n) = rest.rsplit_once(":attempt_")?;
            n.parse::<u32>().ok().filter(|n| (1..=MAX_ATTEMPT).contains(n))
        })
    }
}

impl fmt::Display for SectionPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Free-form properties (`feature=summary`), sorted by name, names unique.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Properties(Vec<(String, String)>);

impl Properties {
    /// Adds one property; `source` names where it came from, for the error message.
    pub fn insert(&mut self, source: &str, name: &str, value: &str) -> Result<(), AttributionError> {
        let name = name.to_ascii_lowercase();
        if name.is_empty() || name.len() > MAX_PROPERTY_NAME_LEN
            || !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
        {
            return Err(err(source, format!("property names are 1 to {MAX_PROPERTY_NAME_LEN} of a-z 0-9 _ -")));
        }
        if value.is_empty() || value.len() > MAX_PROPERTY_VALUE_LEN || !value.bytes().all(|b| (0x20..0x7f).contains(&b)) {
            return Err(err(source, format!("property values are 1 to {MAX_PROPERTY_VALUE_LEN} printable ASCII characters")));
        }
        match self.0.binary_search_by(|(k, _)| k.as_str().cmp(&name)) {
            Ok(_) => return Err(err(source, format!("property {name:?} is given twice"))),
            Err(at) => {
                if self.0.len() >= MAX_PROPERTIES {
                    return Err(err(source, format!("at most {MAX_PROPERTIES} properties per call")));
                }
                self.0.insert(at, (name, value.to_owned()));
            }
        }
        Ok(())
    }

    /// Sets one property, replacing its value if it is there (the SDK's `setProperty`).
    pub fn set(&mut self, source: &str, name: &str, value: &str) -> Result<(), AttributionError> {
        let mut without = self.clone();
        without.remove(name);
        without.insert(source, name, value)?;
        *self = without;
        Ok(())
    }

    /// Removes a property if it is there.
    pub fn remove(&mut self, name: &str) {
        let name = name.to_ascii_lowercase();
        self.0.retain(|(k, _)| *k != name);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// As a JSON object (`{"feature":"summary"}`), the form stored on the event.
    pub fn to_json(&self) -> String {
        let map: serde_json::Map<String, serde_json::Value> =
            self.0.iter().map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone()))).collect();
        serde_json::Value::Object(map).to_string()
    }
}

/// Everything the request headers say about who and what caused the call.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Attribution {
    pub tenant: Option<TenantId>,
    pub customer: Option<CustomerId>,
    pub section: Option<SectionPath>,
    pub run_id: Option<RunId>,
    /// From `x-llmobserve-attempt`, else from the section's innermost retry segment.
    pub attempt: Option<u32>,
    pub properties: Properties,
}

/// Reads the `x-llmobserve-*` headers (names in any case). An unknown `x-llmobserve-*`
/// header is an error too: a misspelt header would otherwise silently lose attribution.
pub fn parse_attribution<'a>(
    headers: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<Attribution, AttributionError> {
    let mut a = Attribution::default();
    let mut explicit_attempt = None;
    for (name, value) in headers {
        let lower = name.to_ascii_lowercase();
        if !lower.starts_with(HEADER_PREFIX) {
            continue;
        }
        match lower.as_str() {
            TENANT => a.tenant = Some(TenantId::parse(value)?),
            CUSTOMER => a.customer = Some(CustomerId::parse(value)?),
            SECTION => a.section = Some(SectionPath::parse(value)?),
            RUN_ID => a.run_id = Some(RunId::parse(value)?),
            ATTEMPT => {
                let n = value
                    .parse::<u32>()
                    .ok()
                    .filter(|n| (1..=MAX_ATTEMPT).contains(n))
                    .ok_or_else(|| err(ATTEMPT, format!("must be a whole number from 1 to {MAX_ATTEMPT}, got {value:?}")))?;
                explicit_attempt = Some(n);
            }
            KEY => {}
            other if other.starts_with(PROPERTY_PREFIX) => {
                a.properties.insert(other, &other[PROPERTY_PREFIX.len()..], value)?;
            }
            other => {
                return Err(err(other, format!(
                    "unknown llmobserve header; known: {TENANT}, {CUSTOMER}, {SECTION}, {RUN_ID}, {ATTEMPT}, {KEY}, {PROPERTY_PREFIX}<name>"
                )))
            }
        }
    }
    a.attempt = explicit_attempt.or_else(|| a.section.as_ref().and_then(SectionPath::retry_attempt));
    Ok(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_replaces_a_property_and_keeps_the_limits() {
        let mut p = Properties::default();
        p.set("setProperty", "Feature", "a").unwrap();
        p.set("setProperty", "feature", "b").unwrap();
        assert_eq!(p.iter().collect::<Vec<_>>(), vec![("feature", "b")]);
        assert!(p.set("setProperty", "bad name", "x").unwrap_err().reason.contains("property names"));
        assert!(p.set("setProperty", "feature", "").unwrap_err().reason.contains("property values"));
        assert_eq!(p.iter().collect::<Vec<_>>(), vec![("feature", "b")], "a refused set changes nothing");
        for i in 1..MAX_PROPERTIES {
            p.set("setProperty", &format!("p{i}"), "v").unwrap();
        }
        assert!(p.set("setProperty", "one_more", "v").unwrap_err().reason.contains("at most"));
        p.set("setProperty", "feature", "c").unwrap(); // replacing is not adding
        p.remove("FEATURE");
        assert_eq!(p.iter().count(), MAX_PROPERTIES - 1);
        assert!(p.iter().all(|(k, _)| k != "feature"));
    }

    #[test]
    fn reference_scenario_headers_parse() {
        let a = parse_attribution([
            ("X-LLMObserve-Tenant", "acme-corp"),
            ("x-llmobserve-customer", "alice"),
            ("x-llmobserve-section", "agent:research_assistant/step:analyze_results/retry:llm_analysis:attempt_2"),
            ("x-llmobserve-run-id", "run_01HX"),
            ("content-type", "application/json"),
        ])
        .unwrap();
        assert_eq!(a.tenant.unwrap().as_str(), "acme-corp");
        assert_eq!(a.customer.unwrap().as_str(), "alice");
        assert_eq!(a.section.as_ref().unwrap().segments().count(), 3);
        assert_eq!(a.attempt, Some(2));
        assert_eq!(a.run_id.unwrap().as_str(), "run_01HX");
    }

    #[test]
    fn explicit_attempt_header_wins_over_section() {
        let a = parse_attribution([
            ("x-llmobserve-section", "retry:x:attempt_2"),
            ("x-llmobserve-attempt", "5"),
        ])
        .unwrap();
        assert_eq!(a.attempt, Some(5));
    }

    #[test]
    fn errors_name_the_header_and_the_fix() {
        let e = parse_attribution([("x-llmobserve-tenant", "acme corp")]).unwrap_err();
        assert_eq!(e.header, TENANT);
        assert!(e.to_string().contains("' '"), "{e}");
        let e = parse_attribution([("x-llmobserve-section", "agent:a//tool:b")]).unwrap_err();
        assert!(e.to_string().contains("section 2 is empty"), "{e}");
        let e = parse_attribution([("x-llmobserve-tennant", "acme")]).unwrap_err();
        assert!(e.to_string().contains("unknown llmobserve header"), "{e}");
        let e = parse_attribution([("x-llmobserve-attempt", "0")]).unwrap_err();
        assert_eq!(e.header, ATTEMPT);
        let deep = vec!["a"; MAX_SECTION_DEPTH + 1].join("/");
        assert!(SectionPath::parse(&deep).is_err());
        assert!(TenantId::parse(&"a".repeat(MAX_ID_LEN + 1)).is_err());
        assert!(TenantId::parse("-acme").is_err());
        assert!(CustomerId::parse("bob@example.com").is_ok());
        assert!(TenantId::parse("ünï").is_err());
    }

    #[test]
    fn repeated_header_joined_by_fetch_is_rejected() {
        // Fetch joins repeated headers with ", ": that must not pass as one tenant.
        assert!(parse_attribution([("x-llmobserve-tenant", "acme, bigco")]).is_err());
    }

    #[test]
    fn property_headers() {
        let a = parse_attribution([
            ("X-LLMObserve-Property-Feature", "summary v2"),
            ("x-llmobserve-property-ab_test", "B"),
        ])
        .unwrap();
        assert_eq!(a.properties.iter().collect::<Vec<_>>(), [("ab_test", "B"), ("feature", "summary v2")]);
        assert_eq!(a.properties.to_json(), r#"{"ab_test":"B","feature":"summary v2"}"#);
        assert!(parse_attribution([("x-llmobserve-property-", "x")]).is_err());
        assert!(parse_attribution([("x-llmobserve-property-a.b", "x")]).is_err());
        assert!(parse_attribution([("x-llmobserve-property-a", "tab\there")]).is_err());
        assert!(parse_attribution([("x-llmobserve-property-a", "")]).is_err());
        let many: Vec<(String, String)> = (0..=MAX_PROPERTIES).map(|i| (format!("x-llmobserve-property-p{i}"), "v".into())).collect();
        let e = parse_attribution(many.iter().map(|(k, v)| (k.as_str(), v.as_str()))).unwrap_err();
        assert!(e.reason.contains("at most 16"), "{e}");
    }
}
