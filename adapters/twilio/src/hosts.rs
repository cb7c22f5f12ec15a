//! Host patterns for media URLs: `api.twilio.com`, `*.twilio.com`, or `127.0.0.1:8080`.

use reqwest::Url;

/// Whether `url` matches one of `patterns`.
///
/// A pattern is a host name (`api.twilio.com`), a suffix wildcard (`*.twilio.com`, which does not
/// match `twilio.com` itself), or a host with a port (`127.0.0.1:8080`). Patterns without a port
/// match `https` URLs on any port; patterns with a port match that port over `http` or `https`
/// (for local test servers). Host names compare case-insensitively.
pub fn matches_any(url: &Url, patterns: &[String]) -> bool {
    let Some(host) = url
        .host_str()
        .map(|h| h.trim_end_matches('.').to_ascii_lowercase())
    else {
        return false;
    };
    let https = url.scheme() == "https";
    let port = url.port_or_known_default();
    patterns.iter().any(|pattern| {
        let pattern = pattern.trim().to_ascii_lowercase();
        match split_port(&pattern) {
            (name, Some(p)) => {
                matches!(url.scheme(), "http" | "https")
                    && port == Some(p)
                    && host_matches(&host, name)
            }
            (name, None) => https && host_matches(&host, name),
        }
    })
}

fn split_port(pattern: &str) -> (&str, Option<u16>) {
    match pattern.rsplit_once(':') {
        Some((name, port)) if !name.is_empty() && !port.contains(']') => match port.parse() {
            Ok(port) => (name, Some(port)),
            Err(_) => (pattern, None),
        },
        _ => (pattern, None),
    }
}

fn host_matches(host: &str, pattern: &str) -> bool {
    match pattern.strip_prefix("*.") {
        Some(suffix) => host
            .strip_suffix(suffix)
            .is_some_and(|prefix| prefix.len() > 1 && prefix.ends_with('.')),
        None => host == pattern,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(url: &str, patterns: &[&str]) -> bool {
        let patterns: Vec<String> = patterns.iter().map(|p| p.to_string()).collect();
        matches_any(&Url::parse(url).expect("url"), &patterns)
    }

    #[test]
    fn names_wildcards_and_ports() {
        assert!(check("https://api.twilio.com/x", &["api.twilio.com"]));
        assert!(check("https://API.Twilio.com/x", &["api.twilio.com"]));
        assert!(!check("http://api.twilio.com/x", &["api.twilio.com"]));
        assert!(check("https://mms.twiliocdn.com/x", &["*.twiliocdn.com"]));
        assert!(!check("https://twiliocdn.com/x", &["*.twiliocdn.com"]));
        assert!(!check("https://eviltwilio.com/x", &["*.twilio.com"]));
        assert!(!check(
            "https://api.twilio.com.evil.com/x",
            &["*.twilio.com"]
        ));
        assert!(check("http://127.0.0.1:8080/x", &["127.0.0.1:8080"]));
        assert!(!check("http://127.0.0.1:8081/x", &["127.0.0.1:8080"]));
        assert!(!check("http://127.0.0.1/x", &["127.0.0.1"]));
    }
}
