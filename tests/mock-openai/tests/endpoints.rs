//! The non-chat endpoints of the real binary: shapes, usage, recording, and the common
//! `x-mock-*` headers on each.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};

fn b64_decode(s: &str) -> Vec<u8> {
    let value = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("not base64: {c}"),
        }
    };
    let mut out = Vec::new();
    for chunk in s.as_bytes().chunks(4) {
        let data: Vec<u8> = chunk.iter().copied().filter(|c| *c != b'=').collect();
        let mut n = 0u32;
        for (i, c) in data.iter().enumerate() {
            n |= value(*c) << (18 - 6 * i);
        }
        for i in 0..data.len().saturating_sub(1) {
            out.push((n >> (16 - 8 * i)) as u8);
        }
    }
    out
}

#[tokio::test]
async fn embeddings() {
    let mock = start().await;
    let body = json!({"model": "text-embedding-3-small", "input": ["héllo", "abc"]});
    let resp = post_json(&mock.addr, "/v1/embeddings", &[], &body).await;
    assert_eq!(resp.status, 200);
    let v = resp.json();
    assert_eq!(v["object"], "list");
    assert_eq!(v["model"], "text-embedding-3-small");
    assert_eq!(v["usage"], json!({"prompt_tokens": 9, "total_tokens": 9}));
    let data = v["data"].as_array().unwrap();
    assert_eq!(data.len(), 2);
    for (i, d) in data.iter().enumerate() {
        assert_eq!(d["object"], "embedding");
        assert_eq!(d["index"], i);
        let e = d["embedding"].as_array().unwrap();
        assert_eq!(e.len(), 8);
        let norm: f64 = e.iter().map(|x| x.as_f64().unwrap().powi(2)).sum();
        assert!((norm - 1.0).abs() < 1e-4);
    }
    // Deterministic, per input.
    let again = post_json(&mock.addr, "/v1/embeddings", &[], &body)
        .await
        .json();
    assert_eq!(again["data"], v["data"]);
    assert_ne!(data[0]["embedding"], data[1]["embedding"]);

    // base64: little-endian f32s of the same vector; dimensions honoured; header override.
    let body = json!({"model": "text-embedding-3-large", "input": "héllo", "encoding_format": "base64", "dimensions": 8});
    let v = post_json(
        &mock.addr,
        "/v1/embeddings",
        &[("x-mock-prompt-tokens", "42")],
        &body,
    )
    .await
    .json();
    assert_eq!(v["usage"], json!({"prompt_tokens": 42, "total_tokens": 42}));
    let bytes = b64_decode(v["data"][0]["embedding"].as_str().unwrap());
    assert_eq!(bytes.len(), 8 * 4);
    let floats: Vec<f32> = bytes
        .chunks(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    // serde_json's default float parsing may be off by an ulp of f64; compare as f32.
    let expected: Vec<f32> = data[0]["embedding"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect();
    assert_eq!(floats, expected);

    let body = json!({"model": "m", "input": "x", "dimensions": 3});
    let v = post_json(&mock.addr, "/v1/embeddings", &[], &body)
        .await
        .json();
    assert_eq!(v["data"][0]["embedding"].as_array().unwrap().len(), 3);
    // Token arrays: one embedding per array, one token per integer.
    let body = json!({"model": "m", "input": [[1, 2, 3], [4]]});
    let v = post_json(&mock.addr, "/v1/embeddings", &[], &body)
        .await
        .json();
    assert_eq!(v["data"].as_array().unwrap().len(), 2);
    assert_eq!(v["usage"]["prompt_tokens"], 4);
    let resp = post_json(&mock.addr, "/v1/embeddings", &[], &json!({"model": "m"})).await;
    assert_eq!(resp.status, 400);
}

#[tokio::test]
async fn image_generations() {
    let mock = start().await;
    let body = json!({"model": "dall-e-3", "prompt": "a cat"});
    let v = post_json(&mock.addr, "/v1/images/generations", &[], &body)
        .await
        .json();
    assert!(v["created"].as_u64().unwrap() > 1_600_000_000);
    assert_eq!(v["data"].as_array().unwrap().len(), 1);
    assert!(v["data"][0]["url"]
        .as_str()
        .unwrap()
        .starts_with("https://"));
    assert_eq!(v["data"][0]["revised_prompt"], "a cat");
    assert!(v.get("usage").is_none(), "dall-e has no usage");

    let body =
        json!({"model": "dall-e-2", "prompt": "a cat", "n": 3, "response_format": "b64_json"});
    let v = post_json(&mock.addr, "/v1/images/generations", &[], &body)
        .await
        .json();
    let data = v["data"].as_array().unwrap();
    assert_eq!(data.len(), 3);
    assert!(b64_decode(data[0]["b64_json"].as_str().unwrap()).starts_with(b"\x89PNG"));

    let body = json!({"model": "gpt-image-1", "prompt": "a cat", "n": 2, "quality": "low", "size": "1536x1024"});
    let v = post_json(&mock.addr, "/v1/images/generations", &[], &body)
        .await
        .json();
    assert_eq!(v["data"].as_array().unwrap().len(), 2);
    assert!(v["data"][0]["b64_json"].is_string());
    assert_eq!(v["quality"], "low");
    assert_eq!(v["size"], "1536x1024");
    assert_eq!(v["output_format"], "png");
    assert_eq!(
        v["usage"],
        json!({
            "input_tokens": 5,
            "input_tokens_details": {"text_tokens": 5, "image_tokens": 0},
            "output_tokens": 800, // 400 per low 1536x1024 image
            "total_tokens": 805
        })
    );
    let headers = [
        ("x-mock-prompt-tokens", "10"),
        ("x-mock-completion-tokens", "1000"),
    ];
    let body = json!({"model": "gpt-image-1", "prompt": "a cat"});
    let v = post_json(&mock.addr, "/v1/images/generations", &headers, &body)
        .await
        .json();
    assert_eq!(v["usage"]["input_tokens"], 10);
    assert_eq!(v["usage"]["output_tokens"], 1000);
    assert_eq!(v["usage"]["total_tokens"], 1010);
    let resp = post_json(
        &mock.addr,
        "/v1/images/generations",
        &[],
        &json!({"model": "dall-e-2", "prompt": "x", "n": 11}),
    )
    .await;
    assert_eq!(resp.status, 400);
}

#[tokio::test]
async fn image_edits_and_variations_are_multipart() {
    let mock = start().await;
    let png = [0x89u8, b'P', b'N', b'G', 0, 0xff, b'\r', b'\n', 1, 2, 3];
    let (resp, sent_len) = post_form(
        &mock.addr,
        "/v1/images/edits",
        &[],
        &[
            ("image[]", Some("a.png"), &png),
            ("image[]", Some("b.png"), &png),
            ("prompt", None, b"add a hat"),
            ("model", None, b"gpt-image-1"),
            ("n", None, b"2"),
            ("size", None, b"1024x1536"),
            ("quality", None, b"high"),
        ],
    )
    .await;
    assert_eq!(resp.status, 200);
    let v = resp.json();
    assert_eq!(v["data"].as_array().unwrap().len(), 2);
    assert_eq!(
        v["usage"],
        json!({
            "input_tokens": 209,
            "input_tokens_details": {"text_tokens": 9, "image_tokens": 200},
            "output_tokens": 12480, // 6240 per high 1024x1536 image
            "total_tokens": 12689
        })
    );
    let (resp, _) = post_form(
        &mock.addr,
        "/v1/images/edits",
        &[("x-mock-image-tokens", "7")],
        &[
            ("image", Some("a.png"), &png),
            ("prompt", None, b"x"),
            ("model", None, b"gpt-image-1"),
        ],
    )
    .await;
    assert_eq!(
        resp.json()["usage"]["input_tokens_details"]["image_tokens"],
        7
    );

    let (resp, _) = post_form(
        &mock.addr,
        "/v1/images/variations",
        &[],
        &[
            ("image", Some("a.png"), &png),
            ("n", None, b"3"),
            ("response_format", None, b"url"),
        ],
    )
    .await;
    let v = resp.json();
    assert_eq!(v["data"].as_array().unwrap().len(), 3);
    assert!(v["data"][0]["url"].is_string());

    // No image: a 400. Not multipart: a 400.
    let (resp, _) = post_form(
        &mock.addr,
        "/v1/images/edits",
        &[],
        &[("prompt", None, b"x")],
    )
    .await;
    assert_eq!(resp.status, 400);
    let resp = post_json(&mock.addr, "/v1/images/edits", &[], &json!({"prompt": "x"})).await;
    assert_eq!(resp.status, 400);

    // The multipart body is recorded with its exact length.
    let requests = recorded(&mock.addr).await;
    assert_eq!(requests[0]["body_length"], sent_len);
    assert!(requests[0]["body"].as_str().unwrap().contains("add a hat"));
    assert!(requests[0]["headers"]["content-type"]
        .as_str()
        .unwrap()
        .starts_with("multipart/form-data; boundary="));
}

#[tokio::test]
async fn transcriptions_and_translations() {
    let mock = start().await;
    let audio = vec![7u8; 48_000]; // 3 s at 16 kB/s
    let (resp, sent_len) = post_form(
        &mock.addr,
        "/v1/audio/transcriptions",
        &[],
        &[
            ("file", Some("a.wav"), &audio),
            ("model", None, b"whisper-1"),
        ],
    )
    .await;
    assert_eq!(resp.status, 200);
    assert_eq!(
        resp.json(),
        json!({"text": "mock transcription", "usage": {"type": "duration", "seconds": 3}})
    );
    assert_eq!(recorded(&mock.addr).await[0]["body_length"], sent_len);

    let (resp, _) = post_form(
        &mock.addr,
        "/v1/audio/transcriptions",
        &[
            ("x-mock-audio-seconds", "61.5"),
            ("x-mock-reply", "hello there"),
        ],
        &[
            ("file", Some("a.mp3"), b"tiny"),
            ("model", None, b"whisper-1"),
            ("response_format", None, b"verbose_json"),
        ],
    )
    .await;
    let v = resp.json();
    assert_eq!(v["task"], "transcribe");
    assert_eq!(v["duration"], 61.5);
    assert_eq!(v["text"], "hello there");
    assert!(v["segments"][0]["end"].as_f64().unwrap() > 61.0);
    assert_eq!(v["usage"], json!({"type": "duration", "seconds": 61.5}));

    // A tiny file still counts as one second.
    let (resp, _) = post_form(
        &mock.addr,
        "/v1/audio/translations",
        &[],
        &[
            ("file", Some("a.mp3"), b"tiny"),
            ("model", None, b"whisper-1"),
        ],
    )
    .await;
    assert_eq!(
        resp.json(),
        json!({"text": "mock translation", "usage": {"type": "duration", "seconds": 1}})
    );

    // Token-billed models.
    for model in ["gpt-4o-transcribe", "gpt-4o-mini-transcribe"] {
        let (resp, _) = post_form(
            &mock.addr,
            "/v1/audio/transcriptions",
            &[],
            &[
                ("file", Some("a.wav"), &audio),
                ("model", None, model.as_bytes()),
                ("prompt", None, b"names: Ann"),
            ],
        )
        .await;
        assert_eq!(
            resp.json()["usage"],
            json!({
                "type": "tokens",
                "input_tokens": 40,
                "input_token_details": {"text_tokens": 10, "audio_tokens": 30},
                "output_tokens": 18,
                "total_tokens": 58
            }),
            "{model}"
        );
    }
    let (resp, _) = post_form(
        &mock.addr,
        "/v1/audio/transcriptions",
        &[
            ("x-mock-prompt-tokens", "500"),
            ("x-mock-completion-tokens", "20"),
        ],
        &[
            ("file", Some("a.wav"), &audio),
            ("model", None, b"gpt-4o-transcribe"),
        ],
    )
    .await;
    let usage = &resp.json()["usage"];
    assert_eq!(usage["input_tokens"], 500);
    assert_eq!(usage["input_token_details"]["audio_tokens"], 500);
    assert_eq!(usage["total_tokens"], 520);

    // response_format=text is text/plain.
    let (resp, _) = post_form(
        &mock.addr,
        "/v1/audio/transcriptions",
        &[],
        &[
            ("file", Some("a.wav"), &audio),
            ("model", None, b"whisper-1"),
            ("response_format", None, b"text"),
        ],
    )
    .await;
    assert!(resp.header("content-type").starts_with("text/plain"));
    assert_eq!(resp.text(), "mock transcription\n");
    let (resp, _) = post_form(
        &mock.addr,
        "/v1/audio/transcriptions",
        &[],
        &[
            ("file", Some("a.wav"), &audio),
            ("model", None, b"whisper-1"),
            ("response_format", None, b"srt"),
        ],
    )
    .await;
    assert_eq!(
        resp.text(),
        "1\n00:00:00,000 --> 00:00:03,000\nmock transcription\n\n"
    );

    let (resp, _) = post_form(
        &mock.addr,
        "/v1/audio/transcriptions",
        &[],
        &[("model", None, b"whisper-1")],
    )
    .await;
    assert_eq!(resp.status, 400);
    let resp = post_json(
        &mock.addr,
        "/v1/audio/transcriptions",
        &[("x-mock-audio-seconds", "abc")],
        &json!({}),
    )
    .await;
    assert_eq!(resp.status, 400);
}

#[tokio::test]
async fn speech_returns_audio_bytes() {
    let mock = start().await;
    let body = json!({"model": "tts-1", "input": "hello", "voice": "alloy"});
    let resp = post_json(&mock.addr, "/v1/audio/speech", &[], &body).await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("content-type"), "audio/mpeg");
    let mp3 = resp.bytes();
    assert!(mp3.starts_with(b"ID3"));
    let body = json!({"model": "tts-1", "input": "hello hello", "voice": "alloy"});
    let longer = post_json(&mock.addr, "/v1/audio/speech", &[], &body)
        .await
        .bytes();
    assert_eq!(
        longer.len(),
        mp3.len() * 11 / 5,
        "length proportional to the input"
    );
    let again = post_json(&mock.addr, "/v1/audio/speech", &[], &body)
        .await
        .bytes();
    assert_eq!(again, longer, "deterministic");

    let body = json!({"model": "gpt-4o-mini-tts", "input": "hi", "voice": "coral", "response_format": "wav"});
    let resp = post_json(&mock.addr, "/v1/audio/speech", &[], &body).await;
    assert_eq!(resp.header("content-type"), "audio/wav");
    let wav = resp.bytes();
    assert!(wav.starts_with(b"RIFF") && &wav[8..12] == b"WAVE");
    for (format, content_type) in [
        ("opus", "audio/opus"),
        ("aac", "audio/aac"),
        ("flac", "audio/flac"),
        ("pcm", "audio/pcm"),
    ] {
        let body =
            json!({"model": "tts-1", "input": "hi", "voice": "alloy", "response_format": format});
        let resp = post_json(&mock.addr, "/v1/audio/speech", &[], &body).await;
        assert_eq!(resp.header("content-type"), content_type);
    }
    let body = json!({"model": "tts-1", "input": "hi", "voice": "alloy", "response_format": "ogg"});
    assert_eq!(
        post_json(&mock.addr, "/v1/audio/speech", &[], &body)
            .await
            .status,
        400
    );
}

#[tokio::test]
async fn moderations_and_models() {
    let mock = start().await;
    let v = post_json(
        &mock.addr,
        "/v1/moderations",
        &[],
        &json!({"input": ["a", "b"]}),
    )
    .await
    .json();
    assert!(v["id"].as_str().unwrap().starts_with("modr-"));
    assert_eq!(v["model"], "omni-moderation-latest");
    let results = v["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    assert_eq!(results[0]["flagged"], false);
    assert_eq!(results[0]["categories"]["self-harm/intent"], false);
    assert!(results[0]["category_scores"]["violence/graphic"].is_f64());
    assert_eq!(
        results[0]["category_applied_input_types"]["sexual"],
        json!(["text", "image"])
    );
    assert_eq!(results[0]["categories"].as_object().unwrap().len(), 13);
    let body = json!({"model": "omni-moderation-2024-09-26", "input": [
        {"type": "text", "text": "x"}, {"type": "image_url", "image_url": {"url": "https://x"}}]});
    let v = post_json(&mock.addr, "/v1/moderations", &[], &body)
        .await
        .json();
    assert_eq!(v["model"], "omni-moderation-2024-09-26");
    assert_eq!(v["results"].as_array().unwrap().len(), 1);

    let resp = send(&mock.addr, "GET", "/v1/models", &[], "").await;
    let v = resp.json();
    assert_eq!(v["object"], "list");
    let data = v["data"].as_array().unwrap();
    assert!(data.len() >= 10);
    for m in data {
        assert_eq!(m["object"], "model");
        assert!(m["id"].is_string() && m["created"].is_u64() && m["owned_by"].is_string());
    }
    assert!(data.iter().any(|m| m["id"] == "gpt-4o-mini"));
    // Byte-for-byte stable (the gateway's pass-through test compares bodies).
    assert_eq!(
        send(&mock.addr, "GET", "/v1/models", &[], "").await.text(),
        resp.text()
    );
    let v = send(&mock.addr, "GET", "/v1/models/gpt-4o", &[], "")
        .await
        .json();
    assert_eq!(v["id"], "gpt-4o");
    assert_eq!(v["object"], "model");
    let v = send(
        &mock.addr,
        "GET",
        "/v1/models/ft:gpt-4o-mini:acme::abc",
        &[],
        "",
    )
    .await
    .json();
    assert_eq!(v["id"], "ft:gpt-4o-mini:acme::abc");
}

#[tokio::test]
async fn files_batches_and_fine_tuning() {
    let mock = start().await;
    let jsonl =
        b"{\"custom_id\":\"1\",\"method\":\"POST\",\"url\":\"/v1/chat/completions\",\"body\":{}}\n";
    let (resp, sent_len) = post_form(
        &mock.addr,
        "/v1/files",
        &[],
        &[
            ("purpose", None, b"batch"),
            ("file", Some("in.jsonl"), jsonl),
        ],
    )
    .await;
    assert_eq!(resp.status, 200);
    let file = resp.json();
    let file_id = file["id"].as_str().unwrap().to_owned();
    assert!(file_id.starts_with("file-"));
    assert_eq!(file["object"], "file");
    assert_eq!(file["bytes"], jsonl.len());
    assert_eq!(file["filename"], "in.jsonl");
    assert_eq!(file["purpose"], "batch");
    assert_eq!(file["status"], "processed");
    assert_eq!(recorded(&mock.addr).await[0]["body_length"], sent_len);

    let list = send(&mock.addr, "GET", "/v1/files", &[], "").await.json();
    assert_eq!(list["object"], "list");
    assert_eq!(list["data"][0]["id"], file_id.as_str());
    assert_eq!(list["first_id"], file_id.as_str());
    assert_eq!(list["has_more"], false);
    let list = send(&mock.addr, "GET", "/v1/files?purpose=fine-tune", &[], "")
        .await
        .json();
    assert_eq!(list["data"], json!([]));
    let got = send(&mock.addr, "GET", &format!("/v1/files/{file_id}"), &[], "")
        .await
        .json();
    assert_eq!(got, file);
    assert_eq!(
        send(&mock.addr, "GET", "/v1/files/file-nope", &[], "")
            .await
            .status,
        404
    );

    let body = json!({"input_file_id": file_id, "endpoint": "/v1/chat/completions",
                      "completion_window": "24h", "metadata": {"k": "v"}});
    let batch = post_json(&mock.addr, "/v1/batches", &[], &body)
        .await
        .json();
    let batch_id = batch["id"].as_str().unwrap().to_owned();
    assert!(batch_id.starts_with("batch_"));
    assert_eq!(batch["object"], "batch");
    assert_eq!(batch["status"], "validating");
    assert_eq!(batch["endpoint"], "/v1/chat/completions");
    assert_eq!(batch["input_file_id"], file_id.as_str());
    assert_eq!(batch["metadata"], json!({"k": "v"}));
    assert_eq!(
        batch["request_counts"],
        json!({"total": 0, "completed": 0, "failed": 0})
    );
    assert!(batch["completed_at"].is_null());

    let headers = [
        ("x-mock-prompt-tokens", "1000"),
        ("x-mock-completion-tokens", "200"),
        ("x-mock-cached-tokens", "100"),
    ];
    let got = send(
        &mock.addr,
        "GET",
        &format!("/v1/batches/{batch_id}"),
        &headers,
        "",
    )
    .await
    .json();
    assert_eq!(got["id"], batch_id.as_str());
    assert_eq!(got["status"], "completed");
    assert!(got["completed_at"].as_u64().unwrap() > batch["created_at"].as_u64().unwrap());
    assert!(got["output_file_id"].is_string());
    assert_eq!(
        got["request_counts"],
        json!({"total": 1, "completed": 1, "failed": 0})
    );
    assert_eq!(
        got["usage"],
        json!({
            "input_tokens": 1000,
            "input_tokens_details": {"cached_tokens": 100},
            "output_tokens": 200,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": 1200
        })
    );
    assert_eq!(
        send(&mock.addr, "GET", "/v1/batches/batch_nope", &[], "")
            .await
            .status,
        404
    );
    let resp = post_json(
        &mock.addr,
        "/v1/batches",
        &[],
        &json!({"endpoint": "/v1/chat/completions"}),
    )
    .await;
    assert_eq!(resp.status, 400);

    let body = json!({"model": "gpt-4o-mini-2024-07-18", "training_file": file_id});
    let job = post_json(&mock.addr, "/v1/fine_tuning/jobs", &[], &body)
        .await
        .json();
    assert_eq!(job["object"], "fine_tuning.job");
    assert!(job["id"].as_str().unwrap().starts_with("ftjob-"));
    assert_eq!(job["model"], "gpt-4o-mini-2024-07-18");
    assert_eq!(job["status"], "queued");
    assert_eq!(job["training_file"], file_id.as_str());
    assert!(job["fine_tuned_model"].is_null());

    // reset forgets files and batches too.
    send(&mock.addr, "POST", "/__mock/reset", &[], "").await;
    assert_eq!(
        send(&mock.addr, "GET", "/v1/files", &[], "").await.json()["data"],
        json!([])
    );
}

#[tokio::test]
async fn common_headers_work_on_every_endpoint() {
    let mock = start().await;
    let audio = [0u8; 10];
    let form_paths = [
        "/v1/images/edits",
        "/v1/images/variations",
        "/v1/audio/transcriptions",
        "/v1/audio/translations",
        "/v1/files",
    ];
    let json_paths = [
        "/v1/completions",
        "/v1/responses",
        "/v1/embeddings",
        "/v1/images/generations",
        "/v1/audio/speech",
        "/v1/moderations",
        "/v1/batches",
        "/v1/fine_tuning/jobs",
    ];
    for path in json_paths {
        let resp = post_json(
            &mock.addr,
            path,
            &[("x-mock-status", "429")],
            &json!({"model": "m"}),
        )
        .await;
        assert_eq!(resp.status, 429, "{path}");
        assert_eq!(
            resp.json()["error"]["code"],
            "rate_limit_exceeded",
            "{path}"
        );
        assert_eq!(resp.header("retry-after"), "1");
        let resp = post_json(&mock.addr, path, &[("x-mock-status", "503")], &json!({})).await;
        assert_eq!(resp.status, 503, "{path}");
        assert_eq!(resp.json()["error"]["type"], "server_error");
    }
    for path in form_paths {
        let (resp, _) = post_form(
            &mock.addr,
            path,
            &[("x-mock-status", "500")],
            &[("file", Some("a"), &audio)],
        )
        .await;
        assert_eq!(resp.status, 500, "{path}");
        assert!(resp.header("x-request-id").starts_with("req_mock_"));
    }
    for path in [
        "/v1/models",
        "/v1/models/gpt-4o",
        "/v1/files",
        "/v1/batches/batch_x",
    ] {
        let resp = send(&mock.addr, "GET", path, &[("x-mock-status", "401")], "").await;
        assert_eq!(resp.status, 401, "{path}");
        assert_eq!(resp.json()["error"]["code"], "invalid_api_key");
    }
    // Latency applies everywhere.
    let started = Instant::now();
    let resp = send(
        &mock.addr,
        "GET",
        "/v1/models",
        &[("x-mock-latency-ms", "150")],
        "",
    )
    .await;
    assert_eq!(resp.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(150));
    let started = Instant::now();
    let (resp, _) = post_form(
        &mock.addr,
        "/v1/audio/transcriptions",
        &[("x-mock-latency-ms", "150")],
        &[
            ("file", Some("a.wav"), &audio),
            ("model", None, b"whisper-1"),
        ],
    )
    .await;
    assert_eq!(resp.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(150));
    // Every request was recorded, errors included.
    let n = json_paths.len() * 2 + form_paths.len() + 4 + 2;
    assert_eq!(recorded(&mock.addr).await.len(), n);
    let bad: Value = post_json(
        &mock.addr,
        "/v1/embeddings",
        &[("x-mock-endless", "maybe")],
        &json!({}),
    )
    .await
    .json();
    assert_eq!(bad["error"]["type"], "invalid_request_error");
}
