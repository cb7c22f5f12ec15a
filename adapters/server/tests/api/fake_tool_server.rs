//! A model server on 127.0.0.1 that, like llama-cpp-python with `chatml-function-calling`,
//! shows its model the tools only when `tool_choice` is `auto`, and cannot stream a reply in
//! which the model calls one: it sends `200 text/event-stream` headers and closes the stream
//! empty. Its model hands every manager turn to the appointments specialist.

use std::sync::{Arc, Mutex};

use poem::listener::TcpAcceptor;
use poem::web::{Data, Json};
use poem::{handler, post, EndpointExt, Response, Route, Server};
use serde_json::{json, Value};

/// What the specialist says.
pub const SPECIALIST_REPLY: &str =
    "We are open Monday to Friday 8:00-19:00. Shall I note a day for your appointment?";
/// What the manager says when it never saw the tools.
pub const UNAWARE_REPLY: &str = "We are open every day from 8:00 to 20:00.";

pub struct FakeToolServer {
    pub base_url: String,
    /// Every chat request body received, in order.
    pub seen: Arc<Mutex<Vec<Value>>>,
}

fn completion(message: Value, finish: &str) -> Response {
    let body = json!({"id": "chatcmpl-9d2c", "object": "chat.completion", "created": 1_764_412_345,
        "model": "qwen2.5-1.5b-instruct-q4_k_m.gguf",
        "choices": [{"index": 0, "message": message, "logprobs": null, "finish_reason": finish}],
        "usage": {"prompt_tokens": 655, "completion_tokens": 21, "total_tokens": 676}});
    Response::builder()
        .content_type("application/json")
        .body(body.to_string())
}

fn offers(body: &Value, tool: &str) -> bool {
    body["tools"]
        .as_array()
        .is_some_and(|tools| tools.iter().any(|t| t["function"]["name"] == tool))
}

#[handler]
fn completions(Json(body): Json<Value>, seen: Data<&Arc<Mutex<Vec<Value>>>>) -> Response {
    seen.lock().expect("lock").push(body.clone());
    let sees_tools = body["tool_choice"] == "auto" && body["tools"].is_array();
    let manager = offers(&body, "transfer_to_appointments");
    if body["stream"] == true {
        if sees_tools && manager {
            // The model picked a tool: headers out, then the handler fails and the stream ends.
            return Response::builder()
                .content_type("text/event-stream; charset=utf-8")
                .header("cache-control", "no-store")
                .header("x-accel-buffering", "no")
                .body(Vec::<u8>::new());
        }
        let text = if manager {
            UNAWARE_REPLY
        } else {
            SPECIALIST_REPLY
        };
        let chunk = |delta: Value, finish: Value| {
            format!(
                "data: {}\r\n\r\n",
                json!({"id": "chatcmpl-9d2c", "object": "chat.completion.chunk", "created": 1,
                       "model": "m", "choices": [{"index": 0, "delta": delta, "logprobs": null,
                       "finish_reason": finish}]})
            )
        };
        let events = [
            chunk(json!({"role": "assistant"}), Value::Null),
            chunk(json!({"content": text}), Value::Null),
            chunk(json!({}), json!("stop")),
            "data: [DONE]\r\n\r\n".to_string(),
        ];
        return Response::builder()
            .content_type("text/event-stream; charset=utf-8")
            .body(events.concat());
    }
    match (sees_tools, manager) {
        (true, true) => completion(
            json!({"role": "assistant", "content": null, "tool_calls": [{
                "id": "call__0_transfer_to_appointments_cmpl-9d2c", "type": "function",
                "function": {"name": "transfer_to_appointments", "arguments": "{}"}}]}),
            "tool_calls",
        ),
        (false, true) => completion(
            json!({"role": "assistant", "content": UNAWARE_REPLY}),
            "stop",
        ),
        (_, false) => completion(
            json!({"role": "assistant", "content": SPECIALIST_REPLY}),
            "stop",
        ),
    }
}

pub async fn start() -> FakeToolServer {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let app = Route::new()
        .at("/v1/chat/completions", post(completions))
        .data(Arc::clone(&seen));
    let acceptor = TcpAcceptor::from_tokio(listener).expect("acceptor");
    tokio::spawn(Server::new_with_acceptor(acceptor).run(app));
    FakeToolServer {
        base_url: format!("http://127.0.0.1:{port}/v1"),
        seen,
    }
}
