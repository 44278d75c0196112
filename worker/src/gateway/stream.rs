//! The response body of a streamed call: upstream's chunks go to the client as they
//! arrive, each one shown to core's `StreamObserver` on the way. When the stream ends,
//! however it ends (completed, broken off by upstream, or dropped because the client went
//! away), the observer is handed to the event writer exactly once. A client that goes away
//! also aborts the upstream request, so nobody pays for tokens nobody reads.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures_channel::oneshot;
use futures_util::Stream;
use llmobserve_core::event::Outcome;
use llmobserve_core::stream::StreamObserver;
use llmobserve_core::time::UnixMillis;
use worker::{AbortController, ByteStream};

use super::now;

/// How a stream ended, with everything observed on the way.
pub struct StreamEnd {
    pub observer: StreamObserver,
    pub outcome: Outcome,
    pub ended_at: UnixMillis,
}

pub struct ObservedStream {
    upstream: Pin<Box<ByteStream>>,
    observer: Option<StreamObserver>,
    done: Option<oneshot::Sender<StreamEnd>>,
    abort: Option<AbortController>,
    exhausted: bool,
}

impl ObservedStream {
    pub fn new(
        upstream: ByteStream,
        observer: StreamObserver,
        abort: AbortController,
    ) -> (ObservedStream, oneshot::Receiver<StreamEnd>) {
        let (tx, rx) = oneshot::channel();
        let stream = ObservedStream {
            upstream: Box::pin(upstream),
            observer: Some(observer),
            done: Some(tx),
            abort: Some(abort),
            exhausted: false,
        };
        (stream, rx)
    }

    fn end(&mut self, outcome: Outcome) {
        if let (Some(tx), Some(observer)) = (self.done.take(), self.observer.take()) {
            let _ = tx.send(StreamEnd { observer, outcome, ended_at: now() });
        }
    }
}

impl Stream for ObservedStream {
    type Item = worker::Result<Vec<u8>>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.exhausted {
            return Poll::Ready(None);
        }
        loop {
            match this.upstream.as_mut().poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(chunk))) => {
                    let Some(observer) = this.observer.as_mut() else {
                        return Poll::Ready(Some(Ok(chunk)));
                    };
                    match observer.observe(&chunk) {
                        None => return Poll::Ready(Some(Ok(chunk))),
                        Some(bytes) if bytes.is_empty() => continue,
                        Some(bytes) => return Poll::Ready(Some(Ok(bytes))),
                    }
                }
                Poll::Ready(Some(Err(e))) => {
                    // Upstream broke off. The client's stream is ended, not errored: erroring a
                    // wasm-streams body wedges workerd (seen with 1.20260426; every later
                    // request hung). The event records the interruption.
                    worker::console_warn!("upstream stream broke off: {e}");
                    this.exhausted = true;
                    this.end(Outcome::StreamInterrupted);
                    return Poll::Ready(None);
                }
                Poll::Ready(None) => {
                    this.exhausted = true;
                    let (tail, complete) = match this.observer.as_mut() {
                        Some(o) => {
                            let tail = o.finish();
                            (tail, o.looks_complete())
                        }
                        None => (None, true),
                    };
                    this.end(if complete { Outcome::Completed } else { Outcome::StreamInterrupted });
                    return Poll::Ready(tail.filter(|t| !t.is_empty()).map(Ok));
                }
            }
        }
    }
}

impl Drop for ObservedStream {
    /// Dropped before the end: the client went away. Abort upstream and record what was seen.
    fn drop(&mut self) {
        if self.done.is_some() {
            if let Some(abort) = self.abort.take() {
                abort.abort();
            }
            self.end(Outcome::StreamCancelled);
        }
    }
}
