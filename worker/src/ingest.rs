//! The durable write path of gateway events (docs/delivery.md).
//!
//! Every event has its id from request entry, and every write of it is idempotent by that
//! id (`INSERT OR IGNORE`, retry facts recomputed from the stored chain), so a write can
//! be repeated as often as delivery needs. Two modes (`EVENT_WRITE_MODE`):
//! - `direct` (default): write to D1 at once; if that fails, hand the event to the queue.
//! - `queue`: hand the event to the queue; if the queue refuses it, write to D1 at once.
//!
//! The queue consumer writes batches, retries what failed with a growing delay, and after
//! `max_retries` the queue moves a message to the dead-letter queue. The dead-letter
//! consumer writes it if D1 has come back, parks it in `ingest_failures` if D1 is up but
//! the event cannot be written, and otherwise retries it later.
//!
//! Invariant: an event is dropped only after both D1 and the queue refused it, and then it
//! is counted (`/health`: `ingest.unwritten_events_this_isolate`) and logged whole.

use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use llmobserve_core::batching::runs_by_size;
use llmobserve_core::event::Event;
use llmobserve_core::group_commit::GroupCommit;
use serde::Deserialize;
use worker::{Delay, Env, MessageBatch, MessageExt, QueueRetryOptionsBuilder, RawMessage};

use crate::config::{self, WriteMode};
use crate::error::ApiResult;
use crate::faults;
use crate::gateway::now;
use crate::store::{self, EventWrite};

/// Events this isolate could hand neither to D1 nor to the queue (lost; logged whole).
static UNWRITTEN: AtomicU64 = AtomicU64::new(0);
/// Events this isolate handed to the queue because the direct write failed.
static DEFERRED: AtomicU64 = AtomicU64::new(0);

pub fn unwritten_here() -> u64 {
    UNWRITTEN.load(Ordering::Relaxed)
}
pub fn deferred_here() -> u64 {
    DEFERRED.load(Ordering::Relaxed)
}

/// A queue message, as JSON text. `v` versions the format: v1 carries one event
/// (`event`); v2 (sent since group commit) carries the events of one write (`events`), so
/// that a write costs one queue operation rather than one per event. Both are read.
#[derive(Deserialize)]
struct IncomingMessage {
    v: u32,
    event: Option<EventWrite>,
    #[serde(default)]
    events: Vec<EventWrite>,
}

const MESSAGE_VERSION: u32 = 2;

/// At most this many events per write: a D1 batch, or a queue `sendBatch`.
const MAX_BATCH: usize = 50;
/// A message's size limit is 128 KB; events are packed into messages of at most this.
const MAX_MESSAGE_BYTES: usize = 100_000;
/// A `sendBatch` takes at most 100 messages and 256 KB.
const MAX_SEND_BYTES: usize = 200_000;
const MAX_SEND_MESSAGES: usize = 100;
/// How long an event waits for another call's write before it writes itself.
const PATIENCE_MS: u64 = 100;

thread_local! {
    /// The isolate's group commit: events of concurrent calls share one write.
    static WRITES: Rc<GroupCommit<Event>> = Rc::new(GroupCommit::new(MAX_BATCH));
}

/// The messages that carry `rows`: each a v2 message of at most [`MAX_MESSAGE_BYTES`]
/// (an event larger than that travels alone, and the queue may refuse it).
fn pack(rows: &[EventWrite]) -> ApiResult<Vec<String>> {
    let head = format!("{{\"v\":{MESSAGE_VERSION},\"events\":[");
    let events = rows
        .iter()
        .map(|row| serde_json::to_string(row).map_err(|e| crate::error::ApiError::internal(e.to_string())))
        .collect::<ApiResult<Vec<String>>>()?;
    // Each event takes its length and a comma; the message adds its head and "]}".
    let sizes: Vec<usize> = events.iter().map(|e| e.len() + 1).collect();
    let room = MAX_MESSAGE_BYTES.saturating_sub(head.len() + 2);
    Ok(runs_by_size(&sizes, room, usize::MAX).into_iter().map(|r| format!("{head}{}]}}", events[r].join(","))).collect())
}

async fn enqueue(env: &Env, rows: &[EventWrite]) -> ApiResult<()> {
    let queue = env.queue(config::EVENTS_QUEUE)?;
    // Sent as JSON text: a JSON object of any shape survives the queue unchanged.
    let messages = pack(rows)?;
    let sizes: Vec<usize> = messages.iter().map(String::len).collect();
    for run in runs_by_size(&sizes, MAX_SEND_BYTES, MAX_SEND_MESSAGES) {
        let batch = messages[run].to_vec();
        if faults::duplicate_sends() {
            queue.send_batch(batch.clone()).await?;
        }
        queue.send_batch(batch).await?;
    }
    Ok(())
}

fn lost(row: &EventWrite, why: &str) {
    UNWRITTEN.fetch_add(1, Ordering::Relaxed);
    let body = serde_json::to_string(row).unwrap_or_default();
    worker::console_error!("event {} LOST ({why}); its row, for a replay: {body}", row.id());
}

/// Records the event of a call durably, off its response path. If a write is gathering
/// events (`GroupCommit::hand_over`), the event joins it and nothing else is needed: that
/// write's own task (`waitUntil`) carries it. Otherwise a task of this call's delivers it.
pub fn record(env: &Env, ctx: &worker::Context, event: Event) {
    let Err(event) = WRITES.with(|w| w.hand_over(Rc::new(event))) else { return };
    let env = env.clone();
    ctx.wait_until(async move {
        // Off the response path: a task spawned by the handler is first polled in the
        // same microtask that resolves the handler's promise, before the runtime sends the
        // response. A timer of 0 ms puts the work of the write after that.
        Delay::from(Duration::ZERO).await;
        deliver(&env, event).await;
    });
}

/// Records one event durably (called off the response path, in `waitUntil`). Events of
/// concurrent calls are written together (`GroupCommit`): one D1 batch or one queue
/// `sendBatch` for up to [`MAX_BATCH`] of them, gathered for up to `EVENT_BATCH_MS`.
pub async fn deliver(env: &Env, event: Rc<Event>) {
    let mode = config::write_mode(env).unwrap_or(WriteMode::Direct);
    let linger_ms = config::event_batch_ms(env).unwrap_or(0);
    let writes = WRITES.with(Rc::clone);
    // Made here, in this call's own task: see GroupCommit on I/O contexts. A timer is set
    // only if polled: patience by a waiter, linger by a new leader.
    let patience = Delay::from(Duration::from_millis(PATIENCE_MS));
    let linger = async move {
        if linger_ms > 0 {
            Delay::from(Duration::from_millis(linger_ms)).await;
        }
    };
    writes.commit(event, patience, linger, |events| write(env, mode, events)).await;
}

/// One write of a batch of events, by the write mode; each path falls back to the other.
async fn write(env: &Env, mode: WriteMode, events: Vec<Rc<Event>>) {
    let rows: Vec<EventWrite> = events.iter().map(|e| store::event_row(e)).collect();
    match mode {
        WriteMode::Direct => {
            let Err(e) = store::write_events(env, &rows).await else { return };
            match enqueue(env, &rows).await {
                Ok(()) => {
                    DEFERRED.fetch_add(rows.len() as u64, Ordering::Relaxed);
                    for row in &rows {
                        worker::console_warn!("event {} deferred to the queue: {}", row.id(), e.message);
                    }
                }
                Err(q) => rows.iter().for_each(|row| lost(row, &format!("D1: {}; queue: {}", e.message, q.message))),
            }
        }
        WriteMode::Queue => {
            let Err(q) = enqueue(env, &rows).await else { return };
            if let Err(e) = store::write_events(env, &rows).await {
                rows.iter().for_each(|row| lost(row, &format!("queue: {}; D1: {}", q.message, e.message)));
            }
        }
    }
}

/// The delay before a failed message is tried again: its age, between 1 s and 5 min, so
/// that the delays roughly double while D1 stays down.
fn backoff(m: &RawMessage) -> u32 {
    let age_s = now().0.saturating_sub(m.timestamp().as_millis() as i64) / 1000;
    age_s.clamp(1, 300) as u32
}

fn retry_later(m: &RawMessage) {
    m.retry_with_options(&QueueRetryOptionsBuilder::new().with_delay_seconds(backoff(m)).build());
}

fn parse(m: &RawMessage) -> Result<Vec<EventWrite>, String> {
    let text = m.body().as_string().ok_or("the message is not JSON text")?;
    let msg: IncomingMessage = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    let rows = match (msg.v, msg.event) {
        (1, Some(event)) => vec![event],
        (2, None) => msg.events,
        (v, _) => return Err(format!("message version {v} is not 1 (one event) or 2 (events)")),
    };
    if rows.is_empty() {
        return Err("the message has no events".into());
    }
    if rows.iter().any(|r| r.id().is_empty() || r.tenant().is_empty()) {
        return Err("an event has no id or tenant".into());
    }
    Ok(rows)
}

/// The queue consumer, for the events queue and its dead-letter queue. Never fails:
/// every message is acknowledged or retried here (a failing handler would abort the
/// isolate). A message is acknowledged once all its events are written (or, in the
/// dead-letter queue, parked).
pub async fn consume(batch: MessageBatch<serde_json::Value>, env: &Env) {
    // The dead-letter queue is the one whose name ends in `-dlq` (wrangler.toml).
    let dead_letter = batch.queue().ends_with("-dlq");
    let mut messages = Vec::new();
    for m in batch.raw_iter() {
        match parse(&m) {
            Ok(rows) => messages.push((m, rows)),
            Err(why) => {
                // Not an event this worker wrote: nothing to write, and retrying cannot help.
                UNWRITTEN.fetch_add(1, Ordering::Relaxed);
                worker::console_error!("queue message {} is not an event ({why}); dropped", m.id());
                m.ack();
            }
        }
    }
    let all: Vec<&EventWrite> = messages.iter().flat_map(|(_, rows)| rows.iter()).collect();
    if !dead_letter && store::write_events(env, &all).await.is_ok() {
        messages.iter().for_each(|(m, _)| m.ack());
        return;
    }
    // Message by message, and event by event in a message that fails: a bad event must
    // not hold back the others.
    let mut d1_up = None;
    for (m, rows) in &messages {
        if rows.len() > 1 && store::write_events(env, rows).await.is_ok() {
            m.ack();
            continue;
        }
        let mut all_done = true;
        for row in rows {
            let Err(e) = store::write_events(env, std::slice::from_ref(row)).await else { continue };
            if !dead_letter || e.code == "d1_unavailable" {
                all_done = false;
                continue;
            }
            if d1_up.is_none() {
                d1_up = Some(database_up(env).await);
            }
            if d1_up != Some(true) {
                all_done = false;
                continue;
            }
            // D1 answers, yet this event cannot be written: park it, counted, for a replay.
            match store::park_failed_event(env, row, "dead_letter", &e.message, now().0.max(0) as u64).await {
                Ok(_) => worker::console_error!("event {} parked in ingest_failures: {}", row.id(), e.message),
                Err(_) => all_done = false,
            }
        }
        if all_done {
            m.ack();
        } else {
            retry_later(m);
        }
    }
}

async fn database_up(env: &Env) -> bool {
    store::ping(env).await.is_ok()
}
