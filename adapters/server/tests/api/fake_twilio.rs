//! A local stand-in for the provider's REST API: `POST /2010-04-01/Accounts/{sid}/Messages.json`
//! with basic auth, answering 201 with a message resource; records every send.

use std::sync::{Arc, Mutex};

use base64::Engine;
use hmac::{Hmac, Mac};
use poem::listener::TcpAcceptor;
use poem::web::{Data, Form, Path};
use poem::{handler, post, EndpointExt, Request, Response, Route, Server};
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
}

pub struct FakeTwilio {
    pub base_url: String,
    pub sent: Arc<Mutex<Vec<Sent>>>,
}

#[handler]
fn create_message(
    req: &Request,
    Path(account): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
    sent: Data<&Arc<Mutex<Vec<Sent>>>>,
) -> Response {
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{ACCOUNT_SID}:{AUTH_TOKEN}"))
    );
    if req.header("authorization") != Some(expected.as_str()) || account != ACCOUNT_SID {
        return Response::builder()
            .status(poem::http::StatusCode::UNAUTHORIZED)
            .content_type("application/json")
            .body(json!({"code": 20003, "message": "Authenticate", "status": 401}).to_string());
    }
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    if get("To").as_deref() == Some(OPTED_OUT) {
        sent.lock().expect("lock").push(Sent {
            sid: String::new(),
            to: OPTED_OUT.into(),
            from: get("From").unwrap_or_default(),
            body: get("Body").unwrap_or_default(),
            status_callback: None,
        });
        let error = json!({"code": 21610, "message": "Attempt to send to unsubscribed recipient",
            "more_info": "https://www.twilio.com/docs/errors/21610", "status": 400});
        return Response::builder()
            .status(poem::http::StatusCode::BAD_REQUEST)
            .content_type("application/json")
            .body(error.to_string());
    }
    let mut log = sent.lock().expect("lock");
    let sid = format!("SM{:032x}", log.len() + 1);
    let record = Sent {
        sid: sid.clone(),
        to: get("To").unwrap_or_default(),
        from: get("From").unwrap_or_default(),
        body: get("Body").unwrap_or_default(),
        status_callback: get("StatusCallback"),
    };
    log.push(record.clone());
    let resource = json!({
        "sid": sid, "account_sid": ACCOUNT_SID, "to": record.to, "from": record.from,
        "body": record.body, "status": "queued", "num_segments": "1", "num_media": "0",
        "direction": "outbound-api", "api_version": "2010-04-01", "price": null, "error_code": null,
        "error_message": null, "uri": format!("/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sid}.json"),
    });
    Response::builder()
        .status(poem::http::StatusCode::CREATED)
        .content_type("application/json")
        .body(resource.to_string())
}

pub async fn start() -> FakeTwilio {
    let sent = Arc::new(Mutex::new(Vec::new()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let app = Route::new()
        .at(
            "/2010-04-01/Accounts/:account/Messages.json",
            post(create_message),
        )
        .data(Arc::clone(&sent));
    let acceptor = TcpAcceptor::from_tokio(listener).expect("acceptor");
    tokio::spawn(Server::new_with_acceptor(acceptor).run(app));
    FakeTwilio {
        base_url: format!("http://127.0.0.1:{port}"),
        sent,
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
