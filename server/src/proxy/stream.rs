//! Passing a stream to the client chunk by chunk while a tap reads its usage. The stream
//! records its attempt when it ends — finished, cut by the upstream, idle too long, or dropped
//! because the client left.
//!
//! Usage arrives at the end of a stream, so a client that hangs up early would otherwise be
//! recorded with almost no tokens (and escape its budget). After a disconnect the upstream is
//! read on for up to `drain_after_disconnect_ms` to get the real figures; when they do not
//! come, usage is estimated from what was relayed and the row says so.

use std::{
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use bytes::Bytes;
use futures::{Stream, StreamExt, stream::BoxStream};
use tokio::time::Sleep;
use tokio_util::sync::CancellationToken;

use super::{
    attempt::{Attempt, Outcome},
    error::stream_error_event,
    request::Dialect,
    tap::StreamTap,
};
use crate::{
    metrics::Metrics,
    recorder::{AttemptStatus, UsageSource},
    usage::Usage,
};

/// The body of a streamed answer.
pub struct TappedStream {
    upstream: BoxStream<'static, reqwest::Result<Bytes>>,
    tap: StreamTap,
    dialect: Dialect,
    http_status: u16,
    idle: Pin<Box<Sleep>>,
    idle_timeout: Duration,
    /// `None` once recorded.
    attempt: Option<Attempt>,
    metrics: Arc<Metrics>,
    /// How long to read on after the client left; zero means not at all.
    drain: Duration,
}

impl TappedStream {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        upstream: BoxStream<'static, reqwest::Result<Bytes>>,
        tap: StreamTap,
        dialect: Dialect,
        http_status: u16,
        idle_timeout: Duration,
        drain: Duration,
        attempt: Attempt,
        metrics: Arc<Metrics>,
    ) -> Self {
        metrics.stream(true);
        Self {
            upstream,
            tap,
            dialect,
            http_status,
            idle: Box::pin(tokio::time::sleep(idle_timeout)),
            idle_timeout,
            attempt: Some(attempt),
            metrics,
            drain,
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
                    usage_source: UsageSource::Reported,
                    response_id: self.tap.response_id().map(str::to_string),
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
                    let out = match this.tap.feed(chunk) {
                        Ok(out) => out,
                        Err(too_large) => {
                            let message = format!(
                                "the upstream sent an event larger than {} bytes",
                                too_large.limit
                            );
                            this.finish(
                                AttemptStatus::Interrupted,
                                Some("event_too_large"),
                                Some(message.clone()),
                            );
                            // Close whatever event was under way before the error event.
                            let mut tail = b"\n\n".to_vec();
                            tail.extend_from_slice(&stream_error_event(this.dialect, &message));
                            return Poll::Ready(Some(Ok(Bytes::from(tail))));
                        }
                    };
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
                    return Poll::Ready(Some(Ok(stream_error_event(this.dialect, &message))));
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
                        tail.extend_from_slice(&stream_error_event(this.dialect, &message));
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
                        return Poll::Ready(Some(Ok(stream_error_event(this.dialect, &message))));
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
        let Some(attempt) = self.attempt.take() else {
            return;
        };
        let status = self.http_status;
        // Reading on for the usage needs a runtime, and is skipped once shutdown cancels.
        if self.tap.usage_reported()
            || self.drain.is_zero()
            || attempt.recorder().is_closing()
            || tokio::runtime::Handle::try_current().is_err()
        {
            record_cancelled(attempt, &self.tap, status);
            return;
        }
        let upstream = std::mem::replace(&mut self.upstream, futures::stream::empty().boxed());
        let tap = std::mem::replace(&mut self.tap, StreamTap::new(self.dialect, false, 0));
        let (recorder, limit) = (attempt.recorder().clone(), self.drain);
        recorder.spawn_recording(|closing| drain(upstream, tap, attempt, limit, status, closing));
    }
}

/// Reads the rest of an upstream stream nobody listens to any more, for at most `limit`, to
/// learn its real usage; then records the attempt.
async fn drain(
    mut upstream: BoxStream<'static, reqwest::Result<Bytes>>,
    mut tap: StreamTap,
    attempt: Attempt,
    limit: Duration,
    status: u16,
    closing: CancellationToken,
) {
    let read = tokio::time::timeout(limit, async {
        while let Some(Ok(chunk)) = upstream.next().await {
            if tap.feed(chunk).is_err() || tap.usage_reported() {
                break;
            }
        }
    });
    // At shutdown the attempt is recorded with what was seen so far.
    tokio::select! {
        _ = read => {}
        () = closing.cancelled() => {}
    }
    record_cancelled(attempt, &tap, status);
}

/// Records a stream the client left: with the upstream's figures when it reported them, else
/// with an estimate from the request's size and the text relayed (about four characters a
/// token), never less than what was seen.
fn record_cancelled(attempt: Attempt, tap: &StreamTap, status: u16) {
    let response_id = tap.response_id().map(str::to_string);
    if tap.usage_reported() {
        attempt.cancel(
            tap.usage(),
            UsageSource::Reported,
            Some(status),
            response_id,
        );
        return;
    }
    let seen = tap.usage();
    let estimated = Usage {
        input: seen.input.max(attempt.estimated_input()),
        output: seen
            .output
            .max(i64::try_from(tap.relayed_chars() / 4).unwrap_or(i64::MAX)),
        ..seen
    };
    attempt.cancel(estimated, UsageSource::Estimated, Some(status), response_id);
}
