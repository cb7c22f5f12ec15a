//! `X-Twilio-Signature` verification: Twilio's published vectors, tampering, token rotation,
//! the port quirk, GET, repeated keys, fragments and credentials in the URL.

use serde::Deserialize;
use wa_twilio::signature::{compute_signature, is_valid_signature, signed_url_variants};
use wa_twilio::{TwilioChannel, TwilioChannelSettings};
use whatsapp_agent::ports::{InboundChannel, WebhookError, WebhookRequest};

use crate::pairs;

const SHARED_VECTORS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/reference/twilio-signature-vectors.json"
);
const FIXTURE_VECTORS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/twilio-signature-vectors.json"
);

#[derive(Debug, Clone, Deserialize)]
struct Vector {
    name: String,
    method: String,
    url: String,
    auth_token: String,
    params: Vec<(String, String)>,
    signature: String,
}

#[derive(Deserialize)]
struct VectorFile {
    vectors: Vec<Vector>,
}

fn load(path: &str) -> Option<Vec<Vector>> {
    let text = std::fs::read_to_string(path).ok()?;
    let file: VectorFile = serde_json::from_str(&text).expect("vector file parses");
    Some(file.vectors)
}

/// The shared reference file, or the copy next to the tests when it is not there.
fn vectors() -> Vec<Vector> {
    load(SHARED_VECTORS)
        .or_else(|| load(FIXTURE_VECTORS))
        .expect("signature vectors")
}

fn vector(name_part: &str) -> Vector {
    vectors()
        .into_iter()
        .find(|v| v.name.contains(name_part))
        .expect("vector present")
}

/// `https://host` and `/path?query` of a URL.
fn split_url(url: &str) -> (String, String) {
    let start = url.find("://").expect("scheme") + 3;
    let slash = url[start..].find('/').map_or(url.len(), |i| start + i);
    (url[..slash].to_string(), url[slash..].to_string())
}

fn channel(base: &str, token: &str, secondary: Option<&str>) -> TwilioChannel {
    let mut settings = TwilioChannelSettings::new(base, token);
    settings.secondary_auth_token = secondary.map(Into::into);
    TwilioChannel::new(settings)
}

fn request(method: &str, path: &str, form: Vec<(String, String)>, sig: &str) -> WebhookRequest {
    WebhookRequest {
        method: method.into(),
        path_and_query: path.into(),
        form,
        signature: Some(sig.into()),
        origin: None,
    }
}

/// The vector as a request to a channel configured with its URL's base.
fn verify_vector(v: &Vector, token: &str, secondary: Option<&str>) -> Result<(), WebhookError> {
    let (base, path) = split_url(&v.url);
    channel(&base, token, secondary).verify(&request(
        &v.method,
        &path,
        v.params.clone(),
        &v.signature,
    ))
}

#[test]
fn every_reference_vector_verifies() {
    let all = vectors();
    assert!(all.len() >= 7, "expected the reference vectors");
    for v in &all {
        let params = if v.method == "GET" {
            vec![]
        } else {
            v.params.clone()
        };
        assert_eq!(
            compute_signature(&v.auth_token, &v.url, &params),
            v.signature,
            "{}",
            v.name
        );
        assert_eq!(verify_vector(v, &v.auth_token, None), Ok(()), "{}", v.name);
    }
}

#[test]
fn the_fixture_copy_verifies_on_its_own() {
    let copy = load(FIXTURE_VECTORS).expect("fixture copy");
    if let Some(shared) = load(SHARED_VECTORS) {
        assert_eq!(copy.len(), shared.len(), "fixture copy is out of date");
    }
    for v in &copy {
        assert_eq!(verify_vector(v, &v.auth_token, None), Ok(()), "{}", v.name);
    }
}

#[test]
fn tampered_params_url_signature_or_token_fail() {
    let v = vector("whatsapp inbound image");
    let (base, path) = split_url(&v.url);
    let ch = channel(&base, &v.auth_token, None);
    let forbidden = Err(WebhookError::Forbidden);

    let mut changed = v.params.clone();
    let body = changed.iter_mut().find(|(k, _)| k == "Body").expect("Body");
    body.1 = "what is in this picture!".into();
    assert_eq!(
        ch.verify(&request("POST", &path, changed, &v.signature)),
        forbidden
    );

    let mut added = v.params.clone();
    added.push(("Extra".into(), "1".into()));
    assert_eq!(
        ch.verify(&request("POST", &path, added, &v.signature)),
        forbidden
    );

    let mut removed = v.params.clone();
    removed.retain(|(k, _)| k != "WaId");
    assert_eq!(
        ch.verify(&request("POST", &path, removed, &v.signature)),
        forbidden
    );

    let other_path = format!("{path}/");
    let req = request("POST", &other_path, v.params.clone(), &v.signature);
    assert_eq!(ch.verify(&req), forbidden);
    let req = request(
        "POST",
        &format!("{path}?x=1"),
        v.params.clone(),
        &v.signature,
    );
    assert_eq!(ch.verify(&req), forbidden);

    let mut bad_sig = v.signature.clone();
    bad_sig.replace_range(0..1, if bad_sig.starts_with('A') { "B" } else { "A" });
    assert_eq!(
        ch.verify(&request("POST", &path, v.params.clone(), &bad_sig)),
        forbidden
    );
    let truncated = &v.signature[..v.signature.len() - 1];
    assert_eq!(
        ch.verify(&request("POST", &path, v.params.clone(), truncated)),
        forbidden
    );

    let mut missing = request("POST", &path, v.params.clone(), "");
    assert_eq!(ch.verify(&missing), forbidden);
    missing.signature = None;
    assert_eq!(ch.verify(&missing), forbidden);

    assert_eq!(verify_vector(&v, "another-token", None), forbidden);
    let other_base = channel("https://other.example.com", &v.auth_token, None);
    let req = request("POST", &path, v.params.clone(), &v.signature);
    assert_eq!(other_base.verify(&req), forbidden);
}

#[test]
fn the_secondary_token_is_accepted_during_rotation() {
    let v = vector("whatsapp inbound image");
    assert_eq!(
        verify_vector(&v, "new-primary", Some(&v.auth_token)),
        Ok(())
    );
    assert_eq!(
        verify_vector(&v, &v.auth_token, Some("new-secondary")),
        Ok(())
    );
    assert_eq!(
        verify_vector(&v, "new-primary", Some("new-secondary")),
        Err(WebhookError::Forbidden)
    );
}

#[test]
fn validation_can_be_switched_off() {
    let mut settings = TwilioChannelSettings::new("https://agent.example.com", "token");
    settings.validate_signatures = false;
    let mut req = request("POST", "/twilio/whatsapp", pairs(&[("Body", "x")]), "junk");
    req.signature = None;
    assert_eq!(TwilioChannel::new(settings).verify(&req), Ok(()));
}

#[test]
fn the_default_port_is_accepted_with_and_without() {
    let token = "port-token";
    let params = pairs(&[("MessageSid", "SM1"), ("Body", "hi")]);
    let path = "/twilio/whatsapp?a=1";
    for (configured, signed) in [
        ("https://agent.example.com", "https://agent.example.com:443"),
        ("https://agent.example.com:443", "https://agent.example.com"),
        ("http://agent.example.com", "http://agent.example.com:80"),
        ("http://agent.example.com:80", "http://agent.example.com"),
        ("https://agent.example.com", "https://agent.example.com"),
    ] {
        let sig = compute_signature(token, &format!("{signed}{path}"), &params);
        let req = request("POST", path, params.clone(), &sig);
        assert_eq!(
            channel(configured, token, None).verify(&req),
            Ok(()),
            "configured {configured}, signed {signed}"
        );
    }
    // Only the scheme's own default port is interchangeable.
    for (configured, signed) in [
        ("https://agent.example.com", "https://agent.example.com:80"),
        (
            "https://agent.example.com:8443",
            "https://agent.example.com",
        ),
        (
            "https://agent.example.com",
            "https://agent.example.com:8443",
        ),
    ] {
        let sig = compute_signature(token, &format!("{signed}{path}"), &params);
        let req = request("POST", path, params.clone(), &sig);
        assert_eq!(
            channel(configured, token, None).verify(&req),
            Err(WebhookError::Forbidden),
            "configured {configured}, signed {signed}"
        );
    }
    assert_eq!(
        signed_url_variants("https://h.example:443/p?q=1"),
        vec!["https://h.example:443/p?q=1", "https://h.example/p?q=1"]
    );
    assert_eq!(
        signed_url_variants("http://[::1]/p"),
        vec!["http://[::1]/p", "http://[::1]:80/p"]
    );
}

#[test]
fn get_signs_the_url_alone() {
    let v = vector("whatsapp GET webhook");
    let (base, path) = split_url(&v.url);
    let ch = channel(&base, &v.auth_token, None);
    // A GET's form (if a framework filled one) is not part of what Twilio signed.
    let req = request("GET", &path, pairs(&[("From", "x")]), &v.signature);
    assert_eq!(ch.verify(&req), Ok(()));
    let tampered = path.replace("Body=hi", "Body=ho");
    let req = request("GET", &tampered, vec![], &v.signature);
    assert_eq!(ch.verify(&req), Err(WebhookError::Forbidden));
    // The same URL signed as a POST with its query params appended is a different signature.
    let query = whatsapp_agent::ports::parse_query(path.split_once('?').expect("query").1);
    assert_ne!(
        compute_signature(&v.auth_token, &v.url, &query),
        v.signature
    );
}

#[test]
fn repeated_keys_are_sorted_and_deduplicated() {
    let v = vector("repeated values");
    let mut shuffled = v.params.clone();
    shuffled.reverse();
    assert_eq!(
        compute_signature(&v.auth_token, &v.url, &shuffled),
        v.signature
    );
    let deduplicated: Vec<_> = shuffled
        .iter()
        .filter(|(k, v)| !(k == "Digits" && v == "1234"))
        .cloned()
        .chain([("Digits".to_string(), "1234".to_string())])
        .collect();
    assert_eq!(
        compute_signature(&v.auth_token, &v.url, &deduplicated),
        v.signature
    );
    let mut extra_value = v.params.clone();
    extra_value.push(("Digits".into(), "9".into()));
    assert_ne!(
        compute_signature(&v.auth_token, &v.url, &extra_value),
        v.signature
    );
}

#[test]
fn fragments_and_credentials_are_not_signed() {
    let token = "strip-token";
    let params = pairs(&[("MessageSid", "SM1")]);
    let clean = "https://agent.example.com/twilio/whatsapp?x=1";
    let sig = compute_signature(token, clean, &params);
    for configured in [
        "https://agent.example.com/twilio/whatsapp?x=1#rc=2&rp=all&tt=8000",
        "https://user:p%40ss@agent.example.com/twilio/whatsapp?x=1",
        "https://user:pass@agent.example.com:443/twilio/whatsapp?x=1#ct=100",
    ] {
        assert!(
            is_valid_signature(&[token], configured, &params, &sig),
            "{configured}"
        );
    }
    let req = request("POST", "/twilio/whatsapp?x=1", params.clone(), &sig);
    assert_eq!(
        channel("https://user:pass@agent.example.com", token, None).verify(&req),
        Ok(())
    );
    assert_eq!(
        signed_url_variants("https://u:p@agent.example.com/a?b=1#c")[0],
        "https://agent.example.com/a?b=1"
    );
}

/// The example on Twilio's security page. It is a form POST (parameters appended to the URL),
/// not a GET: the URL alone gives a different signature. The reference vector file has the
/// same procedure on `mycompany.com` ("twilio-docs-*"); this `example.com` case uses callers
/// `+14158675310`.
#[test]
fn the_documented_example() {
    let url = "https://example.com/myapp.php?foo=1&bar=2";
    let params = pairs(&[
        ("CallSid", "CA1234567890ABCDE"),
        ("Caller", "+14158675310"),
        ("Digits", "1234"),
        ("From", "+14158675310"),
        ("To", "+18005551212"),
    ]);
    let expected = "L/OH5YylLD5NRKLltdqwSvS0BnU=";
    assert_eq!(compute_signature("12345", url, &params), expected);
    assert_ne!(compute_signature("12345", url, &[]), expected);
    let ch = channel("https://example.com", "12345", None);
    let post = request("POST", "/myapp.php?foo=1&bar=2", params, expected);
    assert_eq!(ch.verify(&post), Ok(()));
    let get = request("GET", "/myapp.php?foo=1&bar=2", vec![], expected);
    assert_eq!(ch.verify(&get), Err(WebhookError::Forbidden));
}
