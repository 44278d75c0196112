//! The price registry file is checked as a file: every entry has a source and a date, no
//! key is listed twice, no price is negative or inexact, and the schema's checks reject
//! each kind of mistake with a message that says what to fix.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;

use llmobserve_core::pricing::spec::{EntrySpec, RegistrySpec};
use llmobserve_core::pricing::{Origin, PriceBook, REGISTRY, REGISTRY_VERSION};

const FILE: &str = include_str!("../prices/registry.toml");

fn raw_entries() -> Vec<toml::Table> {
    let doc: toml::Table = toml::from_str(FILE).expect("registry.toml is valid TOML");
    doc["model"].as_array().expect("[[model]] entries").iter().map(|v| v.as_table().expect("a table").clone()).collect()
}

/// Every price string anywhere in an entry (rates, tiers, long context, images).
fn price_strings(v: &toml::Value, key: &str, out: &mut Vec<(String, String)>) {
    match v {
        toml::Value::String(s) if !matches!(key, "provider" | "model" | "effective_from" | "source" | "size" | "quality") => {
            out.push((key.to_owned(), s.clone()));
        }
        toml::Value::Table(t) => t.iter().for_each(|(k, v)| price_strings(v, k, out)),
        toml::Value::Array(a) => a.iter().for_each(|v| price_strings(v, key, out)),
        _ => {}
    }
}

#[test]
fn every_entry_has_a_source_and_an_effective_date() {
    for e in raw_entries() {
        let name = format!("{:?}/{:?}", e.get("provider"), e.get("model"));
        let source = e.get("source").and_then(|s| s.as_str()).unwrap_or("");
        assert!(source.starts_with("https://"), "{name}: source must be a URL, got {source:?}");
        let date = e.get("effective_from").and_then(|s| s.as_str()).unwrap_or("");
        assert!(llmobserve_core::pricing::spec::parse_day(date).is_ok(), "{name}: effective_from {date:?}");
    }
}

#[test]
fn no_key_is_listed_twice() {
    let mut seen = BTreeSet::new();
    for e in raw_entries() {
        let key = (e["provider"].as_str().unwrap().to_owned(), e["model"].as_str().unwrap().to_owned(), e["effective_from"].as_str().unwrap().to_owned());
        assert!(seen.insert(key.clone()), "{key:?} is listed twice");
    }
    assert_eq!(seen.len(), REGISTRY.len(), "every entry of the file is in the compiled table");
}

#[test]
fn no_price_is_negative_or_inexact() {
    let mut n = 0;
    for e in raw_entries() {
        let mut prices = Vec::new();
        price_strings(&toml::Value::Table(e.clone()), "", &mut prices);
        for (key, p) in prices {
            n += 1;
            let number = p.strip_suffix('%').unwrap_or(&p);
            assert!(!number.starts_with('-'), "{:?} {key} = {p:?} is negative", e["model"]);
            assert!(llmobserve_core::decimal::parse_billionths(number).is_ok(), "{:?} {key} = {p:?} is not an exact decimal", e["model"]);
        }
    }
    assert!(n > 500, "only {n} prices found: the walk is broken");
}

#[test]
fn the_file_compiles_to_the_table_the_engine_uses() {
    let spec: RegistrySpec = toml::from_str(FILE).unwrap();
    assert_eq!(spec.version, REGISTRY_VERSION);
    let compiled = spec.compile().unwrap();
    assert_eq!(compiled.len(), REGISTRY.len());
    for (a, b) in compiled.iter().zip(REGISTRY) {
        assert_eq!(a, b);
    }
    // Cached input never costs more than input, in every tier.
    for e in REGISTRY {
        for t in [Some(&e.standard), e.batch.as_ref(), e.flex.as_ref(), e.priority.as_ref()].into_iter().flatten() {
            if let (Some(c), Some(i)) = (t.rates.cached_input, t.rates.input) {
                assert!(c <= i, "{}", e.reference());
            }
        }
    }
}

#[test]
fn the_registry_covers_every_modality_tier_and_provider() {
    let has = |f: &dyn Fn(&llmobserve_core::pricing::PriceEntry) -> bool| REGISTRY.iter().any(f);
    assert!(has(&|e| e.standard.rates.audio_input.is_some() && e.standard.rates.audio_output.is_some()), "audio tokens");
    assert!(has(&|e| e.standard.rates.cached_audio_input.is_some()), "cached audio");
    assert!(has(&|e| e.standard.rates.image_output.is_some()), "image tokens");
    assert!(has(&|e| !e.standard.rates.images.is_empty()), "per-image prices");
    assert!(has(&|e| e.standard.rates.per_minute.is_some()), "transcription per minute");
    assert!(has(&|e| e.standard.rates.per_1m_characters.is_some()), "speech per character");
    assert!(has(&|e| e.standard.rates.cache_write.is_some() && e.standard.rates.cache_write_1h.is_some()), "cache writes");
    assert!(has(&|e| e.training.is_some()) && has(&|e| e.training_per_hour.is_some()), "fine-tuning training");
    assert!(has(&|e| e.model.starts_with("ft:")), "fine-tuned inference");
    assert!(has(&|e| e.batch.is_some()) && has(&|e| e.flex.is_some()) && has(&|e| e.priority.is_some()), "tiers");
    assert!(has(&|e| !matches!(e.standard.long_context, llmobserve_core::pricing::LongContext::None)), "long context");
    assert!(has(&|e| e.model.starts_with("text-embedding")), "embeddings");
    assert!(has(&|e| e.standard.rates.input.is_some_and(|p| p.0 == 0) && e.model.contains("moderation")), "free moderation");
    for p in ["openai", "anthropic", "google", "mistral", "groq", "xai"] {
        assert!(REGISTRY.iter().filter(|e| e.provider == p).count() >= 5, "{p} has at least 5 entries");
    }
    assert_eq!(PriceBook::registry().version(), REGISTRY_VERSION);
}

fn entry(json: &str) -> Result<llmobserve_core::pricing::PriceEntry, String> {
    serde_json::from_str::<EntrySpec>(json).map_err(|e| e.to_string())?.compile(Origin::Override)
}

#[test]
fn mistakes_are_rejected_with_a_message_that_says_what_to_fix() {
    let ok = r#"{"provider":"openai","model":"m","effective_from":"2026-01-01","source":"x","input":"1","output":"2"}"#;
    assert!(entry(ok).is_ok());
    let cases = [
        (r#"{"provider":"openai","model":"m","effective_from":"2026-01-01","source":"x","input":"-1"}"#, "not a decimal"),
        (r#"{"provider":"openai","model":"m","effective_from":"2026-01-01","source":" ","input":"1"}"#, "needs a source"),
        (r#"{"provider":"openai","model":"m","effective_from":"2026-02-30","source":"x","input":"1"}"#, "not a real date"),
        (r#"{"provider":"openai","model":"m","effective_from":"26-01-01","source":"x","input":"1"}"#, "YYYY-MM-DD"),
        (r#"{"provider":"openai","model":"m","effective_from":"2026-01-01","source":"x","input":"1","cached_input":"2"}"#, "cached_input costs more"),
        (r#"{"provider":"openai","model":"m","effective_from":"2026-01-01","source":"x","input":"1","inptu":"2"}"#, "unknown field"),
        (r#"{"provider":"openai","model":"m","effective_from":"2026-01-01","source":"x"}"#, "no price at all"),
        (r#"{"provider":"OpenAI","model":"m","effective_from":"2026-01-01","source":"x","input":"1"}"#, "lower-case"),
        (r#"{"provider":"openai","model":"m m","effective_from":"2026-01-01","source":"x","input":"1"}"#, "model id"),
        (r#"{"provider":"openai","model":"m","effective_from":"2026-01-01","source":"x","input":"0.0000000001"}"#, "9 decimal places"),
        (r#"{"provider":"openai","model":"m","effective_from":"2026-01-01","source":"x","input":"1","batch":"half"}"#, "percentage"),
        (r#"{"provider":"openai","model":"m","effective_from":"2026-01-01","source":"x","input":"0.000000001","batch":"50%"}"#, "not a whole number"),
        (r#"{"provider":"openai","model":"m","effective_from":"2026-01-01","source":"x","images":[{"size":"auto","quality":"hd","usd":"1"}]}"#, "concrete size"),
        (r#"{"provider":"openai","model":"m","effective_from":"2026-01-01","source":"x","images":[{"size":"1x1","quality":"hd","usd":"1"},{"size":"1x1","quality":"hd","usd":"2"}]}"#, "listed twice"),
    ];
    for (json, why) in cases {
        let err = entry(json).expect_err(json);
        assert!(err.contains(why), "{json}: expected an error about {why:?}, got {err:?}");
    }
    let twice = "version = \"v1\"\n[[model]]\nprovider = \"openai\"\nmodel = \"m\"\neffective_from = \"2026-01-01\"\nsource = \"x\"\ninput = \"1\"\n\
                 [[model]]\nprovider = \"openai\"\nmodel = \"m\"\neffective_from = \"2026-01-01\"\nsource = \"y\"\ninput = \"2\"\n";
    let err = toml::from_str::<RegistrySpec>(twice).unwrap().compile().unwrap_err();
    assert!(err.contains("listed twice"), "{err}");
}
