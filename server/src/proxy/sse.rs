//! Splitting a byte stream into server-sent events, however the bytes are chunked.

/// Accumulates bytes and yields each complete event (its lines and the blank line after them).
#[derive(Debug, Default)]
pub struct SseSplitter {
    pending: Vec<u8>,
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
    /// Feeds `chunk`; calls `on_event` with the raw bytes of each event it completes.
    pub fn feed(&mut self, chunk: &[u8], mut on_event: impl FnMut(&[u8])) {
        if self.pending.is_empty() {
            let used = split(chunk, &mut on_event);
            self.pending.extend_from_slice(&chunk[used..]);
        } else {
            self.pending.extend_from_slice(chunk);
            let used = split(&self.pending, &mut on_event);
            self.pending.drain(..used);
        }
    }

    /// Bytes of an event not yet complete.
    pub fn remainder(&self) -> &[u8] {
        &self.pending
    }
}

/// Calls `on_event` for each complete event in `data`; returns how many bytes were used.
fn split(data: &[u8], on_event: &mut impl FnMut(&[u8])) -> usize {
    let mut start = 0;
    let mut index = 0;
    while index < data.len() {
        if data[index] == b'\n' {
            // A blank line ends the event: "\n\n" or "\n\r\n".
            let end = match data.get(index + 1) {
                Some(b'\n') => Some(index + 2),
                Some(b'\r') if data.get(index + 2) == Some(&b'\n') => Some(index + 3),
                _ => None,
            };
            if let Some(end) = end {
                on_event(&data[start..end]);
                start = end;
                index = end;
                continue;
            }
        }
        index += 1;
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
            splitter.feed(chunk.as_bytes(), |raw| {
                found.push(String::from_utf8_lossy(raw).into_owned())
            });
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
}
