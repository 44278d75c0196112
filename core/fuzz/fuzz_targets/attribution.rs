//! The `x-llmobserve-*` request headers (untrusted strings): what parses is within the
//! documented limits, agrees with an independent reading of the rules, and re-serialises
//! to an equal value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use llmobserve_core::attribution::{
    parse_attribution, CustomerId, RunId, SectionPath, TenantId, MAX_ATTEMPT, MAX_PROPERTIES,
    MAX_PROPERTY_NAME_LEN, MAX_PROPERTY_VALUE_LEN,
};

#[path = "common.rs"]
mod common;

const ID_EXTRA: &[u8] = b"-._:@+";

fn check_section(s: &str) {
    let parsed = SectionPath::parse(s);
    assert_eq!(parsed.is_ok(), common::ref_section(s), "section {s:?}: {parsed:?}");
    if let Ok(p) = parsed {
        assert_eq!(p.as_str(), s);
        let again = SectionPath::parse(&p.segments().collect::<Vec<_>>().join("/"));
        assert_eq!(again.as_ref(), Ok(&p), "segments re-joined do not parse to the same path");
        // The innermost `retry:<name>:attempt_<n>` segment, read independently.
        let want = s.split('/').rev().find_map(|seg| {
            let rest = seg.strip_prefix("retry:")?;
            let n = &rest[rest.rfind(":attempt_")? + ":attempt_".len()..];
            let ok = !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit());
            ok.then(|| n.parse::<u32>().ok()).flatten().filter(|n| (1..=MAX_ATTEMPT).contains(n))
        });
        assert_eq!(p.retry_attempt(), want, "retry attempt of {s:?}");
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let headers: Vec<(&str, &str)> = text
        .split('\n')
        .map(|line| line.split_once(':').map(|(n, v)| (n, v.strip_prefix(' ').unwrap_or(v))).unwrap_or((line, "")))
        .collect();

    for (_, value) in &headers {
        check_section(value);
        for (ok, what) in [
            (TenantId::parse(value).is_ok(), "tenant"),
            (CustomerId::parse(value).is_ok(), "customer"),
            (RunId::parse(value).is_ok(), "run id"),
        ] {
            assert_eq!(ok, common::ref_id(value, 128, ID_EXTRA), "{what} {value:?}");
        }
    }

    match parse_attribution(headers.iter().copied()) {
        Err(e) => {
            assert!(e.header.starts_with("x-llmobserve-") || e.header == "property", "{e:?}");
            assert!(e.to_string().contains(&e.header));
        }
        Ok(a) => {
            let last = |name: &str| headers.iter().rev().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| *v);
            for (id, header) in [
                (a.tenant.as_ref().map(TenantId::as_str), "x-llmobserve-tenant"),
                (a.customer.as_ref().map(CustomerId::as_str), "x-llmobserve-customer"),
                (a.run_id.as_ref().map(RunId::as_str), "x-llmobserve-run-id"),
            ] {
                assert_eq!(id, last(header), "{header}: the value is not the header's");
                if let Some(id) = id {
                    assert!(common::ref_id(id, 128, ID_EXTRA));
                }
            }
            assert_eq!(a.section.as_ref().map(SectionPath::as_str), last("x-llmobserve-section"));
            if let Some(s) = &a.section {
                assert!(common::ref_section(s.as_str()));
            }
            let explicit = last("x-llmobserve-attempt").map(|v| v.parse::<u32>().expect("accepted attempt"));
            let want = explicit.or_else(|| a.section.as_ref().and_then(SectionPath::retry_attempt));
            assert_eq!(a.attempt, want);
            if let Some(n) = a.attempt {
                assert!((1..=MAX_ATTEMPT).contains(&n));
            }
            let props: Vec<(&str, &str)> = a.properties.iter().collect();
            assert!(props.len() <= MAX_PROPERTIES);
            assert!(props.windows(2).all(|w| w[0].0 < w[1].0), "property names not sorted and unique");
            for (name, value) in &props {
                assert!(!name.is_empty() && name.len() <= MAX_PROPERTY_NAME_LEN);
                assert!(name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-'));
                assert!(!value.is_empty() && value.len() <= MAX_PROPERTY_VALUE_LEN);
                assert!(value.bytes().all(|b| (0x20..0x7f).contains(&b)));
                let header = format!("x-llmobserve-property-{name}");
                assert_eq!(last(&header), Some(*value));
            }
            let given = headers.iter().filter(|(n, _)| n.to_ascii_lowercase().starts_with("x-llmobserve-property-")).count();
            assert_eq!(props.len(), given, "a property header was lost");
            let json: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(&a.properties.to_json()).expect("properties JSON");
            assert_eq!(json.len(), props.len());
            for (name, value) in &props {
                assert_eq!(json.get(*name).and_then(|v| v.as_str()), Some(*value));
            }
        }
    }
});
