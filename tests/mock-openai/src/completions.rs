//! `POST /v1/completions` (legacy): `text_completion` JSON and SSE.

use std::sync::Arc;

use crate::chat::{include_usage, wants_stream};
use crate::json::J;
use crate::sse::{Pieces, SseEvent, StreamPlan};
use crate::{max_tokens, text_bytes, unix_secs, Answer, Ctx, Usage, SYSTEM_FINGERPRINT};

struct Meta {
    id: String,
    created: u64,
    model: String,
    include_usage: bool,
}

fn choice(text: &str, finish_reason: Option<&str>) -> J {
    obj! {
        "text" => text,
        "index" => 0u64,
        "logprobs" => J::Null,
        "finish_reason" => finish_reason,
    }
}

fn chunk(meta: &Meta, choice: Option<J>, usage: Option<J>) -> SseEvent {
    let mut fields = vec![
        ("id", J::from(&meta.id)),
        ("object", J::from("text_completion")),
        ("created", J::U(meta.created)),
        ("choices", J::arr(choice)),
        ("model", J::from(&meta.model)),
        ("system_fingerprint", J::from(SYSTEM_FINGERPRINT)),
    ];
    if meta.include_usage {
        fields.push(("usage", J::from(usage)));
    }
    SseEvent::data(J::O(fields).to_json_string())
}

pub(crate) fn completions(ctx: &Ctx) -> Answer {
    let request = ctx.json_object()?;
    let model = ctx.model(&request)?;
    let n = ctx.next_completion();
    let id = format!("cmpl-mock-{n}");
    let created = unix_secs();
    let text = ctx.reply(|| format!("mock reply {n}"));
    let prompt = request.get("prompt").map_or(0, text_bytes);
    let usage = Usage::with_defaults(prompt, max_tokens(&request, &["max_tokens"]), &ctx.mock);

    if !wants_stream(&request) {
        let body = obj! {
            "id" => id,
            "object" => "text_completion",
            "created" => created,
            "model" => model,
            "choices" => vec![choice(&text, Some("stop"))],
            "usage" => usage.legacy_json(&ctx.mock),
            "system_fingerprint" => SYSTEM_FINGERPRINT,
        };
        return ctx.ok(&body, Some(usage.prompt));
    }

    let meta = Arc::new(Meta {
        id,
        created,
        model,
        include_usage: include_usage(&request),
    });
    let pieces = Pieces::new(&text, &ctx.mock);
    let m = Arc::clone(&meta);
    let body = pieces
        .iter()
        .map(move |(_, p)| chunk(&m, Some(choice(&p, None)), None));
    let mut tail = vec![chunk(&meta, Some(choice("", Some("stop"))), None)];
    if meta.include_usage {
        tail.push(chunk(&meta, None, Some(usage.legacy_json(&ctx.mock))));
    }
    let plan = StreamPlan {
        head: Vec::new(),
        body: Box::new(body),
        tail,
        done: true,
    };
    ctx.stream(plan, usage.prompt)
}
