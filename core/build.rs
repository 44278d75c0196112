//! Reads `prices/registry.toml`, checks every entry with the same code that checks a
//! runtime override (`src/pricing/spec.rs`), and writes it as a static Rust table to
//! `$OUT_DIR/registry.rs`, so that the worker spends no CPU loading prices and a bad price
//! fails the build instead of an invoice.
#![allow(dead_code)]

use std::fmt::Write as _;
use std::path::PathBuf;

#[path = "src/decimal.rs"]
mod decimal;
#[path = "src/money.rs"]
mod money;
#[path = "src/pricing/spec.rs"]
mod spec;
#[path = "src/time.rs"]
mod time;

use money::PerMTok;
use spec::{LongContext, PriceEntry, Rates, RegistrySpec, Tariff};

#[path = "build_tokens.rs"]
mod build_tokens;

fn opt_m(v: Option<PerMTok>) -> String {
    match v {
        Some(p) => format!("Some(PerMTok({}))", p.0),
        None => "None".to_owned(),
    }
}

fn opt_u(v: Option<u64>) -> String {
    match v {
        Some(n) => format!("Some({n})"),
        None => "None".to_owned(),
    }
}

fn rates(r: &Rates) -> String {
    let images: Vec<String> = r
        .images
        .iter()
        .map(|i| {
            format!(
                "ImagePrice {{ size: ImageSize({}, {}), quality: ImageQuality::{:?}, nanos: {} }}",
                i.size.0, i.size.1, i.quality, i.nanos
            )
        })
        .collect();
    format!(
        "Rates {{ input: {}, cached_input: {}, cache_write: {}, cache_write_1h: {}, output: {}, audio_input: {}, \
         cached_audio_input: {}, audio_output: {}, image_input: {}, cached_image_input: {}, image_output: {}, \
         per_minute: {}, per_1m_characters: {}, images: Cow::Borrowed(&[{}]) }}",
        opt_m(r.input),
        opt_m(r.cached_input),
        opt_m(r.cache_write),
        opt_m(r.cache_write_1h),
        opt_m(r.output),
        opt_m(r.audio_input),
        opt_m(r.cached_audio_input),
        opt_m(r.audio_output),
        opt_m(r.image_input),
        opt_m(r.cached_image_input),
        opt_m(r.image_output),
        opt_u(r.per_minute),
        opt_m(r.per_1m_characters),
        images.join(", ")
    )
}

fn tariff(t: &Tariff) -> String {
    let long = match &t.long_context {
        LongContext::None => "LongContext::None".to_owned(),
        LongContext::Above { above, rates: r } => format!("LongContext::Above {{ above: {above}, rates: {} }}", rates(r)),
        LongContext::Unknown { above } => format!("LongContext::Unknown {{ above: {above} }}"),
    };
    format!("Tariff {{ rates: {}, long_context: {long} }}", rates(&t.rates))
}

fn opt_tariff(t: &Option<Tariff>) -> String {
    match t {
        Some(t) => format!("Some({})", tariff(t)),
        None => "None".to_owned(),
    }
}

fn entry(e: &PriceEntry) -> String {
    format!(
        "PriceEntry {{ provider: Cow::Borrowed({:?}), model: Cow::Borrowed({:?}), effective_from: Day({}), \
         origin: Origin::Registry, standard: {}, batch: {}, flex: {}, priority: {}, training: {}, \
         training_per_hour: {}, source: Cow::Borrowed({:?}) }}",
        e.provider,
        e.model,
        e.effective_from.0,
        tariff(&e.standard),
        opt_tariff(&e.batch),
        opt_tariff(&e.flex),
        opt_tariff(&e.priority),
        opt_m(e.training),
        opt_u(e.training_per_hour),
        e.source
    )
}

fn main() -> Result<(), String> {
    build_tokens::generate()?;
    let path = PathBuf::from("prices/registry.toml");
    println!("cargo:rerun-if-changed=prices/registry.toml");
    println!("cargo:rerun-if-changed=src/pricing/spec.rs");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let registry: RegistrySpec = toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let entries = registry.compile().map_err(|e| format!("{}: {e}", path.display()))?;

    let mut out = String::new();
    writeln!(out, "/// The registry's version, recorded on every event priced from it.").ok();
    writeln!(out, "pub const REGISTRY_VERSION: &str = {:?};", registry.version).ok();
    writeln!(out, "/// Sorted by (provider, model, effective_from).").ok();
    writeln!(out, "pub static REGISTRY: &[PriceEntry] = &[").ok();
    for e in &entries {
        writeln!(out, "    {},", entry(e)).ok();
    }
    writeln!(out, "];").ok();
    let dest = PathBuf::from(std::env::var("OUT_DIR").map_err(|e| e.to_string())?).join("registry.rs");
    std::fs::write(&dest, out).map_err(|e| format!("{}: {e}", dest.display()))?;
    Ok(())
}
