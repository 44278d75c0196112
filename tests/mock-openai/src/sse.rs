//! Response bodies and SSE streams: framing, shaping (`x-mock-stream-*`, `x-mock-split-utf8`,
//! `x-mock-drop-after`, ...) and per-request progress tracking.

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::sync::mpsc;

use crate::{split_words, MockHeaders, State};

/// The error a body yields to make hyper abort the connection (no terminating chunk).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MockAbort;

impl fmt::Display for MockAbort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("mock-openai: connection dropped on purpose (x-mock-drop-after)")
    }
}

impl std::error::Error for MockAbort {}

/// One message from a stream's producer task to its body.
#[derive(Debug)]
pub enum Piece {
    /// Bytes to send as one HTTP chunk, and how many events end in them.
    Data(Bytes, u64),
    /// Abort the connection.
    Abort,
}

/// Updates a recorded request's `stream_events_sent` / `client_disconnected`.
pub struct Tracker {
    state: Arc<State>,
    seq: u64,
    finished: bool,
}

impl Tracker {
    /// Tracks the recorded request `seq`.
    pub fn new(state: Arc<State>, seq: u64) -> Self {
        Tracker {
            state,
            seq,
            finished: false,
        }
    }

    fn add_events(&self, n: u64) {
        if n > 0 {
            self.state.update(self.seq, |r| r.stream_events_sent += n);
        }
    }

    /// The stream ended as planned (completed, or aborted on purpose).
    pub fn finish(&mut self) {
        self.finished = true;
    }
}

impl Drop for Tracker {
    fn drop(&mut self) {
        if !self.finished {
            self.state
                .update(self.seq, |r| r.client_disconnected = true);
        }
    }
}

/// A response body: either a complete buffer (sent with `content-length`) or a channel of
/// chunks (sent with chunked transfer encoding, one chunk per message).
pub enum MockBody {
    /// A complete body; `None` once it has been sent.
    Full(Option<Bytes>),
    /// A streamed body; ends when the sender is dropped, aborts on [`Piece::Abort`].
    Channel {
        /// The chunks.
        rx: mpsc::Receiver<Piece>,
        /// Progress tracking of the recorded request, if any.
        tracker: Option<Tracker>,
        /// An abort was received; it is yielded on the next poll, after hyper has flushed.
        aborting: bool,
    },
}

impl MockBody {
    /// A complete body.
    pub fn full(bytes: impl Into<Bytes>) -> Self {
        MockBody::Full(Some(bytes.into()))
    }
}

impl Body for MockBody {
    type Data = Bytes;
    type Error = MockAbort;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, MockAbort>>> {
        match self.get_mut() {
            MockBody::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            MockBody::Channel { aborting: true, .. } => Poll::Ready(Some(Err(MockAbort))),
            MockBody::Channel {
                rx,
                tracker,
                aborting,
            } => match rx.poll_recv(cx) {
                Poll::Pending => Poll::Pending,
                Poll::Ready(Some(Piece::Data(bytes, events))) => {
                    if let Some(t) = tracker {
                        t.add_events(events);
                    }
                    Poll::Ready(Some(Ok(Frame::data(bytes))))
                }
                Poll::Ready(Some(Piece::Abort)) => {
                    if let Some(t) = tracker {
                        t.finish();
                    }
                    // Yield Pending once so that hyper flushes what it has buffered; hyper
                    // drops buffered bytes when a body fails.
                    *aborting = true;
                    cx.waker().wake_by_ref();
                    Poll::Pending
                }
                Poll::Ready(None) => {
                    if let Some(t) = tracker {
                        t.finish();
                    }
                    Poll::Ready(None)
                }
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, MockBody::Full(None))
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            MockBody::Full(Some(b)) => SizeHint::with_exact(b.len() as u64),
            MockBody::Full(None) => SizeHint::with_exact(0),
            MockBody::Channel { .. } => SizeHint::default(),
        }
    }
}

/// A body that sends the first `n` bytes of `bytes` and then aborts the connection.
pub fn truncated(bytes: Bytes, n: u64) -> MockBody {
    let (tx, rx) = mpsc::channel(2);
    let n = usize::try_from(n).unwrap_or(usize::MAX).min(bytes.len());
    let head = bytes.slice(..n);
    tokio::spawn(async move {
        if !head.is_empty() && tx.send(Piece::Data(head, 0)).await.is_err() {
            return;
        }
        let _ = tx.send(Piece::Abort).await;
    });
    MockBody::Channel {
        rx,
        tracker: None,
        aborting: false,
    }
}

/// One SSE event: an optional `event:` name and the `data:` payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` field (the Responses API names every event; chat does not).
    pub event: Option<&'static str>,
    /// The `data:` payload (one line).
    pub data: String,
}

impl SseEvent {
    /// A `data:`-only event.
    pub fn data(data: String) -> Self {
        SseEvent { event: None, data }
    }
}

/// The line ending of a stream (`x-mock-line-ending`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LineEnding {
    /// `\n` (the default)
    #[default]
    Lf,
    /// `\r\n`
    CrLf,
    /// `\r`
    Cr,
}

impl LineEnding {
    fn as_str(self) -> &'static str {
        match self {
            LineEnding::Lf => "\n",
            LineEnding::CrLf => "\r\n",
            LineEnding::Cr => "\r",
        }
    }
}

/// How events are written out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Framing {
    /// Line ending.
    pub line_ending: LineEnding,
    /// `data:{...}` instead of `data: {...}` (and `event:x`).
    pub no_space: bool,
}

impl Framing {
    /// The bytes of one event, with its terminating blank line.
    pub fn frame(&self, ev: &SseEvent) -> Vec<u8> {
        let eol = self.line_ending.as_str();
        let sep = if self.no_space { "" } else { " " };
        let mut s = String::with_capacity(ev.data.len() + 32);
        if let Some(name) = ev.event {
            s.push_str("event:");
            s.push_str(sep);
            s.push_str(name);
            s.push_str(eol);
        }
        s.push_str("data:");
        s.push_str(sep);
        s.push_str(&ev.data);
        s.push_str(eol);
        s.push_str(eol);
        s.into_bytes()
    }
}

/// What a stream sends: `head`, then `body` (possibly endless), then `tail`, then
/// `data: [DONE]` when `done`.
pub struct StreamPlan {
    /// Events before the content deltas.
    pub head: Vec<SseEvent>,
    /// The content deltas; endless with `x-mock-endless`.
    pub body: Box<dyn Iterator<Item = SseEvent> + Send>,
    /// Events after the content deltas.
    pub tail: Vec<SseEvent>,
    /// Whether the stream ends with `data: [DONE]` (chat and legacy completions).
    pub done: bool,
}

impl StreamPlan {
    /// All events, in order.
    pub fn into_events(self) -> impl Iterator<Item = SseEvent> + Send {
        let done = self
            .done
            .then(|| SseEvent::data("[DONE]".to_owned()))
            .into_iter();
        self.head
            .into_iter()
            .chain(self.body)
            .chain(self.tail)
            .chain(done)
    }
}

/// The stream-shaping `x-mock-*` options.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Shape {
    /// Pause between events.
    pub delay: Duration,
    /// Framing of each event.
    pub framing: Framing,
    /// Re-cut the bytes at awkward places.
    pub split: bool,
    /// Send this many events, then abort the connection.
    pub drop_after: Option<u64>,
}

impl Shape {
    /// The shape the request's headers ask for.
    pub fn from_mock(mock: &MockHeaders) -> Self {
        Shape {
            delay: mock.chunk_delay,
            framing: Framing {
                line_ending: mock.line_ending,
                no_space: mock.data_nospace,
            },
            split: mock.split_utf8,
            drop_after: mock.drop_after,
        }
    }
}

/// Starts the producer task of a stream and returns its body.
pub fn spawn_stream(plan: StreamPlan, shape: Shape, no_done: bool, tracker: Tracker) -> MockBody {
    let (tx, rx) = mpsc::channel::<Piece>(1);
    let mut plan = plan;
    if no_done {
        plan.done = false;
    }
    tokio::spawn(pump(plan.into_events(), shape, tx));
    MockBody::Channel {
        rx,
        tracker: Some(tracker),
        aborting: false,
    }
}

async fn pump(
    events: impl Iterator<Item = SseEvent> + Send,
    shape: Shape,
    tx: mpsc::Sender<Piece>,
) {
    let mut splitter = shape.split.then(Splitter::default);
    for (i, event) in events.enumerate() {
        let i = i as u64;
        if i > 0 && !shape.delay.is_zero() {
            tokio::select! {
                () = tokio::time::sleep(shape.delay) => {}
                () = tx.closed() => return,
            }
        }
        if shape.drop_after == Some(i) {
            break;
        }
        let bytes = shape.framing.frame(&event);
        let pieces = match splitter.as_mut() {
            Some(s) => s.push(&bytes),
            None => vec![(Bytes::from(bytes), 1)],
        };
        for (bytes, n) in pieces {
            if tx.send(Piece::Data(bytes, n)).await.is_err() {
                return; // the client went away
            }
        }
    }
    if let Some((bytes, n)) = splitter.as_mut().and_then(Splitter::finish) {
        if tx.send(Piece::Data(bytes, n)).await.is_err() {
            return;
        }
    }
    if shape.drop_after.is_some() {
        let _ = tx.send(Piece::Abort).await;
    }
}

/// Re-cuts a stream's bytes into HTTP chunks at awkward places, in a cycle of three events:
/// the first two are held back whole, the third is sent cut inside every multi-byte UTF-8
/// character and between every `\r` and `\n`, and either inside its first field name
/// (`dat|a:`) or between the two line endings that end it; its first piece carries the two
/// held events, so several events share one chunk.
#[derive(Debug, Default)]
pub struct Splitter {
    carry: Vec<u8>,
    carry_events: u64,
    n: usize,
}

impl Splitter {
    /// Takes one framed event; returns the chunks to send now, each with the number of
    /// events that end in it.
    pub fn push(&mut self, ev: &[u8]) -> Vec<(Bytes, u64)> {
        self.n += 1;
        let n = self.n;
        if !n.is_multiple_of(3) && self.carry.len() <= 4096 {
            self.carry.extend_from_slice(ev);
            self.carry_events += 1;
            return Vec::new();
        }
        let mut cuts = Vec::new();
        let mut i = 0;
        while i < ev.len() {
            let len = utf8_len(ev[i]);
            if len > 1 && i + len <= ev.len() {
                cuts.push(i + 1 + (n / 3 + i) % (len - 1));
            }
            i += len;
        }
        for (j, pair) in ev.windows(2).enumerate() {
            if pair == b"\r\n" {
                cuts.push(j + 1);
            }
        }
        if n.is_multiple_of(6) {
            cuts.push(3); // "dat|a: ..." / "eve|nt: ..."
        } else {
            cuts.push(ev.len().saturating_sub(1)); // between the two line endings
        }
        cuts.sort_unstable();
        cuts.dedup();
        cuts.retain(|&c| c > 0 && c < ev.len());

        let mut out = Vec::new();
        let mut start = 0;
        for c in cuts {
            let mut chunk = std::mem::take(&mut self.carry);
            chunk.extend_from_slice(&ev[start..c]);
            out.push((Bytes::from(chunk), std::mem::take(&mut self.carry_events)));
            start = c;
        }
        self.carry.extend_from_slice(&ev[start..]);
        self.carry_events += 1;
        out.extend(self.finish());
        out
    }

    /// Whatever is held back.
    pub fn finish(&mut self) -> Option<(Bytes, u64)> {
        if self.carry.is_empty() {
            return None;
        }
        let bytes = Bytes::from(std::mem::take(&mut self.carry));
        Some((bytes, std::mem::take(&mut self.carry_events)))
    }
}

fn utf8_len(lead: u8) -> usize {
    match lead {
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF7 => 4,
        _ => 1,
    }
}

/// The content deltas of a stream: the reply's words, cycled or truncated to
/// `x-mock-stream-chunks`, or endless with `x-mock-endless`.
#[derive(Debug, Clone)]
pub struct Pieces {
    words: Arc<Vec<String>>,
    count: Option<u64>,
}

impl Pieces {
    /// The pieces of `reply` as the request's headers shape them.
    pub fn new(reply: &str, mock: &MockHeaders) -> Self {
        let mut words: Vec<String> = split_words(reply).into_iter().map(str::to_owned).collect();
        let count = if mock.endless {
            None
        } else {
            Some(mock.stream_chunks.unwrap_or(words.len() as u64))
        };
        if words.is_empty() {
            words.push("mock".to_owned());
        }
        Pieces {
            words: Arc::new(words),
            count,
        }
    }

    /// The `i`-th piece (words repeat, each after a space, past the end of the reply).
    pub fn get(&self, i: u64) -> String {
        let len = self.words.len();
        let idx = usize::try_from(i).unwrap_or(usize::MAX);
        let word = self.words.get(idx % len.max(1)).map_or("", String::as_str);
        if idx < len || word.starts_with(char::is_whitespace) {
            word.to_owned()
        } else {
            format!(" {word}")
        }
    }

    /// The number of pieces; `None` when endless.
    pub fn count(&self) -> Option<u64> {
        self.count
    }

    /// `(index, piece)` for every piece, endless with `x-mock-endless`.
    pub fn iter(&self) -> Box<dyn Iterator<Item = (u64, String)> + Send> {
        let me = self.clone();
        let all = (0u64..).map(move |i| (i, me.get(i)));
        match self.count {
            Some(n) => Box::new(all.take(usize::try_from(n).unwrap_or(usize::MAX))),
            None => Box::new(all),
        }
    }

    /// All pieces joined (empty when endless).
    pub fn text(&self) -> String {
        match self.count {
            Some(_) => self.iter().map(|(_, p)| p).collect(),
            None => String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(framing: Framing) -> Vec<Vec<u8>> {
        let utf8 = "{\"a\":\"héllo wörld 日本語 🎉\"}";
        [
            utf8,
            "{\"b\":1}",
            utf8,
            "{\"c\":\"x\"}",
            "{}",
            utf8,
            "[DONE]",
        ]
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let ev = SseEvent {
                event: (i == 1).then_some("named"),
                data: (*d).to_owned(),
            };
            framing.frame(&ev)
        })
        .collect()
    }

    #[test]
    fn splitter_reassembles_and_cuts_awkwardly() {
        for line_ending in [LineEnding::Lf, LineEnding::CrLf, LineEnding::Cr] {
            let framing = Framing {
                line_ending,
                no_space: false,
            };
            let evs = events(framing);
            let mut s = Splitter::default();
            let mut chunks = Vec::new();
            for e in &evs {
                chunks.extend(s.push(e));
            }
            chunks.extend(s.finish());
            let joined: Vec<u8> = chunks.iter().flat_map(|(b, _)| b.to_vec()).collect();
            assert_eq!(joined, evs.concat());
            assert_eq!(chunks.iter().map(|(_, n)| n).sum::<u64>(), evs.len() as u64);
            assert!(chunks.iter().all(|(b, _)| !b.is_empty()));
            assert!(
                chunks.iter().any(|(b, _)| std::str::from_utf8(b).is_err()),
                "a chunk splits a character"
            );
            assert!(chunks.iter().any(|(_, n)| *n >= 2), "events share a chunk");
            assert!(
                chunks.iter().any(|(b, _)| b.starts_with(b"a: ")),
                "mid-field cut"
            );
            if line_ending == LineEnding::CrLf {
                assert!(chunks.iter().any(|(b, _)| b.ends_with(b"\r")));
            }
        }
    }

    #[test]
    fn framing() {
        let ev = SseEvent {
            event: Some("x.y"),
            data: "{}".to_owned(),
        };
        let f = Framing::default();
        assert_eq!(f.frame(&ev), b"event: x.y\ndata: {}\n\n");
        let f = Framing {
            line_ending: LineEnding::CrLf,
            no_space: true,
        };
        assert_eq!(f.frame(&ev), b"event:x.y\r\ndata:{}\r\n\r\n");
    }

    #[test]
    fn pieces_cycle_and_truncate() {
        let mock = MockHeaders {
            stream_chunks: Some(5),
            ..MockHeaders::default()
        };
        let p = Pieces::new("a b", &mock);
        assert_eq!(p.text(), "a b a b a");
        let mock = MockHeaders {
            stream_chunks: Some(1),
            ..MockHeaders::default()
        };
        assert_eq!(Pieces::new("a b", &mock).text(), "a");
        let p = Pieces::new("a b", &MockHeaders::default());
        assert_eq!(p.count(), Some(2));
        let mock = MockHeaders {
            endless: true,
            ..MockHeaders::default()
        };
        let p = Pieces::new("a b", &mock);
        assert_eq!(p.count(), None);
        assert_eq!(
            p.iter().take(3).map(|(_, s)| s).collect::<String>(),
            "a b a"
        );
    }
}
