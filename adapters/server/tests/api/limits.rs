//! Resource limits and SSRF: request rates per credential and per user, one model turn per user
//! at a time, chat URLs checked by the download guard before the model server sees them, and
//! the provider's credentials only for media from a signed webhook.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use poem::listener::TcpAcceptor;
use poem::web::Data;
use poem::{get, handler, EndpointExt, Request, Response, Route, Server};
use serde_json::{json, Value};
use wa_sql::SqlStore;
use whatsapp_agent::access::{mint_user_token, Access, AccessConfig, KeySecret, Scope};
use whatsapp_agent::ports::{Blob, ChunkStream, LlmChunk, LlmError, LlmPort, LlmReply, LlmRequest};

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

/// A model that takes `delay` to answer, echoes the user's last words, and records each
/// request's whole prompt and how many requests ran at once. With `meet` set, a request waits
/// (up to 20 s) until that many requests are in flight, and fails if they never are; with
/// `held` set, until the test lets go.
struct SlowModel {
    delay: Duration,
    meet: Option<usize>,
    held: Option<std::sync::atomic::AtomicBool>,
    prompts: Mutex<Vec<String>>,
    in_flight: std::sync::atomic::AtomicUsize,
    most_at_once: std::sync::atomic::AtomicUsize,
}

impl SlowModel {
    fn new(delay: Duration) -> Arc<Self> {
        Arc::new(Self {
            delay,
            meet: None,
            held: None,
            prompts: Mutex::default(),
            in_flight: 0.into(),
            most_at_once: 0.into(),
        })
    }

    fn meeting(count: usize) -> Arc<Self> {
        Arc::new(Self {
            delay: Duration::ZERO,
            meet: Some(count),
            held: None,
            prompts: Mutex::default(),
            in_flight: 0.into(),
            most_at_once: 0.into(),
        })
    }

    fn held() -> Arc<Self> {
        Arc::new(Self {
            delay: Duration::ZERO,
            meet: None,
            held: Some(true.into()),
            prompts: Mutex::default(),
            in_flight: 0.into(),
            most_at_once: 0.into(),
        })
    }

    fn let_go(&self) {
        if let Some(held) = &self.held {
            held.store(false, std::sync::atomic::Ordering::SeqCst);
        }
    }

    fn prompts(&self) -> Vec<String> {
        self.prompts.lock().expect("lock").clone()
    }

    fn most_at_once(&self) -> usize {
        self.most_at_once.load(std::sync::atomic::Ordering::SeqCst)
    }

    async fn answer(&self, request: &LlmRequest) -> Result<String, LlmError> {
        use std::sync::atomic::Ordering::SeqCst;
        let prompt: Vec<&str> = request.messages.iter().map(|m| m.text.as_str()).collect();
        self.prompts.lock().expect("lock").push(prompt.join("\n"));
        let now = self.in_flight.fetch_add(1, SeqCst) + 1;
        self.most_at_once.fetch_max(now, SeqCst);
        tokio::time::sleep(self.delay).await;
        if let Some(held) = &self.held {
            for _ in 0..600 {
                if !held.load(SeqCst) {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        let mut met = true;
        if let Some(count) = self.meet {
            met = false;
            for _ in 0..400 {
                if self.most_at_once.load(SeqCst) >= count {
                    met = true;
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        self.in_flight.fetch_sub(1, SeqCst);
        if !met {
            return Err(LlmError::Unavailable("the other turns never came".into()));
        }
        let last = request.messages.last().map_or("", |m| m.text.as_str());
        Ok(format!("answer to {last}"))
    }
}

#[async_trait::async_trait]
impl LlmPort for SlowModel {
    fn label(&self) -> String {
        "slow".into()
    }
    async fn complete(&self, request: &LlmRequest) -> Result<LlmReply, LlmError> {
        Ok(LlmReply::text(self.answer(request).await?))
    }
    async fn stream(&self, request: &LlmRequest) -> Result<ChunkStream, LlmError> {
        use futures::StreamExt;
        let text = self.answer(request).await?;
        Ok(futures::stream::iter([Ok(LlmChunk::Text(text))]).boxed())
    }
    async fn transcribe(&self, _: &Blob) -> Result<String, LlmError> {
        Err(LlmError::Unavailable("not used".into()))
    }
}

/// The text of the stored messages of `user_id`, oldest first, as `direction: body`.
async fn stored_turns(app: &TestApp, user_id: &str) -> Vec<String> {
    let rows = app
        .query(&format!(
            "SELECT m.direction, m.body FROM messages m JOIN users u ON u.id = m.user_id \
             WHERE u.phone_number = 'chat_{user_id}' ORDER BY m.created_at, m.id"
        ))
        .await;
    rows.iter()
        .map(|r| {
            let direction: String = r.try_get("", "direction").expect("direction");
            let body: String = r.try_get("", "body").expect("body");
            format!("{direction}: {body}")
        })
        .collect()
}

both_backends!(
    a_second_turn_of_the_same_user_waits_for_the_first_and_is_answered_after_it,
    |backend| async move {
        let model = SlowModel::new(Duration::from_millis(400));
        let app = spawn_with(backend, |_| {}, Some(model.clone())).await;

        // Act: a streamed message, and while its reply is generated, a quick second one.
        let first_body = json!({"content": "first", "user_id": "ana"});
        let first = app.post_json("/chat/stream", &first_body);
        let second = async {
            wait_for(|| (!model.prompts().is_empty()).then_some(())).await;
            app.post_json("/chat/", &json!({"content": "second", "user_id": "ana"}))
                .await
        };
        let (first, second) = tokio::join!(first, second);

        // Assert: both answered, one at a time, the second knowing the first's reply.
        assert_eq!(first.status(), 200);
        assert!(first
            .text()
            .await
            .expect("stream")
            .contains("answer to first"));
        assert_eq!(second.status(), 200);
        assert_eq!(model.most_at_once(), 1);
        let prompts = model.prompts();
        assert!(prompts[1].contains("answer to first"), "{prompts:?}");
        assert_eq!(
            stored_turns(&app, "ana").await,
            [
                "incoming: first",
                "outgoing: answer to first",
                "incoming: second",
                "outgoing: answer to second"
            ]
        );
    }
);

both_backends!(
    a_turn_that_waits_longer_than_turn_wait_gets_409_and_nothing_is_stored,
    |backend| async move {
        let model = SlowModel::held();
        let app = spawn_with(
            backend,
            |s| s.limits.turn_wait_secs = 1,
            Some(model.clone()),
        )
        .await;

        let first_body = json!({"content": "first", "user_id": "ben"});
        let first = app.post_json("/chat/", &first_body);
        // The second comes while the model holds the first; the first ends after the second's
        // answer.
        let second = async {
            wait_for(|| (!model.prompts().is_empty()).then_some(())).await;
            let second = app
                .post_json("/chat/", &json!({"content": "second", "user_id": "ben"}))
                .await;
            model.let_go();
            second
        };
        let (first, second) = tokio::join!(first, second);

        assert_eq!(first.status(), 200);
        assert_eq!(second.status(), 409);
        let body: Value = second.json().await.expect("json");
        assert_eq!(body["error"]["code"], "turn_in_progress", "{body}");
        assert!(body["error"]["message"].is_string());
        assert_eq!(
            stored_turns(&app, "ben").await,
            ["incoming: first", "outgoing: answer to first"]
        );
    }
);

#[tokio::test]
async fn turns_of_different_users_run_at_the_same_time() {
    // Every request waits until two are in flight: if one user's turn held up another's,
    // neither would be answered.
    let model = SlowModel::meeting(2);
    let app = spawn_with(Backend::Sqlite, |_| {}, Some(model.clone())).await;

    let (carla, dario) = (
        json!({"content": "hi", "user_id": "carla"}),
        json!({"content": "hi", "user_id": "dario"}),
    );
    let (a, b) = tokio::join!(
        app.post_json("/chat/", &carla),
        app.post_json("/chat/stream", &dario),
    );

    assert_eq!(a.status(), 200);
    assert_eq!(b.status(), 200);
    assert!(b.text().await.expect("stream").contains("answer to hi"));
    assert_eq!(model.most_at_once(), 2);
}

/// Creates a key straight through the core, on the instance's database.
async fn key(app: &TestApp, name: &str, scopes: &[Scope]) -> KeySecret {
    let access = Access::new(
        Arc::new(SqlStore::new(app.db.clone())),
        AccessConfig::default(),
    );
    access
        .create_key(name, scopes)
        .await
        .expect("key created")
        .secret
}

async fn call(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    bearer: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let mut request = app
        .client
        .request(method, app.url(path))
        .bearer_auth(bearer);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.expect("request sent")
}

/// Asserts a 429 with a whole number of seconds in `Retry-After` and the JSON error body.
async fn assert_rate_limited(response: reqwest::Response) {
    assert_eq!(response.status(), 429);
    let retry_after: u64 = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After in whole seconds");
    assert!(retry_after >= 1);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["error"]["code"], "rate_limited", "{body}");
    assert!(body["error"]["message"]
        .as_str()
        .is_some_and(|m| !m.is_empty()));
}

both_backends!(
    a_credential_over_its_rate_gets_429_with_retry_after,
    |backend| async move {
        let app = spawn_with(
            backend,
            |s| {
                s.auth.allow_anonymous = false;
                s.limits.per_key_per_minute = 1;
                s.limits.per_key_burst = 3;
            },
            None,
        )
        .await;
        let busy = key(&app, "busy backend", &[Scope::Chat, Scope::Admin]).await;
        let other = key(&app, "other backend", &[Scope::Chat]).await;
        let hello = || Some(json!({"content": "hello"}));

        // Every authenticated request counts, a chat turn or a staff listing alike.
        for path in ["/chat/", "/chat/stream"] {
            let ok = call(&app, reqwest::Method::POST, path, busy.expose(), hello()).await;
            assert_eq!(ok.status(), 200, "{path}");
        }
        let listed = call(
            &app,
            reqwest::Method::GET,
            "/conversations",
            busy.expose(),
            None,
        )
        .await;
        assert_eq!(listed.status(), 200);

        let over = call(
            &app,
            reqwest::Method::POST,
            "/chat/",
            busy.expose(),
            hello(),
        )
        .await;
        assert_rate_limited(over).await;
        let over = call(
            &app,
            reqwest::Method::GET,
            "/conversations",
            busy.expose(),
            None,
        )
        .await;
        assert_rate_limited(over).await;
        // A user token counts against the key that signed it.
        let now = chrono::Utc::now().timestamp();
        let token = mint_user_token(&busy, "gina", now, now + 600);
        let over = call(&app, reqwest::Method::POST, "/chat/", &token, hello()).await;
        assert_rate_limited(over).await;

        // Another key, and the open endpoints, are not held up.
        let ok = call(
            &app,
            reqwest::Method::POST,
            "/chat/",
            other.expose(),
            hello(),
        )
        .await;
        assert_eq!(ok.status(), 200);
        let health = app
            .client
            .get(app.url("/health"))
            .send()
            .await
            .expect("sent");
        assert_eq!(health.status(), 200);
        // Nothing was stored for the refused turns.
        assert_eq!(
            app.count("SELECT COUNT(*) FROM messages WHERE direction = 'incoming'")
                .await,
            3
        );
    }
);

both_backends!(
    a_user_over_their_rate_gets_429_and_other_users_go_on,
    |backend| async move {
        let app = spawn_with(
            backend,
            |s| {
                s.limits.per_user_per_minute = 1;
                s.limits.per_user_burst = 2;
            },
            None,
        )
        .await;
        let from = |user: &str| json!({"content": "hello", "user_id": user});

        assert_eq!(app.post_json("/chat/", &from("eva")).await.status(), 200);
        assert_eq!(
            app.post_json("/chat/stream", &from("eva")).await.status(),
            200
        );
        assert_rate_limited(app.post_json("/chat/", &from("eva")).await).await;
        assert_rate_limited(app.post_json("/chat/stream", &from("eva")).await).await;

        assert_eq!(app.post_json("/chat/", &from("fay")).await.status(), 200);
        assert_eq!(
            stored_turns(&app, "eva").await.len(),
            4,
            "two turns of eva, none of the refused ones"
        );
    }
);

#[tokio::test]
async fn probes_and_signed_webhooks_are_not_counted_against_a_credential() {
    let twilio = fake_twilio::start().await;
    let api = twilio.base_url.clone();
    let app = spawn_with(
        Backend::Sqlite,
        move |s| {
            configure(s, &api, 0);
            s.limits.per_key_per_minute = 1;
            s.limits.per_key_burst = 1;
        },
        None,
    )
    .await;

    // The anonymous caller of the local run spends its one request.
    let hello = json!({"content": "hello"});
    assert_eq!(app.post_json("/chat/", &hello).await.status(), 200);
    assert_rate_limited(app.post_json("/chat/", &hello).await).await;

    // The provider and the probes take no credential, so no credential's limit holds them.
    for i in 0..3 {
        let sid = format!("SM{i:032}");
        let params = message(&sid, "+14155550178", "hola");
        assert_eq!(post_signed(&app, "/webhook", &params).await.status(), 200);
        let health = app
            .client
            .get(app.url("/health"))
            .send()
            .await
            .expect("sent");
        assert_eq!(health.status(), 200);
    }
}
