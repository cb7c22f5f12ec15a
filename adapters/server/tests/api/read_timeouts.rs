//! Slow clients are cut off: request headers and bodies must arrive within the configured
//! read timeouts (1 s here), so a client trickling bytes cannot hold a connection forever.

use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{spawn_with, Backend, TestApp};

/// Far beyond the 1 s timeouts: only a server that never cuts the client off takes this long.
const GENEROUS: Duration = Duration::from_secs(20);

async fn impatient_app() -> TestApp {
    spawn_with(
        Backend::Sqlite,
        |s| {
            s.server.header_read_timeout_secs = 1;
            s.server.body_read_timeout_secs = 1;
        },
        None,
    )
    .await
}

async fn connect(app: &TestApp) -> TcpStream {
    TcpStream::connect(app.base.trim_start_matches("http://"))
        .await
        .expect("connect")
}

/// Sends `start`, then one of `drip` every 100 ms, until the server closes the connection or
/// `GENEROUS` passes; returns everything the server sent, or `None` if it never gave up.
async fn trickle(stream: TcpStream, start: &[u8], drip: &'static [u8]) -> Option<Vec<u8>> {
    let (mut read, mut write) = stream.into_split();
    write.write_all(start).await.expect("first bytes");
    let writer = tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if write.write_all(drip).await.is_err() {
                break;
            }
        }
    });
    let mut received = Vec::new();
    let closed = tokio::time::timeout(GENEROUS, async {
        let mut buf = [0u8; 4096];
        loop {
            match read.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    writer.abort();
    closed.is_ok().then_some(received)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_trickling_its_headers_is_disconnected() {
    let app = impatient_app().await;
    let stream = connect(&app).await;

    let received = trickle(
        stream,
        b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n",
        b"X-Slow: a\r\n",
    )
    .await;

    let received = received.expect("the server closed the connection");
    let head = String::from_utf8_lossy(&received);
    assert!(!head.contains("200 OK"), "never served: {head}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_trickling_its_body_gets_408_with_the_error_body() {
    let app = impatient_app().await;
    let stream = connect(&app).await;

    let received = trickle(
        stream,
        b"POST /chat/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
          Content-Length: 4000\r\n\r\n{\"content\": \"",
        b"a",
    )
    .await;

    let received = received.expect("the server answered and closed the connection");
    let text = String::from_utf8_lossy(&received);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    let body = text.split("\r\n\r\n").nth(1).expect("a body");
    let body: Value = serde_json::from_str(body).expect("JSON error body");
    assert_eq!(body["error"]["code"], "request_timeout");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prompt_clients_are_unaffected_and_keep_their_connection() {
    let app = impatient_app().await;

    let first = app
        .post_json("/chat/", &serde_json::json!({"content": "hello"}))
        .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let second = app
        .post_json("/chat/", &serde_json::json!({"content": "again"}))
        .await;

    assert_eq!(first.status(), 200);
    assert_eq!(second.status(), 200);
}
