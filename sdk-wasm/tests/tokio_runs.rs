//! The native SDK under a tokio server's load: 1,000 concurrent runs, each with its own
//! tenant and customer, nested sections with awaits between them, two sub-futures joined in
//! one task (`with_section`), one of which makes the run's call: a search, or a retry block
//! whose first attempt gets a 429 in every tenth run. Every call must carry exactly its own
//! run's attribution: zero bleed. At most `IN_FLIGHT` calls are open at once, as with a
//! client's connection pool (wrangler dev serves about 25 calls a second whatever the
//! concurrency, and drops connections when far more are open).
//!
//! By default the calls go to the mock OpenAI upstream, started in-process, whose request
//! log shows the headers each call carried. With `LLMOBSERVE_E2E_GATEWAY_URL`,
//! `LLMOBSERVE_E2E_KEY` and `LLMOBSERVE_E2E_ADMIN_TOKEN` set (tests/e2e/sdk-rust.test.mjs
//! does that) they go through the real gateway, and the check reads the stored events.

// clippy.toml allows these inside `#[test]` functions only; the helpers below are test code too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use llmobserve_sdk::{
    current, headers, new_run, retry_block, scope, section, set_customer_id, set_tenant_id, with_section,
    RetryAdvice, RetryPolicy,
};
use serde_json::{json, Value};
use tokio::net::{TcpListener, TcpStream};

const RUNS: usize = 1000;
const TENANTS: [&str; 3] = ["acme-corp", "bigco-inc", "initech"];
const CUSTOMERS: [&str; 5] = ["alice", "bob", "charlie", "dana", "erin"];
const IN_FLIGHT: usize = 16;
static POOL: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(IN_FLIGHT);

/// Even runs search; odd runs analyse, and every tenth run's analysis is first rate limited.
fn searches(run: usize) -> bool {
    run.is_multiple_of(2)
}
fn rate_limited(run: usize) -> bool {
    run % 10 == 1
}

struct Target {
    /// `host:port` of what the calls go to.
    addr: String,
    /// `Authorization` for a call: the gateway key, or nothing for the bare mock.
    auth: Option<String>,
    admin_token: Option<String>,
}

struct Resp {
    status: u16,
    headers: hyper::HeaderMap,
    body: Bytes,
}

async fn http(addr: &str, method: &str, path: &str, headers: &[(String, String)], body: &str) -> Resp {
    let mut last = None;
    for _ in 0..5 {
        match TcpStream::connect(addr).await {
            Ok(stream) => {
                let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.unwrap();
                tokio::spawn(conn);
                let mut req = Request::builder().method(method).uri(path).header("host", addr);
                for (k, v) in headers {
                    req = req.header(k, v);
                }
                let req = req.body(Full::new(Bytes::from(body.to_owned()))).unwrap();
                let res = sender.send_request(req).await.unwrap();
                let (parts, body) = res.into_parts();
                let body = body.collect().await.unwrap().to_bytes();
                return Resp { status: parts.status.as_u16(), headers: parts.headers, body };
            }
            Err(e) => {
                last = Some(e);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    panic!("cannot connect to {addr}: {last:?}");
}

/// What one call was made as, and what came back.
#[derive(Clone, Debug)]
struct Call {
    run: usize,
    tenant: String,
    customer: String,
    section: String,
    run_id: String,
    status: u16,
    /// The gateway's event id (gateway mode only).
    event_id: Option<String>,
}

#[derive(Debug)]
struct Status(u16, Option<String>);

/// One chat completion with the current context's headers (the SDK's header helper).
/// Failed calls are also kept in `failed`: a retry block keeps only the last error.
async fn complete(target: &Target, run: usize, fail_with: Option<u16>, failed: &Mutex<Vec<Call>>) -> Result<Call, Status> {
    // The context is read after waiting for a connection, so runs interleave here too.
    let _permit = POOL.acquire().await.unwrap();
    let ctx = current();
    let mut h: Vec<(String, String)> = headers().into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    h.push(("content-type".into(), "application/json".into()));
    h.push(("x-test-run".into(), run.to_string()));
    if let Some(auth) = &target.auth {
        h.push(("authorization".into(), format!("Bearer {auth}")));
    }
    if let Some(s) = fail_with {
        h.push(("x-mock-status".into(), s.to_string()));
    }
    tokio::task::yield_now().await;
    let body = json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": format!("run {run}")}]});
    let r = http(&target.addr, "POST", "/v1/chat/completions", &h, &body.to_string()).await;
    let call = Call {
        run,
        tenant: ctx.tenant().unwrap_or_default().to_owned(),
        customer: ctx.customer().unwrap_or_default().to_owned(),
        section: ctx.section().unwrap_or_default().to_owned(),
        run_id: ctx.run_id().unwrap_or_default().to_owned(),
        status: r.status,
        event_id: r.headers.get("x-llmobserve-event-id").and_then(|v| v.to_str().ok()).map(str::to_owned),
    };
    if r.status == 200 {
        Ok(call)
    } else {
        let after = r.headers.get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_owned);
        failed.lock().unwrap().push(call);
        Err(Status(r.status, after))
    }
}

/// One run of the application: the reference scenario's shape.
async fn one_run(target: &Target, run: usize) -> Vec<Call> {
    let ctx = new_run().unwrap();
    let failed = Mutex::new(Vec::new());
    let mut calls = scope(ctx, async {
        set_tenant_id(TENANTS[run % TENANTS.len()]).unwrap();
        let _agent = section("agent:research_assistant").unwrap();
        tokio::time::sleep(Duration::from_micros((run % 7) as u64 * 100)).await;
        set_customer_id(CUSTOMERS[run % CUSTOMERS.len()]).unwrap();
        let search = with_section("tool:search", async {
            tokio::task::yield_now().await;
            assert_eq!(current().section(), Some("agent:research_assistant/tool:search"));
            if searches(run) { Some(complete(target, run, None, &failed).await.unwrap()) } else { None }
        });
        let analyze = with_section("step:analyze_results", async {
            tokio::task::yield_now().await;
            assert_eq!(current().section(), Some("agent:research_assistant/step:analyze_results"));
            if searches(run) {
                return None;
            }
            let policy = RetryPolicy::new(3, 0, 5).unwrap();
            let result = retry_block(
                "llm_analysis",
                policy,
                |attempt| complete(target, run, (rate_limited(run) && attempt == 1).then_some(429), &failed),
                |Status(status, after)| RetryAdvice::for_status(*status, None, after.as_deref()),
            )
            .await;
            Some(result.unwrap())
        });
        let (search, analyze) = tokio::join!(search, analyze);
        assert_eq!(current().section(), Some("agent:research_assistant"), "joined sections leave the task's own section alone");
        let calls: Vec<Call> = [search.unwrap(), analyze.unwrap()].into_iter().flatten().collect();
        calls
    })
    .await;
    calls.extend(failed.into_inner().unwrap());
    calls
}

fn analysis_attempt(attempt: u32) -> String {
    format!("agent:research_assistant/step:analyze_results/retry:llm_analysis:attempt_{attempt}")
}

async fn run_all(target: &'static Target) -> Vec<Call> {
    let started = Instant::now();
    let tasks: Vec<_> = (0..RUNS).map(|run| tokio::spawn(one_run(target, run))).collect();
    let mut calls = Vec::new();
    for t in tasks {
        calls.extend(t.await.unwrap());
    }
    eprintln!("{} calls from {RUNS} concurrent runs in {:?}", calls.len(), started.elapsed());
    calls
}

/// Checks what each run believed it sent: its own tenant, customer, sections and run id.
fn check_runs(calls: &[Call]) {
    let mut by_run: BTreeMap<usize, Vec<&Call>> = BTreeMap::new();
    for c in calls {
        by_run.entry(c.run).or_default().push(c);
    }
    assert_eq!(by_run.len(), RUNS);
    let mut run_ids = HashSet::new();
    for (run, cs) in &by_run {
        let run = *run;
        assert_eq!(cs.len(), if rate_limited(run) { 2 } else { 1 }, "run {run}: {cs:?}");
        assert!(run_ids.insert(cs[0].run_id.clone()), "every run has its own run id");
        for c in cs {
            assert_eq!(c.tenant, TENANTS[run % TENANTS.len()]);
            assert_eq!(c.customer, CUSTOMERS[run % CUSTOMERS.len()]);
            assert_eq!(c.run_id, cs[0].run_id);
        }
        let mut sections: Vec<_> = cs.iter().map(|c| (c.section.clone(), c.status)).collect();
        sections.sort();
        let want = if searches(run) {
            vec![("agent:research_assistant/tool:search".to_owned(), 200)]
        } else if rate_limited(run) {
            vec![(analysis_attempt(1), 429), (analysis_attempt(2), 200)]
        } else {
            vec![(analysis_attempt(1), 200)]
        };
        assert_eq!(sections, want, "run {run}");
    }
}

fn mock_target() -> &'static Target {
    static MOCK: std::sync::OnceLock<Target> = std::sync::OnceLock::new();
    MOCK.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
            rt.block_on(async {
                let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
                tx.send(listener.local_addr().unwrap().to_string()).unwrap();
                mock_openai::serve(listener, std::future::pending()).await.unwrap();
            });
        });
        Target { addr: rx.recv().unwrap(), auth: None, admin_token: None }
    })
}

fn gateway_target() -> Option<&'static Target> {
    static GATEWAY: std::sync::OnceLock<Option<Target>> = std::sync::OnceLock::new();
    GATEWAY
        .get_or_init(|| {
            let url = std::env::var("LLMOBSERVE_E2E_GATEWAY_URL").ok()?;
            Some(Target {
                addr: url.trim_start_matches("http://").trim_end_matches('/').to_owned(),
                auth: Some(std::env::var("LLMOBSERVE_E2E_KEY").expect("LLMOBSERVE_E2E_KEY")),
                admin_token: Some(std::env::var("LLMOBSERVE_E2E_ADMIN_TOKEN").expect("LLMOBSERVE_E2E_ADMIN_TOKEN")),
            })
        })
        .as_ref()
}

/// Every stored event of a tenant, following `next_cursor`.
async fn tenant_events(target: &Target, tenant: &str) -> Vec<Value> {
    let auth = vec![("authorization".to_owned(), format!("Bearer {}", target.admin_token.as_ref().unwrap()))];
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/runs/latest?tenant_id={tenant}&limit=500");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let r = http(&target.addr, "GET", &path, &auth, "").await;
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        let page: Value = serde_json::from_slice(&r.body).unwrap();
        out.extend(page["data"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return out,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_concurrent_runs_never_bleed_into_each_other() {
    if let Some(gateway) = gateway_target() {
        return through_the_gateway(gateway).await;
    }
    let target = mock_target();
    let calls = run_all(target).await;
    check_runs(&calls);

    // What the upstream received: each request's headers are exactly its own run's.
    let r = http(&target.addr, "GET", "/__mock/requests", &[], "").await;
    let log: Value = serde_json::from_slice(&r.body).unwrap();
    let received = log["requests"].as_array().unwrap();
    assert_eq!(received.len(), calls.len());
    let by_run: HashMap<usize, &Call> = calls.iter().map(|c| (c.run, c)).collect();
    for req in received {
        let h = &req["headers"];
        let run: usize = h["x-test-run"].as_str().unwrap().parse().unwrap();
        let own = by_run[&run];
        assert_eq!(h["x-llmobserve-tenant"], own.tenant.as_str());
        assert_eq!(h["x-llmobserve-customer"], own.customer.as_str());
        assert_eq!(h["x-llmobserve-run-id"], own.run_id.as_str());
        let section = h["x-llmobserve-section"].as_str().unwrap();
        assert!(calls.iter().any(|c| c.run == run && c.section == section), "run {run} sent {section}");
        let attempt = section.rsplit_once(":attempt_").map(|(_, n)| n.to_owned());
        assert_eq!(h.get("x-llmobserve-attempt").and_then(Value::as_str).map(str::to_owned), attempt);
    }
}

async fn through_the_gateway(target: &'static Target) {
    let calls = run_all(target).await;
    check_runs(&calls);
    // The gateway's stored events: each one has exactly the attribution of the call that
    // made it (found by the event id the gateway returned to that call).
    let by_event: HashMap<&str, &Call> = calls.iter().map(|c| (c.event_id.as_deref().unwrap(), c)).collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen = 0;
    for tenant in TENANTS {
        let want = calls.iter().filter(|c| c.tenant == tenant).count();
        let events = loop {
            let events = tenant_events(target, tenant).await;
            if events.len() >= want || Instant::now() > deadline {
                break events;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        };
        assert_eq!(events.len(), want, "{tenant}: every call is one event");
        for e in &events {
            let c = by_event[e["id"].as_str().unwrap()];
            assert_eq!(e["tenant_id"], c.tenant.as_str());
            assert_eq!(e["customer_id"], c.customer.as_str());
            assert_eq!(e["section_path"], c.section.as_str());
            assert_eq!(e["run_id"], c.run_id.as_str());
            assert_eq!(e["status_code"], c.status);
            let attempt = c.section.rsplit_once(":attempt_").map(|(_, n)| n.parse::<u64>().unwrap());
            assert_eq!(e["attempt"].as_u64(), attempt);
            assert_eq!(e["is_retry"], attempt.is_some_and(|n| n > 1));
        }
        seen += events.len();
    }
    assert_eq!(seen, calls.len());
}
