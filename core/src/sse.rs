//! Server-sent events: an incremental parser that gives the same events however the
//! bytes are split into chunks (events across chunks, several per chunk, multi-byte UTF-8
//! split anywhere, LF, CRLF or bare CR line ends, `data:` with or without a space, a
//! stream that ends without a blank line), following the WHATWG event-stream rules.
//!
//! Invariant: parsing never fails and never panics; it only yields complete events.

/// One dispatched event.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` field, if any.
    pub event: Option<String>,
    /// The `data:` lines joined with `\n`.
    pub data: String,
    /// The exact bytes of the event, up to and including its terminating blank line, when
    /// the parser was asked to keep them (for rewriting a stream event by event).
    pub raw: Vec<u8>,
}

#[derive(Debug, Default)]
pub struct SseParser {
    keep_raw: bool,
    line: Vec<u8>,
    /// `line` is complete and ended in a `\r` that closed the last chunk: a `\n` that starts
    /// the next chunk belongs to it.
    pending_cr: bool,
    data: String,
    has_data: bool,
    event: Option<String>,
    raw: Vec<u8>,
    started: bool,
}

impl SseParser {
    pub fn new(keep_raw: bool) -> SseParser {
        SseParser {
            keep_raw,
            ..SseParser::default()
        }
    }

    /// Feeds the next chunk; complete events are appended to `out`.
    pub fn feed(&mut self, mut bytes: &[u8], out: &mut Vec<SseEvent>) {
        if bytes.is_empty() {
            // An empty read says nothing, in particular not whether a held `\r` has its `\n`.
            return;
        }
        if self.pending_cr {
            // The held line ended in `\r`; a `\n` starting this chunk is part of its line end.
            self.pending_cr = false;
            let crlf = bytes.first() == Some(&b'\n');
            if self.keep_raw {
                self.raw.extend_from_slice(if crlf { b"\r\n" } else { b"\r" });
            }
            if crlf {
                bytes = &bytes[1..];
            }
            let full = std::mem::take(&mut self.line);
            self.process_line(&full, out);
        }
        while let Some(pos) = bytes.iter().position(|&b| b == b'\n' || b == b'\r') {
            let (line, rest) = bytes.split_at(pos);
            self.line.extend_from_slice(line);
            if rest.first() == Some(&b'\r') && rest.len() == 1 {
                // A `\r` at the very end: hold the line until we know whether `\n` follows,
                // so that every byte of a line end stays with its own event.
                if self.keep_raw {
                    self.raw.extend_from_slice(line);
                }
                self.pending_cr = true;
                return;
            }
            let consumed = if rest.starts_with(b"\r\n") { pos + 2 } else { pos + 1 };
            if self.keep_raw {
                self.raw.extend_from_slice(&bytes[..consumed]);
            }
            let full = std::mem::take(&mut self.line);
            self.process_line(&full, out);
            bytes = &bytes[consumed..];
        }
        if self.keep_raw {
            self.raw.extend_from_slice(bytes);
        }
        self.line.extend_from_slice(bytes);
    }

    /// The stream ended: a last line without its line end, and an event without its blank
    /// line, are still delivered (a missing `[DONE]` or trailing newline loses nothing).
    /// Returns the raw bytes that belong to no event (a trailing comment or blank line).
    pub fn finish(&mut self, out: &mut Vec<SseEvent>) -> Vec<u8> {
        if self.pending_cr {
            self.pending_cr = false;
            if self.keep_raw {
                self.raw.push(b'\r');
            }
            let full = std::mem::take(&mut self.line);
            self.process_line(&full, out);
        }
        if !self.line.is_empty() {
            let full = std::mem::take(&mut self.line);
            self.process_line(&full, out);
        }
        self.dispatch(out);
        std::mem::take(&mut self.raw)
    }

    fn process_line(&mut self, line: &[u8], out: &mut Vec<SseEvent>) {
        let mut line = line;
        if !self.started {
            self.started = true;
            line = line.strip_prefix("\u{feff}".as_bytes()).unwrap_or(line);
        }
        if line.is_empty() {
            self.dispatch(out);
            return;
        }
        if line.first() == Some(&b':') {
            return; // comment
        }
        let (field, value) = match line.iter().position(|&b| b == b':') {
            Some(i) => {
                let v = &line[i + 1..];
                (&line[..i], v.strip_prefix(b" ").unwrap_or(v))
            }
            None => (line, &b""[..]),
        };
        match field {
            b"data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(&String::from_utf8_lossy(value));
                self.has_data = true;
            }
            b"event" => self.event = Some(String::from_utf8_lossy(value).into_owned()),
            _ => {} // id, retry and unknown fields do not matter here
        }
    }

    fn dispatch(&mut self, out: &mut Vec<SseEvent>) {
        let raw = std::mem::take(&mut self.raw);
        let event = self.event.take();
        if !self.has_data {
            self.data.clear();
            // A block without data dispatches nothing (a blank line, comments, or an `event:`
            // alone): keep its bytes with the next event, so that none is lost.
            if self.keep_raw {
                self.raw = raw;
            }
            return;
        }
        self.has_data = false;
        out.push(SseEvent {
            event,
            data: std::mem::take(&mut self.data),
            raw,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_chunks(chunks: &[&[u8]]) -> Vec<SseEvent> {
        let mut p = SseParser::new(false);
        let mut out = Vec::new();
        for c in chunks {
            p.feed(c, &mut out);
        }
        p.finish(&mut out);
        out
    }

    fn datas(events: &[SseEvent]) -> Vec<&str> {
        events.iter().map(|e| e.data.as_str()).collect()
    }

    #[test]
    fn events_split_across_chunks_and_several_per_chunk() {
        let e = parse_chunks(&[b"data: {\"a\"", b":1}\n", b"\ndata: 2\n\ndata: 3\n\n"]);
        assert_eq!(datas(&e), ["{\"a\":1}", "2", "3"]);
    }

    #[test]
    fn line_endings_crlf_cr_and_split_crlf() {
        assert_eq!(
            datas(&parse_chunks(&[b"data: a\r\n\r\ndata: b\r\n\r\n"])),
            ["a", "b"]
        );
        assert_eq!(
            datas(&parse_chunks(&[b"data: a\r\rdata: b\r\r"])),
            ["a", "b"]
        );
        assert_eq!(
            datas(&parse_chunks(&[
                b"data: a\r",
                b"\n\r",
                b"\ndata: b\r\n\r\n"
            ])),
            ["a", "b"]
        );
    }

    #[test]
    fn multibyte_utf8_split_mid_character() {
        let text = "data: h\u{e9}llo \u{65e5}\u{672c} \u{1f389}\n\n".as_bytes();
        for cut in 0..text.len() {
            let (a, b) = text.split_at(cut);
            assert_eq!(
                datas(&parse_chunks(&[a, b])),
                ["h\u{e9}llo \u{65e5}\u{672c} \u{1f389}"],
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn data_without_space_comments_event_names_and_multiline() {
        let e = parse_chunks(&[
            b": keep-alive\n\nevent: response.completed\ndata:{\"x\":1}\ndata: y\n\n",
        ]);
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].event.as_deref(), Some("response.completed"));
        assert_eq!(e[0].data, "{\"x\":1}\ny");
    }

    #[test]
    fn missing_final_blank_line_and_done() {
        assert_eq!(datas(&parse_chunks(&[b"data: 1\n\ndata: 2"])), ["1", "2"]);
        assert_eq!(datas(&parse_chunks(&[b"data: 1\n\ndata: 2\n"])), ["1", "2"]);
    }

    #[test]
    fn raw_bytes_of_each_event_are_kept_exactly() {
        let input: &[u8] = b"data: 1\r\n\r\n: ping\n\ndata: 2\n\n";
        let mut p = SseParser::new(true);
        let mut out = Vec::new();
        for b in input.chunks(3) {
            p.feed(b, &mut out);
        }
        assert!(p.finish(&mut out).is_empty());
        let joined: Vec<u8> = out.iter().flat_map(|e| e.raw.clone()).collect();
        assert_eq!(joined, input);
        assert_eq!(out[0].raw, b"data: 1\r\n\r\n");
    }

    /// Found by fuzzing: the bytes of a block with an `event:` but no data were dropped, so
    /// a stream rewritten event by event lost them.
    #[test]
    fn a_block_without_data_keeps_its_bytes() {
        let input: &[u8] = b"event: ping\n\ndata: 1\n\nevent: x\n\n";
        let mut p = SseParser::new(true);
        let mut out = Vec::new();
        p.feed(input, &mut out);
        let rest = p.finish(&mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].event, None);
        assert_eq!(out[0].raw, b"event: ping\n\ndata: 1\n\n");
        assert_eq!(rest, b"event: x\n\n");
    }
}
