//! Chunking must not matter: however upstream's bytes are split, the SSE parser yields the
//! same events and the stream observer sends the client the same bytes and sees the same
//! usage. And no input, however broken, makes either panic.

use llmobserve_core::sse::{SseEvent, SseParser};
use llmobserve_core::stream::{StreamApi, StreamObserver};
use proptest::prelude::*;

fn parse(input: &[u8], cuts: &[usize]) -> Vec<SseEvent> {
    let mut p = SseParser::new(true);
    let mut out = Vec::new();
    let mut last = 0;
    for &c in cuts {
        p.feed(&input[last..c], &mut out);
        last = c;
    }
    p.feed(&input[last..], &mut out);
    let _ = p.finish(&mut out);
    out
}

fn observe(input: &[u8], cuts: &[usize], hide: bool) -> (Vec<u8>, StreamObserver) {
    let mut o = StreamObserver::new(StreamApi::ChatCompletions, hide);
    let mut client = Vec::new();
    let mut last = 0;
    for &c in cuts.iter().chain(std::iter::once(&input.len())) {
        let chunk = &input[last..c];
        last = c;
        match o.observe(chunk) {
            None => client.extend_from_slice(chunk),
            Some(b) => client.extend_from_slice(&b),
        }
    }
    if let Some(b) = o.finish() {
        client.extend_from_slice(&b);
    }
    (client, o)
}

/// A chat stream with usage, in a random line-ending style and data spacing, with text
/// that includes multi-byte characters.
fn chat_stream() -> impl Strategy<Value = Vec<u8>> {
    (
        proptest::collection::vec("[a-zé日🎉 ]{0,6}", 1..6),
        prop_oneof![Just("\n"), Just("\r\n"), Just("\r")],
        any::<bool>(),
        1u64..5000,
        1u64..5000,
    )
        .prop_map(|(words, eol, space, pt, ct)| {
            let sp = if space { " " } else { "" };
            let mut s = String::new();
            for w in &words {
                let data = serde_json::json!({"object":"chat.completion.chunk","model":"gpt-4o-mini",
                    "choices":[{"index":0,"delta":{"content":w},"finish_reason":null}],"usage":null});
                s.push_str(&format!("data:{sp}{data}{eol}{eol}"));
            }
            let usage = serde_json::json!({"object":"chat.completion.chunk","model":"gpt-4o-mini","choices":[],
                "usage":{"prompt_tokens":pt,"completion_tokens":ct,"total_tokens":pt+ct}});
            s.push_str(&format!(": keep-alive{eol}{eol}data:{sp}{usage}{eol}{eol}data:{sp}[DONE]{eol}{eol}"));
            s.into_bytes()
        })
}

fn cuts_for(len: usize) -> impl Strategy<Value = Vec<usize>> {
    proptest::collection::vec(0..=len, 0..12).prop_map(|mut v| {
        v.sort_unstable();
        v
    })
}

proptest! {
    #[test]
    fn sse_events_do_not_depend_on_chunking(input in chat_stream(), seed in any::<u64>()) {
        let whole = parse(&input, &[]);
        let n = input.len();
        let cuts: Vec<usize> = (0..8).map(|i| (seed >> (i * 8)) as usize % (n + 1)).collect::<std::collections::BTreeSet<_>>().into_iter().collect();
        let split = parse(&input, &cuts);
        prop_assert_eq!(whole.iter().map(|e| (&e.event, &e.data)).collect::<Vec<_>>(),
                        split.iter().map(|e| (&e.event, &e.data)).collect::<Vec<_>>());
        let joined: Vec<u8> = split.iter().flat_map(|e| e.raw.clone()).collect();
        prop_assert!(input.starts_with(&joined));
    }

    #[test]
    fn observer_output_and_usage_do_not_depend_on_chunking(input in chat_stream(), cuts in cuts_for(4096)) {
        let cuts: Vec<usize> = cuts.into_iter().filter(|&c| c <= input.len()).collect();
        for hide in [false, true] {
            let (whole_client, whole) = observe(&input, &[], hide);
            let (split_client, split) = observe(&input, &cuts, hide);
            prop_assert_eq!(&whole_client, &split_client);
            prop_assert_eq!(whole.usage, split.usage);
            prop_assert_eq!(&whole.output_text, &split.output_text);
            prop_assert!(whole.usage.is_some());
            if hide {
                let text = String::from_utf8_lossy(&whole_client);
                prop_assert!(!text.contains("usage"), "hidden usage leaked: {}", text);
            } else {
                prop_assert_eq!(&whole_client, &input);
            }
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(input in proptest::collection::vec(any::<u8>(), 0..512), cuts in cuts_for(512)) {
        let cuts: Vec<usize> = cuts.into_iter().filter(|&c| c <= input.len()).collect();
        let _ = parse(&input, &cuts);
        let (client, _) = observe(&input, &cuts, false);
        prop_assert_eq!(client, input.clone());
        let _ = observe(&input, &cuts, true);
    }
}
