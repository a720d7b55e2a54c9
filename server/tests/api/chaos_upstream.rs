//! A fault-injecting OpenAI upstream on raw TCP (so it can reset, stall and send broken bytes),
//! choosing a fault per request with a seeded RNG. The key `sk-ok-…` is always healthy.
//!
//! Every request it receives is counted by the marker in the client's message (`content`),
//! so a test can match what the pool started against what the pool logged.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use rand::{RngExt, SeedableRng, rngs::StdRng};
use serde_json::{Value, json};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

/// How long stalls last; the test sets the pool's timeouts well below it.
pub const STALL: Duration = Duration::from_secs(3);

/// What the upstream did with one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Fault {
    Ok,
    RateLimitedRetryAfter,
    RateLimited,
    Status500,
    Status502,
    Status503,
    Status529,
    ResetBeforeHeaders,
    ResetMidAnswer,
    StallBeforeFirstByte,
    StallMidAnswer,
    MalformedJson,
    MalformedSse,
    Huge,
    WrongContentType,
}

/// Faults and their weights for a key that is not `sk-ok-…`.
const WEIGHTS: [(Fault, u32); 15] = [
    (Fault::Ok, 30),
    (Fault::RateLimitedRetryAfter, 6),
    (Fault::RateLimited, 6),
    (Fault::Status500, 5),
    (Fault::Status502, 5),
    (Fault::Status503, 5),
    (Fault::Status529, 5),
    (Fault::ResetBeforeHeaders, 6),
    (Fault::ResetMidAnswer, 4),
    (Fault::StallBeforeFirstByte, 3),
    (Fault::StallMidAnswer, 3),
    (Fault::MalformedJson, 3),
    (Fault::MalformedSse, 3),
    (Fault::Huge, 2),
    (Fault::WrongContentType, 3),
];

impl Fault {
    /// A fault after the answer began: the pool cannot fail over any more, so the client's
    /// answer is whatever the upstream sent (cut, stalled or malformed).
    pub fn after_answer_began(self) -> bool {
        matches!(
            self,
            Fault::ResetMidAnswer
                | Fault::StallMidAnswer
                | Fault::MalformedJson
                | Fault::MalformedSse
                | Fault::WrongContentType
        )
    }
}

/// One request received.
#[derive(Clone, Debug)]
pub struct Hit {
    pub marker: String,
    pub secret: String,
    pub fault: Fault,
}

#[derive(Clone)]
pub struct ChaosUpstream {
    pub url: String,
    hits: Arc<Mutex<Vec<Hit>>>,
}

impl ChaosUpstream {
    pub async fn start(seed: u64) -> ChaosUpstream {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let hits = Arc::new(Mutex::new(Vec::new()));
        let rng = Arc::new(Mutex::new(StdRng::seed_from_u64(seed)));
        let shared = hits.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (hits, rng) = (shared.clone(), rng.clone());
                tokio::spawn(async move {
                    let _ = serve(stream, hits, rng).await;
                });
            }
        });
        ChaosUpstream { url, hits }
    }

    pub fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap().clone()
    }
}

fn pick(rng: &Mutex<StdRng>) -> Fault {
    let total: u32 = WEIGHTS.iter().map(|(_, w)| w).sum();
    let mut roll = rng.lock().unwrap().random_range(0..total);
    for (fault, weight) in WEIGHTS {
        if roll < weight {
            return fault;
        }
        roll -= weight;
    }
    Fault::Ok
}

async fn serve(
    mut stream: TcpStream,
    hits: Arc<Mutex<Vec<Hit>>>,
    rng: Arc<Mutex<StdRng>>,
) -> std::io::Result<()> {
    // Keep-alive: answer requests on this connection until it closes or a fault ends it.
    loop {
        let Some((head, body)) = read_request(&mut stream).await? else {
            return Ok(());
        };
        let secret = head
            .lines()
            .find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.eq_ignore_ascii_case("authorization")
                    .then(|| value.trim().trim_start_matches("Bearer ").to_string())
            })
            .unwrap_or_default();
        let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let marker = request["messages"][0]["content"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let is_stream = request["stream"].as_bool().unwrap_or(false);
        let fault = if secret.starts_with("sk-ok-") {
            Fault::Ok
        } else {
            pick(&rng)
        };
        hits.lock().unwrap().push(Hit {
            marker,
            secret,
            fault,
        });
        if !answer(&mut stream, fault, is_stream).await? {
            return Ok(());
        }
    }
}

/// Reads one request (head and a `content-length` body); `None` when the peer closed.
async fn read_request(stream: &mut TcpStream) -> std::io::Result<Option<(String, Vec<u8>)>> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8192];
    let end = loop {
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let read = stream.read(&mut chunk).await?;
        if read == 0 {
            return Ok(None);
        }
        buffer.extend_from_slice(&chunk[..read]);
    };
    let head = String::from_utf8_lossy(&buffer[..end]).to_string();
    let length: usize = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0);
    let mut body = buffer[end..].to_vec();
    while body.len() < length {
        let read = stream.read(&mut chunk).await?;
        if read == 0 {
            return Ok(None);
        }
        body.extend_from_slice(&chunk[..read]);
    }
    Ok(Some((head, body)))
}

fn completion(text: &str) -> String {
    json!({
        "id": "chatcmpl-chaos", "object": "chat.completion", "created": 0, "model": "gpt-4o",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
    })
    .to_string()
}

fn event(content: &str) -> String {
    let chunk = json!({"id": "chatcmpl-chaos", "object": "chat.completion.chunk", "created": 0, "model": "gpt-4o",
        "choices": [{"index": 0, "delta": {"content": content}, "finish_reason": null}]});
    format!("data: {chunk}\n\n")
}

fn last_events() -> String {
    let usage = json!({"id": "chatcmpl-chaos", "object": "chat.completion.chunk", "created": 0, "model": "gpt-4o",
        "choices": [], "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}});
    format!("data: {usage}\n\ndata: [DONE]\n\n")
}

fn head(status: &str, content_type: &str, length: Option<usize>, extra: &str) -> String {
    let length = length.map_or_else(String::new, |n| format!("content-length: {n}\r\n"));
    format!("HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\n{length}{extra}\r\n")
}

/// Closes the connection with a reset. A zero linger does not block on drop (the deprecation
/// warns about a positive one).
#[allow(deprecated)]
async fn reset(stream: &mut TcpStream) -> std::io::Result<bool> {
    stream.set_linger(Some(Duration::ZERO))?;
    Ok(false)
}

/// Answers with `fault`; `false` when the connection must end.
async fn answer(stream: &mut TcpStream, fault: Fault, is_stream: bool) -> std::io::Result<bool> {
    let json = "application/json";
    let sse = "text/event-stream";
    let error = |status: &str, extra: &str| {
        let body = json!({"error": {"message": format!("chaos {status}"), "type": "server_error"}})
            .to_string();
        format!("{}{body}", head(status, json, Some(body.len()), extra))
    };
    let whole = match fault {
        Fault::Ok if is_stream => format!(
            "{}{}{}",
            head("200 OK", sse, None, "connection: close\r\n"),
            event("Hello"),
            last_events()
        ),
        Fault::Ok => {
            let body = completion("Hello");
            format!("{}{body}", head("200 OK", json, Some(body.len()), ""))
        }
        Fault::RateLimitedRetryAfter => error("429 Too Many Requests", "retry-after: 1\r\n"),
        Fault::RateLimited => error("429 Too Many Requests", ""),
        Fault::Status500 => error("500 Internal Server Error", ""),
        Fault::Status502 => error("502 Bad Gateway", ""),
        Fault::Status503 => error("503 Service Unavailable", ""),
        Fault::Status529 => error("529 Overloaded", ""),
        Fault::ResetBeforeHeaders => return reset(stream).await,
        Fault::ResetMidAnswer | Fault::StallMidAnswer => {
            let start = if is_stream {
                format!("{}{}", head("200 OK", sse, None, ""), event("Hel"))
            } else {
                format!(
                    "{}{{\"id\": \"chatcmpl-chaos\", ",
                    head("200 OK", json, Some(400), "")
                )
            };
            stream.write_all(start.as_bytes()).await?;
            stream.flush().await?;
            if fault == Fault::StallMidAnswer {
                tokio::time::sleep(STALL).await;
                return Ok(false);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
            return reset(stream).await;
        }
        Fault::StallBeforeFirstByte => {
            tokio::time::sleep(STALL).await;
            return Ok(false);
        }
        Fault::MalformedJson => {
            let body = "{\"choices\": [{\"message\": {not json";
            format!("{}{body}", head("200 OK", json, Some(body.len()), ""))
        }
        Fault::MalformedSse if is_stream => format!(
            "{}data: {{broken\n\nevent\n: nonsense\n\ndata: [DONE]\n\n",
            head("200 OK", sse, None, "connection: close\r\n")
        ),
        Fault::MalformedSse => {
            let body = "data: {broken\n\n";
            format!("{}{body}", head("200 OK", json, Some(body.len()), ""))
        }
        Fault::Huge if is_stream => {
            let piece = "x".repeat(32 * 1024);
            let events: String = (0..64).map(|_| event(&piece)).collect();
            format!(
                "{}{events}{}",
                head("200 OK", sse, None, "connection: close\r\n"),
                last_events()
            )
        }
        Fault::Huge => {
            let body = completion(&"x".repeat(2 << 20));
            format!("{}{body}", head("200 OK", json, Some(body.len()), ""))
        }
        Fault::WrongContentType => {
            let body = "<html><body>chaos</body></html>";
            format!(
                "{}{body}",
                head("200 OK", "text/html", Some(body.len()), "")
            )
        }
    };
    stream.write_all(whole.as_bytes()).await?;
    stream.flush().await?;
    // Streams have no length: they end with the connection.
    Ok(!(is_stream && matches!(fault, Fault::Ok | Fault::MalformedSse | Fault::Huge)))
}
