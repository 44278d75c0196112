//! Observing an OpenAI event stream as it passes through: the model, the usage upstream
//! reports, and the text generated so far (for an estimate when the stream is cut short).
//! When the gateway itself asked upstream for usage (`stream_options.include_usage`), the
//! observer also removes what that added, so the client's stream is byte for byte what it
//! would have been without the gateway.
//!
//! Invariant: observing never fails and never changes a stream it was not asked to change.

use serde::Deserialize;

use crate::sse::{SseEvent, SseParser};
use crate::usage::{RawUsage, Usage};

/// Generated text kept for estimating tokens; a longer stream is estimated by proportion.
const MAX_KEPT_TEXT: usize = 4 << 20;

/// The streaming APIs whose event formats the observer understands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamApi {
    ChatCompletions,
    Completions,
    Responses,
    Other,
}

impl StreamApi {
    pub fn for_endpoint(path: &str) -> StreamApi {
        match path.trim_end_matches('/') {
            "/v1/chat/completions" => StreamApi::ChatCompletions,
            "/v1/completions" => StreamApi::Completions,
            "/v1/responses" => StreamApi::Responses,
            _ => StreamApi::Other,
        }
    }

    /// Whether upstream can be asked for a final usage chunk (`stream_options.include_usage`).
    pub fn supports_include_usage(self) -> bool {
        matches!(self, StreamApi::ChatCompletions | StreamApi::Completions)
    }
}

#[derive(Deserialize)]
struct Chunk {
    model: Option<String>,
    usage: Option<RawUsage>,
    choices: Option<Vec<Choice>>,
    #[serde(rename = "type")]
    kind: Option<String>,
    delta: Option<serde_json::Value>,
    response: Option<ResponseObject>,
}

#[derive(Deserialize)]
struct Choice {
    delta: Option<Delta>,
    text: Option<String>,
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct Delta {
    content: Option<String>,
    refusal: Option<String>,
    tool_calls: Option<Vec<ToolCallDelta>>,
}

#[derive(Deserialize)]
struct ToolCallDelta {
    function: Option<FunctionDelta>,
}

#[derive(Deserialize)]
struct FunctionDelta {
    name: Option<String>,
    arguments: Option<String>,
}

#[derive(Deserialize)]
struct ResponseObject {
    model: Option<String>,
    usage: Option<RawUsage>,
}

/// What an event stream said, so far.
#[derive(Debug)]
pub struct StreamObserver {
    api: StreamApi,
    parser: SseParser,
    hide_usage: bool,
    scratch: Vec<SseEvent>,
    pub model: Option<String>,
    /// Usage as upstream reported it (never an estimate).
    pub usage: Option<Usage>,
    /// Generated text (content, refusals, tool-call names and arguments), at most 4 MiB.
    pub output_text: String,
    /// Bytes of generated text seen in all, kept or not.
    pub output_text_bytes: u64,
    pub finish_reason: Option<String>,
    /// `data: [DONE]` or a terminal Responses event was seen: the stream is complete.
    pub completed: bool,
    pub events: u64,
}

impl StreamObserver {
    /// `hide_usage`: the gateway added `include_usage` on the client's behalf, so the usage
    /// chunk and the `"usage":null` members it causes must not reach the client.
    pub fn new(api: StreamApi, hide_usage: bool) -> StreamObserver {
        let hide_usage = hide_usage && api.supports_include_usage();
        StreamObserver {
            api,
            parser: SseParser::new(hide_usage),
            hide_usage,
            scratch: Vec::new(),
            model: None,
            usage: None,
            output_text: String::new(),
            output_text_bytes: 0,
            finish_reason: None,
            completed: false,
            events: 0,
        }
    }

    /// Observes the next chunk from upstream. Returns `None` when the chunk goes to the
    /// client unchanged, or the bytes to send instead (possibly empty: the rest of an event
    /// that is not complete yet is held back until it is).
    pub fn observe(&mut self, chunk: &[u8]) -> Option<Vec<u8>> {
        let mut events = std::mem::take(&mut self.scratch);
        self.parser.feed(chunk, &mut events);
        let out = self.consume(&mut events);
        self.scratch = events;
        out
    }

    /// Whether what was seen amounts to a whole response: the end marker, a finish reason or
    /// a usage report (a stream of an API the observer does not know is taken as whole).
    pub fn looks_complete(&self) -> bool {
        self.api == StreamApi::Other || self.completed || self.finish_reason.is_some() || self.usage.is_some()
    }

    /// Upstream ended. Returns the bytes still to send, when the stream is being rewritten.
    pub fn finish(&mut self) -> Option<Vec<u8>> {
        let mut events = std::mem::take(&mut self.scratch);
        let leftover = self.parser.finish(&mut events);
        let out = self.consume(&mut events);
        out.map(|mut bytes| {
            bytes.extend_from_slice(&leftover);
            bytes
        })
    }

    fn consume(&mut self, events: &mut Vec<SseEvent>) -> Option<Vec<u8>> {
        let mut out = self.hide_usage.then(Vec::new);
        for event in events.drain(..) {
            self.events += 1;
            let drop_event = self.read_event(&event);
            if let Some(out) = out.as_mut() {
                if !drop_event {
                    match without_null_usage(&event.raw) {
                        Some(rewritten) => out.extend_from_slice(&rewritten),
                        None => out.extend_from_slice(&event.raw),
                    }
                }
            }
        }
        out
    }

    fn keep_text(&mut self, text: &str) {
        self.output_text_bytes += text.len() as u64;
        if self.output_text.len() + text.len() <= MAX_KEPT_TEXT {
            self.output_text.push_str(text);
        }
    }

    /// Reads one event; returns whether it is the gateway-requested usage chunk to hide.
    fn read_event(&mut self, event: &SseEvent) -> bool {
        let data = event.data.trim();
        if data == "[DONE]" {
            self.completed = true;
            return false;
        }
        let Ok(chunk) = serde_json::from_str::<Chunk>(data) else {
            return false;
        };
        if self.model.is_none() {
            self.model = chunk
                .model
                .clone()
                .or_else(|| chunk.response.as_ref().and_then(|r| r.model.clone()));
        }
        let mut is_usage_chunk = false;
        if let Some(u) = chunk.usage.and_then(RawUsage::into_usage) {
            self.usage = Some(u);
            is_usage_chunk = chunk.choices.as_ref().is_some_and(Vec::is_empty);
        }
        for choice in chunk.choices.into_iter().flatten() {
            if let Some(delta) = choice.delta {
                for t in [delta.content, delta.refusal].into_iter().flatten() {
                    self.keep_text(&t);
                }
                for call in delta.tool_calls.into_iter().flatten() {
                    if let Some(f) = call.function {
                        for t in [f.name, f.arguments].into_iter().flatten() {
                            self.keep_text(&t);
                        }
                    }
                }
            }
            if let Some(t) = choice.text {
                self.keep_text(&t);
            }
            if choice.finish_reason.is_some() {
                self.finish_reason = choice.finish_reason;
            }
        }
        if self.api == StreamApi::Responses {
            let kind = chunk.kind.as_deref().unwrap_or("");
            if kind.ends_with(".delta") && kind != "response.audio.delta" {
                if let Some(t) = chunk.delta.as_ref().and_then(|d| d.as_str()) {
                    self.keep_text(t);
                }
            }
            if matches!(
                kind,
                "response.completed" | "response.incomplete" | "response.failed"
            ) {
                self.completed = true;
                if let Some(r) = chunk.response {
                    if let Some(m) = r.model {
                        self.model = Some(m);
                    }
                    if let Some(u) = r.usage.and_then(RawUsage::into_usage) {
                        self.usage = Some(u);
                    }
                }
            }
        }
        self.hide_usage && is_usage_chunk
    }
}

/// Removes a `"usage":null` member from an event's raw bytes. The literal can only be a
/// real key: inside a JSON string its quotes would be escaped.
fn without_null_usage(raw: &[u8]) -> Option<Vec<u8>> {
    const MEMBER: &[u8] = b"\"usage\":null";
    let at = raw.windows(MEMBER.len()).position(|w| w == MEMBER)?;
    let (mut start, mut end) = (at, at + MEMBER.len());
    if start > 0 && raw[start - 1] == b',' {
        start -= 1;
    } else if raw.get(end) == Some(&b',') {
        end += 1;
    }
    let mut out = Vec::with_capacity(raw.len());
    out.extend_from_slice(&raw[..start]);
    out.extend_from_slice(&raw[end..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const WITH_USAGE: &str = concat!(
        "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o-mini-2024-07-18\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}],\"usage\":null}\n\n",
        "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o-mini-2024-07-18\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hello \\\"usage\\\":null\"},\"finish_reason\":null}],\"usage\":null}\n\n",
        "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o-mini-2024-07-18\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":null}\n\n",
        "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o-mini-2024-07-18\",\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":3,\"total_tokens\":12,\"prompt_tokens_details\":{\"cached_tokens\":0}}}\n\n",
        "data: [DONE]\n\n",
    );
    const WITHOUT_USAGE: &str = concat!(
        "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o-mini-2024-07-18\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n",
        "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o-mini-2024-07-18\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hello \\\"usage\\\":null\"},\"finish_reason\":null}]}\n\n",
        "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o-mini-2024-07-18\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n",
        "data: [DONE]\n\n",
    );

    fn run(obs: &mut StreamObserver, input: &[u8], chunk: usize) -> Vec<u8> {
        let mut client = Vec::new();
        for c in input.chunks(chunk) {
            match obs.observe(c) {
                None => client.extend_from_slice(c),
                Some(b) => client.extend_from_slice(&b),
            }
        }
        if let Some(b) = obs.finish() {
            client.extend_from_slice(&b);
        }
        client
    }

    #[test]
    fn hidden_usage_stream_is_what_the_client_would_have_seen() {
        for chunk in [1, 7, 64, 4096] {
            let mut obs = StreamObserver::new(StreamApi::ChatCompletions, true);
            let client = run(&mut obs, WITH_USAGE.as_bytes(), chunk);
            assert_eq!(
                String::from_utf8(client).unwrap(),
                WITHOUT_USAGE,
                "chunk size {chunk}"
            );
            let u = obs.usage.unwrap();
            assert_eq!((u.input_tokens, u.output_tokens), (9, 3));
            assert_eq!(obs.output_text, "Hello \"usage\":null");
            assert_eq!(obs.model.as_deref(), Some("gpt-4o-mini-2024-07-18"));
            assert_eq!(obs.finish_reason.as_deref(), Some("stop"));
            assert!(obs.completed);
        }
    }

    #[test]
    fn a_stream_the_client_asked_usage_for_passes_unchanged() {
        let mut obs = StreamObserver::new(StreamApi::ChatCompletions, false);
        let client = run(&mut obs, WITH_USAGE.as_bytes(), 10);
        assert_eq!(client, WITH_USAGE.as_bytes());
        assert_eq!(obs.usage.unwrap().output_tokens, 3);
    }

    #[test]
    fn cancelled_stream_keeps_the_text_so_far_and_no_usage() {
        let mut obs = StreamObserver::new(StreamApi::ChatCompletions, true);
        let cut = WITH_USAGE.find("data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o-mini-2024-07-18\",\"choices\":[{\"index\":0,\"delta\":{},").unwrap();
        let _ = obs.observe(&WITH_USAGE.as_bytes()[..cut]);
        assert_eq!(obs.usage, None);
        assert!(!obs.completed);
        assert_eq!(obs.output_text, "Hello \"usage\":null");
    }

    #[test]
    fn responses_api_stream_usage_and_text() {
        let input = concat!(
            "event: response.created\ndata: {\"type\":\"response.created\",\"response\":{\"model\":\"o4-mini\",\"usage\":null}}\n\n",
            "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"delta\":\"Hi \"}\n\n",
            "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"delta\":\"there\"}\n\n",
            "event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{\"model\":\"o4-mini-2025-04-16\",\"usage\":{\"input_tokens\":20,\"input_tokens_details\":{\"cached_tokens\":4},\"output_tokens\":30,\"output_tokens_details\":{\"reasoning_tokens\":16},\"total_tokens\":50}}}\n\n",
        );
        let mut obs = StreamObserver::new(StreamApi::Responses, true);
        let client = run(&mut obs, input.as_bytes(), 13);
        assert_eq!(
            client,
            input.as_bytes(),
            "Responses streams are never rewritten"
        );
        let u = obs.usage.unwrap();
        assert_eq!(
            (
                u.input_tokens,
                u.cached_input_tokens,
                u.output_tokens,
                u.reasoning_tokens
            ),
            (20, 4, 30, 16)
        );
        assert_eq!(obs.output_text, "Hi there");
        assert_eq!(obs.model.as_deref(), Some("o4-mini-2025-04-16"));
        assert!(obs.completed);
    }

    #[test]
    fn legacy_completions_text_and_tool_call_arguments_are_kept() {
        let mut obs = StreamObserver::new(StreamApi::Completions, false);
        run(
            &mut obs,
            b"data: {\"choices\":[{\"text\":\"abc\",\"finish_reason\":null}]}\n\n",
            5,
        );
        assert_eq!(obs.output_text, "abc");
        let mut obs = StreamObserver::new(StreamApi::ChatCompletions, false);
        run(&mut obs, b"data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"name\":\"search\",\"arguments\":\"{\\\"q\\\":\"}}]}}]}\n\n", 5);
        assert_eq!(obs.output_text, "search{\"q\":");
    }

    #[test]
    fn garbage_is_passed_through_and_never_fails() {
        let mut obs = StreamObserver::new(StreamApi::ChatCompletions, true);
        let client = run(&mut obs, b"<html>oops</html>\n\ndata: {not json}\n\n", 3);
        assert_eq!(client, b"<html>oops</html>\n\ndata: {not json}\n\n");
        assert_eq!(obs.usage, None);
    }
}

#[cfg(test)]
mod crlf_split_tests {
    use super::*;

    /// Regression: an empty read between a `\r` and its `\n` once cost the client a byte.
    #[test]
    fn every_single_and_double_cut_of_a_crlf_stream_gives_the_same_client_bytes() {
        let input = "data: {\"choices\":[{\"delta\":{\"content\":\"h\u{e9}\"},\"finish_reason\":null}],\"usage\":null}\r\n\r\ndata: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":null}\r\n\r\ndata: {\"choices\":[],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2}}\r\n\r\ndata: [DONE]\r\n\r\n";
        let b = input.as_bytes();
        let run = |cuts: &[usize]| {
            let mut o = StreamObserver::new(StreamApi::ChatCompletions, true);
            let mut out = Vec::new();
            let mut last = 0;
            for &c in cuts.iter().chain(std::iter::once(&b.len())) {
                out.extend(o.observe(&b[last..c]).unwrap_or_default());
                last = c;
            }
            out.extend(o.finish().unwrap_or_default());
            out
        };
        let whole = run(&[]);
        for i in 0..=b.len() {
            assert_eq!(String::from_utf8_lossy(&run(&[i])), String::from_utf8_lossy(&whole), "cut at {i}");
            for j in i..=b.len() {
                assert_eq!(run(&[i, j]), whole, "cuts at {i},{j}");
            }
        }
    }
}
