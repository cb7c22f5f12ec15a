//! Resource limits and SSRF: chat URLs pass the download guard before the model server sees
//! them, and the provider's credentials go only with media from a signed webhook.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use poem::listener::TcpAcceptor;
use poem::web::Data;
use poem::{get, handler, EndpointExt, Request, Response, Route, Server};
use serde_json::{json, Value};

use crate::both_backends;
use crate::fake_twilio::{self, ACCOUNT_SID, AUTH_TOKEN};
use crate::helpers::{spawn_with, Backend, TestApp};
use crate::whatsapp::{configure, message, post_signed};

/// Asserts a 422 naming `field`, and that no reply was made.
async fn assert_refused(app: &TestApp, path: &str, body: Value, field: &str) {
    let response = app.post_json(path, &body).await;
    assert_eq!(response.status(), 422, "{body}");
    let error: Value = response.json().await.expect("json");
    assert_eq!(error["error"]["field"], field, "{body}: {error}");
    assert!(
        ["media_rejected", "validation_error"]
            .contains(&error["error"]["code"].as_str().unwrap_or_default()),
        "{error}"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM messages WHERE direction = 'outgoing'")
            .await,
        0,
        "{body}: a reply was made"
    );
}

/// URLs that reach inside the network, in every form that names such an address, by kind.
const INSIDE: &[(&str, &str)] = &[
    ("loopback", "http://127.0.0.1:9/x.png"),
    ("private", "http://10.0.0.5/x.png"),
    ("private", "http://192.168.1.1/x.png"),
    ("link-local", "http://169.254.10.1/x.png"),
    ("carrier-grade NAT", "http://100.64.0.1/x.png"),
    ("multicast", "http://224.0.0.1/x.png"),
    ("unspecified", "http://0.0.0.0/x.png"),
    ("IPv6 loopback", "http://[::1]/x.png"),
    ("IPv6 unique local", "http://[fd12:3456::1]/x.png"),
    ("IPv6 link-local", "http://[fe80::1]/x.png"),
    ("IPv4-mapped IPv6", "http://[::ffff:127.0.0.1]/x.png"),
    ("IPv4-mapped IPv6, hex", "http://[::ffff:a00:1]/x.png"),
    ("decimal IPv4", "http://2130706433/x.png"),
    ("hex IPv4", "http://0x7f.1/x.png"),
    ("octal IPv4", "http://0177.0.0.1/x.png"),
    ("localhost", "http://localhost:8080/x.png"),
    ("userinfo", "http://cdn.example.com@127.0.0.1/x.png"),
];

/// Cloud metadata services: refused even where private networks are allowed.
const METADATA: &[&str] = &[
    "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
    "http://[fd00:ec2::254]/latest/meta-data/",
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://[::ffff:169.254.169.254]/latest/meta-data/",
    "http://100.100.100.200/latest/meta-data/",
];

both_backends!(
    chat_urls_to_private_addresses_get_422_naming_the_field,
    |backend| async move {
        let app = spawn_with(backend, |s| s.media.allow_private_networks = false, None).await;

        let urls = INSIDE.iter().map(|(_, url)| url).chain(METADATA);
        for url in urls {
            assert_refused(
                &app,
                "/chat/",
                json!({"content": "look", "media_urls": [url]}),
                "media_urls[0]",
            )
            .await;
        }
        assert_refused(
            &app,
            "/chat/",
            json!({"content": "listen", "audio_urls": ["http://127.0.0.1:9/a.ogg"]}),
            "audio_urls[0]",
        )
        .await;
        assert_refused(
            &app,
            "/chat/",
            json!({"content": "two", "media_urls": ["https://img.example/a.png", "http://10.1.2.3/b.png"]}),
            "media_urls[1]",
        )
        .await;
        assert_refused(
            &app,
            "/chat/stream",
            json!({"content": "look", "media_urls": ["http://169.254.169.254/latest/meta-data/"]}),
            "media_urls[0]",
        )
        .await;
    }
);

#[tokio::test]
async fn other_schemes_get_422_naming_the_field() {
    let app = spawn_with(Backend::Sqlite, |_| {}, None).await;

    for url in [
        "ftp://example.com/x.png",
        "file:///etc/passwd",
        "gopher://127.0.0.1:70/_",
        "data:image/png;base64,AAAA",
        "javascript:alert(1)",
    ] {
        for path in ["/chat/", "/chat/stream"] {
            assert_refused(
                &app,
                path,
                json!({"content": "look", "media_urls": [url]}),
                "media_urls[0]",
            )
            .await;
        }
    }
}

#[tokio::test]
async fn a_name_that_resolves_to_a_private_address_gets_422() {
    // This machine's name resolves through `/etc/hosts` to a loopback or private address on
    // nearly every host, container and CI runner.
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let name = name.trim().to_string();
    let private = match tokio::net::lookup_host((name.as_str(), 80)).await {
        Ok(addrs) => {
            let addrs: Vec<_> = addrs.collect();
            !addrs.is_empty() && addrs.iter().all(|a| !wa_media::is_public(a.ip()))
        }
        Err(_) => false,
    };
    if !private {
        eprintln!("skipped: this host's name does not resolve to a private address");
        return;
    }
    let app = spawn_with(
        Backend::Sqlite,
        |s| s.media.allow_private_networks = false,
        None,
    )
    .await;

    assert_refused(
        &app,
        "/chat/",
        json!({"content": "look", "media_urls": [format!("http://{name}:9/x.png")]}),
        "media_urls[0]",
    )
    .await;
}

#[tokio::test]
async fn trusted_networks_allow_private_hosts_but_never_metadata() {
    let app = spawn_with(
        Backend::Sqlite,
        |s| s.media.allow_private_networks = true,
        None,
    )
    .await;

    // Passed to the model as a URL (images are not inlined): nothing fetches it here.
    let response = app
        .post_json(
            "/chat/",
            &json!({"content": "look", "media_urls": ["http://10.0.0.5/x.png"]}),
        )
        .await;
    assert_eq!(response.status(), 200);
    for url in METADATA {
        assert_refused_again(&app, url).await;
    }
}

/// Like [`assert_refused`], for an app that already made replies.
async fn assert_refused_again(app: &TestApp, url: &str) {
    let replies = "SELECT COUNT(*) FROM messages WHERE direction = 'outgoing'";
    let before = app.count(replies).await;
    let response = app
        .post_json("/chat/", &json!({"content": "look", "media_urls": [url]}))
        .await;
    assert_eq!(response.status(), 422, "{url}");
    let error: Value = response.json().await.expect("json");
    assert_eq!(error["error"]["field"], "media_urls[0]", "{url}");
    assert_eq!(app.count(replies).await, before, "{url}: a reply was made");
}

/// A stand-in for the provider's media host: serves a photo and a voice note to anyone and
/// records the `Authorization` header of every request.
struct ProviderHost {
    /// `127.0.0.1:port`, as `twilio.media_hosts` names it.
    host: String,
    seen: Arc<Mutex<Vec<Option<String>>>>,
}

type Seen = Arc<Mutex<Vec<Option<String>>>>;

#[handler]
fn photo(req: &Request, seen: Data<&Seen>) -> Response {
    record(req, &seen);
    Response::builder()
        .content_type("image/png")
        .body(b"\x89PNG\r\n\x1a\nfake-png".to_vec())
}

#[handler]
fn voice(req: &Request, seen: Data<&Seen>) -> Response {
    record(req, &seen);
    Response::builder()
        .content_type("audio/ogg")
        .body(b"OggS\x00\x02fake-opus-voice-note".to_vec())
}

fn record(req: &Request, seen: &Seen) {
    let auth = req.header("authorization").map(str::to_string);
    seen.lock().expect("lock").push(auth);
}

impl ProviderHost {
    async fn start() -> Self {
        let seen: Seen = Arc::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let app = Route::new()
            .at("/Media/photo.png", get(photo))
            .at("/Media/voice.ogg", get(voice))
            .data(Arc::clone(&seen));
        let acceptor = TcpAcceptor::from_tokio(listener).expect("acceptor");
        tokio::spawn(Server::new_with_acceptor(acceptor).run(app));
        Self {
            host: format!("127.0.0.1:{port}"),
            seen,
        }
    }

    fn url(&self, file: &str) -> String {
        format!("http://{}/Media/{file}", self.host)
    }

    fn seen(&self) -> Vec<Option<String>> {
        self.seen.lock().expect("lock").clone()
    }
}

#[tokio::test]
async fn a_chat_url_on_the_provider_host_is_fetched_without_the_provider_credentials() {
    // Arrange: the provider's credentials are configured and the fake is its media host.
    let twilio = fake_twilio::start().await;
    let provider = ProviderHost::start().await;
    let (api, host) = (twilio.base_url.clone(), provider.host.clone());
    let app = spawn_with(
        Backend::Sqlite,
        move |s| {
            configure(s, &api, 1);
            s.twilio.media_hosts = vec![host];
            s.media.allow_private_networks = true;
            s.llm.inline_images = true;
        },
        None,
    )
    .await;

    // Act: a chat caller hands us URLs on the provider's host.
    let response = app
        .post_json(
            "/chat/",
            &json!({
                "content": "look",
                "media_urls": [provider.url("photo.png")],
                "audio_urls": [provider.url("voice.ogg")],
            }),
        )
        .await;

    // Assert: both were fetched, neither with credentials.
    assert_eq!(response.status(), 200);
    let seen = provider.seen();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert!(seen.iter().all(Option::is_none), "{seen:?}");

    // And the same host's media from a signed webhook does get them.
    let mut params = message("SMabababababababababababababababab", "+14155550177", "");
    params.retain(|(k, _)| k != "NumMedia");
    params.push(("NumMedia".into(), "1".into()));
    params.push(("MediaUrl0".into(), provider.url("voice.ogg")));
    params.push(("MediaContentType0".into(), "audio/ogg".into()));
    assert_eq!(post_signed(&app, "/webhook", &params).await.status(), 200);
    let webhook_fetch = wait_for(|| provider.seen().get(2).cloned()).await;
    let basic = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(format!("{ACCOUNT_SID}:{AUTH_TOKEN}"))
    };
    assert_eq!(webhook_fetch, Some(format!("Basic {basic}")));
}

/// Polls `probe` until it answers, for up to 20 s.
async fn wait_for<T>(probe: impl Fn() -> Option<T>) -> T {
    for _ in 0..400 {
        if let Some(found) = probe() {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting");
}
