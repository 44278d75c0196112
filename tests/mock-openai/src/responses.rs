//! `POST /v1/responses` (Responses API): a `response` object, or its SSE event stream.

use std::sync::Arc;

use serde_json::Value;

use crate::chat::wants_stream;
use crate::json::J;
use crate::sse::{Pieces, SseEvent, StreamPlan};
use crate::{max_tokens, unix_secs, Answer, Ctx, Usage};

/// What the response object repeats in every event.
struct Meta {
    id: String,
    msg_id: String,
    created: u64,
    model: String,
    instructions: J,
    max_output_tokens: J,
    previous_response_id: J,
    temperature: J,
    top_p: J,
    metadata: J,
    store: bool,
}

/// The default input token count: UTF-8 bytes of `instructions`, of `input` when it is a
/// string, else of every input item's string `content`, and of the `text` of its parts.
pub fn input_bytes(request: &Value) -> u64 {
    let len = |v: Option<&Value>| v.and_then(Value::as_str).map_or(0, |s| s.len() as u64);
    let mut total = len(request.get("instructions"));
    match request.get("input") {
        Some(Value::String(s)) => total = total.saturating_add(s.len() as u64),
        Some(Value::Array(items)) => {
            for item in items {
                total = total.saturating_add(len(item.get("text")));
                match item.get("content") {
                    Some(Value::String(s)) => total = total.saturating_add(s.len() as u64),
                    Some(Value::Array(parts)) => {
                        for part in parts {
                            total = total.saturating_add(len(part.get("text")));
                        }
                    }
                    _ => {}
                }
            }
        }
        _ => {}
    }
    total
}

fn response_object(meta: &Meta, status: &str, output: J, usage: J) -> J {
    obj! {
        "id" => meta.id.as_str(),
        "object" => "response",
        "created_at" => meta.created,
        "status" => status,
        "background" => false,
        "error" => J::Null,
        "incomplete_details" => J::Null,
        "instructions" => meta.instructions.clone(),
        "max_output_tokens" => meta.max_output_tokens.clone(),
        "max_tool_calls" => J::Null,
        "model" => meta.model.as_str(),
        "output" => output,
        "parallel_tool_calls" => true,
        "previous_response_id" => meta.previous_response_id.clone(),
        "prompt_cache_key" => J::Null,
        "reasoning" => obj! { "effort" => J::Null, "summary" => J::Null },
        "safety_identifier" => J::Null,
        "service_tier" => "default",
        "store" => meta.store,
        "temperature" => meta.temperature.clone(),
        "text" => obj! { "format" => obj! { "type" => "text" }, "verbosity" => "medium" },
        "tool_choice" => "auto",
        "tools" => J::A(Vec::new()),
        "top_logprobs" => 0u64,
        "top_p" => meta.top_p.clone(),
        "truncation" => "disabled",
        "usage" => usage,
        "user" => J::Null,
        "metadata" => meta.metadata.clone(),
    }
}

fn text_part(text: &str) -> J {
    obj! {
        "type" => "output_text",
        "annotations" => J::A(Vec::new()),
        "logprobs" => J::A(Vec::new()),
        "text" => text,
    }
}

fn message(meta: &Meta, status: &str, content: Vec<J>) -> J {
    obj! {
        "id" => meta.msg_id.as_str(),
        "type" => "message",
        "status" => status,
        "content" => content,
        "role" => "assistant",
    }
}

/// An event: `event: <type>` and `data: {"type":..,"sequence_number":n,...}`.
fn event(kind: &'static str, seq: u64, fields: Vec<(&'static str, J)>) -> SseEvent {
    let mut all = vec![("type", J::from(kind)), ("sequence_number", J::U(seq))];
    all.extend(fields);
    SseEvent {
        event: Some(kind),
        data: J::O(all).to_json_string(),
    }
}

fn echo(request: &Value, key: &str, default: J) -> J {
    match request.get(key) {
        Some(v) if !v.is_null() => J::V(v.clone()),
        _ => default,
    }
}

pub(crate) fn responses(ctx: &Ctx) -> Answer {
    let request = ctx.json_object()?;
    let model = ctx.model(&request)?;
    let n = ctx.next_completion();
    let text = ctx.reply(|| format!("mock reply {n}"));
    let usage = Usage::with_defaults(
        input_bytes(&request),
        max_tokens(&request, &["max_output_tokens"]),
        &ctx.mock,
    );
    let meta = Arc::new(Meta {
        id: format!("resp_mock_{n}"),
        msg_id: format!("msg_mock_{n}"),
        created: unix_secs(),
        model,
        instructions: echo(&request, "instructions", J::Null),
        max_output_tokens: echo(&request, "max_output_tokens", J::Null),
        previous_response_id: echo(&request, "previous_response_id", J::Null),
        temperature: echo(&request, "temperature", J::F(1.0)),
        top_p: echo(&request, "top_p", J::F(1.0)),
        metadata: echo(&request, "metadata", J::empty()),
        store: request
            .get("store")
            .and_then(Value::as_bool)
            .unwrap_or(true),
    });

    if !wants_stream(&request) {
        let output = vec![message(&meta, "completed", vec![text_part(&text)])];
        let body = response_object(&meta, "completed", J::A(output), usage.responses_json());
        return ctx.ok(&body, Some(usage.prompt));
    }

    let pieces = Pieces::new(&text, &ctx.mock);
    let in_progress = || response_object(&meta, "in_progress", J::A(Vec::new()), J::Null);
    let location = |meta: &Meta| {
        vec![
            ("item_id", J::from(meta.msg_id.as_str())),
            ("output_index", J::U(0)),
            ("content_index", J::U(0)),
        ]
    };
    let head = vec![
        event("response.created", 0, vec![("response", in_progress())]),
        event("response.in_progress", 1, vec![("response", in_progress())]),
        event(
            "response.output_item.added",
            2,
            vec![
                ("output_index", J::U(0)),
                ("item", message(&meta, "in_progress", Vec::new())),
            ],
        ),
        event("response.content_part.added", 3, {
            let mut f = location(&meta);
            f.push(("part", text_part("")));
            f
        }),
    ];
    let m = Arc::clone(&meta);
    let body = pieces.iter().map(move |(i, p)| {
        let mut f = location(&m);
        f.push(("delta", J::from(p)));
        f.push(("logprobs", J::A(Vec::new())));
        event("response.output_text.delta", 4 + i, f)
    });
    let full = pieces.text();
    let mut seq = 4 + pieces.count().unwrap_or(0);
    let mut next = || {
        seq += 1;
        seq - 1
    };
    let tail = vec![
        event("response.output_text.done", next(), {
            let mut f = location(&meta);
            f.push(("text", J::from(full.as_str())));
            f.push(("logprobs", J::A(Vec::new())));
            f
        }),
        event("response.content_part.done", next(), {
            let mut f = location(&meta);
            f.push(("part", text_part(&full)));
            f
        }),
        event(
            "response.output_item.done",
            next(),
            vec![
                ("output_index", J::U(0)),
                ("item", message(&meta, "completed", vec![text_part(&full)])),
            ],
        ),
        event(
            "response.completed",
            next(),
            vec![(
                "response",
                response_object(
                    &meta,
                    "completed",
                    J::A(vec![message(&meta, "completed", vec![text_part(&full)])]),
                    usage.responses_json(),
                ),
            )],
        ),
    ];
    let plan = StreamPlan {
        head,
        body: Box::new(body),
        tail,
        done: false,
    };
    ctx.stream(plan, usage.prompt)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn input_bytes_counts_strings_parts_and_instructions() {
        assert_eq!(input_bytes(&json!({"input": "héllo"})), 6);
        assert_eq!(
            input_bytes(&json!({
                "instructions": "ab",
                "input": [
                    {"role": "user", "content": "abc"},
                    {"role": "user", "content": [
                        {"type": "input_text", "text": "wörld"},
                        {"type": "input_image", "image_url": "https://x"}
                    ]}
                ]
            })),
            2 + 3 + 6
        );
        assert_eq!(input_bytes(&json!({})), 0);
    }
}
