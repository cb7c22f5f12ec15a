//! End-user tokens: compact JWTs signed with HS256 by the app's backend, with the secret
//! derived from one of its `chat` keys (see [`super::KeySecret::token_secret`]).
//!
//! Header `{"alg":"HS256","typ":"JWT","kid":"<key prefix>"}`, claims `{"sub": user_id,
//! "exp": unix seconds}` (`iat` optional). Only HS256 is accepted: a token that names another
//! algorithm, `none` included, is refused before its signature is looked at.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::secret::KeySecret;

/// The claims of a valid end-user token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenClaims {
    /// The chat `user_id` the token speaks for.
    pub sub: String,
    /// Expiry, in seconds since the Unix epoch. Required.
    pub exp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
}

/// A token whose shape is right, before its signature is checked.
pub(crate) struct Unverified<'a> {
    pub kid: String,
    signed: &'a str,
    signature: Vec<u8>,
    claims: &'a str,
}

/// Whether a bearer credential has the shape of a compact JWT (three dot-separated parts).
pub(crate) fn looks_like_token(credential: &str) -> bool {
    credential.bytes().filter(|&b| b == b'.').count() == 2
}

/// Splits and decodes a token's header.
pub(crate) fn parse(token: &str) -> Result<Unverified<'_>, String> {
    let mut parts = token.splitn(3, '.');
    let (Some(header), Some(claims), Some(signature)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err("the user token is not a JWT".into());
    };
    let decode = |part: &str| URL_SAFE_NO_PAD.decode(part.trim_end_matches('='));
    let header: Header = decode(header)
        .ok()
        .and_then(|raw| serde_json::from_slice(&raw).ok())
        .ok_or("the user token's header is not base64url JSON")?;
    if header.alg != "HS256" {
        return Err(format!(
            "the user token is signed with {:?}; only HS256 is accepted",
            header.alg
        ));
    }
    let kid = header
        .kid
        .ok_or("the user token's header has no `kid` (the prefix of the key that signed it)")?;
    let signature = decode(signature).map_err(|_| "the user token's signature is not base64url")?;
    let signed_len = token.len() - token.rsplit('.').next().map_or(0, str::len) - 1;
    Ok(Unverified {
        kid,
        signed: &token[..signed_len],
        signature,
        claims,
    })
}

impl Unverified<'_> {
    /// Checks the signature with `secret`, then the expiry against `now`: at most `leeway`
    /// seconds late, and at most `max_ttl` seconds ahead.
    pub(crate) fn verify(
        &self,
        secret: &[u8],
        now: i64,
        leeway: i64,
        max_ttl: i64,
    ) -> Result<TokenClaims, String> {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret).map_err(|e| e.to_string())?;
        mac.update(self.signed.as_bytes());
        mac.verify_slice(&self.signature)
            .map_err(|_| "the user token's signature does not match its key".to_string())?;
        let claims: TokenClaims = URL_SAFE_NO_PAD
            .decode(self.claims.trim_end_matches('='))
            .ok()
            .and_then(|raw| serde_json::from_slice(&raw).ok())
            .ok_or("the user token's claims must be JSON with `sub` (string) and `exp` (number)")?;
        if claims.sub.trim().is_empty() {
            return Err("the user token's `sub` is empty".into());
        }
        if now > claims.exp.saturating_add(leeway) {
            return Err("the user token has expired".into());
        }
        if claims.exp.saturating_sub(now) > max_ttl {
            return Err(format!(
                "the user token lives too long: `exp` may be at most {max_ttl} s ahead"
            ));
        }
        Ok(claims)
    }
}

/// Mints an end-user token for `user_id`, signed with `key`'s token secret, expiring at `exp`
/// (Unix seconds). What an app's backend does; here for the command line and tests.
#[allow(clippy::expect_used)]
pub fn mint_user_token(key: &KeySecret, user_id: &str, iat: i64, exp: i64) -> String {
    let header = serde_json::json!({"alg": "HS256", "typ": "JWT", "kid": key.prefix()});
    let claims = TokenClaims {
        sub: user_id.to_string(),
        exp,
        iat: Some(iat),
    };
    let encode = |value: &serde_json::Value| URL_SAFE_NO_PAD.encode(value.to_string());
    let claims = serde_json::to_value(&claims).expect("claims serialize");
    let signed = format!("{}.{}", encode(&header), encode(&claims));
    let mut mac =
        Hmac::<Sha256>::new_from_slice(&key.token_secret()).expect("HMAC takes any key length");
    mac.update(signed.as_bytes());
    let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{signed}.{signature}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    fn check(token: &str, key: &KeySecret) -> Result<TokenClaims, String> {
        parse(token)?.verify(&key.token_secret(), NOW, 30, 86_400)
    }

    #[test]
    fn a_minted_token_verifies_with_its_key_only() {
        let key = KeySecret::generate();
        let token = mint_user_token(&key, "alice", NOW, NOW + 600);
        assert!(looks_like_token(&token));
        assert_eq!(parse(&token).map(|t| t.kid).ok().as_deref(), key.prefix());
        assert_eq!(check(&token, &key).map(|c| c.sub), Ok("alice".to_string()));
        let other = KeySecret::generate();
        assert!(check(&token, &other).is_err());
    }

    #[test]
    fn expired_and_too_long_tokens_are_refused() {
        let key = KeySecret::generate();
        let expired = mint_user_token(&key, "alice", NOW - 700, NOW - 60);
        assert!(check(&expired, &key)
            .expect_err("expired")
            .contains("expired"));
        let long = mint_user_token(&key, "alice", NOW, NOW + 90_000);
        assert!(check(&long, &key)
            .expect_err("too long")
            .contains("too long"));
    }

    #[test]
    fn other_algorithms_and_tampering_are_refused() {
        let key = KeySecret::generate();
        let token = mint_user_token(&key, "alice", NOW, NOW + 600);
        let none_header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","kid":"x"}"#);
        let rest = token.split_once('.').map(|(_, r)| r).unwrap_or_default();
        let forged = format!("{none_header}.{rest}");
        assert!(check(&forged, &key).expect_err("forged").contains("HS256"));
        let bob = URL_SAFE_NO_PAD.encode(format!(r#"{{"sub":"bob","exp":{}}}"#, NOW + 600));
        let mut parts: Vec<&str> = token.split('.').collect();
        parts[1] = &bob;
        assert!(check(&parts.join("."), &key)
            .expect_err("tampered")
            .contains("signature"));
        assert!(parse("a.b.c").is_err());
    }
}
