//! A scripted local HTTP server standing in for Twilio's REST API and media hosts: records
//! every request, answers from a queue of replies, then with a fallback.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use poem::http::StatusCode;
use poem::listener::TcpAcceptor;
use poem::{Request, Response, Server};
use whatsapp_agent::ports::parse_query;

/// One request as the fake saw it.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    /// The query string's parameters, decoded.
    pub query: Vec<(String, String)>,
    pub authorization: Option<String>,
    pub content_type: Option<String>,
    /// The form body, repeated keys kept in order.
    pub form: Vec<(String, String)>,
}

impl Recorded {
    pub fn field(&self, name: &str) -> Option<&str> {
        self.form
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What to answer.
#[derive(Clone, Debug)]
pub enum Reply {
    /// 201 with a message resource shaped like Twilio's, built from the request.
    Created,
    Raw {
        status: u16,
        body: Vec<u8>,
        headers: Vec<(String, String)>,
    },
}

impl Reply {
    /// Twilio's error body.
    pub fn twilio_error(status: u16, code: u32, message: &str) -> Self {
        let body = serde_json::json!({
            "code": code,
            "message": message,
            "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
            "status": status,
        });
        Reply::Raw {
            status,
            body: body.to_string().into_bytes(),
            headers: vec![("content-type".into(), "application/json".into())],
        }
    }

    pub fn bytes(status: u16, content_type: &str, body: &[u8]) -> Self {
        Reply::Raw {
            status,
            body: body.to_vec(),
            headers: vec![("content-type".into(), content_type.into())],
        }
    }

    pub fn redirect(location: &str) -> Self {
        Reply::Raw {
            status: 307,
            body: Vec::new(),
            headers: vec![("location".into(), location.into())],
        }
    }

    pub fn with_header(self, name: &str, value: &str) -> Self {
        match self {
            Reply::Raw {
                status,
                body,
                mut headers,
            } => {
                headers.push((name.into(), value.into()));
                Reply::Raw {
                    status,
                    body,
                    headers,
                }
            }
            Reply::Created => Reply::Created,
        }
    }
}

struct Inner {
    requests: Mutex<Vec<Recorded>>,
    script: Mutex<VecDeque<Reply>>,
    fallback: Reply,
    created: AtomicUsize,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

/// A running fake; clones share state.
#[derive(Clone)]
pub struct Fake {
    inner: Arc<Inner>,
    pub addr: SocketAddr,
}

impl Fake {
    /// Starts a server on `127.0.0.1:0` answering `fallback` once the script is used up.
    pub async fn start(fallback: Reply) -> Fake {
        let inner = Arc::new(Inner {
            requests: Mutex::new(Vec::new()),
            script: Mutex::new(VecDeque::new()),
            fallback,
            created: AtomicUsize::new(0),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let acceptor = TcpAcceptor::from_tokio(listener).expect("acceptor");
        let state = inner.clone();
        let endpoint = poem::endpoint::make(move |req: Request| {
            let state = state.clone();
            async move { handle(&state, req).await }
        });
        tokio::spawn(Server::new_with_acceptor(acceptor).run(endpoint));
        Fake { inner, addr }
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `host:port`, as an allowed-host pattern.
    pub fn host_port(&self) -> String {
        self.addr.to_string()
    }

    pub fn push(&self, reply: Reply) {
        self.inner.script.lock().expect("script").push_back(reply);
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.inner.requests.lock().expect("requests").clone()
    }

    /// Most requests ever handled at the same time.
    pub fn max_in_flight(&self) -> usize {
        self.inner.max_in_flight.load(Ordering::SeqCst)
    }
}

async fn handle(state: &Inner, mut req: Request) -> Response {
    let now = state.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    state.max_in_flight.fetch_max(now, Ordering::SeqCst);
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let (authorization, content_type) = (header("authorization"), header("content-type"));
    let body = req.take_body().into_string().await.unwrap_or_default();
    let recorded = Recorded {
        method: req.method().to_string(),
        path: req.uri().path().to_string(),
        query: parse_query(req.uri().query().unwrap_or_default()),
        authorization,
        content_type,
        form: parse_query(&body),
    };
    state
        .requests
        .lock()
        .expect("requests")
        .push(recorded.clone());
    // Long enough for a concurrent sender to overlap, if there were one.
    tokio::time::sleep(Duration::from_millis(3)).await;
    let reply = state
        .script
        .lock()
        .expect("script")
        .pop_front()
        .unwrap_or_else(|| state.fallback.clone());
    let response = match reply {
        Reply::Created => {
            let n = state.created.fetch_add(1, Ordering::SeqCst) + 1;
            created(&recorded, n)
        }
        Reply::Raw {
            status,
            body,
            headers,
        } => {
            let mut builder =
                Response::builder().status(StatusCode::from_u16(status).expect("status"));
            for (name, value) in headers {
                builder = builder.header(name, value);
            }
            builder.body(body)
        }
    };
    state.in_flight.fetch_sub(1, Ordering::SeqCst);
    response
}

/// The message SID the fake gives its `n`-th created message (from 1).
pub fn sid(n: usize) -> String {
    format!("SM{n:032x}")
}

/// A 201 body with the fields of `api.v2010.account.message`.
pub fn message_resource(recorded: &Recorded, n: usize) -> serde_json::Value {
    let account = recorded.path.split('/').nth(3).unwrap_or_default();
    let sid = sid(n);
    let media = recorded
        .form
        .iter()
        .filter(|(k, _)| k == "MediaUrl")
        .count();
    serde_json::json!({
        "account_sid": account,
        "api_version": "2010-04-01",
        "body": recorded.field("Body").unwrap_or_default(),
        "date_created": "Thu, 24 Aug 2023 05:01:45 +0000",
        "date_sent": null,
        "date_updated": "Thu, 24 Aug 2023 05:01:45 +0000",
        "direction": "outbound-api",
        "error_code": null,
        "error_message": null,
        "from": recorded.field("From").unwrap_or_default(),
        "messaging_service_sid": null,
        "num_media": media.to_string(),
        "num_segments": "1",
        "price": null,
        "price_unit": null,
        "sid": sid,
        "status": "queued",
        "subresource_uris": {
            "media": format!("/2010-04-01/Accounts/{account}/Messages/{sid}/Media.json")
        },
        "to": recorded.field("To").unwrap_or_default(),
        "uri": format!("/2010-04-01/Accounts/{account}/Messages/{sid}.json"),
    })
}

fn created(recorded: &Recorded, n: usize) -> Response {
    Response::builder()
        .status(StatusCode::CREATED)
        .header("content-type", "application/json")
        .body(message_resource(recorded, n).to_string())
}
