//! Helpers shared by the integration tests: start the real binary, talk HTTP/1.1 to it.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Stdio;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::HeaderMap;
use hyper::Request;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};
use tokio::time::timeout;

pub struct Mock {
    pub child: Child,
    pub addr: String,
}

pub async fn start() -> Mock {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mock-openai"))
        .args(["--port", "0"])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn mock-openai");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let line = timeout(Duration::from_secs(20), lines.next_line())
        .await
        .expect("ready line in time")
        .expect("read stdout")
        .expect("a line");
    let port = line
        .strip_prefix("mock-openai listening on http://127.0.0.1:")
        .unwrap_or_else(|| panic!("unexpected ready line {line:?}"));
    Mock {
        child,
        addr: format!("127.0.0.1:{port}"),
    }
}

pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub frames: Vec<Bytes>,
    /// The error that ended the body early, if any.
    pub body_error: Option<String>,
}

impl Resp {
    pub fn bytes(&self) -> Vec<u8> {
        self.frames.iter().flat_map(|f| f.iter().copied()).collect()
    }
    pub fn text(&self) -> String {
        String::from_utf8(self.bytes()).expect("utf-8 body")
    }
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes()).expect("json body")
    }
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("missing header {name}"))
            .to_str()
            .expect("ascii header")
    }
    /// The SSE events, parsed with any line ending.
    pub fn events(&self) -> Vec<Event> {
        parse_sse(&self.text())
    }
    /// The JSON of every `data:` payload but `[DONE]`.
    pub fn data_json(&self) -> Vec<Value> {
        self.events()
            .iter()
            .filter(|e| e.data != "[DONE]")
            .map(|e| serde_json::from_str(&e.data).expect("event json"))
            .collect()
    }
}

/// Sends one request on a fresh connection and reads the whole answer (or until the body
/// fails).
pub async fn send_bytes(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &[u8])],
    body: Vec<u8>,
) -> Resp {
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
        builder = builder.header(
            *name,
            hyper::header::HeaderValue::from_bytes(value).expect("header"),
        );
    }
    let request = builder.body(Full::new(Bytes::from(body))).expect("request");
    let response = timeout(Duration::from_secs(20), sender.send_request(request))
        .await
        .expect("response in time")
        .expect("response");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let mut body = response.into_body();
    let mut frames = Vec::new();
    let mut body_error = None;
    while let Some(frame) = timeout(Duration::from_secs(20), body.frame())
        .await
        .expect("frame in time")
    {
        match frame {
            Ok(frame) => {
                if let Ok(data) = frame.into_data() {
                    frames.push(data);
                }
            }
            Err(err) => {
                body_error = Some(err.to_string());
                break;
            }
        }
    }
    Resp {
        status,
        headers,
        frames,
        body_error,
    }
}

pub async fn send(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Resp {
    let headers: Vec<(&str, &[u8])> = headers.iter().map(|(k, v)| (*k, v.as_bytes())).collect();
    send_bytes(addr, method, path, &headers, body.as_bytes().to_vec()).await
}

pub async fn post_json(addr: &str, path: &str, headers: &[(&str, &str)], body: &Value) -> Resp {
    let mut all = vec![("content-type", "application/json")];
    all.extend_from_slice(headers);
    send(addr, "POST", path, &all, &body.to_string()).await
}

/// A `multipart/form-data` body: `(name, filename, content)`.
pub fn multipart(parts: &[(&str, Option<&str>, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "----mockboundary7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (name, filename, content) in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match filename {
            Some(f) => body.extend_from_slice(
                format!(
                    "Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\n\
                     Content-Type: application/octet-stream\r\n\r\n"
                )
                .as_bytes(),
            ),
            None => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            ),
        }
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

pub async fn post_form(
    addr: &str,
    path: &str,
    headers: &[(&str, &str)],
    parts: &[(&str, Option<&str>, &[u8])],
) -> (Resp, usize) {
    let (content_type, body) = multipart(parts);
    let len = body.len();
    let mut all: Vec<(&str, &[u8])> = vec![("content-type", content_type.as_bytes())];
    all.extend(headers.iter().map(|(k, v)| (*k, v.as_bytes())));
    (send_bytes(addr, "POST", path, &all, body).await, len)
}

pub async fn recorded(addr: &str) -> Vec<Value> {
    let resp = send(addr, "GET", "/__mock/requests", &[], "").await;
    assert_eq!(resp.status, 200);
    resp.json()["requests"]
        .as_array()
        .expect("requests")
        .clone()
}

/// One parsed SSE event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub event: Option<String>,
    pub data: String,
}

/// A spec-following SSE parser: lines end in CRLF, LF or CR; `field: value` with one
/// optional space; a blank line dispatches.
pub fn parse_sse(text: &str) -> Vec<Event> {
    let mut events = Vec::new();
    let mut event = None;
    let mut data: Option<String> = None;
    let normalized = text.replace("\r\n", "\n").replace('\r', "\n");
    for line in normalized.split('\n') {
        if line.is_empty() {
            if let Some(d) = data.take() {
                events.push(Event {
                    event: event.take(),
                    data: d,
                });
            }
            event = None;
            continue;
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "event" => event = Some(value.to_owned()),
            "data" => match &mut data {
                Some(d) => {
                    d.push('\n');
                    d.push_str(value);
                }
                None => data = Some(value.to_owned()),
            },
            _ => {}
        }
    }
    events
}

/// Removes the fields that differ between two otherwise identical answers (ids, times).
pub fn normalize(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for key in ["id", "item_id", "created", "created_at", "expires_at"] {
                map.remove(key);
            }
            for value in map.values_mut() {
                normalize(value);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(normalize),
        _ => {}
    }
}

/// Events with their JSON payloads normalized.
pub fn normalized_events(resp: &Resp) -> Vec<(Option<String>, Value)> {
    resp.events()
        .into_iter()
        .map(|e| {
            let mut v = serde_json::from_str(&e.data).unwrap_or(Value::String(e.data.clone()));
            normalize(&mut v);
            (e.event, v)
        })
        .collect()
}

/// Polls the recorded request `seq` until `pred` holds (or panics after 10 s).
pub async fn wait_for_record(addr: &str, seq: u64, pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let found = recorded(addr).await.into_iter().find(|r| r["seq"] == seq);
        if let Some(r) = &found {
            if pred(r) {
                return r.clone();
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting on request {seq}: {found:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
