//! Streaming through the pool: an upstream that sends a chat completion stream chunk by chunk,
//! each chunk stamped with the time it left, and a client that holds many streams at once and
//! measures the time to first byte and how late each chunk arrives. `bench/run` drives it.
//!
//! `stream_bench upstream PORT CHUNKS EVERY_MS` serves every POST as such a stream.
//! `stream_bench load URL TOKEN STREAMS OPEN_PER_SECOND` opens STREAMS streams at that rate,
//! holds them all to the end and prints one JSON line of results.

use std::{
    convert::Infallible,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use axum::{Router, body::Body, response::Response, routing::post};
use bytes::Bytes;
use futures::StreamExt;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |i: usize| -> anyhow::Result<u64> {
        args.get(i)
            .and_then(|a| a.parse().ok())
            .ok_or_else(|| anyhow::anyhow!("argument {i} must be a number"))
    };
    match args.first().map(String::as_str) {
        Some("upstream") => upstream(number(1)? as u16, number(2)?, number(3)?).await,
        Some("load") => {
            let text = |i: usize| args.get(i).map(String::as_str).unwrap_or_default();
            load(text(1), text(2), number(3)? as usize, number(4)?).await
        }
        _ => anyhow::bail!(
            "usage: stream_bench upstream PORT CHUNKS EVERY_MS | load URL TOKEN STREAMS OPEN_PER_SECOND"
        ),
    }
}

fn micros_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

async fn upstream(port: u16, chunks: u64, every_ms: u64) -> anyhow::Result<()> {
    let answer = move || async move {
        let event = |json: String| Ok::<_, Infallible>(Bytes::from(format!("data: {json}\n\n")));
        let head = futures::stream::once(async move {
            event(
                r#"{"id":"c","object":"chat.completion.chunk","model":"bench-stream","choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}"#
                    .to_string(),
            )
        });
        let mut ticks = tokio::time::interval(Duration::from_millis(every_ms));
        ticks.tick().await;
        let body = futures::stream::unfold((ticks, 0), move |(mut ticks, n)| async move {
            if n == chunks {
                return None;
            }
            ticks.tick().await;
            let chunk = format!(
                r#"{{"id":"c","object":"chat.completion.chunk","model":"bench-stream","choices":[{{"index":0,"delta":{{"content":"{}"}}}}]}}"#,
                micros_now()
            );
            Some((event(chunk), (ticks, n + 1)))
        });
        let tail = futures::stream::iter([
            event(r#"{"id":"c","object":"chat.completion.chunk","model":"bench-stream","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"#.to_string()),
            event(format!(
                r#"{{"id":"c","object":"chat.completion.chunk","model":"bench-stream","choices":[],"usage":{{"prompt_tokens":20,"completion_tokens":{chunks},"total_tokens":{}}}}}"#,
                20 + chunks
            )),
            Ok(Bytes::from_static(b"data: [DONE]\n\n")),
        ]);
        Response::builder()
            .header("content-type", "text/event-stream")
            .body(Body::from_stream(head.chain(body).chain(tail)))
            .unwrap_or_default()
    };
    let app = Router::new().fallback(post(answer));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    axum::serve(listener, app).await?;
    Ok(())
}

#[derive(Default)]
struct Stream {
    ttfb_us: Option<u64>,
    delays_us: Vec<u64>,
    done: bool,
}

async fn load(url: &str, token: &str, streams: usize, open_per_second: u64) -> anyhow::Result<()> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(streams)
        .tcp_nodelay(true)
        .build()?;
    let body =
        r#"{"model":"bench-stream","stream":true,"messages":[{"role":"user","content":"count"}]}"#;
    let gap = Duration::from_micros(1_000_000 / open_per_second.max(1));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(streams);
    for n in 0..streams {
        tokio::time::sleep_until((started + gap * n as u32).into()).await;
        let request = client
            .post(url)
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(body);
        tasks.push(tokio::spawn(async move {
            let mut stream = Stream::default();
            let sent = Instant::now();
            let Ok(response) = request.send().await else {
                return stream;
            };
            if !response.status().is_success() {
                return stream;
            }
            let mut body = response.bytes_stream();
            let mut pending = Vec::new();
            while let Some(Ok(bytes)) = body.next().await {
                let now = micros_now();
                stream
                    .ttfb_us
                    .get_or_insert(sent.elapsed().as_micros() as u64);
                pending.extend_from_slice(&bytes);
                while let Some(end) = pending.windows(2).position(|w| w == b"\n\n") {
                    let event: Vec<u8> = pending.drain(..end + 2).collect();
                    let text = String::from_utf8_lossy(&event);
                    if text.contains("[DONE]") {
                        stream.done = true;
                    } else if let Some(stamp) = stamp_of(&text) {
                        stream.delays_us.push(now.saturating_sub(stamp));
                    }
                }
            }
            stream
        }));
    }
    let opened = started.elapsed();
    let mut ttfb = Vec::new();
    let mut delays = Vec::new();
    let mut done = 0;
    for task in tasks {
        let stream = task.await?;
        ttfb.extend(stream.ttfb_us);
        delays.extend(stream.delays_us);
        done += usize::from(stream.done);
    }
    ttfb.sort_unstable();
    delays.sort_unstable();
    let at = |values: &[u64], q: f64| -> f64 {
        values
            .get(((values.len() as f64 - 1.0) * q).round() as usize)
            .map_or(f64::NAN, |v| *v as f64 / 1000.0)
    };
    println!(
        "{{\"streams\":{streams},\"complete\":{done},\"opened_s\":{:.1},\"held_s\":{:.1},\"chunks\":{},\"ttfb_p50_ms\":{:.3},\"ttfb_p99_ms\":{:.3},\"chunk_p50_ms\":{:.3},\"chunk_p99_ms\":{:.3},\"chunk_max_ms\":{:.3}}}",
        opened.as_secs_f64(),
        started.elapsed().as_secs_f64(),
        delays.len(),
        at(&ttfb, 0.5),
        at(&ttfb, 0.99),
        at(&delays, 0.5),
        at(&delays, 0.99),
        at(&delays, 1.0),
    );
    Ok(())
}

/// The send time a content chunk carries: `"content":"<micros>"`.
fn stamp_of(event: &str) -> Option<u64> {
    let (_, rest) = event.split_once(r#""content":""#)?;
    rest.split('"').next()?.parse().ok()
}
