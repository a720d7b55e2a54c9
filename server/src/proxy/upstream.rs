//! Talking to an upstream: the URL and headers for a key, and what an error answer means for
//! the key and for the request.

use std::time::Duration;

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use chrono::{DateTime, Utc};

use super::request::Endpoint;
use crate::{
    pool::{Failure, PoolKey},
    provider::Provider,
};

/// The Anthropic API version sent when the client names none.
pub const DEFAULT_ANTHROPIC_VERSION: &str = "2023-06-01";

/// Builds the upstream request for `key`.
pub fn request(
    client: &reqwest::Client,
    key: &PoolKey,
    endpoint: Endpoint,
    query: Option<&str>,
    client_headers: &HeaderMap,
    body: bytes::Bytes,
) -> reqwest::RequestBuilder {
    let path = endpoint.upstream_path(key.provider);
    let url = match query {
        Some(query) => format!("{}{path}?{query}", key.base_url),
        None => format!("{}{path}", key.base_url),
    };
    let mut builder = authorized(
        client
            .post(url)
            .header("content-type", "application/json")
            .body(body),
        key,
    );
    if endpoint.format() == crate::pool::WireFormat::Anthropic {
        let version = client_headers
            .get("anthropic-version")
            .cloned()
            .unwrap_or(HeaderValue::from_static(DEFAULT_ANTHROPIC_VERSION));
        builder = builder.header("anthropic-version", version);
        if let Some(beta) = client_headers.get("anthropic-beta") {
            builder = builder.header("anthropic-beta", beta.clone());
        }
    }
    builder
}

/// Builds a call on one stored response (`GET /v1/responses/{id}`, its `cancel` and
/// `input_items`, `DELETE`) for the key that created it.
pub fn response_call(
    client: &reqwest::Client,
    key: &PoolKey,
    endpoint: Endpoint,
    response_id: &str,
    query: Option<&str>,
) -> reqwest::RequestBuilder {
    let (method, action) = match endpoint {
        Endpoint::DeleteResponse => (reqwest::Method::DELETE, ""),
        Endpoint::CancelResponse => (reqwest::Method::POST, "/cancel"),
        Endpoint::ResponseInputItems => (reqwest::Method::GET, "/input_items"),
        _ => (reqwest::Method::GET, ""),
    };
    let base = format!(
        "{}{}/{response_id}{action}",
        key.base_url,
        endpoint.upstream_path(key.provider)
    );
    let url = match query {
        Some(query) => format!("{base}?{query}"),
        None => base,
    };
    authorized(client.request(method, url), key)
}

/// Adds the key's credentials the way its provider expects them.
fn authorized(builder: reqwest::RequestBuilder, key: &PoolKey) -> reqwest::RequestBuilder {
    let bearer = || format!("Bearer {}", key.secret);
    match key.provider {
        Provider::OpenAi => builder.header("authorization", bearer()),
        Provider::Anthropic => builder.header("x-api-key", &key.secret),
        Provider::Amp => builder
            .header("authorization", bearer())
            .header("x-api-key", &key.secret),
    }
}

/// Upstream response headers a client may see. Anything else — `openai-organization`,
/// `openai-project`, `anthropic-organization-id`, cookies — names the pool's accounts and stays
/// here.
pub fn passed_headers(upstream: &reqwest::header::HeaderMap) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in upstream {
        let lower = name.as_str();
        let keep = matches!(
            lower,
            "content-type"
                | "retry-after"
                | "request-id"
                | "x-request-id"
                | "openai-processing-ms"
                | "openai-version"
        ) || lower.starts_with("x-ratelimit-")
            || lower.starts_with("anthropic-ratelimit-");
        if keep && let Ok(name) = HeaderName::from_bytes(name.as_str().as_bytes()) {
            headers.append(name, value.clone());
        }
    }
    headers
}

/// `body` with every occurrence of `secret` replaced by its masked form, so an upstream that
/// echoes the key in an error never hands it to a client or the log.
pub fn scrub(body: &[u8], secret: &str) -> bytes::Bytes {
    let needle = secret.as_bytes();
    if needle.len() < 8 || body.len() < needle.len() {
        return bytes::Bytes::copy_from_slice(body);
    }
    let masked = crate::secret::mask(secret);
    let mut out = Vec::with_capacity(body.len());
    let mut rest = body;
    while let Some(at) = rest.windows(needle.len()).position(|w| w == needle) {
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(masked.as_bytes());
        rest = &rest[at + needle.len()..];
    }
    out.extend_from_slice(rest);
    bytes::Bytes::from(out)
}

/// What an upstream error answer means.
#[derive(Debug, PartialEq)]
pub struct Diagnosis {
    /// How it affects the key's health, if at all.
    pub failure: Option<Failure>,
    /// Whether another key may succeed where this one failed.
    pub retry: bool,
    /// The `error_type` for the log.
    pub error_type: &'static str,
    /// The upstream's own `error.type`, when its body is a JSON error envelope.
    pub upstream_type: Option<String>,
}

/// The structured fields of an OpenAI (`{"error":{"type","code","message"}}`) or Anthropic
/// (`{"type":"error","error":{"type","message"}}`) error envelope.
#[derive(Debug, Default, serde::Deserialize)]
struct Envelope {
    #[serde(default)]
    error: Option<EnvelopeError>,
}

#[derive(Debug, Default, serde::Deserialize)]
struct EnvelopeError {
    #[serde(default, rename = "type")]
    kind: Option<serde_json::Value>,
    #[serde(default)]
    code: Option<serde_json::Value>,
}

/// Error types and codes that say the key itself has no credit left. They are matched only
/// against the structured `error.type` / `error.code` fields, never against free text: a
/// message can echo what the client sent.
const NO_CREDIT: [&str; 3] = [
    "insufficient_quota",
    "billing_error",
    "credit_balance_too_low",
];

/// Reads an upstream error answer.
pub fn diagnose(
    status: u16,
    headers: &reqwest::header::HeaderMap,
    body: &[u8],
    now: DateTime<Utc>,
) -> Diagnosis {
    let envelope: Envelope = serde_json::from_slice(body).unwrap_or_default();
    let field = |value: &Option<serde_json::Value>| {
        value
            .as_ref()
            .and_then(serde_json::Value::as_str)
            .map(str::to_string)
    };
    let (kind, code) = envelope
        .error
        .as_ref()
        .map(|e| (field(&e.kind), field(&e.code)))
        .unwrap_or_default();
    let no_credit = [&kind, &code]
        .iter()
        .any(|v| v.as_deref().is_some_and(|v| NO_CREDIT.contains(&v)));
    let diagnosis = |failure, retry, error_type| Diagnosis {
        failure,
        retry,
        error_type,
        upstream_type: kind.clone(),
    };
    let no_credit_failure = || Failure::NoCredit {
        detail: error_message(body).unwrap_or_else(|| format!("HTTP {status}")),
    };
    match status {
        _ if no_credit && matches!(status, 400 | 402 | 403 | 429) => {
            diagnosis(Some(no_credit_failure()), true, "no_credit")
        }
        401 | 403 => diagnosis(Some(Failure::Rejected { status }), true, "auth_failed"),
        402 => diagnosis(Some(no_credit_failure()), true, "no_credit"),
        429 => diagnosis(
            Some(Failure::RateLimited {
                retry_after: retry_after(headers, now),
            }),
            true,
            "rate_limited",
        ),
        529 => diagnosis(Some(Failure::Transient), true, "overloaded"),
        408 => diagnosis(Some(Failure::Transient), true, "timeout"),
        500..=599 => diagnosis(Some(Failure::Transient), true, "server_error"),
        _ => diagnosis(None, false, "client_error"),
    }
}

/// The `error.message` of an upstream JSON error body, shortened for the log.
pub fn error_message(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let message = value
        .pointer("/error/message")
        .or_else(|| value.get("message"))
        .and_then(|m| m.as_str())?;
    Some(message.chars().take(500).collect())
}

/// The longest wait an upstream can impose on a key through its headers.
pub const MAX_WAIT: Duration = Duration::from_secs(24 * 3600);

/// Seconds as a wait: negative, NaN and unrepresentable values are `None`, anything longer
/// than [`MAX_WAIT`] is [`MAX_WAIT`].
fn wait_of_secs(seconds: f64) -> Option<Duration> {
    if seconds.is_nan() || seconds < 0.0 {
        return None;
    }
    Some(
        Duration::try_from_secs_f64(seconds.min(MAX_WAIT.as_secs_f64()))
            .ok()?
            .min(MAX_WAIT),
    )
}

/// When a rate-limited key may be used again: `retry-after` (seconds or a date), else the
/// latest of Anthropic's `anthropic-ratelimit-*-reset` times and OpenAI's
/// `x-ratelimit-reset-*` durations. Whatever the upstream says, the wait is at most
/// [`MAX_WAIT`]; a value that cannot be read is ignored.
pub fn retry_after(headers: &reqwest::header::HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let until = |at: DateTime<chrono::FixedOffset>| {
        (at.with_timezone(&Utc) - now)
            .to_std()
            .ok()
            .map(|wait| wait.min(MAX_WAIT))
    };
    if let Some(value) = text("retry-after") {
        if let Ok(seconds) = value.trim().parse::<f64>()
            && let Some(wait) = wait_of_secs(seconds)
        {
            return Some(wait);
        }
        if let Ok(at) = DateTime::parse_from_rfc2822(value.trim())
            && let Some(wait) = until(at)
        {
            return Some(wait);
        }
    }
    let mut latest: Option<Duration> = None;
    for (name, value) in headers {
        let Ok(value) = value.to_str() else { continue };
        let name = name.as_str();
        let wait = if name.starts_with("anthropic-ratelimit-") && name.ends_with("-reset") {
            DateTime::parse_from_rfc3339(value).ok().and_then(until)
        } else if name.starts_with("x-ratelimit-reset-") {
            parse_go_duration(value)
        } else {
            None
        };
        if let Some(wait) = wait {
            latest = Some(latest.map_or(wait, |l| l.max(wait)));
        }
    }
    latest
}

/// Parses OpenAI's reset durations such as `1s`, `6m0s`, `250ms`, `1h2m3.5s` (at most
/// [`MAX_WAIT`]).
fn parse_go_duration(value: &str) -> Option<Duration> {
    let mut total = 0.0f64;
    let mut number = String::new();
    let mut chars = value.trim().chars().peekable();
    let mut any = false;
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() || c == '.' {
            number.push(c);
            continue;
        }
        let amount: f64 = number.parse().ok()?;
        number.clear();
        let unit = match c {
            'h' => 3600.0,
            'm' if chars.peek() == Some(&'s') => {
                chars.next();
                0.001
            }
            'm' => 60.0,
            's' => 1.0,
            _ => return None,
        };
        total += amount * unit;
        any = true;
    }
    if !any || !number.is_empty() {
        return None;
    }
    wait_of_secs(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderMap as Headers;

    fn headers(pairs: &[(&'static str, &str)]) -> Headers {
        let mut map = Headers::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().expect("valid header"));
        }
        map
    }

    #[test]
    fn retry_after_takes_seconds_or_reset_times() {
        let now = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .expect("valid")
            .with_timezone(&Utc);
        assert_eq!(
            retry_after(&headers(&[("retry-after", "7")]), now),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            retry_after(
                &headers(&[
                    ("anthropic-ratelimit-requests-reset", "2026-01-01T00:00:20Z"),
                    ("anthropic-ratelimit-tokens-reset", "2026-01-01T00:00:45Z"),
                ]),
                now
            ),
            Some(Duration::from_secs(45))
        );
        assert_eq!(
            retry_after(&headers(&[("x-ratelimit-reset-requests", "6m0s")]), now),
            Some(Duration::from_secs(360))
        );
        assert_eq!(retry_after(&headers(&[]), now), None);
    }

    #[test]
    fn absurd_waits_are_clamped_to_a_day_and_never_panic() {
        let now = Utc::now();
        let day = Some(MAX_WAIT);
        assert_eq!(retry_after(&headers(&[("retry-after", "1e300")]), now), day);
        assert_eq!(retry_after(&headers(&[("retry-after", "inf")]), now), day);
        assert_eq!(retry_after(&headers(&[("retry-after", "NaN")]), now), None);
        assert_eq!(retry_after(&headers(&[("retry-after", "-5")]), now), None);
        assert_eq!(
            retry_after(
                &headers(&[("x-ratelimit-reset-requests", "99999999999999999999h")]),
                now
            ),
            day
        );
        assert_eq!(
            retry_after(
                &headers(&[("anthropic-ratelimit-tokens-reset", "9999-12-31T23:59:59Z")]),
                now
            ),
            day
        );
    }

    #[test]
    fn go_durations_parse() {
        assert_eq!(parse_go_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_go_duration("1h2m3s"), Some(Duration::from_secs(3723)));
        assert_eq!(parse_go_duration("abc"), None);
    }

    #[test]
    fn error_answers_are_diagnosed() {
        let now = Utc::now();
        let none = Headers::new();
        let quota = br#"{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","code":"insufficient_quota"}}"#;
        assert_eq!(diagnose(429, &none, quota, now).error_type, "no_credit");
        let credit = br#"{"type":"error","error":{"type":"billing_error","message":"Your credit balance is too low to access the Anthropic API."}}"#;
        let diagnosis = diagnose(400, &none, credit, now);
        assert_eq!(
            diagnosis.failure,
            Some(Failure::NoCredit {
                detail: "Your credit balance is too low to access the Anthropic API.".into()
            })
        );
        assert!(diagnosis.retry);
        assert_eq!(
            diagnose(401, &none, b"", now).failure,
            Some(Failure::Rejected { status: 401 })
        );
        assert_eq!(diagnose(529, &none, b"", now).error_type, "overloaded");
        let bad = diagnose(400, &none, br#"{"error":{"message":"bad messages"}}"#, now);
        assert_eq!(
            (bad.failure, bad.retry, bad.error_type),
            (None, false, "client_error")
        );
    }

    #[test]
    fn words_in_a_message_never_make_a_no_credit_verdict() {
        let now = Utc::now();
        let none = Headers::new();
        let echoed = br#"{"error":{"message":"bad model insufficient_quota billing_error: Your credit balance is too low","type":"invalid_request_error","code":null}}"#;
        let diagnosis = diagnose(400, &none, echoed, now);
        assert_eq!(
            (diagnosis.failure, diagnosis.retry, diagnosis.error_type),
            (None, false, "client_error")
        );
        let diagnosis = diagnose(500, &none, echoed, now);
        assert_eq!(diagnosis.failure, Some(Failure::Transient));
    }

    #[test]
    fn an_echoed_secret_is_masked() {
        let body = br#"{"error":{"message":"key sk-live-abcdefghijklmnop9f3c is bad; sk-live-abcdefghijklmnop9f3c"}}"#;
        assert_eq!(
            &scrub(body, "sk-live-abcdefghijklmnop9f3c")[..],
            "{\"error\":{\"message\":\"key sk-l…9f3c is bad; sk-l…9f3c\"}}".as_bytes()
        );
    }
}
