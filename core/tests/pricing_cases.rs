//! The cost of real calls, worked out by hand from the listed price.
//!
//! Arithmetic used throughout: a price of $P per 1M tokens is P x 1000 nano-USD per token
//! ($2.50/M = 2,500 nano per token). Each expected cost is the sum of its lines, shown in
//! the comment, rounded half up to the nano-USD once. Prices are those of
//! `core/prices/registry.toml`; a change there must be a deliberate change here.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use llmobserve_core::money::NanoUsd;
use llmobserve_core::pricing::{PriceBook, UnpricedReason};
use llmobserve_core::time::Day;
use llmobserve_core::usage::{ImageQuality, ImageSize, Images, ServiceTier, Usage};

const TODAY: Day = Day(20261128);

fn tok(input: u64, cached: u64, output: u64) -> Usage {
    Usage { input_tokens: input, cached_input_tokens: cached, output_tokens: output, ..Usage::default() }
}

fn tier(u: Usage, t: ServiceTier) -> Usage {
    Usage { service_tier: t, ..u }
}

fn images(count: u64, size: &str, quality: &str) -> Usage {
    Usage {
        images: Some(Images {
            count,
            size: ImageSize::parse(size).unwrap(),
            quality: ImageQuality::parse(quality).unwrap(),
        }),
        ..Usage::default()
    }
}

enum Expect {
    Nanos(u64),
    Unpriced(UnpricedReason),
}
use Expect::{Nanos, Unpriced};

struct Case {
    name: &'static str,
    provider: &'static str,
    model: &'static str,
    day: Day,
    usage: Option<Usage>,
    expect: Expect,
}

fn case(name: &'static str, provider: &'static str, model: &'static str, day: Day, usage: Usage, expect: Expect) -> Case {
    Case { name, provider, model, day, usage: Some(usage), expect }
}

fn cases() -> Vec<Case> {
    use ServiceTier::*;
    use UnpricedReason as R;
    let oa = "openai";
    vec![
        // ---- OpenAI text ----
        // gpt-4o $2.50 / $10: 1000 x 2,500 + 500 x 10,000
        case("gpt-4o in+out", oa, "gpt-4o", TODAY, tok(1000, 0, 500), Nanos(2_500_000 + 5_000_000)),
        // snapshot has its own entry, $2.50 / $1.25 cached / $10: 500 x 2,500 + 1,500 x 1,250 + 100 x 10,000
        case("gpt-4o snapshot with cache", oa, "gpt-4o-2024-08-06", TODAY, tok(2000, 1500, 100), Nanos(1_250_000 + 1_875_000 + 1_000_000)),
        // snapshot -> family gpt-4o-mini $0.15 / $0.075 / $0.60: 176 x 150 + 1,024 x 75 + 300 x 600
        case("gpt-4o-mini snapshot resolves to family", oa, "gpt-4o-mini-2024-07-18", TODAY, tok(1200, 1024, 300), Nanos(26_400 + 76_800 + 180_000)),
        // gpt-4o before 2024-10-02 was $5 / $15: 1000 x 5,000 + 1000 x 15,000
        case("gpt-4o alias at its 2024 price", oa, "gpt-4o", Day(20240601), tok(1000, 0, 1000), Nanos(5_000_000 + 15_000_000)),
        // gpt-4.1 $2 / $8: 10,000 x 2,000 + 2,000 x 8,000
        case("gpt-4.1", oa, "gpt-4.1", TODAY, tok(10_000, 0, 2_000), Nanos(20_000_000 + 16_000_000)),
        // gpt-4.1-mini $0.40 / $0.10 / $1.60: 2,000 x 400 + 8,000 x 100 + 500 x 1,600
        case("gpt-4.1-mini cached", oa, "gpt-4.1-mini", TODAY, tok(10_000, 8_000, 500), Nanos(800_000 + 800_000 + 800_000)),
        // gpt-4.1-nano $0.10 / $0.40: 1 x 100 + 1 x 400
        case("gpt-4.1-nano one token each", oa, "gpt-4.1-nano", TODAY, tok(1, 0, 1), Nanos(500)),
        // o3 before the 2025-06-10 cut, $10 / $40: 1000 x 10,000 + 1000 x 40,000 (reasoning is in output)
        case("o3 before the cut", oa, "o3", Day(20250601), Usage { reasoning_tokens: 800, ..tok(1000, 0, 1000) }, Nanos(10_000_000 + 40_000_000)),
        // o3 after, $2 / $8: 1000 x 2,000 + 1000 x 8,000
        case("o3 after the cut", oa, "o3", TODAY, Usage { reasoning_tokens: 800, ..tok(1000, 0, 1000) }, Nanos(2_000_000 + 8_000_000)),
        // o4-mini $1.10 / $4.40: 500 x 1,100 + 2,000 x 4,400 (1,800 of them reasoning)
        case("o4-mini reasoning billed as output", oa, "o4-mini-2025-04-16", Day(20251001), Usage { reasoning_tokens: 1800, ..tok(500, 0, 2000) }, Nanos(550_000 + 8_800_000)),
        // gpt-5 $1.25 / $0.125 / $10: 1,000 x 1,250 + 9,000 x 125 + 1,000 x 10,000
        case("gpt-5 mostly cached", oa, "gpt-5", TODAY, tok(10_000, 9_000, 1_000), Nanos(1_250_000 + 1_125_000 + 10_000_000)),
        // gpt-5-mini $0.25 / $2: 3 x 250 + 7 x 2,000
        case("gpt-5-mini small call", oa, "gpt-5-mini", TODAY, tok(3, 0, 7), Nanos(750 + 14_000)),
        // gpt-5-nano $0.05: 1 x 50
        case("gpt-5-nano one token", oa, "gpt-5-nano", TODAY, tok(1, 0, 0), Nanos(50)),
        // gpt-5.4 $2.50 / $15: 100,000 x 2,500 + 10,000 x 15,000
        case("gpt-5.4 short context", oa, "gpt-5.4", TODAY, tok(100_000, 0, 10_000), Nanos(250_000_000 + 150_000_000)),
        // exactly 272,000 input is not above the threshold: 272,000 x 2,500
        case("gpt-5.4 at the threshold", oa, "gpt-5.4", TODAY, tok(272_000, 0, 0), Nanos(680_000_000)),
        // above 272K the whole request is at $5 / $0.50 / $22.50: 200,000 x 5,000 + 100,000 x 500 + 10,000 x 22,500
        case("gpt-5.4 long context", oa, "gpt-5.4", TODAY, tok(300_000, 100_000, 10_000), Nanos(1_000_000_000 + 50_000_000 + 225_000_000)),
        // gpt-5.6-sol launch $5 / $0.50 / cache write $6.25 / $30:
        // text 10,000 - 4,000 cached - 2,000 written = 4,000 x 5,000; 4,000 x 500; 2,000 x 6,250; 1,000 x 30,000
        case("gpt-5.6-sol cache write at launch price", oa, "gpt-5.6-sol", Day(20260801),
             Usage { cache_write_tokens: 2_000, ..tok(10_000, 4_000, 1_000) }, Nanos(20_000_000 + 2_000_000 + 12_500_000 + 30_000_000)),
        // promotional $4 / $0.40 / $5 / $20: 4,000 x 4,000 + 4,000 x 400 + 2,000 x 5,000 + 1,000 x 20,000
        case("gpt-5.6-sol cache write at promo price", oa, "gpt-5.6-sol", TODAY,
             Usage { cache_write_tokens: 2_000, ..tok(10_000, 4_000, 1_000) }, Nanos(16_000_000 + 1_600_000 + 10_000_000 + 20_000_000)),
        // gpt-6.2-sol $2: 1,000,000 x 2,000
        case("gpt-6.2-sol one million input", oa, "gpt-6.2-sol", TODAY, tok(1_000_000, 0, 0), Nanos(2_000_000_000)),
        // gpt-5.5-pro has no cached rate, so cached tokens are billed in full: 1,000 x 30,000 + 100 x 180,000
        case("pro model bills cached tokens in full", oa, "gpt-5.5-pro", TODAY, tok(1000, 500, 100), Nanos(30_000_000 + 18_000_000)),
        // gpt-3.5-turbo-0125 $0.50 / $1.50 (own entry)
        case("gpt-3.5-turbo-0125", oa, "gpt-3.5-turbo-0125", Day(20250101), tok(1000, 0, 1000), Nanos(500_000 + 1_500_000)),
        // gpt-4-0613 $30 / $60: 100 x 30,000 + 100 x 60,000
        case("gpt-4-0613 legacy", oa, "gpt-4-0613", Day(20240101), tok(100, 0, 100), Nanos(3_000_000 + 6_000_000)),
        // ---- embeddings ----
        // text-embedding-3-small $0.02: 1,000,000 x 20
        case("embedding small", oa, "text-embedding-3-small", TODAY, tok(1_000_000, 0, 0), Nanos(20_000_000)),
        // text-embedding-3-large $0.13: 8 x 130
        case("embedding large", oa, "text-embedding-3-large", TODAY, tok(8, 0, 0), Nanos(1_040)),
        // batch 50%: $0.01 -> 1,000 x 10
        case("embedding batch", oa, "text-embedding-3-small", TODAY, tier(tok(1_000, 0, 0), Batch), Nanos(10_000)),
        // ---- service tiers ----
        // gpt-5 flex 50% = $0.625 / $5: 10,000 x 625 + 1,000 x 5,000
        case("gpt-5 flex", oa, "gpt-5", TODAY, tier(tok(10_000, 0, 1_000), Flex), Nanos(6_250_000 + 5_000_000)),
        // gpt-5 priority $2.50 / $0.25 / $20: 5,000 x 2,500 + 5,000 x 250 + 1,000 x 20,000
        case("gpt-5 priority", oa, "gpt-5", TODAY, tier(tok(10_000, 5_000, 1_000), Priority), Nanos(12_500_000 + 1_250_000 + 20_000_000)),
        // gpt-4.1 batch $1 / $4: 1,000,000 x 1,000 + 100,000 x 4,000
        case("gpt-4.1 batch", oa, "gpt-4.1", TODAY, tier(tok(1_000_000, 0, 100_000), Batch), Nanos(1_000_000_000 + 400_000_000)),
        // o3 flex $1 / $4: 1,000 x 1,000 + 1,000 x 4,000
        case("o3 flex", oa, "o3", TODAY, tier(tok(1000, 0, 1000), Flex), Nanos(1_000_000 + 4_000_000)),
        // gpt-4o-mini priority $0.25 / $1: 1,000 x 250 + 1,000 x 1,000
        case("gpt-4o-mini priority", oa, "gpt-4o-mini", TODAY, tier(tok(1000, 0, 1000), Priority), Nanos(250_000 + 1_000_000)),
        case("no flex price for gpt-4.1-nano", oa, "gpt-4.1-nano", TODAY, tier(tok(10, 0, 10), Flex), Unpriced(R::TierNotPriced)),
        case("scale tier is not priced", oa, "gpt-4o", TODAY, tier(tok(10, 0, 10), Other), Unpriced(R::TierNotPriced)),
        case("priority has no long-context price", oa, "gpt-5.4", TODAY, tier(tok(300_000, 0, 10), Priority), Unpriced(R::LongContextNotPriced)),
        // batch of a long request: long rates x 50% = $2.50 / $11.25: 300,000 x 2,500 + 1,000 x 11,250
        case("gpt-5.4 batch long context", oa, "gpt-5.4", TODAY, tier(tok(300_000, 0, 1_000), Batch), Nanos(750_000_000 + 11_250_000)),
        // ---- audio ----
        // gpt-4o-audio-preview text $2.50 / $10, audio $40 / $80:
        // 200 x 2,500 + 800 x 40,000 + 100 x 10,000 + 400 x 80,000
        case("gpt-4o-audio-preview", oa, "gpt-4o-audio-preview", TODAY,
             Usage { audio_input_tokens: 800, audio_output_tokens: 400, ..tok(1000, 0, 500) }, Nanos(500_000 + 32_000_000 + 1_000_000 + 32_000_000)),
        // gpt-4o-mini-audio-preview audio in $10: 100 x 10,000
        case("gpt-4o-mini-audio-preview audio in", oa, "gpt-4o-mini-audio-preview", TODAY, Usage { audio_input_tokens: 100, ..tok(100, 0, 0) }, Nanos(1_000_000)),
        // gpt-audio $32 / $64: 1,000 x 32,000 + 1,000 x 64,000
        case("gpt-audio all audio", oa, "gpt-audio", TODAY, Usage { audio_input_tokens: 1000, audio_output_tokens: 1000, ..tok(1000, 0, 1000) }, Nanos(32_000_000 + 64_000_000)),
        // gpt-realtime: text $4 / $0.40 / $16, audio $32 / $0.40 / $64, image $5 / $0.50.
        // cached text 5,000 - 3,000 - 500 = 1,500; uncached text 10,000 - 6,000 - 1,000 - 1,500 = 1,500.
        // 1,500 x 4,000 + 1,500 x 400 + 3,000 x 32,000 + 3,000 x 400 + 500 x 5,000 + 500 x 500 + 500 x 16,000 + 1,500 x 64,000
        case("gpt-realtime every modality", oa, "gpt-realtime", TODAY,
             Usage { audio_input_tokens: 6_000, image_input_tokens: 1_000, cached_audio_input_tokens: 3_000, cached_image_input_tokens: 500,
                     audio_output_tokens: 1_500, ..tok(10_000, 5_000, 2_000) },
             Nanos(6_000_000 + 600_000 + 96_000_000 + 1_200_000 + 2_500_000 + 250_000 + 8_000_000 + 96_000_000)),
        // gpt-realtime-mini cached audio $0.30, audio out $20: 1,000 x 300 + 100 x 20,000
        case("gpt-realtime-mini cached audio", oa, "gpt-realtime-mini-2025-10-06", TODAY,
             Usage { audio_input_tokens: 1000, cached_audio_input_tokens: 1000, audio_output_tokens: 100, ..tok(1000, 1000, 100) }, Nanos(300_000 + 2_000_000)),
        case("audio tokens on a text model", oa, "gpt-4o", TODAY, Usage { audio_input_tokens: 10, ..tok(10, 0, 0) }, Unpriced(R::AudioNotPriced)),
        // ---- transcription ----
        // whisper-1 $0.006/min = 6,000,000 nano per 60,000 ms = 100 nano per ms: 61,000 x 100
        case("whisper-1 61 seconds", oa, "whisper-1", TODAY, Usage { audio_duration_ms: 61_000, ..Usage::default() }, Nanos(6_100_000)),
        case("whisper-1 one millisecond", oa, "whisper-1", TODAY, Usage { audio_duration_ms: 1, ..Usage::default() }, Nanos(100)),
        case("whisper-1 1.234 seconds", oa, "whisper-1", TODAY, Usage { audio_duration_ms: 1_234, ..Usage::default() }, Nanos(123_400)),
        // gpt-4o-transcribe text $2.50, audio $6, out $10: 20 x 2,500 + 100 x 6,000 + 30 x 10,000
        case("gpt-4o-transcribe tokens", oa, "gpt-4o-transcribe", TODAY, Usage { audio_input_tokens: 100, ..tok(120, 0, 30) }, Nanos(50_000 + 600_000 + 300_000)),
        // billed by tokens; the duration is informational: 1,000 x 3,000 + 50 x 5,000
        case("gpt-4o-mini-transcribe ignores duration", oa, "gpt-4o-mini-transcribe", TODAY,
             Usage { audio_input_tokens: 1000, audio_duration_ms: 60_000, ..tok(1000, 0, 50) }, Nanos(3_000_000 + 250_000)),
        case("token-billed transcriber without tokens", oa, "gpt-4o-transcribe", TODAY, Usage { audio_duration_ms: 60_000, ..Usage::default() }, Unpriced(R::DurationNotPriced)),
        // ---- speech ----
        // tts-1 $15 per 1M characters = 15,000 nano per character: 1,000 x 15,000
        case("tts-1 characters", oa, "tts-1", TODAY, Usage { characters: 1000, ..Usage::default() }, Nanos(15_000_000)),
        // tts-1-hd $30: 333 x 30,000
        case("tts-1-hd characters", oa, "tts-1-hd", TODAY, Usage { characters: 333, ..Usage::default() }, Nanos(9_990_000)),
        // gpt-4o-mini-tts text in $0.60, audio out $12: 100 x 600 + 1,000 x 12,000
        case("gpt-4o-mini-tts tokens", oa, "gpt-4o-mini-tts", TODAY, Usage { audio_output_tokens: 1000, ..tok(100, 0, 1000) }, Nanos(60_000 + 12_000_000)),
        case("gpt-4o-mini-tts characters alone", oa, "gpt-4o-mini-tts", TODAY, Usage { characters: 1000, ..Usage::default() }, Unpriced(R::CharactersNotPriced)),
        // ---- images ----
        // dall-e-3 1024x1024 standard $0.040 = 40,000,000 nano
        case("dall-e-3 standard square", oa, "dall-e-3", TODAY, images(1, "1024x1024", "standard"), Nanos(40_000_000)),
        // dall-e-3 1792x1024 hd $0.120 x 2
        case("dall-e-3 hd wide x2", oa, "dall-e-3", TODAY, images(2, "1792x1024", "hd"), Nanos(240_000_000)),
        // dall-e-2 256x256 $0.016 x 10
        case("dall-e-2 small x10", oa, "dall-e-2", TODAY, images(10, "256x256", "standard"), Nanos(160_000_000)),
        // dall-e-2 512x512 $0.018, batch 50% = $0.009 x 4
        case("dall-e-2 batch", oa, "dall-e-2", TODAY, tier(images(4, "512x512", "standard"), Batch), Nanos(36_000_000)),
        case("dall-e-3 unlisted size", oa, "dall-e-3", TODAY, images(1, "512x512", "standard"), Unpriced(R::ImagesNotPriced)),
        // gpt-image-1 text in $5, image out $40: 50 x 5,000 + 4,160 x 40,000
        case("gpt-image-1 generation", oa, "gpt-image-1", TODAY, Usage { image_output_tokens: 4160, ..tok(50, 0, 4160) }, Nanos(250_000 + 166_400_000)),
        // edit: text 100 x 5,000 + image in 900 x 10,000 + image out 1,056 x 40,000
        case("gpt-image-1 edit", oa, "gpt-image-1", TODAY,
             Usage { image_input_tokens: 900, image_output_tokens: 1056, ..tok(1000, 0, 1056) }, Nanos(500_000 + 9_000_000 + 42_240_000)),
        // gpt-image-1-mini bills tokens; the image count is informational: 20 x 2,000 + 272 x 8,000
        case("gpt-image-1-mini tokens, count ignored", oa, "gpt-image-1-mini", TODAY,
             Usage { image_output_tokens: 272, ..Usage { images: images(1, "1024x1024", "low").images, ..tok(20, 0, 272) } }, Nanos(40_000 + 2_176_000)),
        // gpt-image-1.5 text in $5, text out $10, image out $32: 100 x 5,000 + 100 x 10,000 + 1,000 x 32,000
        case("gpt-image-1.5 text and image out", oa, "gpt-image-1.5", TODAY, Usage { image_output_tokens: 1000, ..tok(100, 0, 1100) }, Nanos(500_000 + 1_000_000 + 32_000_000)),
        // ---- moderation: free, priced at a real 0 ----
        case("moderation is free", oa, "omni-moderation-2024-09-26", TODAY, tok(1000, 0, 0), Nanos(0)),
        // ---- fine-tuned ----
        // ft:gpt-4o-mini $0.30 / $1.20: 1,000 x 300 + 1,000 x 1,200
        case("fine-tuned gpt-4o-mini", oa, "ft:gpt-4o-mini-2024-07-18:acme:support:AbC123", TODAY, tok(1000, 0, 1000), Nanos(300_000 + 1_200_000)),
        // ft:gpt-4o $3.75 / $15: 1,000 x 3,750 + 100 x 15,000
        case("fine-tuned gpt-4o", oa, "ft:gpt-4o-2024-08-06:org::x1", TODAY, tok(1000, 0, 100), Nanos(3_750_000 + 1_500_000)),
        // ---- Anthropic (normalised usage) ----
        // claude-sonnet-4-5 $3 / read $0.30 / 5m write $3.75 / $15:
        // 1,000 x 3,000 + 2,000 x 300 + 500 x 3,750 + 300 x 15,000
        case("claude sonnet 4.5 with cache", "anthropic", "claude-sonnet-4-5-20250929", TODAY,
             Usage::from_anthropic(1000, 2000, 500, 0, 300), Nanos(3_000_000 + 600_000 + 1_875_000 + 4_500_000)),
        // claude-opus-4-1 $15 / 1h write $30 / $75: 100 x 15,000 + 1,000 x 30,000 + 50 x 75,000
        case("claude opus 4.1 one-hour cache write", "anthropic", "claude-opus-4-1-20250805", TODAY,
             Usage::from_anthropic(100, 0, 0, 1000, 50), Nanos(1_500_000 + 30_000_000 + 3_750_000)),
        // above 200K input: $6 / $22.50 for the whole request: 250,000 x 6,000 + 1,000 x 22,500
        case("claude sonnet 4.5 long context", "anthropic", "claude-sonnet-4-5", TODAY,
             Usage::from_anthropic(250_000, 0, 0, 0, 1000), Nanos(1_500_000_000 + 22_500_000)),
        // claude-haiku-4-5 batch 50% = $0.50 / $2.50: 1,000 x 500 + 1,000 x 2,500
        case("claude haiku 4.5 batch", "anthropic", "claude-haiku-4-5-20251001", TODAY, tier(Usage::from_anthropic(1000, 0, 0, 0, 1000), Batch), Nanos(500_000 + 2_500_000)),
        // claude-sonnet-5 $2 / $10: 1,000 x 2,000 + 1,000 x 10,000
        case("claude sonnet 5", "anthropic", "claude-sonnet-5", TODAY, tok(1000, 0, 1000), Nanos(2_000_000 + 10_000_000)),
        // claude-sonnet-5-5 cache reads $0.20 until 2026-10-06, $0.10 from 2026-10-07: 10,000 x 200 / 10,000 x 100
        case("claude sonnet 5.5 cache read before the cut", "anthropic", "claude-sonnet-5-5", Day(20261006), Usage::from_anthropic(0, 10_000, 0, 0, 0), Nanos(2_000_000)),
        case("claude sonnet 5.5 cache read after the cut", "anthropic", "claude-sonnet-5-5", TODAY, Usage::from_anthropic(0, 10_000, 0, 0, 0), Nanos(1_000_000)),
        // claude-haiku-5-5 up to 100K prompt: $0.10 / $0.50: 100,000 x 100 + 1,000 x 500
        case("claude haiku 5.5 at 100K", "anthropic", "claude-haiku-5-5", TODAY, Usage::from_anthropic(100_000, 0, 0, 0, 1_000), Nanos(10_000_000 + 500_000)),
        // above 100K (reads count): every token at $0.50 / read $0.05 / $2.50: 90,000 x 500 + 20,000 x 50 + 1,000 x 2,500
        case("claude haiku 5.5 above 100K", "anthropic", "claude-haiku-5-5", TODAY, Usage::from_anthropic(90_000, 20_000, 0, 0, 1_000), Nanos(45_000_000 + 1_000_000 + 2_500_000)),
        // claude-opus-5-5 $4 / 1h write $8 / $20: 1,000 x 4,000 + 1,000 x 8,000 + 1,000 x 20,000
        case("claude opus 5.5 one-hour write", "anthropic", "claude-opus-5-5", TODAY, Usage::from_anthropic(1_000, 0, 0, 1_000, 1_000), Nanos(4_000_000 + 8_000_000 + 20_000_000)),
        // claude-3-haiku $0.25 / $1.25: 4,000 x 250 + 1,000 x 1,250
        case("claude 3 haiku", "anthropic", "claude-3-haiku-20240307", TODAY, tok(4000, 0, 1000), Nanos(1_000_000 + 1_250_000)),
        case("anthropic 1h write on a model without it", "anthropic", "no-such-claude", TODAY, Usage::from_anthropic(1, 0, 0, 1, 1), Unpriced(R::UnknownModel)),
        // ---- Google Gemini (normalised usage) ----
        // gemini-2.5-pro $1.25 / $10, thoughts are output: 10,000 x 1,250 + (500 + 1,500) x 10,000
        case("gemini 2.5 pro thinking", "google", "gemini-2.5-pro", TODAY, Usage::from_gemini(10_000, 0, 500, 1_500), Nanos(12_500_000 + 20_000_000)),
        // above 200K: $2.50 / $0.25 / $15: 200,000 x 2,500 + 50,000 x 250 + 1,000 x 15,000
        case("gemini 2.5 pro long context", "google", "gemini-2.5-pro", TODAY, Usage::from_gemini(250_000, 50_000, 1_000, 0), Nanos(500_000_000 + 12_500_000 + 15_000_000)),
        // gemini-2.5-flash text $0.30, audio $1, out $2.50: 400 x 300 + 600 x 1,000 + 100 x 2,500
        case("gemini 2.5 flash audio", "google", "gemini-2.5-flash", TODAY, Usage { audio_input_tokens: 600, ..tok(1000, 0, 100) }, Nanos(120_000 + 600_000 + 250_000)),
        // gemini-2.0-flash-lite $0.075 / $0.30: 1M x 75 + 1M x 300
        case("gemini 2.0 flash lite", "google", "gemini-2.0-flash-lite", TODAY, tok(1_000_000, 0, 1_000_000), Nanos(75_000_000 + 300_000_000)),
        // gemini-3.6-flash $0.75 / $3.75 through 2026, $1.50 / $7.50 from 2027-01-01
        case("gemini 3.6 flash introductory", "google", "gemini-3.6-flash", Day(20261231), tok(1000, 0, 1000), Nanos(750_000 + 3_750_000)),
        case("gemini 3.6 flash from 2027", "google", "gemini-3.6-flash", Day(20270101), tok(1000, 0, 1000), Nanos(1_500_000 + 7_500_000)),
        // gemini-2.5-flash-image image out $30: 100 x 300 + 1,290 x 30,000
        case("gemini image output", "google", "gemini-2.5-flash-image", TODAY, Usage { image_output_tokens: 1290, ..tok(100, 0, 1290) }, Nanos(30_000 + 38_700_000)),
        // provider alias `gemini`: gemini-2.5-flash-lite $0.10 / $0.40
        case("provider alias gemini", "gemini", "gemini-2.5-flash-lite", TODAY, tok(1000, 0, 1000), Nanos(100_000 + 400_000)),
        // ---- Mistral ----
        // mistral-medium-2508 -> mistral-medium $0.40 / $2
        case("mistral medium snapshot", "mistral", "mistral-medium-2508", TODAY, tok(1000, 0, 1000), Nanos(400_000 + 2_000_000)),
        // mistral-large-2512 cached $0.05: 1,000 x 50
        case("mistral large 3 cached", "mistral", "mistral-large-2512", TODAY, tok(1000, 1000, 0), Nanos(50_000)),
        case("mistral embed", "mistralai", "mistral-embed", TODAY, tok(1000, 0, 0), Nanos(100_000)),
        // ---- Groq ----
        // llama-3.3-70b-versatile $0.59 / $0.79
        case("groq llama 3.3 70b", "groq", "llama-3.3-70b-versatile", TODAY, tok(1_000_000, 0, 1_000_000), Nanos(590_000_000 + 790_000_000)),
        // openai/gpt-oss-20b cached $0.0375 = 37.5 nano per token: 1 token rounds half up to 38 ...
        case("groq half a nano rounds up", "groq", "openai/gpt-oss-20b", TODAY, tok(1, 1, 0), Nanos(38)),
        // ... but 2 tokens are exactly 75: rounding happens once, at the end
        case("groq rounding once", "groq", "openai/gpt-oss-20b", TODAY, tok(2, 2, 0), Nanos(75)),
        // llama-4-scout $0.11 / $0.34: 3 x 110 + 3 x 340
        case("groq model id with a slash", "groq", "meta-llama/llama-4-scout-17b-16e-instruct", TODAY, tok(3, 0, 3), Nanos(330 + 1_020)),
        // ---- xAI ----
        // grok-4-0709 $3 / $0.75 / $15: 500 x 3,000 + 500 x 750 + 100 x 15,000
        case("grok 4", "xai", "grok-4-0709", TODAY, tok(1000, 500, 100), Nanos(1_500_000 + 375_000 + 1_500_000)),
        // provider alias x-ai; grok-code-fast-1 $0.20 / $1.50
        case("grok code fast", "x-ai", "grok-code-fast-1", TODAY, tok(10_000, 0, 1_000), Nanos(2_000_000 + 1_500_000)),
        // ---- unpriced, never $0 ----
        case("unknown model", oa, "my-local-llama", TODAY, tok(10, 0, 10), Unpriced(R::UnknownModel)),
        case("model used before its first price", oa, "gpt-4o", Day(20200101), tok(10, 0, 10), Unpriced(R::UnknownModel)),
        case("deepseek is not in the registry", "deepseek", "deepseek-chat", TODAY, tok(10, 0, 10), Unpriced(R::UnknownModel)),
        case("more cached than prompt tokens", oa, "gpt-4o", TODAY, tok(10, 11, 0), Unpriced(R::InvalidUsage)),
        Case { name: "no usage", provider: oa, model: "gpt-4o", day: TODAY, usage: None, expect: Unpriced(R::NoUsage) },
    ]
}

#[test]
fn every_case_costs_what_the_hand_arithmetic_says() {
    let book = PriceBook::registry();
    let all = cases();
    assert!(all.len() >= 60, "the table must keep at least 60 cases, has {}", all.len());
    let mut failures = Vec::new();
    for c in &all {
        let got = book.price(c.provider, c.model, c.day, c.usage.as_ref());
        let ok = match (&c.expect, &got) {
            (Nanos(n), g) => g.cost() == NanoUsd::new(*n),
            (Unpriced(r), llmobserve_core::pricing::Costing::Unpriced(g)) => r == g,
            _ => false,
        };
        if !ok {
            failures.push(format!("{}: got {got:?}", c.name));
        }
    }
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), all.len(), failures.join("\n"));
}

#[test]
fn fine_tuning_jobs_are_priced_by_trained_tokens_or_hours() {
    let book = PriceBook::registry();
    // gpt-4o-mini training $3.00 per 1M trained tokens: 1,000,000 x 3,000
    let c = book.price_training("openai", "gpt-4o-mini-2024-07-18", TODAY, 1_000_000, 0);
    assert_eq!(c.cost().map(NanoUsd::nanos), Some(3_000_000_000));
    // gpt-4o training $25: 40,000 x 25,000
    let c = book.price_training("openai", "gpt-4o-2024-08-06", TODAY, 40_000, 0);
    assert_eq!(c.cost().map(NanoUsd::nanos), Some(1_000_000_000));
    // o4-mini reinforcement fine-tuning $100 per hour: 1.5 h = 5,400,000 ms -> $150
    let c = book.price_training("openai", "o4-mini-2025-04-16", TODAY, 0, 5_400_000);
    assert_eq!(c.cost().map(NanoUsd::nanos), Some(150_000_000_000));
    // one second of RFT: $100 / 3600 = 27,777,777.8 nano -> 27,777,778
    let c = book.price_training("openai", "o4-mini-2025-04-16", TODAY, 0, 1_000);
    assert_eq!(c.cost().map(NanoUsd::nanos), Some(27_777_778));
    // trained tokens on an hourly-billed model, and a base without a training price
    assert_eq!(book.price_training("openai", "o4-mini", TODAY, 10, 0).cost(), None);
    assert_eq!(book.price_training("openai", "gpt-5", TODAY, 10, 0).cost(), None);
}

#[test]
fn price_refs_name_the_entry_and_the_tier() {
    let book = PriceBook::registry();
    let u = tier(tok(10, 0, 10), ServiceTier::Flex);
    assert_eq!(book.price("openai", "gpt-5-2025-08-07", TODAY, Some(&u)).price_ref().as_deref(), Some("openai/gpt-5@2025-08-07#flex"));
    let u = tok(10, 0, 10);
    assert_eq!(book.price("openai", "o3", TODAY, Some(&u)).price_ref().as_deref(), Some("openai/o3@2025-06-10"));
}
