//! `X-Forwarded-*` headers count only from a configured proxy: a webhook signed for the public
//! URL a proxy forwarded is accepted behind that proxy, and the same headers from any other
//! peer are ignored.

use crate::fake_twilio::{self, encode, sign, FakeTwilio};
use crate::helpers::{spawn_with, Backend, TestApp};
use crate::whatsapp::{configure, message};

const PUBLIC_URL: &str = "https://public.example.org/webhook";

/// A WhatsApp-enabled app with no configured public URL, trusting `proxies`.
async fn webhook_app(proxies: &[&str]) -> (TestApp, FakeTwilio) {
    let twilio = fake_twilio::start().await;
    let api = twilio.base_url.clone();
    let proxies: Vec<String> = proxies.iter().map(|p| (*p).to_string()).collect();
    let app = spawn_with(
        Backend::Sqlite,
        move |s| {
            configure(s, &api, 0);
            s.twilio.public_base_url = String::new();
            s.server.trusted_proxies = proxies;
        },
        None,
    )
    .await;
    (app, twilio)
}

/// Posts a webhook signed for `signed_url`, claiming to come through a proxy for the public URL.
async fn post_forwarded(app: &TestApp, sid: &str, signed_url: &str) -> u16 {
    let params = message(sid, "+14155550121", "hello");
    let pairs: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    app.client
        .post(app.url("/webhook"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("X-Twilio-Signature", sign(signed_url, &pairs))
        .header("X-Forwarded-Proto", "https")
        .header("X-Forwarded-Host", "public.example.org")
        .header("X-Forwarded-For", "203.0.113.7")
        .body(encode(&pairs))
        .send()
        .await
        .expect("sent")
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trusted_proxy_forwards_the_public_url_that_was_signed() {
    let (app, _twilio) = webhook_app(&["127.0.0.1"]).await;

    let public = post_forwarded(&app, "SM10000000000000000000000000000001", PUBLIC_URL).await;
    let arrival = post_forwarded(
        &app,
        "SM10000000000000000000000000000002",
        &app.url("/webhook"),
    )
    .await;

    assert_eq!(public, 200, "signed for the URL the proxy forwarded");
    assert_eq!(
        arrival, 403,
        "the proxy's URL, not the local one, was signed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarding_headers_from_an_untrusted_peer_are_ignored() {
    let (app, _twilio) = webhook_app(&[]).await;

    let public = post_forwarded(&app, "SM20000000000000000000000000000001", PUBLIC_URL).await;
    let arrival = post_forwarded(
        &app,
        "SM20000000000000000000000000000002",
        &app.url("/webhook"),
    )
    .await;

    assert_eq!(public, 403, "a peer cannot claim another URL was signed");
    assert_eq!(arrival, 200, "the URL it really reached is what counts");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proxy_outside_the_trusted_block_is_not_believed() {
    let (app, _twilio) = webhook_app(&["10.0.0.0/8", "::1"]).await;

    let public = post_forwarded(&app, "SM30000000000000000000000000000001", PUBLIC_URL).await;

    assert_eq!(public, 403);
}
