//! Field checks shared by the services. Each error names the input field it is about.

use std::net::{Ipv4Addr, Ipv6Addr};

use url::{Host, Url};

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
    no_control_characters(field, &value)?;
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
    if !matches!(url.path(), "" | "/") || url.query().is_some() || url.fragment().is_some() {
        return Err(ServiceError::invalid(
            field,
            "must not have a path, query or fragment",
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
    no_control_characters(field, &value)?;
    let url = parse_http_url(&value).map_err(|why| ServiceError::invalid(field, why))?;
    // The request path is appended to the base URL: a query or fragment would swallow it.
    if url.query().is_some() || url.fragment().is_some() {
        return Err(ServiceError::invalid(
            field,
            "must not have a query (?…) or fragment (#…): the request path is appended to it",
        ));
    }
    Ok(Some(value.trim_end_matches('/').to_string()))
}

/// Refuses control characters (CR, LF, tab, …), which a URL parser would silently drop but
/// which would reach headers and logs as they are.
pub fn no_control_characters(field: &str, value: &str) -> Result<(), ServiceError> {
    if value.chars().any(char::is_control) {
        return Err(ServiceError::invalid(
            field,
            "must not contain control characters such as line breaks",
        ));
    }
    Ok(())
}

/// Host names of cloud metadata services.
const METADATA_HOSTS: [&str; 3] = [
    "metadata.google.internal",
    "metadata.goog",
    "metadata.azure.internal",
];

/// Whether `host` is link-local (169.254.0.0/16, fe80::/10) or a cloud metadata address
/// (169.254.169.254, 100.100.100.200, fd00:ec2::254, `metadata.google.internal`). Loopback and
/// private networks are not: self-hosted gateways live there.
fn link_local_or_metadata(host: &Host<&str>) -> bool {
    let v4 = |ip: &Ipv4Addr| ip.is_link_local() || *ip == Ipv4Addr::new(100, 100, 100, 200);
    let v6 = |ip: &Ipv6Addr| {
        (ip.segments()[0] & 0xffc0) == 0xfe80
            || *ip == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254)
            || ip.to_ipv4_mapped().is_some_and(|mapped| v4(&mapped))
    };
    match host {
        Host::Ipv4(ip) => v4(ip),
        Host::Ipv6(ip) => v6(ip),
        // Non-http schemes (socks5://) leave IP addresses as opaque names.
        Host::Domain(name) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            let bare = name.trim_start_matches('[').trim_end_matches(']');
            match bare.parse::<std::net::IpAddr>() {
                Ok(std::net::IpAddr::V4(ip)) => v4(&ip),
                Ok(std::net::IpAddr::V6(ip)) => v6(&ip),
                Err(_) => METADATA_HOSTS.contains(&name.as_str()),
            }
        }
    }
}

/// Refuses an upstream, proxy or webhook URL that points at a link-local or cloud metadata
/// address, unless `allow_link_local` (the `network.allow_link_local_upstreams` setting). Only
/// the literal host is checked; an empty value passes.
pub fn outbound_destination(
    field: &str,
    value: &str,
    allow_link_local: bool,
) -> Result<(), ServiceError> {
    if allow_link_local || value.trim().is_empty() {
        return Ok(());
    }
    let Ok(url) = Url::parse(value.trim()) else {
        return Ok(());
    };
    match url.host() {
        Some(host) if link_local_or_metadata(&host) => Err(ServiceError::invalid(
            field,
            "must not point at a link-local or cloud metadata address (169.254.0.0/16, fe80::/10, metadata.google.internal, …); set network.allow_link_local_upstreams to allow it",
        )),
        _ => Ok(()),
    }
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
    fn base_urls_refuse_line_breaks_queries_and_fragments() {
        for bad in [
            "http://h:1/v1\r\nX-Injected: 1",
            "http://h:1/?q=1",
            "http://h:1/#frag",
        ] {
            let error = base_url("baseUrl", bad).expect_err(bad);
            assert!(error.to_string().starts_with("baseUrl: "), "{error}");
        }
    }

    #[test]
    fn metadata_and_link_local_destinations_are_refused_unless_allowed() {
        for bad in [
            "http://169.254.169.254",
            "http://169.254.1.1:8080",
            "http://[fe80::1]:80",
            "http://[fd00:ec2::254]",
            "http://[::ffff:169.254.169.254]",
            "http://100.100.100.200",
            "http://metadata.google.internal./computeMetadata",
            "socks5://u:p@169.254.169.254:1080",
        ] {
            assert!(
                outbound_destination("baseUrl", bad, false).is_err(),
                "{bad}"
            );
            assert!(outbound_destination("baseUrl", bad, true).is_ok(), "{bad}");
        }
        for ok in [
            "http://127.0.0.1:9",
            "http://10.0.0.5:4000",
            "http://192.168.1.2",
            "http://[::1]:8080",
            "https://api.openai.com",
            "",
        ] {
            assert!(outbound_destination("baseUrl", ok, false).is_ok(), "{ok}");
        }
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
