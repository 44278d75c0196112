//! `POST /v1/chat/completions`: JSON and SSE, with text or a tool call.

use std::sync::Arc;

use bytes::Bytes;
use serde_json::Value;

use crate::json::J;
use crate::sse::{Framing, Pieces, SseEvent, StreamPlan};
use crate::{unix_secs, Answer, Ctx, MockHeaders, Usage, SYSTEM_FINGERPRINT};

/// What every chunk of one stream repeats.
struct Meta {
    id: String,
    created: u64,
    model: String,
    include_usage: bool,
}

/// A function call the reply consists of (`x-mock-tool-call`).
#[derive(Debug, Clone)]
pub struct ToolCall {
    /// `call_mock_N`
    pub id: String,
    /// The function's name.
    pub name: String,
}

/// Whether the request asks for `stream_options.include_usage`.
pub fn include_usage(request: &Value) -> bool {
    request
        .get("stream_options")
        .and_then(|o| o.get("include_usage"))
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

/// Whether the request asks for a stream.
pub fn wants_stream(request: &Value) -> bool {
    request
        .get("stream")
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

pub(crate) fn chat_completions(ctx: &Ctx) -> Answer {
    let request = ctx.json_object()?;
    let model = ctx.model(&request)?;
    let n = ctx.next_completion();
    let id = format!("chatcmpl-mock-{n}");
    let created = unix_secs();
    let content = ctx.reply(|| format!("mock reply {n}"));
    let usage = Usage::for_request(&request, &ctx.mock);
    ctx.bill(usage);
    let tool = ctx.mock.tool_call.clone().map(|name| ToolCall {
        id: format!("call_mock_{n}"),
        name,
    });

    if !wants_stream(&request) {
        let (message, finish_reason) = match &tool {
            None => (
                obj! {
                    "role" => "assistant",
                    "content" => content.as_str(),
                    "refusal" => J::Null,
                    "annotations" => J::A(Vec::new()),
                },
                "stop",
            ),
            Some(call) => (
                obj! {
                    "role" => "assistant",
                    "content" => J::Null,
                    "tool_calls" => vec![obj! {
                        "id" => call.id.as_str(),
                        "type" => "function",
                        "function" => obj! {
                            "name" => call.name.as_str(),
                            "arguments" => obj! { "input" => content.as_str() }.to_json_string(),
                        },
                    }],
                    "refusal" => J::Null,
                    "annotations" => J::A(Vec::new()),
                },
                "tool_calls",
            ),
        };
        let completion = obj! {
            "id" => id,
            "object" => "chat.completion",
            "created" => created,
            "model" => model,
            "choices" => vec![obj! {
                "index" => 0u64,
                "message" => message,
                "logprobs" => J::Null,
                "finish_reason" => finish_reason,
            }],
            "usage" => usage.chat_json(),
            "service_tier" => "default",
            "system_fingerprint" => SYSTEM_FINGERPRINT,
        };
        return ctx.ok(&completion, Some(usage.prompt));
    }

    let meta = Arc::new(Meta {
        id,
        created,
        model,
        include_usage: include_usage(&request),
    });
    let pieces = Pieces::new(&content, &ctx.mock);
    let plan = plan(meta, &pieces, usage, tool);
    ctx.stream(plan, usage.prompt)
}

fn chunk(meta: &Meta, choice: Option<J>, usage: Option<J>) -> SseEvent {
    let mut fields = vec![
        ("id", J::from(&meta.id)),
        ("object", J::from("chat.completion.chunk")),
        ("created", J::U(meta.created)),
        ("model", J::from(&meta.model)),
        ("service_tier", J::from("default")),
        ("system_fingerprint", J::from(SYSTEM_FINGERPRINT)),
        ("choices", J::arr(choice)),
    ];
    // Absent without `stream_options.include_usage`; `null` on every chunk but the last with it.
    if meta.include_usage {
        fields.push(("usage", J::from(usage)));
    }
    SseEvent::data(J::O(fields).to_json_string())
}

fn choice(delta: J, finish_reason: Option<&str>) -> J {
    obj! {
        "index" => 0u64,
        "delta" => delta,
        "logprobs" => J::Null,
        "finish_reason" => finish_reason,
    }
}

/// A string's JSON escape without the surrounding quotes.
fn escaped(s: &str) -> String {
    let quoted = serde_json::to_string(s).unwrap_or_default();
    quoted
        .strip_prefix('"')
        .and_then(|q| q.strip_suffix('"'))
        .unwrap_or("")
        .to_owned()
}

fn plan(meta: Arc<Meta>, pieces: &Pieces, usage: Usage, tool: Option<ToolCall>) -> StreamPlan {
    let (head, body, finish_reason): (SseEvent, Box<dyn Iterator<Item = SseEvent> + Send>, _) =
        match tool {
            None => {
                let first = obj! { "role" => "assistant", "content" => "", "refusal" => J::Null };
                let m = Arc::clone(&meta);
                let body = pieces.iter().map(move |(_, p)| {
                    chunk(&m, Some(choice(obj! { "content" => p }, None)), None)
                });
                (
                    chunk(&meta, Some(choice(first, None)), None),
                    Box::new(body),
                    "stop",
                )
            }
            Some(call) => {
                let first = obj! {
                    "role" => "assistant",
                    "content" => J::Null,
                    "tool_calls" => vec![obj! {
                        "index" => 0u64,
                        "id" => call.id,
                        "type" => "function",
                        "function" => obj! { "name" => call.name, "arguments" => "" },
                    }],
                    "refusal" => J::Null,
                };
                let args = |m: &Meta, arguments: String| {
                    let delta = obj! {
                        "tool_calls" => vec![obj! {
                            "index" => 0u64,
                            "function" => obj! { "arguments" => arguments },
                        }],
                    };
                    chunk(m, Some(choice(delta, None)), None)
                };
                let m = Arc::clone(&meta);
                let count = pieces.count();
                let body: Box<dyn Iterator<Item = SseEvent> + Send> = if count == Some(0) {
                    Box::new(std::iter::once(args(&m, "{\"input\":\"\"}".to_owned())))
                } else {
                    // `{"input":"` + the pieces, JSON-escaped + `"}`, one piece per chunk.
                    Box::new(pieces.iter().map(move |(i, p)| {
                        let mut s = if i == 0 {
                            "{\"input\":\"".to_owned()
                        } else {
                            String::new()
                        };
                        s.push_str(&escaped(&p));
                        if count == Some(i + 1) {
                            s.push_str("\"}");
                        }
                        args(&m, s)
                    }))
                };
                (
                    chunk(&meta, Some(choice(first, None)), None),
                    body,
                    "tool_calls",
                )
            }
        };
    let mut tail = vec![chunk(
        &meta,
        Some(choice(J::empty(), Some(finish_reason))),
        None,
    )];
    if meta.include_usage {
        tail.push(chunk(&meta, None, Some(usage.chat_json())));
    }
    StreamPlan {
        head: vec![head],
        body,
        tail,
        done: true,
    }
}

/// The SSE events of a streamed text completion, each a complete `data: ...\n\n`, ending
/// with `data: [DONE]`.
pub fn stream_events(
    id: &str,
    created: u64,
    model: &str,
    content: &str,
    usage: Usage,
    include_usage: bool,
) -> Vec<Bytes> {
    let meta = Arc::new(Meta {
        id: id.to_owned(),
        created,
        model: model.to_owned(),
        include_usage,
    });
    let pieces = Pieces::new(content, &MockHeaders::default());
    let framing = Framing::default();
    plan(meta, &pieces, usage, None)
        .into_events()
        .map(|e| Bytes::from(framing.frame(&e)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage() -> Usage {
        Usage {
            prompt: 1,
            completion: 2,
            cached: 0,
            reasoning: 0,
        }
    }

    #[test]
    fn tool_call_arguments_reassemble() {
        for (chunks, expected) in [
            (None, "{\"input\":\"say \\\"hi\\\" now\"}"),
            (Some(0), "{\"input\":\"\"}"),
            (Some(1), "{\"input\":\"say\"}"),
        ] {
            let meta = Arc::new(Meta {
                id: "c".into(),
                created: 1,
                model: "m".into(),
                include_usage: false,
            });
            let mock = MockHeaders {
                stream_chunks: chunks,
                ..MockHeaders::default()
            };
            let pieces = Pieces::new("say \"hi\" now", &mock);
            let call = ToolCall {
                id: "call_1".into(),
                name: "f".into(),
            };
            let events: Vec<Value> = plan(meta, &pieces, usage(), Some(call))
                .into_events()
                .filter(|e| e.data != "[DONE]")
                .map(|e| serde_json::from_str(&e.data).expect("json"))
                .collect();
            let args: String = events
                .iter()
                .filter_map(|e| {
                    e["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"].as_str()
                })
                .collect();
            assert_eq!(args, expected);
            assert_eq!(
                events
                    .last()
                    .map(|e| e["choices"][0]["finish_reason"].clone()),
                Some(Value::from("tool_calls"))
            );
        }
    }
}
