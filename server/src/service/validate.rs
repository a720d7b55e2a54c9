//! Field checks shared by the services. Each error names the input field it is about.

use url::Url;

use crate::{config::parse_http_url, error::ServiceError};

/// A required, trimmed text of at most `max` characters.
pub fn required_text(field: &str, value: &str, max: usize) -> Result<String, ServiceError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(ServiceError::invalid(field, "must not be empty"));
    }
    optional_text(field, value, max)
}

/// A trimmed text of at most `max` characters, possibly empty.
pub fn optional_text(field: &str, value: &str, max: usize) -> Result<String, ServiceError> {
    let value = value.trim();
    if value.chars().count() > max {
        return Err(ServiceError::invalid(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    Ok(value.to_string())
}

/// An upstream secret: 8 to 512 visible characters, no spaces.
pub fn api_key(field: &str, value: &str) -> Result<String, ServiceError> {
    let value = value.trim();
    if value.len() < 8 {
        return Err(ServiceError::invalid(
            field,
            "must be at least 8 characters",
        ));
    }
    if value.len() > 512 {
        return Err(ServiceError::invalid(
            field,
            "must be at most 512 characters",
        ));
    }
    if !value.chars().all(|c| c.is_ascii_graphic()) {
        return Err(ServiceError::invalid(
            field,
            "must be printable ASCII without spaces",
        ));
    }
    Ok(value.to_string())
}

/// A User-Agent header value; empty means the pool's default.
pub fn user_agent(field: &str, value: &str) -> Result<String, ServiceError> {
    let value = optional_text(field, value, 512)?;
    if value.chars().any(|c| !(' '..='~').contains(&c)) {
        return Err(ServiceError::invalid(
            field,
            "must be printable ASCII (it is sent as an HTTP header)",
        ));
    }
    Ok(value)
}

/// An outbound proxy URL (`http`, `https`, `socks5`, `socks5h`) with host and port; empty means
/// direct.
pub fn proxy_url(field: &str, value: &str) -> Result<String, ServiceError> {
    let value = optional_text(field, value, 512)?;
    if value.is_empty() {
        return Ok(value);
    }
    let url = Url::parse(&value).map_err(|_| {
        ServiceError::invalid(
            field,
            "must be a proxy URL such as http://host:3128 or socks5://user:pass@host:1080",
        )
    })?;
    if !matches!(url.scheme(), "http" | "https" | "socks5" | "socks5h") {
        return Err(ServiceError::invalid(
            field,
            "must start with http://, https://, socks5:// or socks5h://",
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(ServiceError::invalid(field, "must name a host"));
    }
    if url.port_or_known_default().is_none() {
        return Err(ServiceError::invalid(field, "must name a port"));
    }
    if !matches!(url.path(), "" | "/") || url.query().is_some() {
        return Err(ServiceError::invalid(
            field,
            "must not have a path or query",
        ));
    }
    Ok(value)
}

/// An upstream base URL override; empty means the provider's default.
pub fn base_url(field: &str, value: &str) -> Result<Option<String>, ServiceError> {
    let value = optional_text(field, value, 512)?;
    if value.is_empty() {
        return Ok(None);
    }
    parse_http_url(&value).map_err(|why| ServiceError::invalid(field, why))?;
    Ok(Some(value.trim_end_matches('/').to_string()))
}

/// A number inside an inclusive range.
pub fn in_range(field: &str, value: i32, min: i32, max: i32) -> Result<i32, ServiceError> {
    if value < min || value > max {
        return Err(ServiceError::invalid(
            field,
            format!("must be between {min} and {max}"),
        ));
    }
    Ok(value)
}

/// A finite amount of US dollars, zero or more.
pub fn dollars(field: &str, value: f64) -> Result<f64, ServiceError> {
    if !value.is_finite() || value < 0.0 {
        return Err(ServiceError::invalid(field, "must be zero or more"));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_urls_accept_the_four_schemes() {
        for ok in [
            "http://127.0.0.1:3128",
            "https://proxy.example.com:443",
            "socks5://u:p@10.1.2.3:1080",
            "socks5h://proxy.example.com:1080",
            "",
        ] {
            assert!(proxy_url("proxyIp", ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn proxy_urls_refuse_other_shapes() {
        for bad in [
            "ftp://h:21",
            "127.0.0.1:3128",
            "socks4://h:1080",
            "http://h:3128/path",
        ] {
            let error = proxy_url("proxyIp", bad).expect_err(bad);
            assert!(error.to_string().starts_with("proxyIp: "), "{error}");
        }
    }

    #[test]
    fn api_keys_must_be_long_and_without_spaces() {
        assert!(api_key("apiKey", "short").is_err());
        assert!(api_key("apiKey", "sk-has space-123").is_err());
        assert_eq!(
            api_key("apiKey", "  sk-abcdefgh ").expect("valid"),
            "sk-abcdefgh"
        );
    }

    #[test]
    fn base_urls_lose_their_trailing_slash() {
        assert_eq!(
            base_url("baseUrl", "http://127.0.0.1:9/").expect("valid"),
            Some("http://127.0.0.1:9".into())
        );
        assert!(base_url("baseUrl", "not a url").is_err());
    }
}
