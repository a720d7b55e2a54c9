//! A streamed answer translated on its way to the client: the upstream's bytes are split into
//! events and each event is translated as it completes, so nothing waits for the whole answer.

use std::{
    pin::Pin,
    task::{Context, Poll},
};

use bytes::Bytes;
use futures::Stream;

use super::{stream_to_chat::ToChat, stream_to_messages::ToMessages};
use crate::proxy::sse::{SseSplitter, parse_event};

/// Which way a stream is translated.
#[derive(Debug)]
pub enum Direction {
    /// Anthropic events to an OpenAI client.
    ToChat(ToChat),
    /// OpenAI chunks to an Anthropic client.
    ToMessages(ToMessages),
}

/// The translation state of one stream.
#[derive(Debug)]
pub struct StreamTranslator {
    // The tap before this has already bounded event sizes.
    splitter: SseSplitter,
    direction: Direction,
}

impl StreamTranslator {
    /// Translates a stream in `direction`.
    pub fn new(direction: Direction) -> Self {
        Self {
            splitter: SseSplitter::default(),
            direction,
        }
    }

    /// The client's bytes for the upstream's `chunk`.
    pub fn feed(&mut self, chunk: &[u8]) -> Bytes {
        let mut out = String::new();
        let direction = &mut self.direction;
        // The default splitter has no size limit, so feeding cannot fail.
        let _ = self.splitter.feed(chunk, |raw| {
            let event = parse_event(raw);
            match direction {
                Direction::ToChat(to) => to.event(&event.data, &mut out),
                Direction::ToMessages(to) => to.event(&event.data, &mut out),
            }
        });
        Bytes::from(out)
    }

    /// What closes the client's stream after the upstream's ended.
    pub fn finish(&mut self) -> Bytes {
        let mut out = String::new();
        let rest = self.splitter.remainder().to_vec();
        if !rest.is_empty() {
            let event = parse_event(&rest);
            match &mut self.direction {
                Direction::ToChat(to) => to.event(&event.data, &mut out),
                Direction::ToMessages(to) => to.event(&event.data, &mut out),
            }
        }
        if let Direction::ToMessages(to) = &mut self.direction {
            to.finish(&mut out);
        }
        Bytes::from(out)
    }
}

/// `inner` (the upstream's bytes, already tapped for usage) translated for the client.
pub struct Translated<S> {
    inner: S,
    translator: StreamTranslator,
    ended: bool,
}

impl<S> Translated<S> {
    /// Wraps `inner`.
    pub fn new(inner: S, translator: StreamTranslator) -> Self {
        Self {
            inner,
            translator,
            ended: false,
        }
    }
}

impl<S, E> Stream for Translated<S>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
{
    type Item = Result<Bytes, E>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.ended {
            return Poll::Ready(None);
        }
        loop {
            match Pin::new(&mut this.inner).poll_next(cx) {
                Poll::Ready(Some(Ok(chunk))) => {
                    let out = this.translator.feed(&chunk);
                    if !out.is_empty() {
                        return Poll::Ready(Some(Ok(out)));
                    }
                }
                Poll::Ready(Some(Err(error))) => return Poll::Ready(Some(Err(error))),
                Poll::Ready(None) => {
                    this.ended = true;
                    let out = this.translator.finish();
                    return Poll::Ready((!out.is_empty()).then_some(Ok(out)));
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use futures::StreamExt;

    use super::*;

    #[tokio::test]
    async fn events_split_across_chunks_are_translated_as_they_complete() {
        let upstream = concat!(
            "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\n\n",
            "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\n\n",
            "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":2}}\n\n",
            "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
        );
        // Seven-byte pieces cut every event somewhere in the middle.
        let pieces: Vec<Result<Bytes, std::io::Error>> = upstream
            .as_bytes()
            .chunks(7)
            .map(|piece| Ok(Bytes::copy_from_slice(piece)))
            .collect();
        let translated = Translated::new(
            futures::stream::iter(pieces),
            StreamTranslator::new(Direction::ToChat(ToChat::new("gpt-4o", true))),
        );
        let out: Vec<Bytes> = translated
            .map(|chunk| chunk.expect("no error"))
            .collect()
            .await;
        let text = String::from_utf8(out.concat()).expect("UTF-8");
        let frames: Vec<&str> = text.split("\n\n").filter(|f| !f.is_empty()).collect();
        assert_eq!(frames.len(), 5, "{text}");
        assert!(frames[1].contains("\"content\":\"Hi\""), "{}", frames[1]);
        assert!(
            frames[3].contains("\"completion_tokens\":2"),
            "{}",
            frames[3]
        );
        assert_eq!(frames[4], "data: [DONE]");
    }
}
