//! `POST /v1/images/generations` (JSON), `/v1/images/edits` and `/v1/images/variations`
//! (multipart): `{created, data: [...]}`, with `usage` for gpt-image models.

use serde_json::Value;

use crate::json::J;
use crate::{unix_secs, Answer, Ctx};

/// A 1x1 PNG, the `b64_json` of every image.
pub const PNG_1X1_B64: &str =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";
/// Default image input tokens per uploaded image of a gpt-image edit.
pub const IMAGE_TOKENS_PER_INPUT: u64 = 100;
/// The most images one request may ask for.
pub const MAX_N: u64 = 10;

struct ImageRequest {
    model: String,
    prompt: String,
    n: u64,
    size: Option<String>,
    quality: Option<String>,
    response_format: Option<String>,
    output_format: Option<String>,
    background: Option<String>,
    input_images: u64,
}

/// Whether a model is of the gpt-image family (token-billed, always `b64_json`).
pub fn is_gpt_image(model: &str) -> bool {
    model.starts_with("gpt-image") || model.starts_with("chatgpt-image")
}

/// Output tokens of one gpt-image image, by quality and size (OpenAI's published table).
pub fn output_tokens_per_image(quality: &str, size: &str) -> u64 {
    let column = match size {
        "1024x1536" => 1,
        "1536x1024" => 2,
        _ => 0,
    };
    let row: [u64; 3] = match quality {
        "low" => [272, 408, 400],
        "high" => [4160, 6240, 6208],
        _ => [1056, 1584, 1568],
    };
    row[column]
}

fn parse_n(ctx: &Ctx, n: Option<&Value>) -> Result<u64, Box<crate::Reply>> {
    let n = match n {
        None | Some(Value::Null) => 1,
        Some(Value::String(s)) => s.trim().parse::<u64>().unwrap_or(0),
        Some(v) => v.as_u64().unwrap_or(0),
    };
    if (1..=MAX_N).contains(&n) {
        Ok(n)
    } else {
        Err(ctx.invalid(
            &format!("'n' must be an integer from 1 to {MAX_N}"),
            Some("n"),
        ))
    }
}

pub(crate) fn generations(ctx: &Ctx) -> Answer {
    let request = ctx.json_object()?;
    let text = |k: &str| request.get(k).and_then(Value::as_str).map(str::to_owned);
    let Some(prompt) = text("prompt") else {
        return Err(ctx.invalid("you must provide a prompt", Some("prompt")));
    };
    let req = ImageRequest {
        model: text("model").unwrap_or_else(|| "dall-e-2".to_owned()),
        prompt,
        n: parse_n(ctx, request.get("n"))?,
        size: text("size"),
        quality: text("quality"),
        response_format: text("response_format"),
        output_format: text("output_format"),
        background: text("background"),
        input_images: 0,
    };
    answer(ctx, &req)
}

pub(crate) fn edits(ctx: &Ctx, variation: bool) -> Answer {
    let form = ctx.form()?;
    let input_images = form.files("image").count() as u64;
    if input_images == 0 {
        return Err(ctx.invalid("you must provide an image file", Some("image")));
    }
    let prompt = form.field("prompt");
    if !variation && prompt.is_none() {
        return Err(ctx.invalid("you must provide a prompt", Some("prompt")));
    }
    let n = form.field("n").map(Value::String);
    let req = ImageRequest {
        model: form.field("model").unwrap_or_else(|| "dall-e-2".to_owned()),
        prompt: prompt.unwrap_or_default(),
        n: parse_n(ctx, n.as_ref())?,
        size: form.field("size"),
        quality: form.field("quality"),
        response_format: form.field("response_format"),
        output_format: form.field("output_format"),
        background: form.field("background"),
        input_images,
    };
    answer(ctx, &req)
}

fn answer(ctx: &Ctx, req: &ImageRequest) -> Answer {
    let created = unix_secs();
    if !is_gpt_image(&req.model) {
        let b64 = req.response_format.as_deref() == Some("b64_json");
        let data: Vec<J> = (0..req.n)
            .map(|i| {
                let mut fields = if b64 {
                    vec![("b64_json", J::from(PNG_1X1_B64))]
                } else {
                    vec![(
                        "url",
                        J::S(format!(
                            "https://mock-openai.invalid/images/img-mock-{}-{i}.png",
                            ctx.seq
                        )),
                    )]
                };
                if req.model.starts_with("dall-e-3") {
                    fields.push(("revised_prompt", J::from(req.prompt.as_str())));
                }
                J::O(fields)
            })
            .collect();
        return ctx.ok(&obj! { "created" => created, "data" => data }, Some(0));
    }

    let size = match req.size.as_deref() {
        None | Some("auto") => "1024x1024",
        Some(s) => s,
    };
    let quality = match req.quality.as_deref() {
        None | Some("auto" | "standard" | "hd") => "medium",
        Some(q) => q,
    };
    let text_tokens = ctx.mock.prompt_tokens.unwrap_or(req.prompt.len() as u64);
    let image_tokens = ctx
        .mock
        .image_tokens
        .unwrap_or(req.input_images * IMAGE_TOKENS_PER_INPUT);
    let input_tokens = text_tokens.saturating_add(image_tokens);
    let output_tokens = ctx
        .mock
        .completion_tokens
        .unwrap_or(output_tokens_per_image(quality, size) * req.n);
    let data: Vec<J> = (0..req.n)
        .map(|_| obj! { "b64_json" => PNG_1X1_B64 })
        .collect();
    let body = obj! {
        "created" => created,
        "background" => req.background.as_deref().filter(|b| *b != "auto").unwrap_or("opaque"),
        "data" => data,
        "output_format" => req.output_format.as_deref().unwrap_or("png"),
        "quality" => quality,
        "size" => size,
        "usage" => obj! {
            "input_tokens" => input_tokens,
            "input_tokens_details" => obj! {
                "text_tokens" => text_tokens,
                "image_tokens" => image_tokens,
            },
            "output_tokens" => output_tokens,
            "total_tokens" => input_tokens.saturating_add(output_tokens),
        },
    };
    ctx.ok(&body, Some(input_tokens))
}
