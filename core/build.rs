//! Reads `prices/registry.toml`, checks every entry, and writes it as a static Rust table
//! to `$OUT_DIR/registry.rs`, so that the worker spends no CPU loading prices and a bad
//! price fails the build instead of an invoice.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

#[path = "src/decimal.rs"]
mod decimal;

#[path = "build_tokens.rs"]
mod build_tokens;

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Registry {
    version: String,
    model: Vec<Entry>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    provider: String,
    model: String,
    effective_from: String,
    input: String,
    cached_input: Option<String>,
    output: String,
    source: String,
}

fn day_number(text: &str) -> Result<u32, String> {
    let parts: Vec<&str> = text.split('-').collect();
    let ok = parts.len() == 3
        && parts[0].len() == 4
        && parts[1].len() == 2
        && parts[2].len() == 2
        && parts.iter().all(|p| p.bytes().all(|b| b.is_ascii_digit()));
    if !ok {
        return Err(format!("effective_from `{text}` is not YYYY-MM-DD"));
    }
    let y: u32 = parts[0].parse().map_err(|e| format!("{e}"))?;
    let m: u32 = parts[1].parse().map_err(|e| format!("{e}"))?;
    let d: u32 = parts[2].parse().map_err(|e| format!("{e}"))?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || y < 2000 {
        return Err(format!("effective_from `{text}` is not a real date"));
    }
    Ok(y * 10_000 + m * 100 + d)
}

fn id_ok(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 128
        && text.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._:/@".contains(&b))
}

fn main() -> Result<(), String> {
    build_tokens::generate()?;
    let path = PathBuf::from("prices/registry.toml");
    println!("cargo:rerun-if-changed=prices/registry.toml");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let registry: Registry = toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    if !id_ok(&registry.version) {
        return Err(format!("registry version `{}` must be a short id", registry.version));
    }

    let mut rows = BTreeMap::new();
    for e in &registry.model {
        let at = |what: &str| format!("{}/{} ({}): {what}", e.provider, e.model, e.effective_from);
        if !id_ok(&e.provider) || e.provider != e.provider.to_ascii_lowercase() {
            return Err(at("provider must be a lower-case id"));
        }
        if !id_ok(&e.model) {
            return Err(at("model id has characters outside [A-Za-z0-9-._:/@]"));
        }
        if e.source.trim().is_empty() {
            return Err(at("every price needs a source"));
        }
        let day = day_number(&e.effective_from).map_err(|m| at(&m))?;
        let input = decimal::parse_billionths(&e.input).map_err(|m| at(&m))?;
        let output = decimal::parse_billionths(&e.output).map_err(|m| at(&m))?;
        let cached = match &e.cached_input {
            Some(c) => decimal::parse_billionths(c).map_err(|m| at(&m))?,
            None => input,
        };
        if cached > input {
            return Err(at("cached_input costs more than input"));
        }
        let key = (e.provider.clone(), e.model.clone(), day);
        if rows.insert(key, (input, cached, output, e.source.clone())).is_some() {
            return Err(at("listed twice"));
        }
    }

    let mut out = String::new();
    writeln!(out, "/// The registry's version, recorded on every event priced from it.").ok();
    writeln!(out, "pub const REGISTRY_VERSION: &str = {:?};", registry.version).ok();
    writeln!(out, "/// Sorted by (provider, model, effective_from).").ok();
    writeln!(out, "pub static REGISTRY: &[PriceEntry] = &[").ok();
    for ((provider, model, day), (input, cached, output, source)) in &rows {
        writeln!(
            out,
            "    PriceEntry {{ provider: {provider:?}, model: {model:?}, effective_from: Day({day}), \
             price: Price {{ input: PerMTok({input}), cached_input: PerMTok({cached}), output: PerMTok({output}) }}, \
             source: {source:?} }},"
        )
        .ok();
    }
    writeln!(out, "];").ok();
    let dest = PathBuf::from(std::env::var("OUT_DIR").map_err(|e| e.to_string())?).join("registry.rs");
    std::fs::write(&dest, out).map_err(|e| format!("{}: {e}", dest.display()))?;
    Ok(())
}
