//! A small OpenAI-compatible server on 127.0.0.1 speaking the Chat Completions and
//! transcription wire format, plus a media file host; records what it received.

use std::sync::{Arc, Mutex};

use poem::listener::TcpAcceptor;
use poem::web::{Data, Json, Multipart};
use poem::{get, handler, post, EndpointExt, Response, Route, Server};
use serde_json::{json, Value};

#[derive(Default)]
pub struct Seen {
    pub chat_bodies: Vec<Value>,
    pub transcription_files: Vec<(String, String, Vec<u8>)>,
}

pub struct FakeOpenAi {
    pub base_url: String,
    pub media_url: String,
    pub seen: Arc<Mutex<Seen>>,
}

pub const REPLY: &str = "Hola, soy Anna. ¿En qué puedo ayudarte?";
pub const TRANSCRIPT: &str = "necesito una cita para mañana";

fn chunk(delta: Value, finish: Value) -> String {
    let chunk = json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-mini",
        "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]});
    format!("data: {chunk}\n\n")
}

#[handler]
fn completions(Json(body): Json<Value>, seen: Data<&Arc<Mutex<Seen>>>) -> Response {
    let stream = body["stream"] == true;
    seen.lock().expect("lock").chat_bodies.push(body);
    if !stream {
        let completion = json!({"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": REPLY, "refusal": null},
                         "logprobs": null, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 8, "total_tokens": 18}});
        return Response::builder()
            .content_type("application/json")
            .body(completion.to_string());
    }
    let mut body = chunk(json!({"role": "assistant", "content": ""}), Value::Null);
    for word in REPLY.split_inclusive(' ') {
        body.push_str(&chunk(json!({"content": word}), Value::Null));
    }
    body.push_str(&chunk(json!({}), json!("stop")));
    body.push_str("data: [DONE]\n\n");
    Response::builder()
        .content_type("text/event-stream")
        .body(body)
}

#[handler]
async fn transcriptions(mut form: Multipart, seen: Data<&Arc<Mutex<Seen>>>) -> Json<Value> {
    while let Ok(Some(field)) = form.next_field().await {
        if field.name() == Some("file") {
            let name = field.file_name().unwrap_or_default().to_string();
            let content_type = field.content_type().unwrap_or_default().to_string();
            let bytes = field.bytes().await.unwrap_or_default();
            seen.lock()
                .expect("lock")
                .transcription_files
                .push((name, content_type, bytes));
        }
    }
    Json(json!({"text": TRANSCRIPT}))
}

#[handler]
fn voice_note() -> Response {
    voice_note_response()
}

fn voice_note_response() -> Response {
    Response::builder()
        .content_type("audio/ogg")
        .body(b"OggS\x00\x02fake-opus-voice-note".to_vec())
}

/// A tiny PNG behind the account's basic auth.
#[handler]
fn private_photo(req: &poem::Request) -> Response {
    if !authorized(req) {
        return Response::builder()
            .status(poem::http::StatusCode::UNAUTHORIZED)
            .finish();
    }
    Response::builder()
        .content_type("image/png")
        .body(b"\x89PNG\r\n\x1a\nfake-png".to_vec())
}

fn authorized(req: &poem::Request) -> bool {
    use base64::Engine;
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            crate::fake_twilio::ACCOUNT_SID,
            crate::fake_twilio::AUTH_TOKEN
        ))
    );
    req.header("authorization") == Some(expected.as_str())
}

/// Media that, like the provider's with authentication enabled, needs the account's basic auth.
#[handler]
fn private_voice_note(req: &poem::Request) -> Response {
    if !authorized(req) {
        return Response::builder()
            .status(poem::http::StatusCode::UNAUTHORIZED)
            .finish();
    }
    voice_note_response()
}

pub async fn start() -> FakeOpenAi {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let app = Route::new()
        .at("/v1/chat/completions", post(completions))
        .at("/v1/audio/transcriptions", post(transcriptions))
        .at("/media/voice.ogg", get(voice_note))
        .at("/media/private.ogg", get(private_voice_note))
        .at("/media/private.png", get(private_photo))
        .data(Arc::clone(&seen));
    let acceptor = TcpAcceptor::from_tokio(listener).expect("acceptor");
    tokio::spawn(Server::new_with_acceptor(acceptor).run(app));
    FakeOpenAi {
        base_url: format!("http://127.0.0.1:{port}/v1"),
        media_url: format!("http://127.0.0.1:{port}/media/voice.ogg"),
        seen,
    }
}
