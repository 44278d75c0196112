//! Streams of the real binary: legacy completions, Responses API, tool calls, and the
//! stream-shaping headers.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::*;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const UTF8_REPLY: &str = "héllo wörld 日本語 🎉";

fn chat_body() -> Value {
    json!({"model": "gpt-4o-mini", "stream": true, "stream_options": {"include_usage": true},
           "messages": [{"role": "user", "content": "hello"}]})
}
fn completions_body() -> Value {
    json!({"model": "gpt-3.5-turbo-instruct", "stream": true, "prompt": "hello"})
}
fn responses_body() -> Value {
    json!({"model": "gpt-4.1", "stream": true, "input": "hello"})
}

/// The three streaming endpoints with a body each.
fn streams() -> [(&'static str, Value); 3] {
    [
        ("/v1/chat/completions", chat_body()),
        ("/v1/completions", completions_body()),
        ("/v1/responses", responses_body()),
    ]
}

/// `x-mock-reply` carrying raw UTF-8 (visible ASCII is not enough for this reply).
async fn post_with_reply(addr: &str, path: &str, extra: &[(&str, &str)], body: &Value) -> Resp {
    let mut headers: Vec<(&str, &[u8])> = vec![
        ("content-type", b"application/json"),
        ("x-mock-reply", UTF8_REPLY.as_bytes()),
    ];
    headers.extend(extra.iter().map(|(k, v)| (*k, v.as_bytes())));
    send_bytes(addr, "POST", path, &headers, body.to_string().into_bytes()).await
}

#[tokio::test]
async fn legacy_completions_json_and_stream() {
    let mock = start().await;
    let body = json!({"model": "gpt-3.5-turbo-instruct", "prompt": "héllo", "max_tokens": 7});
    let resp = post_json(&mock.addr, "/v1/completions", &[], &body).await;
    assert_eq!(resp.status, 200);
    assert!(resp
        .text()
        .starts_with(r#"{"id":"cmpl-mock-1","object":"text_completion","#));
    let v = resp.json();
    assert_eq!(v["model"], "gpt-3.5-turbo-instruct");
    assert_eq!(v["choices"][0]["text"], "mock reply 1");
    assert_eq!(v["choices"][0]["index"], 0);
    assert!(v["choices"][0]["logprobs"].is_null());
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
    assert_eq!(
        v["usage"],
        json!({"prompt_tokens": 6, "completion_tokens": 7, "total_tokens": 13})
    );
    assert_eq!(resp.header("x-ratelimit-remaining-tokens"), "29999994");

    // Prompt arrays count every string; headers override.
    let body = json!({"model": "m", "prompt": ["ab", "cde"]});
    let v = post_json(
        &mock.addr,
        "/v1/completions",
        &[("x-mock-cached-tokens", "1")],
        &body,
    )
    .await
    .json();
    assert_eq!(v["usage"]["prompt_tokens"], 5);
    assert_eq!(v["usage"]["completion_tokens"], 16);
    assert_eq!(v["usage"]["prompt_tokens_details"]["cached_tokens"], 1);

    // Streaming without include_usage: no usage key anywhere.
    let resp = post_json(&mock.addr, "/v1/completions", &[], &completions_body()).await;
    assert!(resp.header("content-type").starts_with("text/event-stream"));
    let events = resp.events();
    assert_eq!(events.last().map(|e| e.data.as_str()), Some("[DONE]"));
    let chunks = resp.data_json();
    assert!(chunks.iter().all(|c| c.get("usage").is_none()));
    assert!(chunks.iter().all(|c| c["object"] == "text_completion"));
    let text: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["text"].as_str())
        .collect();
    assert_eq!(text, "mock reply 3");
    assert_eq!(
        chunks.last().unwrap()["choices"][0]["finish_reason"],
        "stop"
    );
    assert!(resp.frames.len() >= events.len(), "one chunk per event");

    // With include_usage: usage null on each chunk, a final choices: [] chunk with usage.
    let mut body = completions_body();
    body["stream_options"] = json!({"include_usage": true});
    body["max_tokens"] = json!(9);
    let chunks = post_json(&mock.addr, "/v1/completions", &[], &body)
        .await
        .data_json();
    let (last, rest) = chunks.split_last().unwrap();
    assert_eq!(last["choices"], json!([]));
    assert_eq!(
        last["usage"],
        json!({"prompt_tokens": 5, "completion_tokens": 9, "total_tokens": 14})
    );
    for c in rest {
        assert!(c.get("usage").is_some() && c["usage"].is_null());
    }
}

#[tokio::test]
async fn responses_json_and_stream() {
    let mock = start().await;
    let body = json!({
        "model": "gpt-4.1", "instructions": "be brief",
        "input": [{"role": "user", "content": [{"type": "input_text", "text": "wörld"}]}],
        "max_output_tokens": 50
    });
    let resp = post_json(&mock.addr, "/v1/responses", &[], &body).await;
    assert_eq!(resp.status, 200);
    let v = resp.json();
    assert_eq!(v["id"], "resp_mock_1");
    assert_eq!(v["object"], "response");
    assert_eq!(v["status"], "completed");
    assert_eq!(v["model"], "gpt-4.1");
    assert_eq!(v["instructions"], "be brief");
    assert_eq!(v["output"][0]["type"], "message");
    assert_eq!(v["output"][0]["role"], "assistant");
    assert_eq!(v["output"][0]["content"][0]["type"], "output_text");
    assert_eq!(v["output"][0]["content"][0]["text"], "mock reply 1");
    assert_eq!(
        v["usage"],
        json!({
            "input_tokens": 14, // "be brief" (8) + "wörld" (6)
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": 50,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": 64
        })
    );

    let headers = [
        ("x-mock-prompt-tokens", "100"),
        ("x-mock-completion-tokens", "40"),
        ("x-mock-cached-tokens", "30"),
        ("x-mock-reasoning-tokens", "20"),
    ];
    let resp = post_json(&mock.addr, "/v1/responses", &headers, &responses_body()).await;
    let events = resp.events();
    let types: Vec<&str> = events.iter().map(|e| e.event.as_deref().unwrap()).collect();
    assert_eq!(
        types,
        [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.content_part.added",
            "response.output_text.delta",
            "response.output_text.delta",
            "response.output_text.delta",
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.completed",
        ]
    );
    assert!(!resp.text().contains("[DONE]"));
    for (i, (e, data)) in events.iter().zip(resp.data_json()).enumerate() {
        assert_eq!(data["type"], e.event.as_deref().unwrap());
        assert_eq!(data["sequence_number"], i);
        // type, then sequence_number, lead every payload.
        assert!(e.data.starts_with(&format!(
            r#"{{"type":"{}","sequence_number":{i},"#,
            data["type"].as_str().unwrap()
        )));
    }
    let data = resp.data_json();
    assert_eq!(data[0]["response"]["status"], "in_progress");
    assert!(data[0]["response"]["usage"].is_null());
    let deltas: String = data
        .iter()
        .filter(|d| d["type"] == "response.output_text.delta")
        .map(|d| d["delta"].as_str().unwrap())
        .collect();
    assert_eq!(deltas, "mock reply 2");
    assert_eq!(data[7]["text"], "mock reply 2");
    let completed = &data[10]["response"];
    assert_eq!(completed["status"], "completed");
    assert_eq!(completed["output"][0]["content"][0]["text"], "mock reply 2");
    assert_eq!(
        completed["usage"],
        json!({
            "input_tokens": 100,
            "input_tokens_details": {"cached_tokens": 30},
            "output_tokens": 40,
            "output_tokens_details": {"reasoning_tokens": 20},
            "total_tokens": 140
        })
    );
}

#[tokio::test]
async fn chat_tool_calls() {
    let mock = start().await;
    let body = json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]});
    let v = post_json(
        &mock.addr,
        "/v1/chat/completions",
        &[("x-mock-tool-call", "get_weather")],
        &body,
    )
    .await
    .json();
    let choice = &v["choices"][0];
    assert_eq!(choice["finish_reason"], "tool_calls");
    assert!(choice["message"]["content"].is_null());
    let call = &choice["message"]["tool_calls"][0];
    assert_eq!(call["id"], "call_mock_1");
    assert_eq!(call["type"], "function");
    assert_eq!(call["function"]["name"], "get_weather");
    assert_eq!(call["function"]["arguments"], r#"{"input":"mock reply 1"}"#);

    let mut body = body;
    body["stream"] = json!(true);
    let headers = [
        ("x-mock-tool-call", "get_weather"),
        ("x-mock-reply", "a \"b\" c"),
    ];
    let resp = post_json(&mock.addr, "/v1/chat/completions", &headers, &body).await;
    let chunks = resp.data_json();
    let first = &chunks[0]["choices"][0]["delta"];
    assert_eq!(first["role"], "assistant");
    assert_eq!(first["tool_calls"][0]["index"], 0);
    assert_eq!(first["tool_calls"][0]["id"], "call_mock_2");
    assert_eq!(first["tool_calls"][0]["type"], "function");
    assert_eq!(first["tool_calls"][0]["function"]["name"], "get_weather");
    assert_eq!(first["tool_calls"][0]["function"]["arguments"], "");
    let arg_chunks: Vec<&str> = chunks[1..]
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"].as_str())
        .collect();
    assert_eq!(
        arg_chunks.len(),
        3,
        "arguments split across chunks: {arg_chunks:?}"
    );
    let args: Value = serde_json::from_str(&arg_chunks.concat()).expect("arguments are JSON");
    assert_eq!(args, json!({"input": "a \"b\" c"}));
    assert_eq!(
        chunks.last().unwrap()["choices"][0]["finish_reason"],
        "tool_calls"
    );
}

#[tokio::test]
async fn split_utf8_reassembles_to_the_plain_stream() {
    let mock = start().await;
    for line_ending in ["lf", "crlf"] {
        for (path, body) in streams() {
            let le = [("x-mock-line-ending", line_ending)];
            let plain = post_with_reply(&mock.addr, path, &le, &body).await;
            let split = post_json(
                &mock.addr,
                path,
                &[
                    ("x-mock-split-utf8", "1"),
                    ("x-mock-line-ending", line_ending),
                ],
                &body,
            )
            .await;
            assert_eq!(split.status, 200);
            assert!(split.body_error.is_none());
            // Same events once ids and times are set aside...
            let (a, b) = (normalized_events(&plain), normalized_events(&split));
            assert!(a.len() >= 5, "{path}: {a:?}");
            assert_eq!(a, b, "{path} {line_ending}");
            // ... and the reply is the multi-byte one.
            assert!(
                split.text().contains("日本語") || split.text().contains("\\u"),
                "{path}"
            );
            // Cut at awkward places.
            assert!(
                split.frames.iter().any(|f| std::str::from_utf8(f).is_err()),
                "{path}: a chunk ends inside a character"
            );
            assert!(
                split.frames.iter().any(|f| {
                    let t = String::from_utf8_lossy(f);
                    t.matches("data:").count() >= 2
                }),
                "{path}: several events share a chunk"
            );
            assert!(
                split
                    .frames
                    .iter()
                    .any(|f| f.starts_with(b"a:") || f.starts_with(b"nt:")),
                "{path}: a chunk starts mid-field"
            );
            if line_ending == "crlf" {
                assert!(
                    split.frames.iter().any(|f| f.ends_with(b"\r")),
                    "{path}: a chunk ends between CR and LF"
                );
            }
        }
    }
}

#[tokio::test]
async fn line_endings_and_no_space() {
    let mock = start().await;
    for (path, body) in streams() {
        let plain = post_with_reply(&mock.addr, path, &[], &body).await;
        let plain_text = plain.text();
        assert!(!plain_text.contains('\r'));
        assert!(plain_text.contains("data: "));

        let crlf =
            post_with_reply(&mock.addr, path, &[("x-mock-line-ending", "crlf")], &body).await;
        let t = crlf.text();
        assert!(t.ends_with("\r\n\r\n"));
        assert!(
            !t.replace("\r\n", "").contains(['\r', '\n']),
            "only CRLF line breaks"
        );

        let cr = post_with_reply(&mock.addr, path, &[("x-mock-line-ending", "cr")], &body).await;
        let t = cr.text();
        assert!(t.ends_with("\r\r"));
        assert!(!t.contains('\n'), "only CR line breaks");

        let nospace =
            post_with_reply(&mock.addr, path, &[("x-mock-data-nospace", "1")], &body).await;
        let t = nospace.text();
        assert!(t.starts_with("data:{") || t.starts_with("event:response."));
        assert!(!t.contains("data: ") && !t.contains("event: "));

        let expected = normalized_events(&plain);
        for other in [&crlf, &cr, &nospace] {
            assert_eq!(normalized_events(other), expected, "{path}");
        }
    }
    let resp = post_json(
        &mock.addr,
        "/v1/chat/completions",
        &[("x-mock-line-ending", "nope")],
        &chat_body(),
    )
    .await;
    assert_eq!(resp.status, 400);
}

#[tokio::test]
async fn no_done_and_chunk_count() {
    let mock = start().await;
    let resp = post_json(
        &mock.addr,
        "/v1/chat/completions",
        &[("x-mock-no-done", "1")],
        &chat_body(),
    )
    .await;
    let events = resp.events();
    assert_ne!(events.last().unwrap().data, "[DONE]");
    assert!(events.last().unwrap().data.contains("\"usage\":{"));

    let headers = [
        ("x-mock-stream-chunks", "7"),
        ("x-mock-reply", "one two three"),
    ];
    for (path, body) in streams() {
        let resp = post_json(&mock.addr, path, &headers, &body).await;
        let data = resp.data_json();
        let deltas: Vec<String> = data
            .iter()
            .filter_map(|d| {
                d["choices"][0]["delta"]["content"]
                    .as_str()
                    .or(d["choices"][0]["text"].as_str())
                    .or(if d["type"] == "response.output_text.delta" {
                        d["delta"].as_str()
                    } else {
                        None
                    })
                    .map(str::to_owned)
            })
            .filter(|s| !s.is_empty())
            .collect();
        assert_eq!(deltas.len(), 7, "{path}: {deltas:?}");
        assert_eq!(deltas.concat(), "one two three one two three one", "{path}");
    }
    let resp = post_json(
        &mock.addr,
        "/v1/chat/completions",
        &[("x-mock-stream-chunks", "0")],
        &chat_body(),
    )
    .await;
    let contents: Vec<Value> = resp
        .data_json()
        .iter()
        .map(|c| c["choices"][0]["delta"]["content"].clone())
        .filter(|c| !c.is_null())
        .collect();
    assert_eq!(contents, [json!("")], "only the role chunk's empty content");
}

#[tokio::test]
async fn drop_after_cuts_the_connection() {
    let mock = start().await;
    for (i, (path, body)) in streams().into_iter().enumerate() {
        let resp = post_json(&mock.addr, path, &[("x-mock-drop-after", "3")], &body).await;
        assert_eq!(resp.status, 200);
        assert!(
            resp.body_error.is_some(),
            "{path}: the body must fail, not end cleanly"
        );
        let text = String::from_utf8_lossy(&resp.bytes()).into_owned();
        assert_eq!(parse_sse(&text).len(), 3, "{path}: exactly 3 events arrive");
        let r = wait_for_record(&mock.addr, i as u64 + 1, |r| r["stream_events_sent"] == 3).await;
        assert_eq!(
            r["client_disconnected"], false,
            "the mock hung up, not the client"
        );
    }
    // With split-utf8 too, whole events arrive before the cut.
    let headers = [("x-mock-drop-after", "4"), ("x-mock-split-utf8", "1")];
    let resp = post_json(&mock.addr, "/v1/chat/completions", &headers, &chat_body()).await;
    assert!(resp.body_error.is_some());
    assert_eq!(parse_sse(&String::from_utf8_lossy(&resp.bytes())).len(), 4);

    // drop-after 0: headers, then nothing.
    let resp = post_json(
        &mock.addr,
        "/v1/chat/completions",
        &[("x-mock-drop-after", "0")],
        &chat_body(),
    )
    .await;
    assert!(resp.body_error.is_some());
    assert!(resp.bytes().is_empty());

    // A JSON answer: the first N bytes of a body whose content-length announces more.
    let body = json!({"model": "gpt-4o", "messages": []});
    let resp = post_json(
        &mock.addr,
        "/v1/chat/completions",
        &[("x-mock-drop-after", "24")],
        &body,
    )
    .await;
    assert!(resp.body_error.is_some());
    assert_eq!(resp.bytes(), br#"{"id":"chatcmpl-mock-6","#.as_slice());
    assert!(resp.header("content-length").parse::<usize>().unwrap() > 24);
}

/// Writes a raw request, reads until `events` SSE events arrived, then closes the socket.
async fn read_then_hang_up(addr: &str, headers: &str, body: &Value, events: usize) -> usize {
    let body = body.to_string();
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\n\
         {headers}content-length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while String::from_utf8_lossy(&seen).matches("data: ").count() < events {
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf))
            .await
            .expect("data in time")
            .unwrap();
        assert!(n > 0, "stream ended early");
        seen.extend_from_slice(&buf[..n]);
    }
    drop(stream);
    String::from_utf8_lossy(&seen).matches("data: ").count()
}

#[tokio::test]
async fn endless_stream_stops_when_the_client_goes_away() {
    let mock = start().await;
    let received = read_then_hang_up(
        &mock.addr,
        "x-mock-endless: 1\r\nx-mock-chunk-delay-ms: 20\r\n",
        &chat_body(),
        12,
    )
    .await;
    assert!(received >= 12);
    let r = wait_for_record(&mock.addr, 1, |r| r["client_disconnected"] == true).await;
    let sent = r["stream_events_sent"].as_u64().unwrap();
    assert!(sent >= received as u64, "sent {sent} < received {received}");
    // The producer stopped: the count no longer grows.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let later = wait_for_record(&mock.addr, 1, |_| true).await;
    assert_eq!(later["stream_events_sent"], sent);
    assert!(
        sent < received as u64 + 5,
        "sent {sent}, received {received}"
    );

    // Endless really is: far more deltas than the reply has words.
    let received = read_then_hang_up(&mock.addr, "x-mock-endless: 1\r\n", &chat_body(), 200).await;
    assert!(received >= 200);
    wait_for_record(&mock.addr, 2, |r| r["client_disconnected"] == true).await;

    // A stream that completes is not a disconnect.
    let resp = post_json(&mock.addr, "/v1/chat/completions", &[], &chat_body()).await;
    let events = resp.events().len() as u64;
    let r = wait_for_record(&mock.addr, 3, |r| r["stream_events_sent"] == events).await;
    assert_eq!(r["client_disconnected"], false);
}

#[tokio::test]
async fn garbage_is_neither_json_nor_sse() {
    let mock = start().await;
    for (path, body) in streams() {
        let resp = post_json(&mock.addr, path, &[("x-mock-garbage", "1")], &body).await;
        assert_eq!(resp.status, 200);
        assert!(resp.header("content-type").starts_with("text/event-stream"));
        let bytes = resp.bytes();
        assert!(serde_json::from_slice::<Value>(&bytes).is_err());
        assert!(parse_sse(&String::from_utf8_lossy(&bytes)).is_empty());
    }
    let resp = post_json(
        &mock.addr,
        "/v1/embeddings",
        &[("x-mock-garbage", "1")],
        &json!({}),
    )
    .await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("content-type"), "application/json");
    assert!(serde_json::from_slice::<Value>(&resp.bytes()).is_err());
    // x-mock-status wins over garbage.
    let resp = post_json(
        &mock.addr,
        "/v1/embeddings",
        &[("x-mock-garbage", "1"), ("x-mock-status", "500")],
        &json!({}),
    )
    .await;
    assert_eq!(resp.status, 500);
    assert!(resp.json()["error"].is_object());
}

#[tokio::test]
async fn hanging_up_during_latency_is_recorded() {
    let mock = start().await;
    let body = json!({"model": "gpt-4o", "messages": []}).to_string();
    let mut stream = TcpStream::connect(&mock.addr).await.unwrap();
    let request = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nx-mock-latency-ms: 2000\r\n\
         content-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    wait_for_record(&mock.addr, 1, |_| true).await;
    drop(stream);
    let r = wait_for_record(&mock.addr, 1, |r| r["client_disconnected"] == true).await;
    assert_eq!(r["stream_events_sent"], 0);
    // A request answered in full is not a disconnect.
    let resp = post_json(
        &mock.addr,
        "/v1/chat/completions",
        &[],
        &json!({"model": "m", "messages": []}),
    )
    .await;
    assert_eq!(resp.status, 200);
    let r = wait_for_record(&mock.addr, 2, |_| true).await;
    assert_eq!(r["client_disconnected"], false);
}
