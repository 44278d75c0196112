//! Starts the real `mock-openai` binary on port 0 and talks HTTP/1.1 to it.

// clippy.toml allows these inside `#[test]` functions only; the helpers below are test code too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Stdio;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::HeaderMap;
use hyper::Request;
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::net::TcpStream;
use tokio::process::{Child, ChildStdout, Command};
use tokio::time::timeout;

struct Mock {
    child: Child,
    addr: String,
    stdout: Lines<BufReader<ChildStdout>>,
}

async fn start_with(args: &[&str]) -> Mock {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mock-openai"))
        .args(args)
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn mock-openai");
    let stdout = child.stdout.take().expect("stdout");
    let mut stdout = BufReader::new(stdout).lines();
    let line = timeout(Duration::from_secs(20), stdout.next_line())
        .await
        .expect("ready line in time")
        .expect("read stdout")
        .expect("a line");
    let addr = line
        .strip_prefix("mock-openai listening on http://127.0.0.1:")
        .unwrap_or_else(|| panic!("unexpected ready line {line:?}"));
    let port: u16 = addr.parse().expect("port number");
    assert_ne!(port, 0);
    Mock {
        child,
        addr: format!("127.0.0.1:{port}"),
        stdout,
    }
}

async fn start() -> Mock {
    start_with(&["--port", "0"]).await
}

struct Resp {
    status: u16,
    headers: HeaderMap,
    frames: Vec<Bytes>,
}

impl Resp {
    fn text(&self) -> String {
        let bytes: Vec<u8> = self.frames.iter().flat_map(|f| f.iter().copied()).collect();
        String::from_utf8(bytes).expect("utf-8 body")
    }
    fn json(&self) -> Value {
        serde_json::from_str(&self.text()).expect("json body")
    }
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("missing header {name}"))
            .to_str()
            .expect("ascii header")
    }
    /// The SSE `data:` payloads, in order.
    fn sse_data(&self) -> Vec<String> {
        let text = self.text();
        assert!(text.ends_with("\n\n"), "stream must end with a blank line");
        text.split("\n\n")
            .filter(|e| !e.is_empty())
            .map(|e| {
                e.strip_prefix("data: ")
                    .unwrap_or_else(|| panic!("not a data event: {e:?}"))
                    .to_owned()
            })
            .collect()
    }
}

async fn send(addr: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Resp {
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(conn);
    let mut builder = Request::builder()
        .method(method)
        .uri(path)
        .header("host", addr);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let request = builder
        .body(Full::new(Bytes::from(body.to_owned())))
        .expect("request");
    let response = timeout(Duration::from_secs(20), sender.send_request(request))
        .await
        .expect("response in time")
        .expect("response");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let mut body = response.into_body();
    let mut frames = Vec::new();
    while let Some(frame) = timeout(Duration::from_secs(20), body.frame())
        .await
        .expect("frame in time")
    {
        if let Ok(data) = frame.expect("frame").into_data() {
            frames.push(data);
        }
    }
    Resp {
        status,
        headers,
        frames,
    }
}

async fn chat(addr: &str, headers: &[(&str, &str)], body: &Value) -> Resp {
    let mut all = vec![("content-type", "application/json")];
    all.extend_from_slice(headers);
    send(
        addr,
        "POST",
        "/v1/chat/completions",
        &all,
        &body.to_string(),
    )
    .await
}

async fn recorded(addr: &str) -> Vec<Value> {
    let resp = send(addr, "GET", "/__mock/requests", &[], "").await;
    assert_eq!(resp.status, 200);
    resp.json()["requests"]
        .as_array()
        .expect("requests array")
        .clone()
}

#[tokio::test]
async fn non_streaming_defaults() {
    let mock = start().await;
    let body = json!({
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "hello"},
            {"role": "user", "content": [
                {"type": "text", "text": "wörld"},
                {"type": "image_url", "image_url": {"url": "https://example.invalid/x.png"}}
            ]}
        ]
    });
    let resp = chat(&mock.addr, &[], &body).await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("content-type"), "application/json");
    assert!(resp.header("x-request-id").starts_with("req_"));
    resp.header("openai-processing-ms")
        .parse::<u64>()
        .expect("processing ms is an integer");
    assert_eq!(resp.header("x-ratelimit-limit-requests"), "10000");
    assert_eq!(resp.header("x-ratelimit-remaining-requests"), "9999");
    assert_eq!(resp.header("x-ratelimit-limit-tokens"), "30000000");
    assert_eq!(resp.header("x-ratelimit-remaining-tokens"), "29999989");
    // Field order follows OpenAI's.
    assert!(resp
        .text()
        .starts_with(r#"{"id":"chatcmpl-mock-1","object":"chat.completion","#));

    let v = resp.json();
    assert_eq!(v["id"], "chatcmpl-mock-1");
    assert_eq!(v["object"], "chat.completion");
    assert!(v["created"].as_u64().expect("created") > 1_600_000_000);
    assert_eq!(v["model"], "gpt-4o-mini");
    assert_eq!(v["system_fingerprint"], "fp_mock0000");
    let choice = &v["choices"][0];
    assert_eq!(choice["index"], 0);
    assert_eq!(choice["finish_reason"], "stop");
    assert_eq!(choice["message"]["role"], "assistant");
    assert_eq!(choice["message"]["content"], "mock reply 1");
    assert!(choice["message"]["refusal"].is_null());
    assert_eq!(
        v["usage"],
        json!({
            "prompt_tokens": 11, // "hello" (5) + "wörld" (6 bytes)
            "completion_tokens": 16,
            "total_tokens": 27,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0
            }
        })
    );

    // max_tokens, then max_completion_tokens (which wins), set completion_tokens.
    let body = json!({"model": "gpt-4o", "max_tokens": 7, "messages": [{"role": "user", "content": "hi"}]});
    let v = chat(&mock.addr, &[], &body).await.json();
    assert_eq!(v["id"], "chatcmpl-mock-2");
    assert_eq!(v["model"], "gpt-4o");
    assert_eq!(v["choices"][0]["message"]["content"], "mock reply 2");
    assert_eq!(v["usage"]["prompt_tokens"], 2);
    assert_eq!(v["usage"]["completion_tokens"], 7);
    assert_eq!(v["usage"]["total_tokens"], 9);
    let body =
        json!({"model": "o3-mini", "max_tokens": 7, "max_completion_tokens": 40, "messages": []});
    let v = chat(&mock.addr, &[], &body).await.json();
    assert_eq!(v["usage"]["prompt_tokens"], 0);
    assert_eq!(v["usage"]["completion_tokens"], 40);
}

#[tokio::test]
async fn usage_header_overrides() {
    let mock = start().await;
    let body =
        json!({"model": "o1", "max_tokens": 7, "messages": [{"role": "user", "content": "hi"}]});
    let headers = [
        ("x-mock-prompt-tokens", "1000"),
        ("x-mock-completion-tokens", "200"),
        ("x-mock-cached-tokens", "300"),
        ("x-mock-reasoning-tokens", "50"),
        ("x-mock-reply", "custom answer"),
    ];
    let v = chat(&mock.addr, &headers, &body).await.json();
    let usage = &v["usage"];
    assert_eq!(usage["prompt_tokens"], 1000);
    assert_eq!(usage["completion_tokens"], 200);
    assert_eq!(usage["total_tokens"], 1200);
    assert_eq!(usage["prompt_tokens_details"]["cached_tokens"], 300);
    assert_eq!(usage["completion_tokens_details"]["reasoning_tokens"], 50);
    assert_eq!(v["choices"][0]["message"]["content"], "custom answer");

    // An unparsable control header is a 400, not a silent default.
    let resp = chat(&mock.addr, &[("x-mock-prompt-tokens", "lots")], &body).await;
    assert_eq!(resp.status, 400);
    assert_eq!(resp.json()["error"]["type"], "invalid_request_error");

    // Invalid JSON and a missing model are OpenAI-shaped 400s.
    let resp = send(&mock.addr, "POST", "/v1/chat/completions", &[], "{not json").await;
    assert_eq!(resp.status, 400);
    assert!(resp.json()["error"]["message"].is_string());
    let resp = chat(&mock.addr, &[], &json!({"messages": []})).await;
    assert_eq!(resp.status, 400);
}

fn parse_chunks(resp: &Resp) -> Vec<Value> {
    let data = resp.sse_data();
    assert_eq!(data.last().map(String::as_str), Some("[DONE]"));
    data[..data.len() - 1]
        .iter()
        .map(|d| serde_json::from_str(d).expect("chunk json"))
        .collect()
}

#[tokio::test]
async fn streaming_without_include_usage() {
    let mock = start().await;
    let body = json!({
        "model": "gpt-4o-mini",
        "stream": true,
        "messages": [{"role": "user", "content": "hello"}]
    });
    let resp = chat(&mock.addr, &[], &body).await;
    assert_eq!(resp.status, 200);
    assert!(resp.header("content-type").starts_with("text/event-stream"));
    assert!(resp.headers.get("content-length").is_none());
    assert_eq!(resp.header("x-ratelimit-remaining-requests"), "9999");
    let chunks = parse_chunks(&resp);
    assert!(chunks.len() >= 3);
    for c in &chunks {
        assert_eq!(c["id"], "chatcmpl-mock-1");
        assert_eq!(c["object"], "chat.completion.chunk");
        assert_eq!(c["model"], "gpt-4o-mini");
        assert!(
            c.get("usage").is_none(),
            "no usage key without include_usage: {c}"
        );
        assert_eq!(c["choices"].as_array().map(Vec::len), Some(1));
    }
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    assert_eq!(chunks[0]["choices"][0]["delta"]["content"], "");
    let last = chunks.last().expect("a chunk");
    assert_eq!(last["choices"][0]["finish_reason"], "stop");
    assert_eq!(last["choices"][0]["delta"], json!({}));
    let text: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, "mock reply 1");
    assert!(!resp.text().contains("prompt_tokens"));
}

#[tokio::test]
async fn streaming_with_include_usage_and_delay() {
    let mock = start().await;
    let body = json!({
        "model": "gpt-4o",
        "stream": true,
        "stream_options": {"include_usage": true},
        "max_completion_tokens": 33,
        "messages": [{"role": "user", "content": "abc"}]
    });
    let started = Instant::now();
    let resp = chat(
        &mock.addr,
        &[
            ("x-mock-chunk-delay-ms", "40"),
            ("x-mock-cached-tokens", "2"),
        ],
        &body,
    )
    .await;
    let elapsed = started.elapsed();
    assert_eq!(resp.status, 200);
    let chunks = parse_chunks(&resp);
    let events = chunks.len() + 1; // + [DONE]
                                   // Each event is its own chunk on the wire, delayed from the previous one.
    assert!(
        resp.frames.len() >= events,
        "{} frames for {events} events",
        resp.frames.len()
    );
    assert!(elapsed >= Duration::from_millis(40 * (events as u64 - 1)));

    let (usage_chunk, rest) = chunks.split_last().expect("chunks");
    assert_eq!(usage_chunk["choices"], json!([]));
    assert_eq!(usage_chunk["usage"]["prompt_tokens"], 3);
    assert_eq!(usage_chunk["usage"]["completion_tokens"], 33);
    assert_eq!(usage_chunk["usage"]["total_tokens"], 36);
    assert_eq!(
        usage_chunk["usage"]["prompt_tokens_details"]["cached_tokens"],
        2
    );
    for c in rest {
        assert!(
            c["usage"].is_null(),
            "usage must be null before the last chunk"
        );
        assert!(
            c.get("usage").is_some(),
            "usage key present with include_usage"
        );
    }
    assert_eq!(
        rest.last().expect("finish chunk")["choices"][0]["finish_reason"],
        "stop"
    );

    // include_usage: false behaves like its absence.
    let mut body = body;
    body["stream_options"]["include_usage"] = json!(false);
    let resp = chat(&mock.addr, &[], &body).await;
    assert!(parse_chunks(&resp).iter().all(|c| c.get("usage").is_none()));
}

#[tokio::test]
async fn error_injection() {
    let mock = start().await;
    let body = json!({"model": "gpt-4o", "stream": true, "messages": []});
    let resp = chat(&mock.addr, &[("x-mock-status", "429")], &body).await;
    assert_eq!(resp.status, 429);
    assert_eq!(resp.header("content-type"), "application/json");
    assert_eq!(resp.header("retry-after"), "1");
    assert_eq!(resp.header("x-ratelimit-remaining-requests"), "0");
    assert_eq!(resp.header("x-ratelimit-limit-requests"), "10000");
    assert!(resp.headers.contains_key("x-request-id"));
    let err = &resp.json()["error"];
    assert_eq!(err["type"], "requests");
    assert_eq!(err["code"], "rate_limit_exceeded");
    assert!(err["param"].is_null());
    assert!(err["message"].as_str().expect("message").contains("gpt-4o"));

    let resp = chat(
        &mock.addr,
        &[
            ("x-mock-status", "429"),
            ("x-mock-retry-after", "0"),
            ("x-mock-error-type", "insufficient_quota"),
            ("x-mock-error-code", "insufficient_quota"),
        ],
        &body,
    )
    .await;
    assert_eq!(resp.header("retry-after"), "0");
    assert_eq!(resp.json()["error"]["code"], "insufficient_quota");
    assert_eq!(resp.json()["error"]["type"], "insufficient_quota");

    for (status, kind) in [
        (500, "server_error"),
        (503, "server_error"),
        (400, "invalid_request_error"),
    ] {
        let s = status.to_string();
        let resp = chat(&mock.addr, &[("x-mock-status", &s)], &body).await;
        assert_eq!(resp.status, status);
        assert!(resp.headers.get("retry-after").is_none());
        let err = &resp.json()["error"];
        assert_eq!(err["type"], kind);
        assert!(err["message"].is_string());
        assert!(err["param"].is_null());
    }
    let resp = chat(&mock.addr, &[("x-mock-status", "200")], &body).await;
    assert_eq!(resp.status, 200);
}

#[tokio::test]
async fn other_v1_paths_answer_with_an_echo() {
    let mock = start().await;
    let resp = send(&mock.addr, "GET", "/v1/vector_stores", &[], "").await;
    assert_eq!(resp.status, 200);
    assert_eq!(
        resp.json(),
        json!({"object": "mock", "path": "/v1/vector_stores", "query": null, "method": "GET"})
    );
    let resp = send(&mock.addr, "DELETE", "/v1/files/file-1?purge=1", &[], "").await;
    assert_eq!(resp.json()["path"], "/v1/files/file-1");
    assert_eq!(resp.json()["query"], "purge=1");
    assert_eq!(resp.json()["method"], "DELETE");
    let resp = send(&mock.addr, "GET", "/v1/chat/completions", &[], "").await;
    assert_eq!(resp.json()["object"], "mock");
    let resp = send(
        &mock.addr,
        "POST",
        "/v1/embeddings",
        &[("x-mock-status", "503")],
        "{}",
    )
    .await;
    assert_eq!(resp.status, 503);
    // Outside /v1/ and /__mock/: a 404 that is not recorded.
    let resp = send(&mock.addr, "GET", "/elsewhere", &[], "").await;
    assert_eq!(resp.status, 404);
    assert_eq!(recorded(&mock.addr).await.len(), 4);
}

#[tokio::test]
async fn recording_and_reset() {
    let mock = start().await;
    let health = send(&mock.addr, "GET", "/__mock/health", &[], "").await;
    assert_eq!(health.status, 200);
    assert!(
        recorded(&mock.addr).await.is_empty(),
        "control endpoints are not recorded"
    );

    let body = json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "héllo"}]});
    let body_text = body.to_string();
    let resp = send(
        &mock.addr,
        "POST",
        "/v1/chat/completions?trace=1",
        &[
            ("Content-Type", "application/json"),
            ("Authorization", "Bearer sk-test"),
            ("X-Custom-Thing", "a"),
            ("X-Custom-Thing", "b"),
        ],
        &body_text,
    )
    .await;
    assert_eq!(resp.status, 200);
    let resp = send(&mock.addr, "GET", "/v1/models", &[], "").await;
    assert_eq!(resp.status, 200);

    let requests = recorded(&mock.addr).await;
    assert_eq!(requests.len(), 2);
    let first = &requests[0];
    assert_eq!(first["seq"], 1);
    assert_eq!(first["method"], "POST");
    assert_eq!(first["path"], "/v1/chat/completions?trace=1");
    assert_eq!(first["body"], body_text.as_str());
    assert_eq!(first["body_length"], body_text.len());
    assert_eq!(first["headers"]["authorization"], "Bearer sk-test");
    assert_eq!(first["headers"]["content-type"], "application/json");
    assert_eq!(first["headers"]["x-custom-thing"], json!(["a", "b"]));
    assert!(first["headers"].get("X-Custom-Thing").is_none());
    assert!(first["received_at_ms"].as_u64().is_some());
    assert_eq!(requests[1]["seq"], 2);
    assert_eq!(requests[1]["method"], "GET");
    assert_eq!(requests[1]["body"], "");
    assert_eq!(requests[1]["body_length"], 0);

    let reset = send(&mock.addr, "POST", "/__mock/reset", &[], "").await;
    assert_eq!(reset.status, 200);
    assert!(recorded(&mock.addr).await.is_empty());

    // Invalid UTF-8 is recorded lossily, with the true byte length.
    let stream = TcpStream::connect(&mock.addr).await.expect("connect");
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(conn);
    let request = Request::builder()
        .method("PUT")
        .uri("/v1/raw")
        .header("host", &mock.addr)
        .body(Full::new(Bytes::from_static(b"a\xffb")))
        .expect("request");
    let response = sender.send_request(request).await.expect("response");
    assert_eq!(response.status(), 200);
    let _ = response.into_body().collect().await;

    let requests = recorded(&mock.addr).await;
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0]["seq"], 3, "sequence numbers are never reused");
    assert_eq!(requests[0]["body"], "a\u{fffd}b");
    assert_eq!(requests[0]["body_length"], 3);
}

async fn exit_on_signal(signal: &str) {
    let mut mock = start().await;
    // A streaming request in flight must not keep the process alive.
    let addr = mock.addr.clone();
    let inflight = tokio::spawn(async move {
        let body = json!({"model": "m", "stream": true, "messages": []});
        chat(&addr, &[("x-mock-chunk-delay-ms", "10000")], &body).await
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let pid = mock.child.id().expect("pid").to_string();
    let status = std::process::Command::new("kill")
        .args([signal, &pid])
        .status()
        .expect("run kill");
    assert!(status.success());
    let exit = timeout(Duration::from_secs(10), mock.child.wait())
        .await
        .expect("exits in time")
        .expect("wait");
    assert!(exit.success(), "clean exit on {signal}: {exit:?}");
    // The ready line was the only line.
    assert_eq!(mock.stdout.next_line().await.expect("read"), None);
    inflight.abort();
}

#[tokio::test]
async fn exits_cleanly_on_sigterm() {
    exit_on_signal("-TERM").await;
}

#[tokio::test]
async fn exits_cleanly_on_sigint() {
    exit_on_signal("-INT").await;
}

#[tokio::test]
async fn fixed_port() {
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("probe bind");
        probe.local_addr().expect("probe addr").port()
    };
    let p = port.to_string();
    let mock = start_with(&["--port", &p]).await;
    assert_eq!(mock.addr, format!("127.0.0.1:{port}"));
    let resp = send(&mock.addr, "GET", "/__mock/health", &[], "").await;
    assert_eq!(resp.status, 200);
}

#[tokio::test]
async fn bad_arguments_fail() {
    let out = Command::new(env!("CARGO_BIN_EXE_mock-openai"))
        .args(["--port", "nope"])
        .output()
        .await
        .expect("run");
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--port"));
}
