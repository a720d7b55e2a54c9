//! Showing secrets without revealing them: masked upstream keys and proxy URLs.

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

/// Hides the password of a proxy URL (`socks5://user:****@host:1080`); other parts stay readable.
pub fn mask_proxy_url(proxy: &str) -> String {
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
    fn proxy_passwords_are_hidden() {
        assert_eq!(
            mask_proxy_url("socks5://bob:hunter2@10.0.0.1:1080"),
            "socks5://bob:****@10.0.0.1:1080"
        );
        assert_eq!(
            mask_proxy_url("http://tok3n@127.0.0.1:3128"),
            "http://****@127.0.0.1:3128"
        );
        assert_eq!(
            mask_proxy_url("http://127.0.0.1:3128"),
            "http://127.0.0.1:3128"
        );
    }
}
