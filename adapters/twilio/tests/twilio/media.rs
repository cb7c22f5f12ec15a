//! `TwilioMediaFetcher` against fake media hosts: credentials, late media, host rules,
//! redirects to the CDN, types and sizes.

use std::time::Duration;

use base64::Engine as _;
use wa_twilio::{TwilioMediaFetcher, TwilioMediaSettings};
use whatsapp_agent::ports::{MediaError, MediaFetcher, MediaPurpose};

use crate::fake::{Fake, Reply};

const ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";
const TOKEN: &str = "media_token";
const OGG: &[u8] = b"OggS\x00\x02\x00\x00voice-note";
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR";

fn settings(allowed: &Fake) -> TwilioMediaSettings {
    let mut settings = TwilioMediaSettings::new(ACCOUNT, TOKEN);
    settings.allowed_hosts = vec![allowed.host_port()];
    settings.redirect_hosts = Vec::new();
    settings.not_found_retry_delays = vec![Duration::from_millis(5), Duration::from_millis(15)];
    settings
}

fn fetcher(settings: TwilioMediaSettings) -> TwilioMediaFetcher {
    TwilioMediaFetcher::new(settings).expect("client")
}

fn media_url(fake: &Fake) -> String {
    format!(
        "{}/2010-04-01/Accounts/{ACCOUNT}/Messages/MM1/Media/ME1",
        fake.base_url()
    )
}

fn basic() -> String {
    let credentials =
        base64::engine::general_purpose::STANDARD.encode(format!("{ACCOUNT}:{TOKEN}"));
    format!("Basic {credentials}")
}

#[tokio::test]
async fn a_voice_note_is_fetched_with_basic_auth() {
    let fake = Fake::start(Reply::bytes(200, "audio/ogg", OGG)).await;
    let blob = fetcher(settings(&fake))
        .fetch_provider_media(&media_url(&fake), MediaPurpose::Audio)
        .await
        .expect("fetched");
    assert_eq!(blob.bytes, OGG);
    assert_eq!(blob.content_type, "audio/ogg");
    assert_eq!(blob.filename, "voice.ogg");
    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].method, "GET");
    assert_eq!(requests[0].authorization.as_deref(), Some(basic().as_str()));
}

#[tokio::test]
async fn a_url_that_did_not_come_from_a_webhook_is_never_fetched_with_credentials() {
    let fake = Fake::start(Reply::bytes(200, "audio/ogg", OGG)).await;
    let err = fetcher(settings(&fake))
        .fetch(&media_url(&fake), MediaPurpose::Audio)
        .await
        .expect_err("refused");
    assert!(matches!(err, MediaError::Refused(_)), "{err:?}");
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn media_that_is_not_there_yet_is_fetched_again() {
    let fake = Fake::start(Reply::bytes(200, "image/png", PNG)).await;
    fake.push(Reply::twilio_error(
        404,
        20404,
        "The requested resource was not found",
    ));
    let blob = fetcher(settings(&fake))
        .fetch_provider_media(&media_url(&fake), MediaPurpose::Image)
        .await
        .expect("fetched");
    assert_eq!(blob.filename, "image.png");
    assert_eq!(fake.requests().len(), 2);
}

#[tokio::test]
async fn media_that_never_appears_is_not_found() {
    let fake = Fake::start(Reply::twilio_error(404, 20404, "Not found")).await;
    let err = fetcher(settings(&fake))
        .fetch_provider_media(&media_url(&fake), MediaPurpose::Image)
        .await
        .expect_err("missing");
    assert!(matches!(err, MediaError::NotFound(_)), "{err:?}");
    assert_eq!(
        fake.requests().len(),
        3,
        "first try and one per retry delay"
    );
}

#[tokio::test]
async fn other_hosts_are_refused_without_a_request() {
    let fake = Fake::start(Reply::bytes(200, "image/png", PNG)).await;
    let other = Fake::start(Reply::bytes(200, "image/png", PNG)).await;
    let fetcher = fetcher(settings(&fake));
    for url in [
        "https://example.com/a.png".to_string(),
        "https://api.twilio.com.evil.example/a.png".to_string(),
        format!("{}/a.png", other.base_url()),
        format!("http://user:pass@{}/a.png", fake.host_port()),
        "file:///etc/passwd".to_string(),
        "not a url".to_string(),
    ] {
        let err = fetcher
            .fetch_provider_media(&url, MediaPurpose::Image)
            .await
            .expect_err("refused");
        assert!(matches!(err, MediaError::Refused(_)), "{url}: {err:?}");
        assert!(
            !format!("{err}").contains("user:pass"),
            "credentials echoed: {err}"
        );
    }
    assert!(fake.requests().is_empty());
    assert!(other.requests().is_empty());
}

#[test]
fn the_default_hosts_are_twilios() {
    let settings = TwilioMediaSettings::new(ACCOUNT, TOKEN);
    assert_eq!(
        settings.allowed_hosts,
        vec!["api.twilio.com", "*.twilio.com"]
    );
    assert!(settings
        .redirect_hosts
        .iter()
        .any(|h| h == "*.twiliocdn.com"));
    assert_eq!(
        settings.not_found_retry_delays,
        vec![Duration::from_secs(1), Duration::from_secs(3)]
    );
    assert_eq!(settings.max_image_bytes, 5 * 1024 * 1024);
    assert_eq!(settings.max_audio_bytes, 16 * 1024 * 1024);
    assert!(!format!("{settings:?}").contains(TOKEN));
}

#[tokio::test]
async fn a_wrong_content_type_is_refused() {
    let fake = Fake::start(Reply::bytes(200, "text/html; charset=utf-8", b"<html>")).await;
    let err = fetcher(settings(&fake))
        .fetch_provider_media(&media_url(&fake), MediaPurpose::Image)
        .await
        .expect_err("not an image");
    assert_eq!(err, MediaError::UnsupportedType("text/html".into()));

    let audio = Fake::start(Reply::bytes(200, "audio/ogg", OGG)).await;
    let err = fetcher(settings(&audio))
        .fetch_provider_media(&media_url(&audio), MediaPurpose::Image)
        .await
        .expect_err("audio is not an image");
    assert!(matches!(err, MediaError::UnsupportedType(_)), "{err:?}");
}

#[tokio::test]
async fn a_vague_content_type_is_sniffed() {
    let fake = Fake::start(Reply::bytes(200, "application/octet-stream", OGG)).await;
    let blob = fetcher(settings(&fake))
        .fetch_provider_media(&media_url(&fake), MediaPurpose::Audio)
        .await
        .expect("fetched");
    assert_eq!(blob.content_type, "audio/ogg");
    assert_eq!(blob.filename, "voice.ogg");
}

#[tokio::test]
async fn server_errors_are_unavailable_and_size_is_capped() {
    let fake = Fake::start(Reply::twilio_error(502, 20500, "Bad Gateway")).await;
    let err = fetcher(settings(&fake))
        .fetch_provider_media(&media_url(&fake), MediaPurpose::Image)
        .await
        .expect_err("down");
    assert!(matches!(err, MediaError::Unavailable(_)), "{err:?}");
    assert_eq!(fake.requests().len(), 1, "only a 404 is retried");

    let big = [PNG, &[0u8; 2048]].concat();
    let fake = Fake::start(Reply::bytes(200, "image/png", &big)).await;
    let mut small = settings(&fake);
    small.max_image_bytes = 1024;
    let err = fetcher(small)
        .fetch_provider_media(&media_url(&fake), MediaPurpose::Image)
        .await
        .expect_err("too large");
    assert_eq!(err, MediaError::TooLarge(1024));
}

#[tokio::test]
async fn redirects_to_the_cdn_are_followed_without_credentials() {
    let cdn = Fake::start(Reply::bytes(200, "image/jpeg", b"\xff\xd8\xff\xe0jpeg")).await;
    let api = Fake::start(Reply::redirect(&format!(
        "{}/media/abc?Expires=1",
        cdn.base_url()
    )))
    .await;
    let mut settings = settings(&api);
    settings.redirect_hosts = vec![cdn.host_port()];
    let blob = fetcher(settings)
        .fetch_provider_media(&media_url(&api), MediaPurpose::Image)
        .await
        .expect("fetched");
    assert_eq!(blob.filename, "image.jpg");
    assert_eq!(
        api.requests()[0].authorization.as_deref(),
        Some(basic().as_str())
    );
    let cdn_requests = cdn.requests();
    assert_eq!(cdn_requests.len(), 1);
    assert_eq!(cdn_requests[0].path, "/media/abc");
    assert_eq!(
        cdn_requests[0].authorization, None,
        "credentials leaked to the CDN"
    );
}

#[tokio::test]
async fn redirects_elsewhere_are_refused() {
    let elsewhere = Fake::start(Reply::bytes(200, "image/png", PNG)).await;
    let api = Fake::start(Reply::redirect(&format!("{}/x.png", elsewhere.base_url()))).await;
    let err = fetcher(settings(&api))
        .fetch_provider_media(&media_url(&api), MediaPurpose::Image)
        .await
        .expect_err("refused");
    assert!(matches!(err, MediaError::Refused(_)), "{err:?}");
    assert!(elsewhere.requests().is_empty());
}
