//! `POST /v1/audio/transcriptions`, `/v1/audio/translations` (multipart) and
//! `/v1/audio/speech` (JSON in, audio bytes out).

use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Response, StatusCode};
use serde_json::Value;

use crate::json::J;
use crate::{add_common_headers, Answer, Ctx, MockBody};

/// Default seconds of audio: uploaded bytes divided by this (16 kB/s), at least 1.
pub const BYTES_PER_SECOND: u64 = 16_000;
/// Default audio input tokens per (started) second for the token-billed transcribe models.
pub const AUDIO_TOKENS_PER_SECOND: u64 = 10;
/// Bytes of speech per character of input.
pub const SPEECH_BYTES_PER_CHAR: usize = 256;

/// Whether a transcription model is billed in tokens (gpt-4o(-mini)-transcribe...) rather
/// than by duration (whisper-1).
pub fn token_billed(model: &str) -> bool {
    model.contains("transcribe")
}

fn timestamp(seconds: f64, decimal: char) -> String {
    let ms = (seconds * 1000.0).round() as u64;
    format!(
        "{:02}:{:02}:{:02}{decimal}{:03}",
        ms / 3_600_000,
        ms / 60_000 % 60,
        ms / 1000 % 60,
        ms % 1000
    )
}

fn text_reply(ctx: &Ctx, text: String) -> Answer {
    let mut response = Response::new(MockBody::full(text));
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    add_common_headers(headers, &ctx.request_id, ctx.started);
    Ok(response)
}

pub(crate) fn transcribe(ctx: &Ctx, translate: bool) -> Answer {
    let form = ctx.form()?;
    let Some(file) = form.file("file") else {
        return Err(ctx.invalid("you must provide a file", Some("file")));
    };
    let Some(model) = form.field("model") else {
        return Err(ctx.invalid("you must provide a model parameter", Some("model")));
    };
    let seconds = ctx
        .mock
        .audio_seconds
        .unwrap_or_else(|| ((file.data.len() as u64) / BYTES_PER_SECOND).max(1) as f64);
    let text = ctx.reply(|| {
        if translate {
            "mock translation".to_owned()
        } else {
            "mock transcription".to_owned()
        }
    });
    let usage = if token_billed(&model) {
        let prompt_bytes = form.field("prompt").map_or(0, |p| p.len() as u64);
        let (text_tokens, audio_tokens) = match ctx.mock.prompt_tokens {
            Some(input) => (prompt_bytes.min(input), input - prompt_bytes.min(input)),
            None => (
                prompt_bytes,
                (seconds.ceil() as u64).saturating_mul(AUDIO_TOKENS_PER_SECOND),
            ),
        };
        let input = text_tokens.saturating_add(audio_tokens);
        let output = ctx.mock.completion_tokens.unwrap_or(text.len() as u64);
        obj! {
            "type" => "tokens",
            "input_tokens" => input,
            "input_token_details" => obj! {
                "text_tokens" => text_tokens,
                "audio_tokens" => audio_tokens,
            },
            "output_tokens" => output,
            "total_tokens" => input.saturating_add(output),
        }
    } else {
        obj! { "type" => "duration", "seconds" => J::seconds(seconds) }
    };
    let format = form
        .field("response_format")
        .unwrap_or_else(|| "json".to_owned());
    match format.as_str() {
        "json" | "diarized_json" => ctx.ok(&obj! { "text" => text, "usage" => usage }, None),
        "text" => text_reply(ctx, format!("{text}\n")),
        "srt" => text_reply(
            ctx,
            format!(
                "1\n{} --> {}\n{text}\n\n",
                timestamp(0.0, ','),
                timestamp(seconds, ',')
            ),
        ),
        "vtt" => text_reply(
            ctx,
            format!(
                "WEBVTT\n\n{} --> {}\n{text}\n\n",
                timestamp(0.0, '.'),
                timestamp(seconds, '.')
            ),
        ),
        "verbose_json" => {
            let segment = obj! {
                "id" => 0u64,
                "seek" => 0u64,
                "start" => 0.0,
                "end" => J::F(seconds),
                "text" => text.as_str(),
                "tokens" => J::arr((0..text.split_whitespace().count() as u64).map(|i| J::U(50_364 + i))),
                "temperature" => 0.0,
                "avg_logprob" => -0.25,
                "compression_ratio" => 1.0,
                "no_speech_prob" => 0.0,
            };
            let body = obj! {
                "task" => if translate { "translate" } else { "transcribe" },
                "language" => "english",
                "duration" => J::seconds(seconds),
                "text" => text.as_str(),
                "segments" => vec![segment],
                "usage" => usage,
            };
            ctx.ok(&body, None)
        }
        other => Err(ctx.invalid(
            &format!("'{other}' is not one of ['json', 'text', 'srt', 'verbose_json', 'vtt'] - 'response_format'"),
            Some("response_format"),
        )),
    }
}

/// The content type and leading bytes of a speech format.
fn speech_format(format: &str) -> Option<(&'static str, &'static [u8])> {
    Some(match format {
        "mp3" => ("audio/mpeg", b"ID3\x04\x00\x00\x00\x00\x00\x00\xff\xf3"),
        "opus" => ("audio/opus", b"OggS\x00\x02"),
        "aac" => ("audio/aac", b"\xff\xf1"),
        "flac" => ("audio/flac", b"fLaC"),
        "wav" => ("audio/wav", b"RIFF"),
        "pcm" => ("audio/pcm", b""),
        _ => return None,
    })
}

/// Deterministic audio bytes: `SPEECH_BYTES_PER_CHAR` per character of input (at least one
/// character's worth), starting with the format's magic bytes.
pub fn speech_bytes(format: &str, input: &str) -> Option<Vec<u8>> {
    let (_, magic) = speech_format(format)?;
    let len = input.chars().count().max(1) * SPEECH_BYTES_PER_CHAR;
    let mut out = Vec::with_capacity(len);
    if format == "wav" {
        // A canonical 44-byte header: PCM, mono, 24 kHz, 16-bit.
        let data_len = u32::try_from(len - 44).unwrap_or(u32::MAX);
        out.extend_from_slice(b"RIFF");
        out.extend_from_slice(&(data_len + 36).to_le_bytes());
        out.extend_from_slice(b"WAVEfmt ");
        out.extend_from_slice(&16u32.to_le_bytes());
        out.extend_from_slice(&1u16.to_le_bytes());
        out.extend_from_slice(&1u16.to_le_bytes());
        out.extend_from_slice(&24_000u32.to_le_bytes());
        out.extend_from_slice(&48_000u32.to_le_bytes());
        out.extend_from_slice(&2u16.to_le_bytes());
        out.extend_from_slice(&16u16.to_le_bytes());
        out.extend_from_slice(b"data");
        out.extend_from_slice(&data_len.to_le_bytes());
    } else {
        out.extend_from_slice(magic);
    }
    let mut i: u32 = 0;
    while out.len() < len {
        out.push((i.wrapping_mul(31) % 251) as u8);
        i = i.wrapping_add(1);
    }
    Some(out)
}

pub(crate) fn speech(ctx: &Ctx) -> Answer {
    let request = ctx.json_object()?;
    ctx.model(&request)?;
    let Some(input) = request.get("input").and_then(Value::as_str) else {
        return Err(ctx.invalid("you must provide an input", Some("input")));
    };
    let format = request
        .get("response_format")
        .and_then(Value::as_str)
        .unwrap_or("mp3");
    let (Some((content_type, _)), Some(bytes)) =
        (speech_format(format), speech_bytes(format, input))
    else {
        return Err(ctx.invalid(
            &format!("'{format}' is not one of ['mp3', 'opus', 'aac', 'flac', 'wav', 'pcm'] - 'response_format'"),
            Some("response_format"),
        ));
    };
    let mut response = Response::new(MockBody::full(bytes));
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    add_common_headers(headers, &ctx.request_id, ctx.started);
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speech_is_proportional_and_tagged() {
        let mp3 = speech_bytes("mp3", "hello").expect("mp3");
        assert_eq!(mp3.len(), 5 * SPEECH_BYTES_PER_CHAR);
        assert!(mp3.starts_with(b"ID3"));
        let wav = speech_bytes("wav", "héllo wörld").expect("wav");
        assert_eq!(wav.len(), 11 * SPEECH_BYTES_PER_CHAR);
        assert_eq!(&wav[8..12], b"WAVE");
        assert_eq!(speech_bytes("wav", "héllo wörld"), Some(wav));
        assert!(speech_bytes("ogg", "x").is_none());
    }

    #[test]
    fn timestamps() {
        assert_eq!(timestamp(3723.5, ','), "01:02:03,500");
        assert_eq!(timestamp(0.0, '.'), "00:00:00.000");
    }
}
