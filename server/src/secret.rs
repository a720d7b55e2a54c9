//! Showing secrets without revealing them: masked upstream keys, URLs with credentials (proxy
//! URLs, base URLs) and webhook URLs (whose path or query often is the token).

use url::Url;

/// Masks a secret for display: `sk-abcdef…123456789f3c` becomes `sk-a…9f3c`. Short secrets show
/// less, and very short ones nothing at all.
pub fn mask(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    let shown = match chars.len() {
        0..=7 => 0,
        8..=15 => 2,
        _ => 4,
    };
    if shown == 0 {
        return "…".into();
    }
    let head: String = chars[..shown].iter().collect();
    let tail: String = chars[chars.len() - shown..].iter().collect();
    format!("{head}…{tail}")
}

/// Hides the password of a URL with credentials (`socks5://user:****@host:1080`, a base URL
/// `https://user:****@gateway`); other parts stay readable.
pub fn mask_url_credentials(proxy: &str) -> String {
    match Url::parse(proxy) {
        Ok(mut url) if url.password().is_some() => {
            let _ = url.set_password(Some("****"));
            url.to_string().trim_end_matches('/').to_string()
        }
        // A username alone is then the credential (a token in the user part).
        Ok(mut url) if !url.username().is_empty() => {
            let _ = url.set_username("****");
            url.to_string().trim_end_matches('/').to_string()
        }
        Ok(_) => proxy.to_string(),
        Err(_) if proxy.is_empty() => String::new(),
        Err(_) => mask(proxy),
    }
}

/// A webhook URL for logs: only `scheme://host[:port]`, the path and query (which often carry
/// the token, as in Slack or Discord hooks) replaced by `/…`.
pub fn webhook_for_log(url: &str) -> String {
    match Url::parse(url) {
        Ok(parsed) => match (parsed.host_str(), parsed.port()) {
            (Some(host), Some(port)) => format!("{}://{host}:{port}/…", parsed.scheme()),
            (Some(host), None) => format!("{}://{host}/…", parsed.scheme()),
            (None, _) => "…".into(),
        },
        Err(_) => "…".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_keys_show_four_characters_each_side() {
        assert_eq!(mask("sk-abcdefghijklmnop9f3c"), "sk-a…9f3c");
    }

    #[test]
    fn short_secrets_show_little_or_nothing() {
        assert_eq!(mask("abcdefghij"), "ab…ij");
        assert_eq!(mask("abc"), "…");
    }

    #[test]
    fn webhook_urls_show_only_scheme_and_host() {
        assert_eq!(
            webhook_for_log("https://hooks.slack.com/services/T0/B0/s3cr3t"),
            "https://hooks.slack.com/…"
        );
        assert_eq!(
            webhook_for_log("http://u:p@127.0.0.1:8080/hook?token=x"),
            "http://127.0.0.1:8080/…"
        );
    }

    #[test]
    fn proxy_passwords_are_hidden() {
        assert_eq!(
            mask_url_credentials("socks5://bob:hunter2@10.0.0.1:1080"),
            "socks5://bob:****@10.0.0.1:1080"
        );
        assert_eq!(
            mask_url_credentials("http://tok3n@127.0.0.1:3128"),
            "http://****@127.0.0.1:3128"
        );
        assert_eq!(
            mask_url_credentials("http://127.0.0.1:3128"),
            "http://127.0.0.1:3128"
        );
    }
}
