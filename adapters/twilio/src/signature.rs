//! `X-Twilio-Signature`: the string Twilio signs, the HMAC-SHA1 over it, and the URL variants
//! (default port added or removed) a valid signature may have been computed over.

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use subtle::ConstantTimeEq;

/// The Base64 HMAC-SHA1 of `url` followed by every parameter, sorted by name in byte order, as
/// `name` + `value` with no delimiters. Values of a repeated name are sorted and de-duplicated.
///
/// `url` is used exactly as given; pass `params` empty for GET requests, whose parameters are
/// already in the URL.
pub fn compute_signature(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(auth_token.as_bytes()) else {
        unreachable!("HMAC takes keys of any length")
    };
    mac.update(url.as_bytes());
    let mut grouped: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (name, value) in params {
        grouped.entry(name).or_default().insert(value);
    }
    for (name, values) in grouped {
        for value in values {
            mac.update(name.as_bytes());
            mac.update(value.as_bytes());
        }
    }
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// The URLs a signature for `url` may have been computed over: `url` without `user:pass@` and
/// `#fragment`, then, when it has no port, the same with the scheme's default port (`:443`,
/// `:80`) added, or, when it has the default port, the same without it. A non-default port is
/// kept as is. Host case and everything else are left exactly as given.
pub fn signed_url_variants(url: &str) -> Vec<String> {
    let url = url.split('#').next().unwrap_or_default();
    let Some((scheme, rest)) = url.split_once("://") else {
        return vec![url.to_string()];
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
    let stripped = format!("{scheme}://{host_port}{tail}");
    let default_port = match scheme.to_ascii_lowercase().as_str() {
        "https" => "443",
        "http" => "80",
        _ => return vec![stripped],
    };
    // A port follows the last `:`, unless that colon is inside an IPv6 literal (`[::1]`).
    let (host, port) = match host_port.rsplit_once(':') {
        Some((host, port)) if !port.contains(']') => (host, Some(port)),
        _ => (host_port, None),
    };
    let other = match port {
        None => format!("{scheme}://{host}:{default_port}{tail}"),
        Some(port) if port == default_port => format!("{scheme}://{host}{tail}"),
        Some(_) => return vec![stripped],
    };
    vec![stripped, other]
}

/// Whether `signature` was made with any of `auth_tokens` over any variant of `url`
/// ([`signed_url_variants`]) and `params`. Comparisons are constant-time.
pub fn is_valid_signature(
    auth_tokens: &[&str],
    url: &str,
    params: &[(String, String)],
    signature: &str,
) -> bool {
    let signature = signature.trim().as_bytes();
    let mut valid = false;
    for url in signed_url_variants(url) {
        for token in auth_tokens.iter().filter(|t| !t.is_empty()) {
            let expected = compute_signature(token, &url, params);
            valid |= bool::from(expected.as_bytes().ct_eq(signature));
        }
    }
    valid
}
