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

use std::pin::{pin, Pin};
use std::task::{Context, Poll};
use std::time::Duration;

use futures_channel::mpsc;
use futures_util::future::{select, Either};
use futures_util::{Stream, StreamExt};
use llmobserve_core::event::Outcome;
use llmobserve_core::stream::StreamObserver;
use llmobserve_core::time::UnixMillis;
use worker::{AbortController, ByteStream, Delay};

use super::now;

/// How a stream ended, with everything observed on the way.
pub struct StreamEnd {
    pub observer: StreamObserver,
    pub outcome: Outcome,
    pub ended_at: UnixMillis,
}

/// How often the pump looks for a client that went away while upstream is silent.
const CLIENT_CHECK: Duration = Duration::from_secs(1);

/// The client's body: the chunks the pump forwards. It ends when the pump is done; it
/// never errors (erroring a wasm-streams body wedges workerd, seen with 1.20260426).
pub struct ClientBody {
    rx: mpsc::UnboundedReceiver<Vec<u8>>,
}

impl Stream for ClientBody {
    type Item = worker::Result<Vec<u8>>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().rx.poll_next_unpin(cx).map(|c| c.map(Ok))
    }
}

/// The pump and the client's body of one streamed call.
pub struct Pump {
    upstream: ByteStream,
    observer: StreamObserver,
    abort: AbortController,
    tx: mpsc::UnboundedSender<Vec<u8>>,
}

pub fn observed(upstream: ByteStream, observer: StreamObserver, abort: AbortController) -> (Pump, ClientBody) {
    let (tx, rx) = mpsc::unbounded();
    (Pump { upstream, observer, abort, tx }, ClientBody { rx })
}

impl Pump {
    fn end(self, outcome: Outcome) -> StreamEnd {
        if outcome == Outcome::StreamCancelled {
            self.abort.abort();
        }
        StreamEnd { observer: self.observer, outcome, ended_at: now() }
    }

    /// Runs until the stream ends. `client` is the incoming request's signal, aborted when
    /// the client disconnects.
    pub async fn run(mut self, client: web_sys::AbortSignal) -> StreamEnd {
        loop {
            let next = {
                let chunk = self.upstream.next();
                let tick = pin!(Delay::from(CLIENT_CHECK));
                match select(chunk, tick).await {
                    Either::Left((chunk, _)) => Some(chunk),
                    Either::Right(_) => None,
                }
            };
            let client_gone = client.aborted() || self.tx.is_closed();
            match next {
                None if client_gone => return self.end(Outcome::StreamCancelled),
                None => continue,
                Some(Some(Ok(chunk))) => {
                    let out = match self.observer.observe(&chunk) {
                        None => chunk,
                        Some(bytes) => bytes,
                    };
                    if !out.is_empty() && self.tx.unbounded_send(out).is_err() {
                        return self.end(Outcome::StreamCancelled);
                    }
                    if client_gone {
                        return self.end(Outcome::StreamCancelled);
                    }
                }
                Some(Some(Err(e))) => {
                    // Upstream broke off: the client's body ends; the event records it.
                    worker::console_warn!("upstream stream broke off: {e}");
                    return self.end(Outcome::StreamInterrupted);
                }
                Some(None) => {
                    if let Some(tail) = self.observer.finish().filter(|t| !t.is_empty()) {
                        let _ = self.tx.unbounded_send(tail);
                    }
                    let outcome = if self.observer.looks_complete() { Outcome::Completed } else { Outcome::StreamInterrupted };
                    return self.end(outcome);
                }
            }
        }
    }
}
