//! The price schema: what one price entry says, as written in `core/prices/registry.toml`
//! and in a `PUT /pricing/{model}` override, and the one function that checks it and
//! turns it into exact integer rates.
//!
//! Shared as source by the library and by `build.rs`, so that the registry file and a
//! runtime override are read and checked by the same code. Invariant: a [`PriceEntry`]
//! exists only if every price in it is a non-negative exact decimal, it has a source and
//! an effective date, and every derived tier price is exact in nano-USD.

use std::borrow::Cow;

use serde::Deserialize;

use crate::decimal::parse_billionths;
use crate::money::PerMTok;
use crate::time::Day;

/// Image size `W x H` in pixels; `ImageSize(0, 0)` is `auto` (cannot be priced per image).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ImageSize(pub u16, pub u16);

impl ImageSize {
    /// `"1024x1024"` or `"auto"`.
    pub fn parse(text: &str) -> Result<ImageSize, String> {
        if text == "auto" {
            return Ok(ImageSize(0, 0));
        }
        let (w, h) = text.split_once('x').ok_or_else(|| format!("image size `{text}` is not WIDTHxHEIGHT like 1024x1024"))?;
        let dim = |s: &str| s.parse::<u16>().ok().filter(|v| *v > 0 && s.bytes().all(|b| b.is_ascii_digit()));
        match (dim(w), dim(h)) {
            (Some(w), Some(h)) => Ok(ImageSize(w, h)),
            _ => Err(format!("image size `{text}` is not WIDTHxHEIGHT like 1024x1024")),
        }
    }

    pub fn to_text(self) -> String {
        if self == ImageSize(0, 0) { "auto".to_owned() } else { format!("{}x{}", self.0, self.1) }
    }
}

/// Image quality as the Images API names it. DALL-E 2 has one quality, `standard`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ImageQuality {
    #[default]
    Standard,
    Hd,
    Low,
    Medium,
    High,
    /// The provider chooses; cannot be priced per image.
    Auto,
}

impl ImageQuality {
    pub fn parse(text: &str) -> Result<ImageQuality, String> {
        Ok(match text {
            "standard" => ImageQuality::Standard,
            "hd" => ImageQuality::Hd,
            "low" => ImageQuality::Low,
            "medium" => ImageQuality::Medium,
            "high" => ImageQuality::High,
            "auto" => ImageQuality::Auto,
            _ => return Err(format!("image quality `{text}` is not one of standard, hd, low, medium, high, auto")),
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ImageQuality::Standard => "standard",
            ImageQuality::Hd => "hd",
            ImageQuality::Low => "low",
            ImageQuality::Medium => "medium",
            ImageQuality::High => "high",
            ImageQuality::Auto => "auto",
        }
    }
}

/// The price of one generated image of a size and quality, in nano-USD.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImagePrice {
    pub size: ImageSize,
    pub quality: ImageQuality,
    pub nanos: u64,
}

/// Every rate of one tariff. Per-million rates are nano-USD per 1,000,000 units
/// ([`PerMTok`]); the others are nano-USD per minute, per hour or per image. `None`: the
/// model has no such charge, so usage of that kind cannot be priced (see `pricing`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rates {
    pub input: Option<PerMTok>,
    pub cached_input: Option<PerMTok>,
    pub cache_write: Option<PerMTok>,
    pub cache_write_1h: Option<PerMTok>,
    pub output: Option<PerMTok>,
    pub audio_input: Option<PerMTok>,
    pub cached_audio_input: Option<PerMTok>,
    pub audio_output: Option<PerMTok>,
    pub image_input: Option<PerMTok>,
    pub cached_image_input: Option<PerMTok>,
    pub image_output: Option<PerMTok>,
    /// Per minute of input audio (transcription), nano-USD.
    pub per_minute: Option<u64>,
    /// Per 1,000,000 input characters (speech).
    pub per_1m_characters: Option<PerMTok>,
    /// Per generated image, by size and quality.
    pub images: Cow<'static, [ImagePrice]>,
}

/// Rates that replace the base rates for a whole request whose input exceeds `above`
/// tokens (OpenAI GPT-5.4+ above 272K, Anthropic and Gemini above 200K).
// Not boxed: the registry is a `static`, and a `Box` cannot be built in one.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LongContext {
    /// No long-context pricing: the base rates apply at any length.
    None,
    Above { above: u64, rates: Rates },
    /// The model has long-context pricing, but not for this tier: such requests are unpriced.
    Unknown { above: u64 },
}

/// What a call costs in one service tier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tariff {
    pub rates: Rates,
    pub long_context: LongContext,
}

/// Where an entry comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// `core/prices/registry.toml`, compiled in.
    Registry,
    /// A per-deployment override (`PUT /pricing/{model}`), stored in D1.
    Override,
}

/// One price entry: a model's prices from one day on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PriceEntry {
    pub provider: Cow<'static, str>,
    pub model: Cow<'static, str>,
    pub effective_from: Day,
    pub origin: Origin,
    pub standard: Tariff,
    pub batch: Option<Tariff>,
    pub flex: Option<Tariff>,
    pub priority: Option<Tariff>,
    /// Fine-tuning training, per 1M trained tokens.
    pub training: Option<PerMTok>,
    /// Fine-tuning training (reinforcement), per hour of training time, nano-USD.
    pub training_per_hour: Option<u64>,
    pub source: Cow<'static, str>,
}

// ---- the written form ----

/// The registry file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistrySpec {
    pub version: String,
    pub model: Vec<EntrySpec>,
}

/// Token and unit prices as written: USD decimal strings (at most 9 decimal places).
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RatesSpec {
    pub input: Option<String>,
    pub cached_input: Option<String>,
    pub cache_write: Option<String>,
    pub cache_write_1h: Option<String>,
    pub output: Option<String>,
    pub audio_input: Option<String>,
    pub cached_audio_input: Option<String>,
    pub audio_output: Option<String>,
    pub image_input: Option<String>,
    pub cached_image_input: Option<String>,
    pub image_output: Option<String>,
    pub per_minute: Option<String>,
    pub per_1m_characters: Option<String>,
    pub images: Option<Vec<ImageSpec>>,
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ImageSpec {
    pub size: String,
    pub quality: String,
    /// USD per image.
    pub usd: String,
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct LongContextSpec {
    /// Input tokens above which the whole request is billed at these rates.
    pub above: u64,
    pub input: Option<String>,
    pub cached_input: Option<String>,
    pub cache_write: Option<String>,
    pub cache_write_1h: Option<String>,
    pub output: Option<String>,
    pub audio_input: Option<String>,
    pub cached_audio_input: Option<String>,
    pub audio_output: Option<String>,
    pub image_input: Option<String>,
    pub cached_image_input: Option<String>,
    pub image_output: Option<String>,
    pub per_minute: Option<String>,
    pub per_1m_characters: Option<String>,
    pub images: Option<Vec<ImageSpec>>,
}

impl LongContextSpec {
    pub fn rates(&self) -> RatesSpec {
        RatesSpec {
            input: self.input.clone(),
            cached_input: self.cached_input.clone(),
            cache_write: self.cache_write.clone(),
            cache_write_1h: self.cache_write_1h.clone(),
            output: self.output.clone(),
            audio_input: self.audio_input.clone(),
            cached_audio_input: self.cached_audio_input.clone(),
            audio_output: self.audio_output.clone(),
            image_input: self.image_input.clone(),
            cached_image_input: self.cached_image_input.clone(),
            image_output: self.image_output.clone(),
            per_minute: self.per_minute.clone(),
            per_1m_characters: self.per_1m_characters.clone(),
            images: self.images.clone(),
        }
    }
}

/// A service tier: `"50%"` of the standard rates (every rate, long context included), or
/// its own token rates.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum TierSpec {
    Percent(String),
    Rates(Box<RatesSpec>),
}

/// One `[[model]]` of the registry, or the body of `PUT /pricing/{model}`.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct EntrySpec {
    pub provider: String,
    pub model: String,
    pub effective_from: String,
    pub source: String,
    pub input: Option<String>,
    pub cached_input: Option<String>,
    pub cache_write: Option<String>,
    pub cache_write_1h: Option<String>,
    pub output: Option<String>,
    pub audio_input: Option<String>,
    pub cached_audio_input: Option<String>,
    pub audio_output: Option<String>,
    pub image_input: Option<String>,
    pub cached_image_input: Option<String>,
    pub image_output: Option<String>,
    pub per_minute: Option<String>,
    pub per_1m_characters: Option<String>,
    pub images: Option<Vec<ImageSpec>>,
    pub long_context: Option<LongContextSpec>,
    pub batch: Option<TierSpec>,
    pub flex: Option<TierSpec>,
    pub priority: Option<TierSpec>,
    pub training: Option<String>,
    pub training_per_hour: Option<String>,
}

/// `YYYY-MM-DD` to a [`Day`].
pub fn parse_day(text: &str) -> Result<Day, String> {
    let parts: Vec<&str> = text.split('-').collect();
    let ok = parts.len() == 3
        && parts[0].len() == 4
        && parts[1].len() == 2
        && parts[2].len() == 2
        && parts.iter().all(|p| p.bytes().all(|b| b.is_ascii_digit()));
    if !ok {
        return Err(format!("date `{text}` is not YYYY-MM-DD"));
    }
    let num = |s: &str| s.parse::<u32>().map_err(|e| format!("date `{text}`: {e}"));
    let (y, m, d) = (num(parts[0])?, num(parts[1])?, num(parts[2])?);
    let days_in_month = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => 0,
    };
    if y < 2000 || d == 0 || d > days_in_month {
        return Err(format!("date `{text}` is not a real date"));
    }
    Ok(Day(y * 10_000 + m * 100 + d))
}

/// Provider and model ids: printable ASCII from a small set, at most 128 bytes.
pub fn id_ok(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 128
        && text.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._:/@".contains(&b))
}

fn usd(what: &str, text: &Option<String>) -> Result<Option<u64>, String> {
    text.as_deref().map(|t| parse_billionths(t).map_err(|e| format!("{what}: {e}"))).transpose()
}

fn per_m(what: &str, text: &Option<String>) -> Result<Option<PerMTok>, String> {
    Ok(usd(what, text)?.map(PerMTok))
}

impl RatesSpec {
    fn compile(&self) -> Result<Rates, String> {
        let mut images = Vec::new();
        for i in self.images.iter().flatten() {
            let size = ImageSize::parse(&i.size)?;
            let quality = ImageQuality::parse(&i.quality)?;
            if size == ImageSize(0, 0) || quality == ImageQuality::Auto {
                return Err("image prices need a concrete size and quality, not auto".to_owned());
            }
            if images.iter().any(|p: &ImagePrice| p.size == size && p.quality == quality) {
                return Err(format!("image price {} {} listed twice", i.size, i.quality));
            }
            let nanos = parse_billionths(&i.usd).map_err(|e| format!("image {} {}: {e}", i.size, i.quality))?;
            images.push(ImagePrice { size, quality, nanos });
        }
        if self.images.as_ref().is_some_and(Vec::is_empty) {
            return Err("`images` is empty: list at least one size and quality, or leave it out".to_owned());
        }
        let r = Rates {
            input: per_m("input", &self.input)?,
            cached_input: per_m("cached_input", &self.cached_input)?,
            cache_write: per_m("cache_write", &self.cache_write)?,
            cache_write_1h: per_m("cache_write_1h", &self.cache_write_1h)?,
            output: per_m("output", &self.output)?,
            audio_input: per_m("audio_input", &self.audio_input)?,
            cached_audio_input: per_m("cached_audio_input", &self.cached_audio_input)?,
            audio_output: per_m("audio_output", &self.audio_output)?,
            image_input: per_m("image_input", &self.image_input)?,
            cached_image_input: per_m("cached_image_input", &self.cached_image_input)?,
            image_output: per_m("image_output", &self.image_output)?,
            per_minute: usd("per_minute", &self.per_minute)?,
            per_1m_characters: per_m("per_1m_characters", &self.per_1m_characters)?,
            images: Cow::Owned(images),
        };
        let le = |a: Option<PerMTok>, b: Option<PerMTok>, what: &str| match (a, b) {
            (Some(a), Some(b)) if a > b => Err(what.to_owned()),
            _ => Ok(()),
        };
        le(r.cached_input, r.input, "cached_input costs more than input")?;
        le(r.cached_audio_input, r.audio_input, "cached_audio_input costs more than audio_input")?;
        le(r.cached_image_input, r.image_input, "cached_image_input costs more than image_input")?;
        if r.cached_input.is_some() && r.input.is_none() {
            return Err("cached_input needs input".to_owned());
        }
        if r.cached_audio_input.is_some() && r.audio_input.is_none() {
            return Err("cached_audio_input needs audio_input".to_owned());
        }
        Ok(r)
    }

    fn is_empty(&self) -> bool {
        *self == RatesSpec::default()
    }
}

impl Rates {
    /// Every rate times `num / den`, which must be exact in nano-USD.
    fn scaled(&self, num: u64, den: u64) -> Result<Rates, String> {
        let s = |v: u64| -> Result<u64, String> {
            let p = u128::from(v) * u128::from(num);
            if p % u128::from(den) != 0 {
                return Err(format!("{v} nano-USD x {num}/{den} is not a whole number of nano-USD; write the tier's rates out"));
            }
            u64::try_from(p / u128::from(den)).map_err(|e| e.to_string())
        };
        let m = |v: Option<PerMTok>| v.map(|p| s(p.0).map(PerMTok)).transpose();
        let mut images = Vec::new();
        for i in self.images.iter() {
            images.push(ImagePrice { nanos: s(i.nanos)?, ..*i });
        }
        Ok(Rates {
            input: m(self.input)?,
            cached_input: m(self.cached_input)?,
            cache_write: m(self.cache_write)?,
            cache_write_1h: m(self.cache_write_1h)?,
            output: m(self.output)?,
            audio_input: m(self.audio_input)?,
            cached_audio_input: m(self.cached_audio_input)?,
            audio_output: m(self.audio_output)?,
            image_input: m(self.image_input)?,
            cached_image_input: m(self.cached_image_input)?,
            image_output: m(self.image_output)?,
            per_minute: self.per_minute.map(s).transpose()?,
            per_1m_characters: m(self.per_1m_characters)?,
            images: Cow::Owned(images),
        })
    }
}

/// `"50%"` -> (50, 100); up to 4 decimal places (`"12.5%"`).
fn parse_percent(text: &str) -> Result<(u64, u64), String> {
    let t = text.strip_suffix('%').ok_or_else(|| format!("tier `{text}` must be a percentage like \"50%\" or a table of rates"))?;
    let billionths = parse_billionths(t).map_err(|e| format!("tier `{text}`: {e}"))?;
    if billionths == 0 || billionths > 1_000 * 1_000_000_000 {
        return Err(format!("tier `{text}` must be above 0% and at most 1000%"));
    }
    Ok((billionths, 100 * 1_000_000_000))
}

fn compile_tier(spec: &TierSpec, standard: &Tariff) -> Result<Tariff, String> {
    match spec {
        TierSpec::Percent(p) => {
            let (num, den) = parse_percent(p)?;
            let long_context = match &standard.long_context {
                LongContext::None => LongContext::None,
                LongContext::Above { above, rates } => LongContext::Above { above: *above, rates: rates.scaled(num, den)? },
                LongContext::Unknown { above } => LongContext::Unknown { above: *above },
            };
            Ok(Tariff { rates: standard.rates.scaled(num, den)?, long_context })
        }
        TierSpec::Rates(r) => {
            if r.images.is_some() {
                return Err("a tier's own rates cannot list images; use a percentage".to_owned());
            }
            let rates = r.compile()?;
            let long_context = match &standard.long_context {
                LongContext::None => LongContext::None,
                LongContext::Above { above, .. } | LongContext::Unknown { above } => LongContext::Unknown { above: *above },
            };
            Ok(Tariff { rates, long_context })
        }
    }
}

impl EntrySpec {
    /// The standard-tier rates as written.
    pub fn rates(&self) -> RatesSpec {
        RatesSpec {
            input: self.input.clone(),
            cached_input: self.cached_input.clone(),
            cache_write: self.cache_write.clone(),
            cache_write_1h: self.cache_write_1h.clone(),
            output: self.output.clone(),
            audio_input: self.audio_input.clone(),
            cached_audio_input: self.cached_audio_input.clone(),
            audio_output: self.audio_output.clone(),
            image_input: self.image_input.clone(),
            cached_image_input: self.cached_image_input.clone(),
            image_output: self.image_output.clone(),
            per_minute: self.per_minute.clone(),
            per_1m_characters: self.per_1m_characters.clone(),
            images: self.images.clone(),
        }
    }

    /// Checks the entry and turns it into exact rates. The error says what to fix.
    pub fn compile(&self, origin: Origin) -> Result<PriceEntry, String> {
        let at = |m: String| format!("{}/{} ({}): {m}", self.provider, self.model, self.effective_from);
        if !id_ok(&self.provider) || self.provider != self.provider.to_ascii_lowercase() {
            return Err(at("provider must be a lower-case id like openai".to_owned()));
        }
        if !id_ok(&self.model) {
            return Err(at("model id must be 1 to 128 characters from [A-Za-z0-9-._:/@]".to_owned()));
        }
        if self.source.trim().is_empty() {
            return Err(at("every price needs a source (a URL, or who negotiated it)".to_owned()));
        }
        let effective_from = parse_day(&self.effective_from).map_err(at)?;
        let rates_spec = self.rates();
        if rates_spec.is_empty() && self.training.is_none() && self.training_per_hour.is_none() {
            return Err(at("no price at all: give at least one of input, output, per_minute, per_1m_characters, images, training".to_owned()));
        }
        let rates = rates_spec.compile().map_err(at)?;
        let long_context = match &self.long_context {
            None => LongContext::None,
            Some(l) => {
                let lr = l.rates();
                if lr.images.is_some() || lr.per_minute.is_some() || lr.per_1m_characters.is_some() {
                    return Err(at("long_context holds token rates only".to_owned()));
                }
                if l.above == 0 {
                    return Err(at("long_context.above must be a token count above 0".to_owned()));
                }
                LongContext::Above { above: l.above, rates: lr.compile().map_err(at)? }
            }
        };
        let standard = Tariff { rates, long_context };
        let tier = |t: &Option<TierSpec>, name: &str| {
            t.as_ref().map(|t| compile_tier(t, &standard).map_err(|e| at(format!("{name}: {e}")))).transpose()
        };
        Ok(PriceEntry {
            provider: Cow::Owned(self.provider.clone()),
            model: Cow::Owned(self.model.clone()),
            effective_from,
            origin,
            batch: tier(&self.batch, "batch")?,
            flex: tier(&self.flex, "flex")?,
            priority: tier(&self.priority, "priority")?,
            standard,
            training: per_m("training", &self.training).map_err(at)?,
            training_per_hour: usd("training_per_hour", &self.training_per_hour).map_err(at)?,
            source: Cow::Owned(self.source.clone()),
        })
    }
}

impl RegistrySpec {
    /// Every entry compiled, sorted by (provider, model, effective_from), no key twice.
    pub fn compile(&self) -> Result<Vec<PriceEntry>, String> {
        if !id_ok(&self.version) {
            return Err(format!("registry version `{}` must be a short id", self.version));
        }
        let mut out: Vec<PriceEntry> = Vec::with_capacity(self.model.len());
        for e in &self.model {
            out.push(e.compile(Origin::Registry)?);
        }
        out.sort_by(|a, b| (&a.provider, &a.model, a.effective_from).cmp(&(&b.provider, &b.model, b.effective_from)));
        for w in out.windows(2) {
            if (&w[0].provider, &w[0].model, w[0].effective_from) == (&w[1].provider, &w[1].model, w[1].effective_from) {
                return Err(format!("{}/{} ({}): listed twice", w[1].provider, w[1].model, w[1].effective_from.to_iso()));
            }
        }
        Ok(out)
    }
}
