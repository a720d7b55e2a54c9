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
    client_headers: &HeaderMap,
    body: bytes::Bytes,
) -> reqwest::RequestBuilder {
    let url = format!("{}{}", key.base_url, endpoint.upstream_path(key.provider));
    let mut builder = client
        .post(url)
        .header("content-type", "application/json")
        .body(body);
    let bearer = || format!("Bearer {}", key.secret);
    builder = match key.provider {
        Provider::OpenAi => builder.header("authorization", bearer()),
        Provider::Anthropic => builder.header("x-api-key", &key.secret),
        Provider::Amp => builder
            .header("authorization", bearer())
            .header("x-api-key", &key.secret),
    };
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

/// Upstream response headers worth passing to the client.
pub fn passed_headers(upstream: &reqwest::header::HeaderMap) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in upstream {
        let lower = name.as_str();
        let keep = matches!(
            lower,
            "content-type" | "retry-after" | "request-id" | "x-request-id"
        ) || lower.starts_with("openai-")
            || lower.starts_with("anthropic-")
            || lower.starts_with("x-ratelimit-");
        if keep && let Ok(name) = HeaderName::from_bytes(name.as_str().as_bytes()) {
            headers.append(name, value.clone());
        }
    }
    headers
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
}

/// Reads an upstream error answer.
pub fn diagnose(
    status: u16,
    headers: &reqwest::header::HeaderMap,
    body: &[u8],
    now: DateTime<Utc>,
) -> Diagnosis {
    let text = String::from_utf8_lossy(&body[..body.len().min(8192)]).to_lowercase();
    let no_credit = text.contains("insufficient_quota")
        || text.contains("credit balance is too low")
        || text.contains("billing_error");
    let diagnosis = |failure, retry, error_type| Diagnosis {
        failure,
        retry,
        error_type,
    };
    match status {
        _ if no_credit && (status == 400 || status == 402 || status == 403 || status == 429) => {
            diagnosis(
                Some(Failure::NoCredit {
                    detail: error_message(body).unwrap_or_else(|| format!("HTTP {status}")),
                }),
                true,
                "no_credit",
            )
        }
        401 | 403 => diagnosis(Some(Failure::Rejected { status }), true, "auth_failed"),
        402 => diagnosis(
            Some(Failure::NoCredit {
                detail: error_message(body).unwrap_or_else(|| "HTTP 402".into()),
            }),
            true,
            "no_credit",
        ),
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

/// When a rate-limited key may be used again: `retry-after` (seconds or a date), else the
/// latest of Anthropic's `anthropic-ratelimit-*-reset` times and OpenAI's
/// `x-ratelimit-reset-*` durations.
pub fn retry_after(headers: &reqwest::header::HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(value) = text("retry-after") {
        if let Ok(seconds) = value.trim().parse::<f64>()
            && seconds.is_finite()
            && seconds >= 0.0
        {
            return Some(Duration::from_secs_f64(seconds));
        }
        if let Ok(at) = DateTime::parse_from_rfc2822(value.trim()) {
            return (at.with_timezone(&Utc) - now).to_std().ok();
        }
    }
    let mut latest: Option<Duration> = None;
    for (name, value) in headers {
        let Ok(value) = value.to_str() else { continue };
        let name = name.as_str();
        let wait = if name.starts_with("anthropic-ratelimit-") && name.ends_with("-reset") {
            DateTime::parse_from_rfc3339(value)
                .ok()
                .and_then(|at| (at.with_timezone(&Utc) - now).to_std().ok())
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

/// Parses OpenAI's reset durations such as `1s`, `6m0s`, `250ms`, `1h2m3.5s`.
fn parse_go_duration(value: &str) -> Option<Duration> {
    let mut total = 0.0;
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
    (any && number.is_empty()).then(|| Duration::from_secs_f64(total))
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
        let credit = br#"{"type":"error","error":{"type":"invalid_request_error","message":"Your credit balance is too low to access the Anthropic API."}}"#;
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
}
