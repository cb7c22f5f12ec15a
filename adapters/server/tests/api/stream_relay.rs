//! `POST /chat/stream` relays each piece of the model's reply as it comes, through the real
//! OpenAI-compatible client, the turn and the HTTP response, without waiting for more.

use std::sync::Arc;

use eventsource_stream::Eventsource;
use futures::StreamExt;
use poem::listener::TcpAcceptor;
use poem::web::Data;
use poem::{handler, post, Body, EndpointExt, Response, Route, Server};
use serde_json::{json, Value};
use tokio::sync::Notify;

use crate::helpers::{spawn_with, Backend};

fn event(delta: Value, finish: Value) -> String {
    let chunk = json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1,
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]});
    format!("data: {chunk}\n\n")
}

/// Streams `Hola` at once and the rest of its reply only once `go_on` is notified.
#[handler]
fn held_reply(go_on: Data<&Arc<Notify>>) -> Response {
    let go_on = Arc::clone(go_on.0);
    let first = event(json!({"role": "assistant", "content": "Hola"}), Value::Null);
    let rest = async move {
        go_on.notified().await;
        let mut rest = event(json!({"content": ", soy Anna."}), Value::Null);
        rest.push_str(&event(json!({}), json!("stop")));
        rest.push_str("data: [DONE]\n\n");
        rest
    };
    let body = futures::stream::once(async move { first })
        .chain(futures::stream::once(rest))
        .map(|text| Ok::<_, std::io::Error>(text.into_bytes()));
    Response::builder()
        .content_type("text/event-stream")
        .body(Body::from_bytes_stream(body))
}

/// A model server on 127.0.0.1 answering with [`held_reply`]; returns its base URL.
async fn held_model(go_on: Arc<Notify>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}/v1", listener.local_addr().expect("addr"));
    let acceptor = TcpAcceptor::from_tokio(listener).expect("acceptor");
    let app = Route::new()
        .at("/v1/chat/completions", post(held_reply))
        .data(go_on);
    tokio::spawn(Server::new_with_acceptor(acceptor).run(app));
    base
}

#[tokio::test]
async fn the_first_words_reach_the_client_while_the_model_is_still_writing() {
    // Arrange: a model that goes on only once the client has shown the user its first word.
    // Were a piece held back until more came, the model's silence would end the reply with a
    // timeout instead.
    let go_on = Arc::new(Notify::new());
    let base = held_model(Arc::clone(&go_on)).await;
    let app = spawn_with(
        Backend::Sqlite,
        move |s| {
            s.llm.base_url = Some(base);
            s.llm.idle_stream_timeout_secs = 5;
            s.llm.max_retries = 0;
        },
        None,
    )
    .await;

    // Act
    let response = app
        .post_json("/chat/stream", &json!({"content": "hola"}))
        .await;
    assert_eq!(response.status(), 200);
    let mut events = response.bytes_stream().eventsource();
    let first: Value =
        serde_json::from_str(&events.next().await.expect("an event").expect("SSE").data)
            .expect("JSON");
    go_on.notify_one();
    let mut rest = Vec::new();
    while let Some(event) = events.next().await {
        rest.push(serde_json::from_str::<Value>(&event.expect("SSE").data).expect("JSON"));
    }

    // Assert
    assert_eq!(first["content"], "Hola", "{first}");
    assert_eq!(first["is_final"], false);
    let last = rest.last().expect("a final event");
    assert_eq!(last["is_final"], true);
    assert!(last.get("error").is_none(), "{last}");
    let text: String = std::iter::once(&first)
        .chain(&rest)
        .filter_map(|e| e["content"].as_str())
        .collect();
    assert_eq!(text, "Hola, soy Anna.");
}
