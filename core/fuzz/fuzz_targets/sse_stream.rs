//! Upstream's event stream (untrusted bytes, split anywhere): the SSE parser against a
//! whole-input reference parser, and the stream observer's promises about chunking and
//! about the bytes it sends the client.
#![no_main]

use libfuzzer_sys::fuzz_target;
use llmobserve_core::sse::{SseEvent, SseParser};
use llmobserve_core::stream::{StreamApi, StreamObserver};

#[path = "common.rs"]
mod common;

/// The WHATWG event-stream rules applied to the whole input at once: lines end at CRLF,
/// LF or CR; a leading BOM is dropped; `data` lines join with `\n`; a blank line (or the
/// end of the input) dispatches an event when it has data.
fn reference(input: &[u8]) -> Vec<(Option<String>, String)> {
    let input = input.strip_prefix("\u{feff}".as_bytes()).unwrap_or(input);
    let mut lines = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'\r' if input.get(i + 1) == Some(&b'\n') => {
                lines.push(&input[start..i]);
                i += 2;
                start = i;
            }
            b'\r' | b'\n' => {
                lines.push(&input[start..i]);
                i += 1;
                start = i;
            }
            _ => i += 1,
        }
    }
    if start < input.len() {
        lines.push(&input[start..]);
    }
    lines.push(b""); // the end of the stream dispatches what is pending
    let (mut out, mut event, mut data) = (Vec::new(), None, None::<String>);
    for line in lines {
        if line.is_empty() {
            if let Some(d) = data.take() {
                out.push((event.take(), d));
            }
            event = None;
            continue;
        }
        if line[0] == b':' {
            continue;
        }
        let (field, value) = match line.iter().position(|&b| b == b':') {
            Some(c) => (&line[..c], line[c + 1..].strip_prefix(b" ").unwrap_or(&line[c + 1..])),
            None => (line, &b""[..]),
        };
        let value = String::from_utf8_lossy(value).into_owned();
        match field {
            b"data" => match data.as_mut() {
                Some(d) => {
                    d.push('\n');
                    d.push_str(&value);
                }
                None => data = Some(value),
            },
            b"event" => event = Some(value),
            _ => {}
        }
    }
    out
}

fn parse(chunks: &[&[u8]], keep_raw: bool) -> (Vec<SseEvent>, Vec<u8>) {
    let mut p = SseParser::new(keep_raw);
    let mut out = Vec::new();
    for c in chunks {
        p.feed(c, &mut out);
    }
    let leftover = p.finish(&mut out);
    (out, leftover)
}

#[derive(Debug, PartialEq)]
struct Seen {
    model: Option<String>,
    usage: Option<llmobserve_core::usage::Usage>,
    output_text: String,
    output_text_bytes: u64,
    finish_reason: Option<String>,
    completed: bool,
    events: u64,
    looks_complete: bool,
}

fn observe(chunks: &[&[u8]], api: StreamApi, hide: bool) -> (Vec<u8>, bool, Seen) {
    let mut o = StreamObserver::new(api, hide);
    let mut client = Vec::new();
    let mut rewrote = false;
    for c in chunks {
        match o.observe(c) {
            None => client.extend_from_slice(c),
            Some(b) => {
                rewrote = true;
                client.extend_from_slice(&b);
            }
        }
    }
    if let Some(b) = o.finish() {
        rewrote = true;
        client.extend_from_slice(&b);
    }
    let seen = Seen {
        model: o.model.clone(),
        usage: o.usage,
        output_text_bytes: o.output_text_bytes,
        finish_reason: o.finish_reason.clone(),
        completed: o.completed,
        events: o.events,
        looks_complete: o.looks_complete(),
        output_text: std::mem::take(&mut o.output_text),
    };
    (client, rewrote, seen)
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fuzz_target!(|data: &[u8]| {
    let want = reference(data);
    let chunkings = common::chunkings(data);

    // The parser: the reference's events however the input is split, and with `keep_raw`
    // the events' bytes plus the leftover are exactly the input.
    for chunks in &chunkings {
        for keep_raw in [false, true] {
            let (events, leftover) = parse(chunks, keep_raw);
            let got: Vec<(Option<String>, String)> = events.iter().map(|e| (e.event.clone(), e.data.clone())).collect();
            assert_eq!(got, want, "events differ from the reference (keep_raw {keep_raw})");
            if keep_raw {
                let mut joined: Vec<u8> = events.iter().flat_map(|e| e.raw.iter().copied()).collect();
                joined.extend_from_slice(&leftover);
                assert_eq!(joined, data, "raw bytes of the events plus the leftover are not the input");
            } else {
                assert!(events.iter().all(|e| e.raw.is_empty()) && leftover.is_empty());
            }
        }
    }

    // The observer: what it sees and what it sends do not depend on the chunking; it only
    // rewrites when asked to hide usage; hiding changes nothing it observes.
    for (api, hide) in [(StreamApi::ChatCompletions, true), (StreamApi::ChatCompletions, false), (StreamApi::Responses, true)] {
        let (client, rewrote, seen) = observe(&chunkings[0], api, hide);
        for chunks in &chunkings[1..] {
            let (c, _, s) = observe(chunks, api, hide);
            assert_eq!(s, seen, "observations depend on the chunking ({api:?}, hide {hide})");
            assert_eq!(c, client, "client bytes depend on the chunking ({api:?}, hide {hide})");
        }
        assert!(seen.output_text.len() as u64 <= seen.output_text_bytes);
        assert_eq!(seen.events, want.len() as u64);
        if !(hide && api.supports_include_usage()) {
            assert!(!rewrote, "a stream the gateway did not ask usage for was rewritten");
            assert_eq!(client, data);
        } else {
            assert!(client.len() <= data.len(), "hiding usage made the stream longer");
            if !contains(data, b"usage") {
                assert_eq!(client, data, "a stream without usage was changed");
            }
            let (_, _, plain) = observe(&chunkings[0], api, false);
            assert_eq!(plain, seen, "hiding usage changed what the observer saw");
        }
    }
});
