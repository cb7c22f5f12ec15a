//! A whole completion: the reply the caller gets and the request the server sees.

use serde_json::json;
use whatsapp_agent::ports::{LlmPort, Usage};

use crate::fake::{FakeOpenAi, Reply};
use crate::openai_wire as wire;

#[tokio::test]
async fn a_completion_returns_the_text_and_usage_and_sends_the_prompt_in_order() {
    let fake = FakeOpenAi::start().await;
    fake.push(Reply::json(
        200,
        wire::completion("Claro, ¿a qué hora te viene bien?", 57, 11),
    ));
    let client = fake.client();

    let reply = client
        .complete(&crate::conversation())
        .await
        .expect("the completion succeeds");

    assert_eq!(reply.text, "Claro, ¿a qué hora te viene bien?");
    assert_eq!(
        reply.usage,
        Some(Usage {
            prompt_tokens: 57,
            completion_tokens: 11
        })
    );
    assert!(reply.tool_calls.is_empty());

    let requests = fake.requests();
    assert_eq!(requests.len(), 1, "exactly one request: {requests:?}");
    let sent = &requests[0];
    assert_eq!(sent.method, "POST");
    assert_eq!(sent.path, "/v1/chat/completions");
    assert_eq!(sent.header("authorization"), Some("Bearer sk-test"));
    assert!(
        sent.header("content-type")
            .is_some_and(|v| v.starts_with("application/json")),
        "content type: {:?}",
        sent.header("content-type")
    );
    let body = sent.json();
    assert_eq!(body["model"], "gpt-4o-mini");
    assert_eq!(
        body["messages"],
        json!([
            {"role": "system", "content": "Eres la recepcionista de la Clínica Sol."},
            {"role": "user", "content": "Hola"},
            {"role": "assistant", "content": "¡Hola! ¿En qué puedo ayudarte?"},
            {"role": "user", "content": "Quiero pedir una cita para mañana"},
        ])
    );
    assert_ne!(
        body.get("stream"),
        Some(&json!(true)),
        "a whole completion is not streamed"
    );
    assert!(body.get("stream_options").is_none(), "{body}");
    assert!(body.get("tools").is_none(), "no tools were offered: {body}");
}

#[tokio::test]
async fn optional_settings_reach_the_request_and_absent_ones_are_not_sent() {
    let fake = FakeOpenAi::start().await;
    fake.push(Reply::json(200, wire::completion("Vale", 5, 1)));
    fake.push(Reply::json(200, wire::completion("Vale", 5, 1)));

    fake.client_with(|s| {
        s.temperature = Some(0.5);
        s.max_completion_tokens = Some(300);
        s.organization = Some("org-clinica".into());
        s.project = Some("proj_recepcion".into());
    })
    .complete(&crate::conversation())
    .await
    .expect("the completion succeeds");
    fake.client_with(|s| s.api_key = None)
        .complete(&crate::conversation())
        .await
        .expect("the completion succeeds");

    let requests = fake.requests();
    assert_eq!(requests.len(), 2);
    let with = &requests[0];
    let body = with.json();
    assert_eq!(body["temperature"], json!(0.5));
    assert_eq!(body["max_completion_tokens"], json!(300));
    assert!(body.get("max_tokens").is_none(), "{body}");
    assert_eq!(with.header("openai-organization"), Some("org-clinica"));
    assert_eq!(with.header("openai-project"), Some("proj_recepcion"));

    let without = &requests[1];
    assert_eq!(without.header("authorization"), None);
    assert_eq!(without.header("openai-organization"), None);
    let body = without.json();
    for absent in ["temperature", "max_completion_tokens", "tools", "stream"] {
        assert!(body.get(absent).is_none(), "{absent} sent: {body}");
    }
}
