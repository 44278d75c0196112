//! A streamed call: a pump, run off the response path (`waitUntil`), reads upstream's
//! chunks, shows each to core's `StreamObserver`, and hands them to the client's body.
//! When upstream ends, breaks off, or the client goes away, the pump returns how the
//! stream ended with everything observed, exactly once. A client that goes away also
//! aborts the upstream request, so nobody pays for tokens nobody reads.
//!
//! The pump, not the client's body, drives upstream. An earlier design observed chunks
//! as the client's body pulled them; under load in workerd a client that aborted could
//! leave that body neither pulled nor dropped, and its event was never written (the
//! delivery test lost 1 in 3 such calls). Now the event depends only on upstream and on
//! the client's disconnect signal.

use std::pin::pin;
use std::time::Duration;

use futures_util::future::{select, Either};
use llmobserve_core::event::Outcome;
use llmobserve_core::stream::StreamObserver;
use llmobserve_core::time::UnixMillis;
use worker::Delay;
use web_sys::AbortController;

use super::glue::{chunk_of, ChunkReader, ClientStream};
use super::now;

/// How a stream ended, with everything observed on the way.
pub struct StreamEnd {
    pub observer: StreamObserver,
    pub outcome: Outcome,
    pub ended_at: UnixMillis,
}

/// How often the pump looks for a client that went away while upstream is silent.
const CLIENT_CHECK: Duration = Duration::from_secs(1);

/// The pump of one streamed call.
pub struct Pump {
    upstream: ChunkReader,
    observer: StreamObserver,
    abort: AbortController,
    client: ClientStream,
}

/// The pump of a streamed call, and the client's body, which the pump fills.
pub fn observed(upstream: &web_sys::ReadableStream, observer: StreamObserver, abort: AbortController) -> (Pump, web_sys::ReadableStream) {
    let client = ClientStream::new();
    let body = client.readable();
    (Pump { upstream: ChunkReader::new(upstream), observer, abort, client }, body)
}

impl Pump {
    fn end(self, outcome: Outcome) -> StreamEnd {
        if outcome == Outcome::StreamCancelled {
            self.abort.abort();
        }
        self.client.close();
        StreamEnd { observer: self.observer, outcome, ended_at: now() }
    }

    /// Runs until the stream ends. `client` is the incoming request's signal, aborted when
    /// the client disconnects.
    pub async fn run(mut self, client: web_sys::AbortSignal) -> StreamEnd {
        // One timer for the whole stream, renewed each time it fires; one read in flight,
        // kept across ticks (dropping it would drop its chunk).
        let mut tick = pin!(Delay::from(CLIENT_CHECK));
        let mut read = None;
        loop {
            let pending = read.get_or_insert_with(|| self.upstream.read());
            let next = match select(pending, tick.as_mut()).await {
                Either::Left((chunk, _)) => {
                    read = None;
                    Some(chunk_of(chunk))
                }
                Either::Right(((), _)) => {
                    tick.set(Delay::from(CLIENT_CHECK));
                    None
                }
            };
            let client_gone = client.aborted();
            match next {
                None if client_gone => return self.end(Outcome::StreamCancelled),
                None => continue,
                Some(Ok(Some(chunk))) => {
                    let out = match self.observer.observe(&chunk) {
                        None => chunk,
                        Some(bytes) => bytes,
                    };
                    if !out.is_empty() && !self.client.push(&out) {
                        return self.end(Outcome::StreamCancelled);
                    }
                    if client_gone {
                        return self.end(Outcome::StreamCancelled);
                    }
                }
                Some(Err(e)) => {
                    // Upstream broke off: the client's body ends; the event records it.
                    worker::console_warn!("upstream stream broke off: {:?}", e.as_string());
                    return self.end(Outcome::StreamInterrupted);
                }
                Some(Ok(None)) => {
                    if let Some(tail) = self.observer.finish().filter(|t| !t.is_empty()) {
                        let _ = self.client.push(&tail);
                    }
                    let outcome = if self.observer.looks_complete() { Outcome::Completed } else { Outcome::StreamInterrupted };
                    return self.end(outcome);
                }
            }
        }
    }
}
