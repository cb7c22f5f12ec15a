//! Servers that refuse an optional field: each refusal is worked around with the least loss
//! (the field alone goes), and remembered, so later requests leave it out from the start.

use serde_json::json;
use whatsapp_agent::ports::{LlmPort, LlmRequest, ToolSpec};

use crate::drain;
use crate::fake::{FakeOpenAi, Reply};
use crate::openai_wire as wire;

fn with_tools_and_limit() -> LlmRequest {
    LlmRequest {
        tools: vec![ToolSpec {
            name: "transfer_to_appointments".into(),
            description: "Booking and opening hours.".into(),
            parameters: json!({"type": "object", "properties": {}}),
        }],
        max_completion_tokens: Some(600),
        ..crate::conversation()
    }
}

#[tokio::test]
async fn a_server_that_refuses_max_completion_tokens_gets_max_tokens_from_then_on() {
    let fake = FakeOpenAi::start().await;
    fake.push(Reply::json(
        400,
        wire::error_body(
            "Unrecognized request argument supplied: max_completion_tokens",
            "invalid_request_error",
            None,
        ),
    ));
    fake.push(Reply::json(200, wire::completion("Claro.", 12, 2)));
    fake.push(Reply::json(200, wire::completion("Perfecto.", 14, 2)));
    let client = fake.client();

    client
        .complete(&with_tools_and_limit())
        .await
        .expect("answered with max_tokens");
    client
        .complete(&with_tools_and_limit())
        .await
        .expect("answered");

    let bodies: Vec<_> = fake.requests().iter().map(|r| r.json()).collect();
    assert_eq!(bodies.len(), 3, "one refused request, then one per turn");
    assert_eq!(bodies[0]["max_completion_tokens"], json!(600));
    for body in &bodies[1..] {
        assert_eq!(body["max_tokens"], json!(600), "{body}");
        assert!(body.get("max_completion_tokens").is_none(), "{body}");
        assert!(body.get("tools").is_some(), "tools stay: {body}");
    }
}

#[tokio::test]
async fn a_server_that_refuses_stream_options_keeps_its_tools() {
    let fake = FakeOpenAi::start().await;
    fake.push(Reply::json(
        400,
        concat!(
            r#"{"object":"error","message":"[{'type': 'extra_forbidden', 'loc': ('body', "#,
            r#"'stream_options'), 'msg': 'Extra inputs are not permitted', 'input': "#,
            r#"{'include_usage': True}}]","type":"BadRequestError","param":null,"code":400}"#
        ),
    ));
    fake.push(Reply::sse(wire::text_stream(&["Claro."], 12, 2)));
    fake.push(Reply::sse(wire::text_stream(&["Perfecto."], 14, 2)));
    let client = fake.client();

    drain(
        client
            .stream(&with_tools_and_limit())
            .await
            .expect("starts"),
    )
    .await;
    drain(
        client
            .stream(&with_tools_and_limit())
            .await
            .expect("starts"),
    )
    .await;

    let bodies: Vec<_> = fake.requests().iter().map(|r| r.json()).collect();
    assert_eq!(bodies.len(), 3);
    assert!(bodies[0].get("stream_options").is_some());
    for body in &bodies[1..] {
        assert!(body.get("stream_options").is_none(), "{body}");
        assert!(body.get("tools").is_some(), "tools stay: {body}");
        assert_eq!(body["tool_choice"], "auto");
    }
}
