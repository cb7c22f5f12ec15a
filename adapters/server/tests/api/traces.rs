//! Traces over OTLP: the real binary, pointed at a collector in this test, exports one trace per
//! WhatsApp turn from the webhook through the job, its store transactions and the model call to
//! the send, with the conversation id and never a phone number or a body.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use poem::listener::TcpAcceptor;
use poem::web::Data;
use poem::{handler, post, Body, EndpointExt, Response, Route, Server};
use prost::Message;
use serde_json::Value;

use crate::binary::binary;
use crate::fake_twilio::{self, encode, sign, ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER, PUBLIC_BASE};

/// A span as the collector received it.
#[derive(Clone, Debug)]
struct Received {
    name: String,
    trace_id: Vec<u8>,
    attributes: Vec<(String, String)>,
}

type Spans = Arc<Mutex<Vec<Received>>>;

#[handler]
async fn collect(body: Body, spans: Data<&Spans>) -> Response {
    let bytes = body.into_bytes().await.unwrap_or_default();
    let request = ExportTraceServiceRequest::decode(bytes).expect("OTLP protobuf");
    let mut all = spans.lock().expect("lock");
    for span in request
        .resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .flat_map(|s| &s.spans)
    {
        let attributes = span
            .attributes
            .iter()
            .map(|kv| {
                let value = match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                    Some(AnyValue::StringValue(s)) => s.clone(),
                    Some(other) => format!("{other:?}"),
                    None => String::new(),
                };
                (kv.key.clone(), value)
            })
            .collect();
        all.push(Received {
            name: span.name.clone(),
            trace_id: span.trace_id.clone(),
            attributes,
        });
    }
    Response::builder()
        .content_type("application/x-protobuf")
        .body(ExportTraceServiceResponse::default().encode_to_vec())
}

async fn collector() -> (String, Spans) {
    let spans: Spans = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let app = Route::new()
        .at("/v1/traces", post(collect))
        .data(Arc::clone(&spans));
    let acceptor = TcpAcceptor::from_tokio(listener).expect("acceptor");
    tokio::spawn(Server::new_with_acceptor(acceptor).run(app));
    (format!("http://127.0.0.1:{port}"), spans)
}

/// Starts the binary and returns it with the address it listens on.
fn start(env: &[(&str, String)]) -> (Child, String) {
    let db = std::env::temp_dir().join(format!("wa_otel_{}.db", uuid::Uuid::new_v4().simple()));
    let mut command = binary();
    command
        .env("PORT", "0")
        .env("HOST", "127.0.0.1")
        .env(
            "DATABASE_URL",
            format!("sqlite://{}?mode=rwc", db.display()),
        )
        .env("OPENAI_API_KEY", "")
        .env("APP_LLM__OFFLINE_WORD_DELAY_MS", "0")
        .env("APP_WORKER__POLL_INTERVAL_MS", "20")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for (key, value) in env {
        command.env(key, value);
    }
    let mut child = command.spawn().expect("binary starts");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let addr = loop {
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the server logs that it listens");
        let Ok(entry) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        if entry["message"] == "listening" {
            break entry["addr"].as_str().expect("addr").to_string();
        }
    };
    (child, addr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whatsapp_turn_is_one_trace_from_webhook_to_send() {
    let (endpoint, spans) = collector().await;
    let twilio = fake_twilio::start().await;
    let (mut child, addr) = start(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf".into()),
        ("OTEL_BSP_SCHEDULE_DELAY", "50".into()),
        ("TWILIO_ACCOUNT_SID", ACCOUNT_SID.into()),
        ("TWILIO_AUTH_TOKEN", AUTH_TOKEN.into()),
        ("TWILIO_PHONE_NUMBER", FROM_NUMBER.into()),
        ("PUBLIC_BASE_URL", PUBLIC_BASE.into()),
        ("TWILIO_API_BASE_URL", twilio.base_url.clone()),
    ]);
    let phone = "+14155550142";
    let body = "a secret only the patient knows";
    let params = [
        ("MessageSid", "SMtrace00000000000000000000000001"),
        ("AccountSid", ACCOUNT_SID),
        ("From", "whatsapp:+14155550142"),
        ("To", "whatsapp:+14155550000"),
        ("Body", body),
        ("NumMedia", "0"),
    ];
    let response = reqwest::Client::new()
        .post(format!("http://{addr}/webhook"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header(
            "X-Twilio-Signature",
            sign(&format!("{PUBLIC_BASE}/webhook"), &params),
        )
        .body(encode(&params))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 200);

    // The worker answers in the background and spans are exported in batches: wait for the
    // send's span and the job's, which ends after the send is recorded.
    let mut seen = Vec::new();
    for _ in 0..400 {
        seen = spans.lock().expect("lock").clone();
        if ["send", "job"]
            .iter()
            .all(|name| seen.iter().any(|s| s.name == *name))
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let _ = child.kill();
    let _ = child.wait();

    let named = |name: &str| -> Received {
        seen.iter()
            .find(|s| s.name == name)
            .cloned()
            .unwrap_or_else(|| panic!("a `{name}` span was exported; got {seen:#?}"))
    };
    let webhook = named("webhook");
    let job = named("job");
    let send = named("send");
    let model = seen
        .iter()
        .find(|s| s.name.starts_with("model") && s.trace_id == job.trace_id)
        .cloned()
        .unwrap_or_else(|| panic!("a model span in the job's trace; got {seen:#?}"));
    assert_eq!(
        webhook.trace_id, job.trace_id,
        "webhook and job in one trace"
    );
    assert_eq!(
        model.trace_id, job.trace_id,
        "the model call in the job's trace"
    );
    assert_eq!(send.trace_id, job.trace_id, "the send in the job's trace");
    for transaction in ["store accept", "store finish"] {
        assert!(
            seen.iter()
                .any(|s| s.name == transaction && s.trace_id == job.trace_id),
            "the turn's `{transaction}` transaction in the job's trace"
        );
    }
    assert!(
        job.attributes
            .iter()
            .any(|(k, v)| k == "conversation" && uuid::Uuid::parse_str(v).is_ok()),
        "the job names its conversation: {:?}",
        job.attributes
    );
    for span in &seen {
        for (key, value) in &span.attributes {
            assert!(
                !value.contains(phone.trim_start_matches('+')) && !value.contains(body),
                "{} carries {key}={value}",
                span.name
            );
        }
    }
}
