//! The price registry and the cost engine.
//!
//! Invariants: a cost is computed once, exactly, in integers, and rounded once (half up,
//! to the nano-USD) at the very end; an unknown model, or usage of a kind the model has no
//! price for, is `Unpriced`, never $0; cached prompt tokens are charged at the cached rate
//! only, never also at the full rate.
//!
//! The functions the gateway and the collector call:
//! - [`PriceBook::price`]: prices one call's [`Usage`] (tokens of every modality, images,
//!   audio minutes, characters, in the tier given by `usage.service_tier`) for a model on
//!   a day, with the deployment's overrides.
//! - [`PriceBook::price_training`]: prices a fine-tuning job (trained tokens or hours).
//! - [`quote`]: the cost of a usage under one [`Tariff`], line by line.

pub mod spec;

use std::borrow::Cow;

pub use spec::{
    EntrySpec, ImagePrice, ImageQuality, ImageSize, LongContext, Origin, PriceEntry, Rates, RegistrySpec, Tariff,
};

use crate::money::{NanoUsd, PerMTok};
use crate::time::Day;
use crate::usage::{ServiceTier, Usage};

include!(concat!(env!("OUT_DIR"), "/registry.rs"));

/// Every exact amount is kept in units of 1/18,000,000 nano-USD: the smallest unit in which
/// a per-million rate (x18), a per-minute rate applied to milliseconds (x300), a per-hour
/// rate applied to milliseconds (x5) and a per-image price (x18,000,000) are all whole.
pub const EXACT_PER_NANO: u128 = 18_000_000;

/// Whether an event has a cost.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PricingStatus {
    Priced,
    Unpriced,
}

impl PricingStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PricingStatus::Priced => "priced",
            PricingStatus::Unpriced => "unpriced",
        }
    }
}

/// Why an event could not be priced: kept on the event so that a user can fix it (most
/// often with an override, `PUT /pricing/{model}`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnpricedReason {
    UnknownModel,
    NoUsage,
    /// Text tokens, but the entry has no text rate (e.g. a per-image model).
    TextNotPriced,
    /// Audio tokens, but the entry has no audio rate.
    AudioNotPriced,
    /// Images (a count, or image tokens) the entry has no price for, or of a size or
    /// quality it does not list.
    ImagesNotPriced,
    /// An audio length, but the entry has no per-minute price.
    DurationNotPriced,
    /// Characters, but the entry has no per-character price.
    CharactersNotPriced,
    /// 1-hour cache writes, but the entry has no price for them.
    CacheWriteNotPriced,
    /// A service tier (batch, flex, priority, scale) the entry has no price for.
    TierNotPriced,
    /// A long-context request in a tier whose long-context price is not known.
    LongContextNotPriced,
    /// A fine-tuning job, but the entry has no training price.
    TrainingNotPriced,
    /// The usage is self-contradictory (more cached than prompt tokens) or too large.
    InvalidUsage,
}

impl UnpricedReason {
    pub fn as_str(self) -> &'static str {
        match self {
            UnpricedReason::UnknownModel => "unknown_model",
            UnpricedReason::NoUsage => "no_usage",
            UnpricedReason::TextNotPriced => "text_not_priced",
            UnpricedReason::AudioNotPriced => "audio_not_priced",
            UnpricedReason::ImagesNotPriced => "images_not_priced",
            UnpricedReason::DurationNotPriced => "duration_not_priced",
            UnpricedReason::CharactersNotPriced => "characters_not_priced",
            UnpricedReason::CacheWriteNotPriced => "cache_write_not_priced",
            UnpricedReason::TierNotPriced => "tier_not_priced",
            UnpricedReason::LongContextNotPriced => "long_context_not_priced",
            UnpricedReason::TrainingNotPriced => "training_not_priced",
            UnpricedReason::InvalidUsage => "invalid_usage",
        }
    }

    pub fn parse(text: &str) -> Option<UnpricedReason> {
        use UnpricedReason::*;
        [UnknownModel, NoUsage, TextNotPriced, AudioNotPriced, ImagesNotPriced, DurationNotPriced,
         CharactersNotPriced, CacheWriteNotPriced, TierNotPriced, LongContextNotPriced, TrainingNotPriced, InvalidUsage]
            .into_iter()
            .find(|r| r.as_str() == text)
    }
}

/// What one line of a bill is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LineKind {
    Input,
    CachedInput,
    CacheWrite,
    CacheWrite1h,
    Output,
    AudioInput,
    CachedAudioInput,
    AudioOutput,
    ImageInput,
    CachedImageInput,
    ImageOutput,
    AudioMinutes,
    Characters,
    Images,
    TrainingTokens,
    TrainingTime,
}

impl LineKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LineKind::Input => "input",
            LineKind::CachedInput => "cached_input",
            LineKind::CacheWrite => "cache_write",
            LineKind::CacheWrite1h => "cache_write_1h",
            LineKind::Output => "output",
            LineKind::AudioInput => "audio_input",
            LineKind::CachedAudioInput => "cached_audio_input",
            LineKind::AudioOutput => "audio_output",
            LineKind::ImageInput => "image_input",
            LineKind::CachedImageInput => "cached_image_input",
            LineKind::ImageOutput => "image_output",
            LineKind::AudioMinutes => "audio_minutes",
            LineKind::Characters => "characters",
            LineKind::Images => "images",
            LineKind::TrainingTokens => "training_tokens",
            LineKind::TrainingTime => "training_time",
        }
    }
}

/// One line of a bill: `quantity` units (tokens, characters, milliseconds or images) at
/// `rate` nano-USD per block (1M units, one minute, one hour or one image).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CostLine {
    pub kind: LineKind,
    pub quantity: u64,
    pub rate: u64,
    /// The line's exact amount, in 1/[`EXACT_PER_NANO`] nano-USD (not rounded).
    pub exact: u128,
}

/// The priced bill of one call: its lines, and their exact sum rounded once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Quote {
    pub lines: Vec<CostLine>,
    /// Whether the long-context rates applied.
    pub long_context: bool,
    /// Exact sum of the lines, in 1/[`EXACT_PER_NANO`] nano-USD.
    pub exact: u128,
    /// The exact sum rounded half up to the nano-USD: the cost.
    pub cost: NanoUsd,
}

/// Rounds an exact amount (1/[`EXACT_PER_NANO`] nano-USD) half up to nano-USD. The only
/// rounding in llmobserve.
pub fn round_exact(exact: u128) -> Option<NanoUsd> {
    let nanos = exact.checked_add(EXACT_PER_NANO / 2)? / EXACT_PER_NANO;
    u64::try_from(nanos).ok().and_then(NanoUsd::new)
}

struct Bill {
    lines: Vec<CostLine>,
}

impl Bill {
    /// `quantity` at `rate` per block, where one block is `EXACT_PER_NANO / per_unit` units.
    fn add(&mut self, kind: LineKind, quantity: u64, rate: Option<u64>, per_unit: u128, missing: UnpricedReason)
        -> Result<(), UnpricedReason> {
        if quantity == 0 {
            return Ok(());
        }
        let rate = rate.ok_or(missing)?;
        let exact = u128::from(quantity)
            .checked_mul(u128::from(rate))
            .and_then(|v| v.checked_mul(per_unit))
            .ok_or(UnpricedReason::InvalidUsage)?;
        self.lines.push(CostLine { kind, quantity, rate, exact });
        Ok(())
    }
}

/// Per-million units: one unit is rate/1,000,000 nano-USD = rate x 18 exact units.
const PER_MILLION: u128 = EXACT_PER_NANO / 1_000_000;
/// Per minute applied to milliseconds: rate/60,000 nano-USD per ms.
const PER_MINUTE_MS: u128 = EXACT_PER_NANO / 60_000;
/// Per hour applied to milliseconds: rate/3,600,000 nano-USD per ms.
const PER_HOUR_MS: u128 = EXACT_PER_NANO / 3_600_000;

fn p(r: Option<PerMTok>) -> Option<u64> {
    r.map(|x| x.0)
}

/// The rates in force for `usage` under `tariff`: the long-context rates replace the base
/// ones for the whole request when its input is above the threshold.
fn effective_rates<'t>(usage: &Usage, tariff: &'t Tariff) -> Result<(Cow<'t, Rates>, bool), UnpricedReason> {
    match &tariff.long_context {
        LongContext::None => Ok((Cow::Borrowed(&tariff.rates), false)),
        LongContext::Unknown { above } if usage.input_tokens > *above => Err(UnpricedReason::LongContextNotPriced),
        LongContext::Unknown { .. } => Ok((Cow::Borrowed(&tariff.rates), false)),
        LongContext::Above { above, .. } if usage.input_tokens <= *above => Ok((Cow::Borrowed(&tariff.rates), false)),
        LongContext::Above { rates: long, .. } => {
            let b = &tariff.rates;
            let images = if long.images.is_empty() { b.images.clone() } else { long.images.clone() };
            Ok((Cow::Owned(Rates {
                input: long.input.or(b.input),
                cached_input: long.cached_input.or(b.cached_input),
                cache_write: long.cache_write.or(b.cache_write),
                cache_write_1h: long.cache_write_1h.or(b.cache_write_1h),
                output: long.output.or(b.output),
                audio_input: long.audio_input.or(b.audio_input),
                cached_audio_input: long.cached_audio_input.or(b.cached_audio_input),
                audio_output: long.audio_output.or(b.audio_output),
                image_input: long.image_input.or(b.image_input),
                cached_image_input: long.cached_image_input.or(b.cached_image_input),
                image_output: long.image_output.or(b.image_output),
                per_minute: long.per_minute.or(b.per_minute),
                per_1m_characters: long.per_1m_characters.or(b.per_1m_characters),
                images,
            }), true))
        }
    }
}

/// The bill of one call under one tariff. Each token is on exactly one line:
///
/// | line | tokens | rate (fallback) |
/// |---|---|---|
/// | input | input - audio - image - cached text - cache writes | `input` |
/// | cached_input | cached - cached audio - cached image | `cached_input` (`input`) |
/// | cache_write | cache_write_tokens | `cache_write` (`input`) |
/// | cache_write_1h | cache_write_1h_tokens | `cache_write_1h` (none) |
/// | audio_input / cached_audio_input | audio - cached audio / cached audio | `audio_input` (none) / `cached_audio_input` (`audio_input`) |
/// | image_input / cached_image_input | image - cached image / cached image | `image_input` (`input`) / `cached_image_input` (`image_input`, else `cached_input`, else `input`) |
/// | output | output - audio output - image output (reasoning included) | `output` |
/// | audio_output, image_output | as reported | `audio_output`, `image_output` (none) |
/// | audio_minutes, characters, images | as reported | `per_minute`, `per_1m_characters`, `images` |
///
/// A unit count (images, audio length, characters) that the model has no unit price for
/// is informational when the usage has tokens (the model bills by tokens), else unpriced.
pub fn quote(usage: &Usage, tariff: &Tariff) -> Result<Quote, UnpricedReason> {
    use UnpricedReason as R;
    let u = usage;
    let invalid = R::InvalidUsage;
    let cached_text = u.cached_input_tokens
        .checked_sub(u.cached_audio_input_tokens).and_then(|v| v.checked_sub(u.cached_image_input_tokens)).ok_or(invalid)?;
    let uncached_audio = u.audio_input_tokens.checked_sub(u.cached_audio_input_tokens).ok_or(invalid)?;
    let uncached_image = u.image_input_tokens.checked_sub(u.cached_image_input_tokens).ok_or(invalid)?;
    let uncached_text = u.input_tokens
        .checked_sub(u.audio_input_tokens)
        .and_then(|v| v.checked_sub(u.image_input_tokens))
        .and_then(|v| v.checked_sub(cached_text))
        .and_then(|v| v.checked_sub(u.cache_write_tokens))
        .and_then(|v| v.checked_sub(u.cache_write_1h_tokens))
        .ok_or(invalid)?;
    let text_out = u.output_tokens
        .checked_sub(u.audio_output_tokens)
        .and_then(|v| v.checked_sub(u.image_output_tokens))
        .ok_or(invalid)?;
    if u.reasoning_tokens > u.output_tokens {
        return Err(invalid);
    }

    let (rates, long_context) = effective_rates(u, tariff)?;
    let r = rates.as_ref();
    let mut bill = Bill { lines: Vec::new() };
    let m = PER_MILLION;
    bill.add(LineKind::Input, uncached_text, p(r.input), m, R::TextNotPriced)?;
    bill.add(LineKind::CachedInput, cached_text, p(r.cached_input.or(r.input)), m, R::TextNotPriced)?;
    bill.add(LineKind::CacheWrite, u.cache_write_tokens, p(r.cache_write.or(r.input)), m, R::TextNotPriced)?;
    bill.add(LineKind::CacheWrite1h, u.cache_write_1h_tokens, p(r.cache_write_1h), m, R::CacheWriteNotPriced)?;
    bill.add(LineKind::AudioInput, uncached_audio, p(r.audio_input), m, R::AudioNotPriced)?;
    bill.add(LineKind::CachedAudioInput, u.cached_audio_input_tokens, p(r.cached_audio_input.or(r.audio_input)), m, R::AudioNotPriced)?;
    bill.add(LineKind::ImageInput, uncached_image, p(r.image_input.or(r.input)), m, R::ImagesNotPriced)?;
    let cached_image_rate = match r.image_input {
        Some(full) => r.cached_image_input.or(Some(full)),
        None => r.cached_input.or(r.input),
    };
    bill.add(LineKind::CachedImageInput, u.cached_image_input_tokens, p(cached_image_rate), m, R::ImagesNotPriced)?;
    bill.add(LineKind::Output, text_out, p(r.output), m, R::TextNotPriced)?;
    bill.add(LineKind::AudioOutput, u.audio_output_tokens, p(r.audio_output), m, R::AudioNotPriced)?;
    bill.add(LineKind::ImageOutput, u.image_output_tokens, p(r.image_output), m, R::ImagesNotPriced)?;

    let by_tokens = u.has_tokens();
    if u.audio_duration_ms > 0 && (r.per_minute.is_some() || !by_tokens) {
        bill.add(LineKind::AudioMinutes, u.audio_duration_ms, r.per_minute, PER_MINUTE_MS, R::DurationNotPriced)?;
    }
    if u.characters > 0 && (r.per_1m_characters.is_some() || !by_tokens) {
        bill.add(LineKind::Characters, u.characters, p(r.per_1m_characters), m, R::CharactersNotPriced)?;
    }
    if let Some(images) = u.images.filter(|i| i.count > 0) {
        if !r.images.is_empty() || !by_tokens {
            let price = r.images.iter().find(|i| i.size == images.size && i.quality == images.quality);
            bill.add(LineKind::Images, images.count, price.map(|i| i.nanos), EXACT_PER_NANO, R::ImagesNotPriced)?;
        }
    }
    finish(bill, long_context)
}

fn finish(bill: Bill, long_context: bool) -> Result<Quote, UnpricedReason> {
    let exact = bill.lines.iter().try_fold(0u128, |acc, l| acc.checked_add(l.exact)).ok_or(UnpricedReason::InvalidUsage)?;
    let cost = round_exact(exact).ok_or(UnpricedReason::InvalidUsage)?;
    Ok(Quote { lines: bill.lines, long_context, exact, cost })
}

/// The tariff of `entry` in `tier`, if the entry prices that tier.
pub fn tariff_for(entry: &PriceEntry, tier: ServiceTier) -> Option<&Tariff> {
    match tier {
        ServiceTier::Standard => Some(&entry.standard),
        ServiceTier::Batch => entry.batch.as_ref(),
        ServiceTier::Flex => entry.flex.as_ref(),
        ServiceTier::Priority => entry.priority.as_ref(),
        ServiceTier::Other => None,
    }
}

/// Text-token prices of one model: the simple case, kept for callers and tests that only
/// deal in input, cached input and output tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Price {
    pub input: PerMTok,
    pub cached_input: PerMTok,
    pub output: PerMTok,
}

impl Price {
    pub fn tariff(&self) -> Tariff {
        Tariff {
            rates: Rates { input: Some(self.input), cached_input: Some(self.cached_input), output: Some(self.output), ..Rates::default() },
            long_context: LongContext::None,
        }
    }
}

/// Prices `usage` at `price` (text tokens; any other kind of usage is unpriced).
pub fn cost_of(usage: &Usage, price: &Price) -> Result<NanoUsd, UnpricedReason> {
    quote(usage, &price.tariff()).map(|q| q.cost)
}

/// The outcome of pricing one call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Costing<'a> {
    Priced { cost: NanoUsd, entry: &'a PriceEntry, tier: ServiceTier, long_context: bool },
    Unpriced(UnpricedReason),
}

impl Costing<'_> {
    pub fn status(&self) -> PricingStatus {
        match self {
            Costing::Priced { .. } => PricingStatus::Priced,
            Costing::Unpriced(_) => PricingStatus::Unpriced,
        }
    }
    pub fn cost(&self) -> Option<NanoUsd> {
        match self {
            Costing::Priced { cost, .. } => Some(*cost),
            Costing::Unpriced(_) => None,
        }
    }
    /// Which entry priced the call, for provenance: `openai/gpt-4o@2024-10-02`,
    /// `override:openai/gpt-4o@2026-12-01`, with `#flex` (etc.) for a non-standard tier.
    pub fn price_ref(&self) -> Option<String> {
        match self {
            Costing::Priced { entry, tier, .. } => {
                let mut r = entry.reference();
                if *tier != ServiceTier::Standard {
                    r.push('#');
                    r.push_str(tier.as_str());
                }
                Some(r)
            }
            Costing::Unpriced(_) => None,
        }
    }
}

impl PriceEntry {
    /// `openai/gpt-4o@2024-10-02`, or `override:openai/gpt-4o@2026-12-01`.
    pub fn reference(&self) -> String {
        let prefix = match self.origin {
            Origin::Registry => "",
            Origin::Override => "override:",
        };
        format!("{prefix}{}/{}@{}", self.provider, self.model, self.effective_from.to_iso())
    }
}

/// Provider names as callers write them, to the registry's ids.
pub fn canonical_provider(provider: &str) -> Cow<'_, str> {
    let lower = provider.trim().to_ascii_lowercase();
    let id = match lower.as_str() {
        "gemini" | "google-ai" | "google_ai" | "googleai" | "google-gemini" => "google",
        "x-ai" | "x_ai" | "grok" => "xai",
        "mistralai" | "mistral-ai" | "mistral_ai" => "mistral",
        "openai-compatible" | "azure-openai" => return Cow::Owned(lower),
        _ => return if lower == provider { Cow::Borrowed(provider) } else { Cow::Owned(lower) },
    };
    Cow::Borrowed(id)
}

/// The ids under which a model may be priced, most specific first: the model itself,
/// then its family if it is a dated snapshot; for a fine-tuned model
/// (`ft:gpt-4o-mini-2024-07-18:org:name:id`), the model, then `ft:<base>`, then
/// `ft:<base family>`.
pub fn model_candidates(model: &str) -> Vec<&str> {
    let mut out = vec![model];
    let base = match model.strip_prefix("ft:") {
        Some(rest) => {
            let end = rest.find(':').map_or(model.len(), |i| i + 3);
            model.get(..end)
        }
        None => None,
    };
    for m in [base, Some(model)].into_iter().flatten() {
        if !out.contains(&m) {
            out.push(m);
        }
        if let Some(f) = snapshot_family(m) {
            if !out.contains(&f) {
                out.push(f);
            }
        }
    }
    // Most specific first: the full id, the base, then families.
    out.sort_by_key(|m| std::cmp::Reverse(m.len()));
    out
}

/// `gpt-4o-2024-08-06` -> `gpt-4o`; `gpt-4-0613` -> `gpt-4`;
/// `claude-sonnet-4-5-20250929` -> `claude-sonnet-4-5`; otherwise `None`.
pub fn snapshot_family(model: &str) -> Option<&str> {
    // Works on bytes: `model` comes from a request body and may hold any UTF-8.
    let b = model.as_bytes();
    let n = b.len();
    let digit = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
    let dash = |i: usize| b.get(i) == Some(&b'-');
    // -YYYY-MM-DD
    if n > 11 {
        let s = n - 11;
        if dash(s) && dash(s + 5) && dash(s + 8) && [1, 2, 3, 4, 6, 7, 9, 10].iter().all(|&k| digit(s + k)) {
            return model.get(..s);
        }
    }
    // -YYYYMMDD (Anthropic)
    if n > 9 {
        let s = n - 9;
        if dash(s) && (1..9).all(|k| digit(s + k)) && b[s + 1] == b'2' && b[s + 2] == b'0' {
            return model.get(..s);
        }
    }
    // -MMDD (OpenAI's older snapshots)
    if n > 5 {
        let s = n - 5;
        if dash(s) && (1..5).all(|k| digit(s + k)) {
            return model.get(..s);
        }
    }
    None
}

fn find_in<'a>(table: &'a [PriceEntry], provider: &str, model: &str, day: Day) -> Option<&'a PriceEntry> {
    let end = table.partition_point(|e| (e.provider.as_ref(), e.model.as_ref()) <= (provider, model));
    table[..end]
        .iter()
        .rev()
        .take_while(|e| e.provider == provider && e.model == model)
        .find(|e| e.effective_from <= day)
}

/// The registry entry in force for `model` on `day` (no overrides): the model's own entry
/// if it has one, else its family's. Among entries of one model, the latest
/// `effective_from <= day` wins.
pub fn find_price(provider: &str, model: &str, day: Day) -> Option<&'static PriceEntry> {
    let provider = canonical_provider(provider);
    model_candidates(model).into_iter().find_map(|m| find_in(REGISTRY, &provider, m, day))
}

/// Prices one call with the registry alone (no overrides).
pub fn price_usage(provider: &str, model: &str, day: Day, usage: Option<&Usage>) -> Costing<'static> {
    price_with_entry(find_price(provider, model, day), usage)
}

fn price_with_entry<'a>(entry: Option<&'a PriceEntry>, usage: Option<&Usage>) -> Costing<'a> {
    let Some(entry) = entry else {
        return Costing::Unpriced(UnpricedReason::UnknownModel);
    };
    let Some(usage) = usage else {
        return Costing::Unpriced(UnpricedReason::NoUsage);
    };
    let Some(tariff) = tariff_for(entry, usage.service_tier) else {
        return Costing::Unpriced(UnpricedReason::TierNotPriced);
    };
    match quote(usage, tariff) {
        Ok(q) => Costing::Priced { cost: q.cost, entry, tier: usage.service_tier, long_context: q.long_context },
        Err(reason) => Costing::Unpriced(reason),
    }
}

/// The prices of one deployment: the compiled registry plus its overrides from D1.
///
/// Resolution for a model on a day: an override of the model itself, then an override of
/// its family (so an override of `gpt-4o` covers `gpt-4o-2024-08-06`), then the registry
/// the same way. Overrides win from their `effective_from` on, whatever the registry says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PriceBook {
    overrides: Vec<PriceEntry>,
    version: String,
}

impl Default for PriceBook {
    fn default() -> PriceBook {
        PriceBook::registry()
    }
}

impl PriceBook {
    /// The registry alone; its version is [`REGISTRY_VERSION`].
    pub fn registry() -> PriceBook {
        PriceBook { overrides: Vec::new(), version: REGISTRY_VERSION.to_owned() }
    }

    /// The registry plus `overrides`. `revision` counts every change ever made to the
    /// overrides (0: never), so the version `2026-11-28+o3` names one exact price list.
    pub fn with_overrides(mut overrides: Vec<PriceEntry>, revision: u64) -> PriceBook {
        overrides.sort_by(|a, b| (&a.provider, &a.model, a.effective_from).cmp(&(&b.provider, &b.model, b.effective_from)));
        overrides.dedup_by(|b, a| (&a.provider, &a.model, a.effective_from) == (&b.provider, &b.model, b.effective_from));
        for o in &mut overrides {
            o.origin = Origin::Override;
        }
        let version = if revision == 0 { REGISTRY_VERSION.to_owned() } else { format!("{REGISTRY_VERSION}+o{revision}") };
        PriceBook { overrides, version }
    }

    /// Recorded on every event priced from this book as `price_version`.
    pub fn version(&self) -> &str {
        &self.version
    }

    pub fn overrides(&self) -> &[PriceEntry] {
        &self.overrides
    }

    /// The entry in force for `model` on `day`.
    pub fn find(&self, provider: &str, model: &str, day: Day) -> Option<&PriceEntry> {
        let provider = canonical_provider(provider);
        let candidates = model_candidates(model);
        candidates
            .iter()
            .find_map(|m| find_in(&self.overrides, &provider, m, day))
            .or_else(|| candidates.iter().find_map(|m| find_in(REGISTRY, &provider, m, day)))
    }

    /// Prices one call. `usage.service_tier` selects the tier.
    pub fn price(&self, provider: &str, model: &str, day: Day, usage: Option<&Usage>) -> Costing<'_> {
        price_with_entry(self.find(provider, model, day), usage)
    }

    /// Prices a fine-tuning job on `base_model` (the model being trained): trained tokens
    /// at the `training` rate, or training time at `training_per_hour`, of the entry
    /// `ft:<base_model>` (or its family).
    pub fn price_training(&self, provider: &str, base_model: &str, day: Day, trained_tokens: u64, training_ms: u64)
        -> Costing<'_> {
        let ft = format!("ft:{}", base_model.strip_prefix("ft:").unwrap_or(base_model));
        let Some(entry) = self.find(provider, &ft, day) else {
            return Costing::Unpriced(UnpricedReason::UnknownModel);
        };
        let mut bill = Bill { lines: Vec::new() };
        let res = bill
            .add(LineKind::TrainingTokens, trained_tokens, p(entry.training), PER_MILLION, UnpricedReason::TrainingNotPriced)
            .and_then(|()| bill.add(LineKind::TrainingTime, training_ms, entry.training_per_hour, PER_HOUR_MS, UnpricedReason::TrainingNotPriced));
        if let Err(reason) = res {
            return Costing::Unpriced(reason);
        }
        if bill.lines.is_empty() {
            return Costing::Unpriced(UnpricedReason::NoUsage);
        }
        match finish(bill, false) {
            Ok(q) => Costing::Priced { cost: q.cost, entry, tier: ServiceTier::Standard, long_context: false },
            Err(reason) => Costing::Unpriced(reason),
        }
    }

    /// Every entry of the book (overrides first, then the registry), for `GET /pricing`.
    pub fn entries(&self) -> impl Iterator<Item = &PriceEntry> {
        self.overrides.iter().chain(REGISTRY.iter())
    }
}

fn usd_text(nanos: u64) -> serde_json::Value {
    serde_json::Value::String(PerMTok(nanos).to_usd_string())
}

/// Rates as JSON: USD decimal strings at full precision (per 1M tokens or characters, per
/// minute, per image), in the registry file's own field names.
pub fn rates_json(r: &Rates) -> serde_json::Value {
    let mut m = serde_json::Map::new();
    let per_m = [
        ("input", r.input), ("cached_input", r.cached_input), ("cache_write", r.cache_write),
        ("cache_write_1h", r.cache_write_1h), ("output", r.output), ("audio_input", r.audio_input),
        ("cached_audio_input", r.cached_audio_input), ("audio_output", r.audio_output),
        ("image_input", r.image_input), ("cached_image_input", r.cached_image_input),
        ("image_output", r.image_output), ("per_1m_characters", r.per_1m_characters),
    ];
    for (k, v) in per_m {
        if let Some(v) = v {
            m.insert(k.to_owned(), usd_text(v.0));
        }
    }
    if let Some(v) = r.per_minute {
        m.insert("per_minute".to_owned(), usd_text(v));
    }
    if !r.images.is_empty() {
        let images: Vec<serde_json::Value> = r.images.iter().map(|i| serde_json::json!({
            "size": i.size.to_text(), "quality": i.quality.as_str(), "usd": PerMTok(i.nanos).to_usd_string(),
        })).collect();
        m.insert("images".to_owned(), serde_json::Value::Array(images));
    }
    serde_json::Value::Object(m)
}

fn tariff_json(t: &Tariff) -> serde_json::Value {
    let mut v = rates_json(&t.rates);
    let long = match &t.long_context {
        LongContext::None => None,
        LongContext::Above { above, rates } => {
            let mut l = rates_json(rates);
            l["above"] = serde_json::json!(above);
            Some(l)
        }
        LongContext::Unknown { above } => Some(serde_json::json!({ "above": above, "priced": false })),
    };
    if let (Some(l), Some(obj)) = (long, v.as_object_mut()) {
        obj.insert("long_context".to_owned(), l);
    }
    v
}

/// One entry as `GET /pricing` shows it. Every price is a USD decimal string.
pub fn entry_json(e: &PriceEntry) -> serde_json::Value {
    let mut v = serde_json::json!({
        "provider": e.provider,
        "model": e.model,
        "effective_from": e.effective_from.to_iso(),
        "origin": match e.origin { Origin::Registry => "registry", Origin::Override => "override" },
        "ref": e.reference(),
        "source": e.source,
        "unit": "USD per 1M tokens (per_minute: per minute of audio; images: per image)",
        "standard": tariff_json(&e.standard),
    });
    for (name, t) in [("batch", &e.batch), ("flex", &e.flex), ("priority", &e.priority)] {
        if let Some(t) = t {
            v[name] = tariff_json(t);
        }
    }
    if let Some(t) = e.training {
        v["training"] = usd_text(t.0);
    }
    if let Some(t) = e.training_per_hour {
        v["training_per_hour"] = usd_text(t);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(input: u64, cached: u64, output: u64) -> Usage {
        Usage { input_tokens: input, cached_input_tokens: cached, output_tokens: output, ..Usage::default() }
    }

    const GPT4O: Price = Price {
        input: PerMTok(2_500_000_000),
        cached_input: PerMTok(1_250_000_000),
        output: PerMTok(10_000_000_000),
    };

    #[test]
    fn cost_is_exact_integer_arithmetic() {
        // 1000 in at $2.50/M = 2_500_000 nano; 500 out at $10/M = 5_000_000 nano.
        assert_eq!(cost_of(&usage(1000, 0, 500), &GPT4O), Ok(NanoUsd::new(7_500_000).unwrap()));
        // One token at $2.50/M is 2500 nano-USD exactly.
        assert_eq!(cost_of(&usage(1, 0, 0), &GPT4O).unwrap().nanos(), 2500);
    }

    #[test]
    fn cached_tokens_are_not_charged_twice() {
        // 1000 prompt tokens of which 800 cached: 200 x 2.5 + 800 x 1.25 = 1500 per-M units.
        let c = cost_of(&usage(1000, 800, 0), &GPT4O).unwrap();
        assert_eq!(c.nanos(), 200 * 2500 + 800 * 1250);
    }

    #[test]
    fn rounding_is_half_up_once_at_the_end() {
        // $0.0375/M: one token is 37.5 nano -> 38, but two tokens are exactly 75.
        let p = Price { input: PerMTok(37_500_000), cached_input: PerMTok(37_500_000), output: PerMTok(0) };
        assert_eq!(cost_of(&usage(1, 0, 0), &p).unwrap().nanos(), 38);
        assert_eq!(cost_of(&usage(2, 0, 0), &p).unwrap().nanos(), 75);
        let q = Price { input: PerMTok(1), cached_input: PerMTok(1), output: PerMTok(1) };
        assert_eq!(cost_of(&usage(499_999, 0, 0), &q).unwrap().nanos(), 0);
        assert_eq!(cost_of(&usage(500_000, 0, 0), &q).unwrap().nanos(), 1);
    }

    #[test]
    fn impossible_usage_is_unpriced_not_guessed() {
        assert_eq!(cost_of(&usage(10, 11, 0), &GPT4O), Err(UnpricedReason::InvalidUsage));
        let audio = Usage { audio_input_tokens: 5, ..usage(10, 0, 0) };
        assert_eq!(cost_of(&audio, &GPT4O), Err(UnpricedReason::AudioNotPriced));
        assert_eq!(cost_of(&usage(u64::MAX, 0, u64::MAX), &GPT4O), Err(UnpricedReason::InvalidUsage));
        let reasoning = Usage { reasoning_tokens: 11, ..usage(0, 0, 10) };
        assert_eq!(cost_of(&reasoning, &GPT4O), Err(UnpricedReason::InvalidUsage));
    }

    #[test]
    fn snapshots_resolve_to_their_family() {
        assert_eq!(snapshot_family("gpt-4o-mini-2024-07-18"), Some("gpt-4o-mini"));
        assert_eq!(snapshot_family("gpt-4-0613"), Some("gpt-4"));
        assert_eq!(snapshot_family("gpt-3.5-turbo-0125"), Some("gpt-3.5-turbo"));
        assert_eq!(snapshot_family("claude-sonnet-4-5-20250929"), Some("claude-sonnet-4-5"));
        assert_eq!(snapshot_family("gpt-4o"), None);
        assert_eq!(snapshot_family("o3-mini"), None);
        assert_eq!(snapshot_family("gpt-4.1-nano"), None);
        assert_eq!(snapshot_family("claude-opus-4-1"), None);
    }

    #[test]
    fn fine_tuned_ids_resolve_to_their_base() {
        assert_eq!(
            model_candidates("ft:gpt-4o-mini-2024-07-18:acme:support:AbC123"),
            vec!["ft:gpt-4o-mini-2024-07-18:acme:support:AbC123", "ft:gpt-4o-mini-2024-07-18", "ft:gpt-4o-mini"]
        );
        assert_eq!(model_candidates("ft:gpt-3.5-turbo-0613:org::x1"), vec!["ft:gpt-3.5-turbo-0613:org::x1", "ft:gpt-3.5-turbo-0613", "ft:gpt-3.5-turbo"]);
        assert_eq!(model_candidates("gpt-4o"), vec!["gpt-4o"]);
    }

    #[test]
    fn unknown_model_is_unpriced_never_zero() {
        let day = Day(20261128);
        let c = price_usage("openai", "no-such-model-2099", day, Some(&usage(10, 0, 10)));
        assert_eq!(c, Costing::Unpriced(UnpricedReason::UnknownModel));
        assert_eq!(c.cost(), None);
    }

    #[test]
    fn registry_is_sorted_and_complete_for_core_models() {
        assert!(REGISTRY.windows(2).all(|w| (&w[0].provider, &w[0].model, w[0].effective_from)
            < (&w[1].provider, &w[1].model, w[1].effective_from)));
        let day = Day(20261128);
        for m in ["gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano", "o3", "o4-mini", "gpt-5", "gpt-5-mini", "gpt-5-nano"] {
            let e = find_price("openai", m, day).unwrap_or_else(|| panic!("{m} has no price"));
            let r = &e.standard.rates;
            assert!(r.cached_input.unwrap_or(PerMTok(0)) <= r.input.unwrap(), "{m}");
            assert!(r.input.unwrap().0 > 0 && r.output.unwrap().0 > 0, "{m}");
        }
    }

    #[test]
    fn later_effective_date_supersedes() {
        // o3 was cut from $10/$40 to $2/$8 on 2025-06-10.
        let before = find_price("openai", "o3", Day(20250601)).unwrap();
        let after = find_price("openai", "o3", Day(20250611)).unwrap();
        assert_eq!(before.standard.rates.input, Some(PerMTok(10_000_000_000)));
        assert_eq!(after.standard.rates.input, Some(PerMTok(2_000_000_000)));
        assert!(find_price("openai", "o3", Day(20200101)).is_none());
    }

    fn override_entry(model: &str, from: &str, input: &str) -> PriceEntry {
        EntrySpec {
            provider: "openai".into(),
            model: model.into(),
            effective_from: from.into(),
            source: "negotiated".into(),
            input: Some(input.into()),
            output: Some("1".into()),
            ..serde_json::from_str(r#"{"provider":"","model":"","effective_from":"","source":""}"#).unwrap()
        }
        .compile(Origin::Override)
        .unwrap()
    }

    #[test]
    fn an_override_applies_from_its_date_and_covers_snapshots() {
        let book = PriceBook::with_overrides(vec![override_entry("gpt-4o", "2026-12-01", "1")], 3);
        assert_eq!(book.version(), format!("{REGISTRY_VERSION}+o3"));
        let u = usage(1_000_000, 0, 0);
        let before = book.price("openai", "gpt-4o-2024-08-06", Day(20261130), Some(&u));
        let after = book.price("openai", "gpt-4o-2024-08-06", Day(20261201), Some(&u));
        assert_eq!(before.cost().map(NanoUsd::nanos), Some(2_500_000_000));
        assert_eq!(before.price_ref().as_deref(), Some("openai/gpt-4o-2024-08-06@2024-08-06"));
        assert_eq!(after.cost().map(NanoUsd::nanos), Some(1_000_000_000));
        assert_eq!(after.price_ref().as_deref(), Some("override:openai/gpt-4o@2026-12-01"));
        // A private model becomes priced through an override.
        let ft = "ft:gpt-4o-mini-2024-07-18:acme::xyz";
        let book = PriceBook::with_overrides(vec![override_entry(ft, "2026-01-01", "0.5")], 1);
        assert_eq!(book.price("openai", ft, Day(20261128), Some(&u)).cost().map(NanoUsd::nanos), Some(500_000_000));
    }
}
