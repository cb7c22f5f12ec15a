//! A scripted, in-process fake of the OpenAI HTTP API: canned replies written byte for byte, and
//! a log of every request the adapter sent. Past the script, a responder can answer by looking
//! at each request, the way a real server with its own rules would.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use poem::http::StatusCode;
use poem::listener::TcpAcceptor;
use poem::web::{Multipart, RequestBody};
use poem::{Body, FromRequest, Request, Response};
use serde_json::Value;
use wa_openai::{OpenAiClient, OpenAiSettings};

/// One canned HTTP response.
pub struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    /// How long the server waits before sending the status line and headers.
    headers_delay: Duration,
    /// Body writes, each after its delay.
    chunks: Vec<(Duration, Vec<u8>)>,
}

impl Reply {
    /// A `application/json` response with this exact body.
    pub fn json(status: u16, body: impl Into<String>) -> Self {
        Self {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            headers_delay: Duration::ZERO,
            chunks: vec![(Duration::ZERO, body.into().into_bytes())],
        }
    }

    /// A `200 text/event-stream` response whose body is written in exactly these pieces, each
    /// a little after the previous one so that they reach the client as separate reads.
    pub fn sse<I, B>(writes: I) -> Self
    where
        I: IntoIterator<Item = B>,
        B: Into<Vec<u8>>,
    {
        Self {
            status: 200,
            headers: vec![
                (
                    "content-type".into(),
                    "text/event-stream; charset=utf-8".into(),
                ),
                ("cache-control".into(), "no-cache".into()),
            ],
            headers_delay: Duration::ZERO,
            chunks: writes
                .into_iter()
                .map(|w| (Duration::from_millis(15), w.into()))
                .collect(),
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_ascii_lowercase(), value.into()));
        self
    }

    /// Waits this long before answering at all.
    pub fn delay_headers(mut self, delay: Duration) -> Self {
        self.headers_delay = delay;
        self
    }

    /// Appends one more body write, sent `delay` after the previous one.
    pub fn then_write(mut self, delay: Duration, bytes: impl Into<Vec<u8>>) -> Self {
        self.chunks.push((delay, bytes.into()));
        self
    }
}

/// One part of a `multipart/form-data` request.
#[derive(Clone, Debug)]
pub struct Part {
    pub name: String,
    pub filename: Option<String>,
    pub content_type: Option<String>,
    pub bytes: Vec<u8>,
}

/// A request as the fake received it.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    /// Path and query, e.g. `/v1/chat/completions`.
    pub path: String,
    /// Names in lower case, in arrival order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The parsed parts, for multipart bodies.
    pub parts: Vec<Part>,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON; panics with the raw text when it is not.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|err| {
            panic!(
                "request body is not JSON ({err}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn part(&self, name: &str) -> &Part {
        self.parts
            .iter()
            .find(|p| p.name == name)
            .unwrap_or_else(|| panic!("no multipart part named {name:?} in {:?}", self.parts))
    }
}

/// Answers a request the script does not cover.
type Responder = Arc<dyn Fn(&Recorded) -> Reply + Send + Sync>;

#[derive(Default)]
struct State {
    script: Mutex<VecDeque<Reply>>,
    log: Mutex<Vec<Recorded>>,
    responder: Mutex<Option<Responder>>,
}

/// The fake server, listening on 127.0.0.1 at a random port until the test's runtime ends.
pub struct FakeOpenAi {
    pub port: u16,
    state: Arc<State>,
}

impl FakeOpenAi {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fake server");
        let port = listener.local_addr().expect("local address").port();
        let acceptor = TcpAcceptor::from_tokio(listener).expect("wrap the listener");
        let state = Arc::new(State::default());
        let shared = state.clone();
        let endpoint = poem::endpoint::make(move |req: Request| {
            let state = shared.clone();
            async move { answer(state, req).await }
        });
        tokio::spawn(poem::Server::new_with_acceptor(acceptor).run(endpoint));
        Self { port, state }
    }

    /// Queues the reply for the next request.
    pub fn push(&self, reply: Reply) {
        lock(&self.state.script).push_back(reply);
    }

    /// Answers every request left once the script is used up with `answer`'s reply to it.
    pub fn respond_with(&self, answer: impl Fn(&Recorded) -> Reply + Send + Sync + 'static) {
        *lock(&self.state.responder) = Some(Arc::new(answer));
    }

    /// Every request received so far, oldest first.
    pub fn requests(&self) -> Vec<Recorded> {
        lock(&self.state.log).clone()
    }

    /// Settings pointing at this fake, with a key and quick retries.
    pub fn settings(&self) -> OpenAiSettings {
        test_settings(self.port)
    }

    pub fn client(&self) -> OpenAiClient {
        client(self.settings())
    }

    pub fn client_with(&self, change: impl FnOnce(&mut OpenAiSettings)) -> OpenAiClient {
        let mut settings = self.settings();
        change(&mut settings);
        client(settings)
    }
}

/// Settings for a server on `127.0.0.1:port`.
pub fn test_settings(port: u16) -> OpenAiSettings {
    let mut settings = OpenAiSettings::new(format!("http://127.0.0.1:{port}/v1"), "gpt-4o-mini");
    settings.api_key = Some("sk-test".into());
    settings.retry_base_delay = Duration::from_millis(10);
    settings.request_timeout = Duration::from_secs(10);
    settings.idle_stream_timeout = Duration::from_secs(10);
    settings
}

pub fn client(settings: OpenAiSettings) -> OpenAiClient {
    OpenAiClient::new(settings).expect("build the client")
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

async fn answer(state: Arc<State>, mut req: Request) -> Response {
    let body = req
        .take_body()
        .into_vec()
        .await
        .expect("read the request body");
    let is_multipart = req
        .header("content-type")
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    let parts = if is_multipart {
        read_parts(&req, body.clone()).await
    } else {
        Vec::new()
    };
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let recorded = Recorded {
        method: req.method().as_str().to_string(),
        path,
        headers: req
            .headers()
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body,
        parts,
    };
    lock(&state.log).push(recorded.clone());

    let scripted = lock(&state.script).pop_front();
    let responder = lock(&state.responder).clone();
    let next = scripted.or_else(|| responder.map(|answer| answer(&recorded)));
    let Some(reply) = next else {
        return Response::builder()
            .status(StatusCode::INTERNAL_SERVER_ERROR)
            .content_type("application/json")
            .body(
                r#"{"error":{"message":"fake server: no scripted reply left","type":"server_error","param":null,"code":null}}"#,
            );
    };
    if !reply.headers_delay.is_zero() {
        tokio::time::sleep(reply.headers_delay).await;
    }
    let mut builder = Response::builder()
        .status(StatusCode::from_u16(reply.status).expect("a valid status code"));
    for (name, value) in &reply.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    let single_write = reply.chunks.len() == 1 && reply.chunks[0].0.is_zero();
    if single_write {
        let bytes = reply
            .chunks
            .into_iter()
            .next()
            .map(|(_, b)| b)
            .unwrap_or_default();
        return builder.body(bytes);
    }
    let writes = futures::stream::iter(reply.chunks).then(|(delay, bytes)| async move {
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        Ok::<_, std::io::Error>(bytes)
    });
    builder.body(Body::from_bytes_stream(writes))
}

async fn read_parts(req: &Request, body: Vec<u8>) -> Vec<Part> {
    let mut body = RequestBody::new(Body::from(body));
    let mut multipart = Multipart::from_request(req, &mut body)
        .await
        .expect("a multipart body");
    let mut parts = Vec::new();
    while let Some(field) = multipart.next_field().await.expect("a multipart field") {
        let name = field.name().unwrap_or_default().to_string();
        let filename = field.file_name().map(str::to_string);
        let content_type = field.content_type().map(str::to_string);
        let bytes = field.bytes().await.expect("a multipart field's bytes");
        parts.push(Part {
            name,
            filename,
            content_type,
            bytes,
        });
    }
    parts
}
