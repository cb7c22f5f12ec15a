//! A local stand-in for the provider's REST API: `POST /2010-04-01/Accounts/{sid}/Messages.json`
//! with basic auth, answering 201 with a message resource and recording every send, and
//! `GET …/Messages.json?To=&From=&PageSize=` listing them newest first in the provider's shape.
//! [`Faults`] make it fail sends with 5xx, or accept a send and answer only after a delay.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use poem::listener::TcpAcceptor;
use poem::web::{Data, Form, Path, Query};
use poem::{get, handler, EndpointExt, Request, Response, Route, Server};
use serde_json::json;
use sha1::Sha1;

pub const ACCOUNT_SID: &str = "AC00000000000000000000000000000001";
pub const AUTH_TOKEN: &str = "test-auth-token";
pub const PUBLIC_BASE: &str = "https://agent.example.com";
pub const FROM_NUMBER: &str = "+14155550000";
/// A recipient who replied STOP: sends to it fail with 21610.
pub const OPTED_OUT: &str = "whatsapp:+14155550199";

#[derive(Clone, Debug)]
pub struct Sent {
    pub sid: String,
    pub to: String,
    pub from: String,
    pub body: String,
    pub status_callback: Option<String>,
    /// When the fake created the message (the provider's `date_created`).
    pub date_created: DateTime<Utc>,
}

/// How the fake misbehaves; changed by tests while it runs.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    /// Sends are refused with this HTTP status (e.g. 500) and nothing is created.
    pub fail_status: Option<u16>,
    /// Sends are created at once but answered only after this delay (longer than the
    /// client's timeout: the client never learns the message went out).
    pub answer_delay: Option<Duration>,
    /// How many sends the fault applies to; `None` for all until cleared.
    pub remaining: Option<usize>,
    /// The list endpoint answers 500.
    pub list_fails: bool,
}

impl Faults {
    /// Whether the next send is hit, counting it down.
    fn hits(&mut self) -> bool {
        match &mut self.remaining {
            None => true,
            Some(0) => false,
            Some(n) => {
                *n -= 1;
                true
            }
        }
    }
}

pub struct FakeTwilio {
    pub base_url: String,
    pub sent: Arc<Mutex<Vec<Sent>>>,
    pub faults: Arc<Mutex<Faults>>,
}

impl FakeTwilio {
    /// Sends of `body`-containing messages that were created (refused ones excluded).
    pub fn created(&self) -> Vec<Sent> {
        self.sent
            .lock()
            .expect("lock")
            .iter()
            .filter(|s| !s.sid.is_empty())
            .cloned()
            .collect()
    }

    pub fn set_faults(&self, faults: Faults) {
        *self.faults.lock().expect("lock") = faults;
    }
}

fn authorized(req: &Request, account: &str) -> Option<Response> {
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{ACCOUNT_SID}:{AUTH_TOKEN}"))
    );
    if req.header("authorization") != Some(expected.as_str()) || account != ACCOUNT_SID {
        return Some(
            Response::builder()
                .status(poem::http::StatusCode::UNAUTHORIZED)
                .content_type("application/json")
                .body(json!({"code": 20003, "message": "Authenticate", "status": 401}).to_string()),
        );
    }
    None
}

fn resource(record: &Sent) -> serde_json::Value {
    let sid = &record.sid;
    json!({
        "sid": sid, "account_sid": ACCOUNT_SID, "to": record.to, "from": record.from,
        "body": record.body, "status": "queued", "num_segments": "1", "num_media": "0",
        "direction": "outbound-api", "api_version": "2010-04-01", "price": null, "error_code": null,
        "error_message": null, "messaging_service_sid": null,
        "date_created": record.date_created.to_rfc2822(),
        "date_updated": record.date_created.to_rfc2822(),
        // Still queued: not sent yet.
        "date_sent": null,
        "uri": format!("/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sid}.json"),
        "subresource_uris": {"media": format!("/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sid}/Media.json")},
    })
}

#[handler]
async fn create_message(
    req: &Request,
    Path(account): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
    sent: Data<&Arc<Mutex<Vec<Sent>>>>,
    faults: Data<&Arc<Mutex<Faults>>>,
) -> Response {
    if let Some(refused) = authorized(req, &account) {
        return refused;
    }
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    if get("To").as_deref() == Some(OPTED_OUT) {
        sent.lock().expect("lock").push(Sent {
            sid: String::new(),
            to: OPTED_OUT.into(),
            from: get("From").unwrap_or_default(),
            body: get("Body").unwrap_or_default(),
            status_callback: None,
            date_created: Utc::now(),
        });
        let error = json!({"code": 21610, "message": "Attempt to send to unsubscribed recipient",
            "more_info": "https://www.twilio.com/docs/errors/21610", "status": 400});
        return Response::builder()
            .status(poem::http::StatusCode::BAD_REQUEST)
            .content_type("application/json")
            .body(error.to_string());
    }
    let (fail, delay) = {
        let mut faults = faults.lock().expect("lock");
        if (faults.fail_status.is_some() || faults.answer_delay.is_some()) && faults.hits() {
            (faults.fail_status, faults.answer_delay)
        } else {
            (None, None)
        }
    };
    if let Some(status) = fail {
        let error = json!({"code": 20500, "message": "Internal Server Error",
            "more_info": "https://www.twilio.com/docs/errors/20500", "status": status});
        return Response::builder()
            .status(
                poem::http::StatusCode::from_u16(status)
                    .unwrap_or(poem::http::StatusCode::INTERNAL_SERVER_ERROR),
            )
            .content_type("application/json")
            .body(error.to_string());
    }
    let record = {
        let mut log = sent.lock().expect("lock");
        let record = Sent {
            sid: format!("SM{:032x}", log.len() + 1),
            to: get("To").unwrap_or_default(),
            from: get("From").unwrap_or_default(),
            body: get("Body").unwrap_or_default(),
            status_callback: get("StatusCallback"),
            date_created: Utc::now(),
        };
        log.push(record.clone());
        record
    };
    if let Some(delay) = delay {
        // The message exists from now on; the answer comes too late for the client.
        tokio::time::sleep(delay).await;
    }
    Response::builder()
        .status(poem::http::StatusCode::CREATED)
        .content_type("application/json")
        .body(resource(&record).to_string())
}

#[derive(Debug, serde::Deserialize)]
struct ListQuery {
    #[serde(rename = "To")]
    to: Option<String>,
    #[serde(rename = "From")]
    from: Option<String>,
    #[serde(rename = "PageSize")]
    page_size: Option<usize>,
    #[serde(rename = "Page")]
    page: Option<usize>,
}

#[handler]
fn list_messages(
    req: &Request,
    Path(account): Path<String>,
    Query(query): Query<ListQuery>,
    sent: Data<&Arc<Mutex<Vec<Sent>>>>,
    faults: Data<&Arc<Mutex<Faults>>>,
) -> Response {
    if let Some(refused) = authorized(req, &account) {
        return refused;
    }
    if faults.lock().expect("lock").list_fails {
        return Response::builder()
            .status(poem::http::StatusCode::INTERNAL_SERVER_ERROR)
            .content_type("application/json")
            .body(
                json!({"code": 20500, "message": "Internal Server Error", "status": 500})
                    .to_string(),
            );
    }
    let size = query.page_size.unwrap_or(50).clamp(1, 1000);
    let page = query.page.unwrap_or(0);
    let matching: Vec<Sent> = sent
        .lock()
        .expect("lock")
        .iter()
        .rev()
        .filter(|s| !s.sid.is_empty())
        .filter(|s| query.to.as_ref().is_none_or(|to| &s.to == to))
        .filter(|s| query.from.as_ref().is_none_or(|from| &s.from == from))
        .cloned()
        .collect();
    let messages: Vec<serde_json::Value> = matching
        .iter()
        .skip(page * size)
        .take(size)
        .map(resource)
        .collect();
    let path = format!("/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json");
    let filter = format!(
        "To={}&From={}",
        encode_value(query.to.as_deref().unwrap_or_default()),
        encode_value(query.from.as_deref().unwrap_or_default())
    );
    let uri = |p: usize| format!("{path}?{filter}&PageSize={size}&Page={p}");
    let next = ((page + 1) * size < matching.len()).then(|| uri(page + 1));
    let previous = (page > 0).then(|| uri(page - 1));
    let body = json!({
        "messages": messages,
        "end": page * size + messages.len().saturating_sub(1),
        "first_page_uri": uri(0),
        "next_page_uri": next,
        "page": page,
        "page_size": size,
        "previous_page_uri": previous,
        "start": page * size,
        "uri": uri(page),
    });
    Response::builder()
        .status(poem::http::StatusCode::OK)
        .content_type("application/json")
        .body(body.to_string())
}

fn encode_value(value: &str) -> String {
    encode(&[("v", value)]).trim_start_matches("v=").to_string()
}

pub async fn start() -> FakeTwilio {
    let sent = Arc::new(Mutex::new(Vec::new()));
    let faults = Arc::new(Mutex::new(Faults::default()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let app = Route::new()
        .at(
            "/2010-04-01/Accounts/:account/Messages.json",
            get(list_messages).post(create_message),
        )
        .data(Arc::clone(&sent))
        .data(Arc::clone(&faults));
    let acceptor = TcpAcceptor::from_tokio(listener).expect("acceptor");
    tokio::spawn(Server::new_with_acceptor(acceptor).run(app));
    FakeTwilio {
        base_url: format!("http://127.0.0.1:{port}"),
        sent,
        faults,
    }
}

/// The signature the provider would send: HMAC-SHA1 over the URL plus the sorted parameters.
pub fn sign(url: &str, params: &[(&str, &str)]) -> String {
    let mut sorted: Vec<&(&str, &str)> = params.iter().collect();
    sorted.sort();
    let mut data = url.to_string();
    for (k, v) in sorted {
        data.push_str(k);
        data.push_str(v);
    }
    let mut mac = Hmac::<Sha1>::new_from_slice(AUTH_TOKEN.as_bytes()).expect("key");
    mac.update(data.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Form-encodes parameters.
pub fn encode(params: &[(&str, &str)]) -> String {
    fn enc(s: &str) -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                b' ' => "+".to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect()
    }
    params
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}
