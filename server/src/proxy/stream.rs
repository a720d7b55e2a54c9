//! Passing a stream to the client chunk by chunk while a tap reads its usage. The stream
//! records its attempt when it ends — finished, cut by the upstream, idle too long, or dropped
//! because the client left.

use std::{
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use bytes::Bytes;
use futures::{Stream, stream::BoxStream};
use tokio::time::Sleep;

use super::{
    attempt::{Attempt, Outcome},
    error::stream_error_event,
    tap::StreamTap,
};
use crate::{metrics::Metrics, pool::WireFormat, recorder::AttemptStatus};

/// The body of a streamed answer.
pub struct TappedStream {
    upstream: BoxStream<'static, reqwest::Result<Bytes>>,
    tap: StreamTap,
    format: WireFormat,
    http_status: u16,
    idle: Pin<Box<Sleep>>,
    idle_timeout: Duration,
    /// `None` once recorded.
    attempt: Option<Attempt>,
    metrics: Arc<Metrics>,
}

impl TappedStream {
    pub fn new(
        upstream: BoxStream<'static, reqwest::Result<Bytes>>,
        tap: StreamTap,
        format: WireFormat,
        http_status: u16,
        idle_timeout: Duration,
        attempt: Attempt,
        metrics: Arc<Metrics>,
    ) -> Self {
        metrics.stream(true);
        Self {
            upstream,
            tap,
            format,
            http_status,
            idle: Box::pin(tokio::time::sleep(idle_timeout)),
            idle_timeout,
            attempt: Some(attempt),
            metrics,
        }
    }

    fn finish(
        &mut self,
        status: AttemptStatus,
        error_type: Option<&str>,
        error_message: Option<String>,
    ) {
        if let Some(attempt) = self.attempt.take() {
            attempt.finish(
                status,
                Outcome {
                    http_status: Some(self.http_status),
                    usage: self.tap.usage(),
                    error_type: error_type.map(str::to_string),
                    error_message,
                },
            );
        }
    }
}

impl Stream for TappedStream {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.attempt.is_none() {
            return Poll::Ready(None);
        }
        loop {
            match this.upstream.as_mut().poll_next(cx) {
                Poll::Ready(Some(Ok(chunk))) => {
                    let deadline = tokio::time::Instant::now() + this.idle_timeout;
                    this.idle.as_mut().reset(deadline);
                    let out = this.tap.feed(chunk);
                    if out.is_empty() {
                        continue;
                    }
                    return Poll::Ready(Some(Ok(out)));
                }
                Poll::Ready(Some(Err(error))) => {
                    let message = format!("the upstream stream broke: {error}");
                    this.finish(
                        AttemptStatus::Interrupted,
                        Some("stream_interrupted"),
                        Some(message.clone()),
                    );
                    return Poll::Ready(Some(Ok(stream_error_event(this.format, &message))));
                }
                Poll::Ready(None) => {
                    let rest = this.tap.remainder();
                    if let Some(error) = this.tap.error().map(str::to_string) {
                        this.finish(
                            AttemptStatus::Error,
                            Some("stream_error_event"),
                            Some(error),
                        );
                    } else if this.tap.finished() {
                        this.finish(AttemptStatus::Success, None, None);
                    } else {
                        let message =
                            "the upstream closed the stream before it was complete".to_string();
                        this.finish(
                            AttemptStatus::Interrupted,
                            Some("stream_incomplete"),
                            Some(message.clone()),
                        );
                        let mut tail = rest.to_vec();
                        tail.extend_from_slice(&stream_error_event(this.format, &message));
                        return Poll::Ready(Some(Ok(Bytes::from(tail))));
                    }
                    return Poll::Ready((!rest.is_empty()).then_some(Ok(rest)));
                }
                Poll::Pending => {
                    if this.idle.as_mut().poll(cx).is_ready() {
                        let message = format!(
                            "the upstream sent nothing for {} s",
                            this.idle_timeout.as_secs()
                        );
                        this.finish(
                            AttemptStatus::Timeout,
                            Some("stream_idle_timeout"),
                            Some(message.clone()),
                        );
                        return Poll::Ready(Some(Ok(stream_error_event(this.format, &message))));
                    }
                    return Poll::Pending;
                }
            }
        }
    }
}

impl Drop for TappedStream {
    fn drop(&mut self) {
        self.metrics.stream(false);
        if let Some(attempt) = self.attempt.take() {
            attempt.cancel(self.tap.usage(), Some(self.http_status));
        }
    }
}
