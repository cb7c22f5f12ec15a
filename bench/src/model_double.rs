//! A model double that speaks the OpenAI-compatible streaming wire format over HTTP/1.1 on
//! 127.0.0.1 (`POST /v1/chat/completions`, chunked `text/event-stream`, `data: {chunk}` events,
//! `data: [DONE]`), written by hand on a raw socket so that it knows the instant each write left
//! it. It notes when it writes (and flushes) the first content delta of each reply, keyed by the text of the
//! request's last user message, so a client in the same process can subtract it from the instant
//! the delta reached it (one monotonic clock). It runs on a thread and runtime of its own, as a
//! model server runs apart from the service: its writes never wait in the service's run queue,
//! nor the service's work in its.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// How the double answers a streamed request.
#[derive(Clone, Copy, Debug)]
pub struct Pace {
    /// Between the response headers (with the role chunk) and the first content delta.
    pub first_delay: Duration,
    /// Content deltas in all, the first included.
    pub deltas: usize,
    /// Between two later deltas.
    pub gap: Duration,
}

/// The running double.
pub struct ModelDouble {
    /// `http://127.0.0.1:<port>/v1`: the service's `llm.base_url`.
    pub base_url: String,
    first_deltas: Arc<Mutex<HashMap<String, Instant>>>,
}

/// The text of each reply's deltas.
pub const DELTA: &str = "tok ";

impl ModelDouble {
    /// Listens on 127.0.0.1 and answers every connection on a task of its own, on the double's
    /// thread.
    ///
    /// # Errors
    /// When it cannot listen.
    pub fn start(pace: Pace) -> std::io::Result<Self> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let base_url = format!("http://{}/v1", listener.local_addr()?);
        let first_deltas = Arc::new(Mutex::new(HashMap::new()));
        let noted = Arc::clone(&first_deltas);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        std::thread::Builder::new()
            .name("model-double".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let Ok(listener) = TcpListener::from_std(listener) else {
                        return;
                    };
                    while let Ok((socket, _)) = listener.accept().await {
                        // As model servers do: each event goes out when it is written.
                        let _ = socket.set_nodelay(true);
                        tokio::spawn(serve(socket, pace, Arc::clone(&noted)));
                    }
                });
            })?;
        Ok(Self {
            base_url,
            first_deltas,
        })
    }

    /// When the first content delta of the reply to the user message `text` was flushed.
    pub fn first_delta_sent(&self, text: &str) -> Option<Instant> {
        self.first_deltas
            .lock()
            .map_or(None, |mut noted| noted.remove(text))
    }
}

/// Answers the requests of one keep-alive connection, one after the other.
async fn serve(mut socket: TcpStream, pace: Pace, noted: Arc<Mutex<HashMap<String, Instant>>>) {
    let mut buffer = Vec::new();
    while let Some(body) = read_request(&mut socket, &mut buffer).await {
        let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let answered = if request["stream"] == true {
            stream_reply(&mut socket, &request, pace, &noted).await
        } else {
            whole_reply(&mut socket, pace).await
        };
        if answered.is_err() {
            return;
        }
    }
}

/// Reads one request (head and `Content-Length` body) and returns its body; `None` when the
/// connection closed.
async fn read_request(socket: &mut TcpStream, buffer: &mut Vec<u8>) -> Option<Vec<u8>> {
    let mut chunk = [0u8; 16 * 1024];
    let head_end = loop {
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let read = socket.read(&mut chunk).await.ok().filter(|n| *n > 0)?;
        buffer.extend_from_slice(&chunk[..read]);
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    while buffer.len() < head_end + length {
        let read = socket.read(&mut chunk).await.ok().filter(|n| *n > 0)?;
        buffer.extend_from_slice(&chunk[..read]);
    }
    let body = buffer[head_end..head_end + length].to_vec();
    buffer.drain(..head_end + length);
    Some(body)
}

/// One `data:` event as an HTTP/1.1 chunk.
fn event(data: &str) -> Vec<u8> {
    let event = format!("data: {data}\n\n");
    format!("{:x}\r\n{event}\r\n", event.len()).into_bytes()
}

fn completion_chunk(delta: Value, finish: Value) -> String {
    json!({"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1,
           "model": "bench", "choices": [{"index": 0, "delta": delta, "logprobs": null,
           "finish_reason": finish}]})
    .to_string()
}

async fn write_now(socket: &mut TcpStream, bytes: &[u8]) -> std::io::Result<()> {
    socket.write_all(bytes).await?;
    socket.flush().await
}

/// Headers and the role chunk at once, the first delta after `first_delay`, then the rest.
async fn stream_reply(
    socket: &mut TcpStream,
    request: &Value,
    pace: Pace,
    noted: &Mutex<HashMap<String, Instant>>,
) -> std::io::Result<()> {
    let key = last_user_text(request);
    let mut head = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream; charset=utf-8\r\n\
        cache-control: no-cache\r\ntransfer-encoding: chunked\r\n\r\n"
        .to_vec();
    head.extend(event(&completion_chunk(
        json!({"role": "assistant", "content": ""}),
        Value::Null,
    )));
    write_now(socket, &head).await?;
    tokio::time::sleep(pace.first_delay).await;
    let delta = event(&completion_chunk(json!({"content": DELTA}), Value::Null));
    // Noted before the write: the client may read the delta before this task runs again.
    if let Ok(mut noted) = noted.lock() {
        noted.insert(key, Instant::now());
    }
    write_now(socket, &delta).await?;
    for _ in 1..pace.deltas {
        tokio::time::sleep(pace.gap).await;
        write_now(socket, &delta).await?;
    }
    let mut tail = event(&completion_chunk(json!({}), json!("stop")));
    tail.extend(event(
        &json!({"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1,
                "model": "bench", "choices": [],
                "usage": {"prompt_tokens": 10, "completion_tokens": pace.deltas,
                          "total_tokens": 10 + pace.deltas}})
        .to_string(),
    ));
    tail.extend(event("[DONE]"));
    tail.extend(b"0\r\n\r\n");
    write_now(socket, &tail).await
}

/// A non-streamed request (not expected from the service here) gets the same text whole.
async fn whole_reply(socket: &mut TcpStream, pace: Pace) -> std::io::Result<()> {
    let body = json!({"id": "chatcmpl-bench", "object": "chat.completion", "created": 1,
        "model": "bench", "choices": [{"index": 0, "message": {"role": "assistant",
        "content": DELTA.repeat(pace.deltas)}, "logprobs": null, "finish_reason": "stop"}]})
    .to_string();
    let response = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    write_now(socket, response.as_bytes()).await
}

fn last_user_text(request: &Value) -> String {
    request["messages"]
        .as_array()
        .and_then(|messages| messages.iter().rev().find(|m| m["role"] == "user"))
        .and_then(|m| m["content"].as_str())
        .unwrap_or_default()
        .to_string()
}
