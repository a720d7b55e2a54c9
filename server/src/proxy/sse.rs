//! Splitting a byte stream into server-sent events, however the bytes are chunked.
//!
//! Hand-written on purpose. The crates looked at (`eventsource-stream`, `sse-stream`) parse
//! events into owned structs: they cannot hand back each event's raw bytes for byte-exact
//! passthrough (the proxy relays what the upstream sent, only dropping the usage chunk it
//! asked for), and neither caps the size of an event. This splitter scans each byte once —
//! it remembers where the last scan stopped — and refuses an event past a size limit, so an
//! upstream that never ends an event costs neither quadratic time nor unbounded memory.

/// Accumulates bytes and yields each complete event (its lines and the blank line after them).
#[derive(Debug)]
pub struct SseSplitter {
    pending: Vec<u8>,
    /// Bytes of `pending` already searched for an event's end.
    scanned: usize,
    /// The largest event accepted, in bytes.
    max_event_bytes: usize,
}

/// An event grew past the size limit without ending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventTooLarge {
    pub limit: usize,
}

impl Default for SseSplitter {
    fn default() -> Self {
        Self::new(usize::MAX)
    }
}

/// The fields of one event that matter here.
#[derive(Debug, Default, PartialEq)]
pub struct SseEvent<'a> {
    /// The `event:` name, if any.
    pub name: Option<&'a str>,
    /// The `data:` lines joined by `\n`.
    pub data: String,
}

impl SseSplitter {
    /// A splitter that refuses events larger than `max_event_bytes`.
    pub fn new(max_event_bytes: usize) -> Self {
        Self {
            pending: Vec::new(),
            scanned: 0,
            max_event_bytes,
        }
    }

    /// Feeds `chunk`; calls `on_event` with the raw bytes of each event it completes. Fails
    /// when an unfinished event has grown past the limit (the splitter is then of no further
    /// use).
    pub fn feed(
        &mut self,
        chunk: &[u8],
        mut on_event: impl FnMut(&[u8]),
    ) -> Result<(), EventTooLarge> {
        if self.pending.is_empty() {
            let used = split(chunk, 0, &mut on_event);
            self.pending.extend_from_slice(&chunk[used..]);
            self.scanned = self.pending.len();
        } else {
            // An event's end is found by looking up to two bytes back from a newline, so the
            // new scan starts just before where the last one stopped.
            let from = self.scanned.saturating_sub(2);
            self.pending.extend_from_slice(chunk);
            let used = split(&self.pending, from, &mut on_event);
            self.pending.drain(..used);
            self.scanned = self.pending.len();
        }
        if self.pending.len() > self.max_event_bytes {
            return Err(EventTooLarge {
                limit: self.max_event_bytes,
            });
        }
        Ok(())
    }

    /// Bytes of an event not yet complete.
    pub fn remainder(&self) -> &[u8] {
        &self.pending
    }
}

/// Calls `on_event` for each complete event in `data`, looking for ends from `from` on;
/// returns how many bytes were used.
fn split(data: &[u8], from: usize, on_event: &mut impl FnMut(&[u8])) -> usize {
    let mut start = 0;
    let mut index = from;
    while let Some(offset) = data
        .get(index..)
        .and_then(|rest| rest.iter().position(|b| *b == b'\n'))
    {
        index += offset;
        // A blank line ends the event: "\n\n" or "\n\r\n".
        let end = match data.get(index + 1) {
            Some(b'\n') => Some(index + 2),
            Some(b'\r') if data.get(index + 2) == Some(&b'\n') => Some(index + 3),
            _ => None,
        };
        match end {
            Some(end) => {
                on_event(&data[start..end]);
                start = end;
                index = end;
            }
            None => index += 1,
        }
    }
    start
}

/// Reads the `event:` and `data:` fields of one raw event.
pub fn parse_event(raw: &[u8]) -> SseEvent<'_> {
    let text = std::str::from_utf8(raw).unwrap_or_default();
    let mut event = SseEvent::default();
    for line in text.lines() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if let Some(value) = line.strip_prefix("data:") {
            if !event.data.is_empty() {
                event.data.push('\n');
            }
            event
                .data
                .push_str(value.strip_prefix(' ').unwrap_or(value));
        } else if let Some(value) = line.strip_prefix("event:") {
            event.name = Some(value.trim());
        }
    }
    event
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(chunks: &[&str]) -> Vec<String> {
        let mut splitter = SseSplitter::default();
        let mut found = Vec::new();
        for chunk in chunks {
            splitter
                .feed(chunk.as_bytes(), |raw| {
                    found.push(String::from_utf8_lossy(raw).into_owned())
                })
                .expect("no limit");
        }
        found
    }

    #[test]
    fn events_split_across_chunks_are_reassembled() {
        let found = events(&["data: {\"a\"", ":1}\n", "\ndata: [DONE]\n\n"]);
        assert_eq!(found, ["data: {\"a\":1}\n\n", "data: [DONE]\n\n"]);
    }

    #[test]
    fn crlf_line_endings_end_events_too() {
        let found = events(&["event: ping\r\ndata: {}\r\n\r\nevent: x\r\n"]);
        assert_eq!(found, ["event: ping\r\ndata: {}\r\n\r\n"]);
    }

    #[test]
    fn fields_are_read_from_an_event() {
        let event = parse_event(b"event: message_delta\ndata: {\"x\":1}\ndata: more\n\n");
        assert_eq!(event.name, Some("message_delta"));
        assert_eq!(event.data, "{\"x\":1}\nmore");
    }

    #[test]
    fn an_event_split_between_newlines_is_still_found() {
        let found = events(&["data: a\n", "\n", "data: b\n\r", "\n"]);
        assert_eq!(found, ["data: a\n\n", "data: b\n\r\n"]);
    }

    #[test]
    fn an_event_past_the_limit_is_refused() {
        let mut splitter = SseSplitter::new(16);
        assert!(splitter.feed(b"data: 0123456789\n\n", |_| {}).is_ok());
        assert!(splitter.feed(b"data: 01234", |_| {}).is_ok());
        assert_eq!(
            splitter.feed(b"56789abcdef", |_| {}),
            Err(EventTooLarge { limit: 16 })
        );
    }

    proptest::proptest! {
        #[test]
        fn any_chunking_yields_the_same_events(
            data in proptest::collection::vec(
                proptest::sample::select(vec![b'a', b':', b' ', b'\n', b'\r']), 0..300),
            cuts in proptest::collection::vec(0usize..300, 0..8),
        ) {
            let whole = {
                let mut splitter = SseSplitter::default();
                let mut found = Vec::new();
                splitter.feed(&data, |raw| found.push(raw.to_vec())).expect("no limit");
                (found, splitter.remainder().to_vec())
            };
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(data.len())).collect();
            cuts.sort_unstable();
            let mut splitter = SseSplitter::default();
            let mut found = Vec::new();
            let mut last = 0;
            for cut in cuts.into_iter().chain([data.len()]) {
                splitter.feed(&data[last..cut], |raw| found.push(raw.to_vec())).expect("no limit");
                last = cut;
            }
            proptest::prop_assert_eq!((found, splitter.remainder().to_vec()), whole);
        }

        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            let mut splitter = SseSplitter::new(256);
            let _ = splitter.feed(&data, |raw| { let _ = parse_event(raw); });
        }
    }
}
