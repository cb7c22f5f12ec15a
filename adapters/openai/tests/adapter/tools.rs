//! Tools: how they are offered, and calls coming back whole or in streamed fragments.

use serde_json::{json, Value};
use whatsapp_agent::ports::{LlmChunk, LlmPort, LlmRequest, ToolCall, ToolSpec, Usage};

use crate::drain;
use crate::fake::{FakeOpenAi, Reply};
use crate::openai_wire::{self as wire, s};

fn tools() -> Vec<ToolSpec> {
    vec![
        ToolSpec {
            name: "list_slots".into(),
            description: "Free appointment slots on a date.".into(),
            parameters: json!({
                "type": "object",
                "properties": {"date": {"type": "string", "description": "YYYY-MM-DD"}},
                "required": ["date"],
                "additionalProperties": false
            }),
        },
        ToolSpec {
            name: "find_patient".into(),
            description: "Looks a patient up by phone number.".into(),
            parameters: json!({
                "type": "object",
                "properties": {"phone": {"type": "string"}},
                "required": ["phone"]
            }),
        },
    ]
}

fn request_with_tools() -> LlmRequest {
    LlmRequest {
        tools: tools(),
        ..crate::conversation()
    }
}

/// The `tools` array OpenAI documents for function tools.
fn expected_tools_json() -> Value {
    json!([
        {"type": "function", "function": {
            "name": "list_slots",
            "description": "Free appointment slots on a date.",
            "parameters": {
                "type": "object",
                "properties": {"date": {"type": "string", "description": "YYYY-MM-DD"}},
                "required": ["date"],
                "additionalProperties": false
            }
        }},
        {"type": "function", "function": {
            "name": "find_patient",
            "description": "Looks a patient up by phone number.",
            "parameters": {
                "type": "object",
                "properties": {"phone": {"type": "string"}},
                "required": ["phone"]
            }
        }}
    ])
}

fn first_fragment(index: usize, id: &str, name: &str) -> String {
    format!(
        r#"{{"tool_calls":[{{"index":{index},"id":{},"type":"function","function":{{"name":{},"arguments":""}}}}]}}"#,
        s(id),
        s(name)
    )
}

fn arguments_fragment(index: usize, piece: &str) -> String {
    format!(
        r#"{{"tool_calls":[{{"index":{index},"function":{{"arguments":{}}}}}]}}"#,
        s(piece)
    )
}

#[tokio::test]
async fn parallel_tool_calls_streamed_in_interleaved_fragments_are_assembled() {
    let fake = FakeOpenAi::start().await;
    let deltas = [
        // The first delta also carries the role, as OpenAI sends it.
        first_fragment(0, "call_Slots7q", "list_slots").replacen(
            '{',
            r#"{"role":"assistant","content":null,"refusal":null,"#,
            1,
        ),
        first_fragment(1, "call_Patient9x", "find_patient"),
        arguments_fragment(0, "{\"da"),
        arguments_fragment(1, "{\"phone\":"),
        arguments_fragment(0, "te\": \"2025-03"),
        arguments_fragment(1, " \"+34 612 34"),
        arguments_fragment(0, "-14\"}"),
        arguments_fragment(1, "5 678\"}"),
    ];
    let mut writes: Vec<String> = deltas
        .iter()
        .map(|d| wire::event(&wire::chunk(d, None)))
        .collect();
    writes.push(wire::event(&wire::finish_chunk("tool_calls")));
    writes.push(wire::event(&wire::usage_chunk(120, 48)));
    writes.push(wire::DONE.to_string());
    fake.push(Reply::sse(writes));

    let stream = fake
        .client()
        .stream(&request_with_tools())
        .await
        .expect("the stream starts");
    let items = drain(stream).await;

    let calls: Vec<&ToolCall> = items
        .iter()
        .filter_map(|i| match i {
            Ok(LlmChunk::ToolCall(call)) => Some(call),
            _ => None,
        })
        .collect();
    assert_eq!(calls.len(), 2, "two calls: {items:?}");
    assert_eq!(calls[0].id, "call_Slots7q");
    assert_eq!(calls[0].name, "list_slots");
    assert_eq!(calls[1].id, "call_Patient9x");
    assert_eq!(calls[1].name, "find_patient");
    let args = |call: &ToolCall| -> Value {
        serde_json::from_str(&call.arguments)
            .unwrap_or_else(|e| panic!("arguments are not JSON ({e}): {}", call.arguments))
    };
    assert_eq!(args(calls[0]), json!({"date": "2025-03-14"}));
    assert_eq!(args(calls[1]), json!({"phone": "+34 612 345 678"}));
    assert!(
        items
            .iter()
            .all(|i| !matches!(i, Ok(LlmChunk::Text(_)) | Err(_))),
        "no text and no errors: {items:?}"
    );
    assert_eq!(
        items.last(),
        Some(&Ok(LlmChunk::Usage(Usage {
            prompt_tokens: 120,
            completion_tokens: 48
        })))
    );

    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].json()["tools"], expected_tools_json());
}

#[tokio::test]
async fn tool_calls_in_a_whole_completion_are_returned() {
    let fake = FakeOpenAi::start().await;
    fake.push(Reply::json(
        200,
        wire::tool_call_completion(&[
            ("call_Slots7q", "list_slots", r#"{"date":"2025-03-14"}"#),
            (
                "call_Patient9x",
                "find_patient",
                r#"{"phone":"+34612345678"}"#,
            ),
        ]),
    ));

    let reply = fake
        .client()
        .complete(&request_with_tools())
        .await
        .expect("the completion succeeds");

    assert_eq!(reply.text, "", "content was null");
    assert_eq!(
        reply.tool_calls,
        vec![
            ToolCall {
                id: "call_Slots7q".into(),
                name: "list_slots".into(),
                arguments: r#"{"date":"2025-03-14"}"#.into(),
            },
            ToolCall {
                id: "call_Patient9x".into(),
                name: "find_patient".into(),
                arguments: r#"{"phone":"+34612345678"}"#.into(),
            },
        ]
    );
    assert_eq!(
        reply.usage,
        Some(Usage {
            prompt_tokens: 81,
            completion_tokens: 42
        })
    );

    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    let body = requests[0].json();
    assert_eq!(body["tools"], expected_tools_json());
}

#[tokio::test]
async fn without_tool_support_no_tools_are_sent() {
    let fake = FakeOpenAi::start().await;
    fake.push(Reply::json(200, wire::completion("Vale", 5, 1)));

    fake.client_with(|s| s.supports_tools = false)
        .complete(&request_with_tools())
        .await
        .expect("the completion succeeds");

    let body = fake.requests()[0].json();
    assert!(body.get("tools").is_none(), "{body}");
}

#[tokio::test]
async fn a_server_without_tool_support_is_asked_again_without_tools() {
    let fake = FakeOpenAi::start().await;
    fake.push(Reply::json(
        400,
        wire::error_body(
            "\"auto\" tool choice requires --enable-auto-tool-choice",
            "BadRequestError",
            None,
        ),
    ));
    fake.push(Reply::json(
        200,
        wire::completion("Claro, ¿qué día?", 12, 5),
    ));
    fake.push(Reply::json(200, wire::completion("Perfecto.", 14, 2)));
    let client = fake.client();

    let first = client.complete(&request_with_tools()).await;
    let second = client.complete(&request_with_tools()).await;

    assert_eq!(
        first.expect("answered without tools").text,
        "Claro, ¿qué día?"
    );
    assert_eq!(second.expect("answered").text, "Perfecto.");
    let requests = fake.requests();
    assert_eq!(requests.len(), 3, "one refused request, then one per turn");
    assert!(requests[0].json().get("tools").is_some());
    assert!(requests[1].json().get("tools").is_none());
    assert!(
        requests[2].json().get("tools").is_none(),
        "later turns leave tools out from the start"
    );
}

#[tokio::test]
async fn an_account_refusal_is_not_retried_without_tools() {
    let fake = FakeOpenAi::start().await;
    fake.push(Reply::json(
        401,
        wire::error_body(
            "Incorrect API key provided",
            "invalid_request_error",
            Some("invalid_api_key"),
        ),
    ));

    let result = client_error(&fake).await;

    assert!(matches!(
        result,
        whatsapp_agent::ports::LlmError::Rejected(_)
    ));
    assert_eq!(fake.requests().len(), 1);
}

async fn client_error(fake: &FakeOpenAi) -> whatsapp_agent::ports::LlmError {
    fake.client()
        .complete(&request_with_tools())
        .await
        .expect_err("refused")
}

#[tokio::test]
async fn an_unrelated_bad_request_keeps_tools_on() {
    let fake = FakeOpenAi::start().await;
    fake.push(Reply::json(
        400,
        wire::error_body(
            "Timeout while downloading https://img.example/a.png.",
            "invalid_request_error",
            Some("invalid_image_url"),
        ),
    ));
    fake.push(Reply::json(200, wire::completion("Hola", 3, 1)));

    let client = fake.client();
    let first = client.complete(&request_with_tools()).await;
    let second = client.complete(&request_with_tools()).await;

    assert!(matches!(
        first,
        Err(whatsapp_agent::ports::LlmError::Rejected(_))
    ));
    assert_eq!(second.expect("answered").text, "Hola");
    let requests = fake.requests();
    assert_eq!(
        requests.len(),
        2,
        "the refusal is not retried without tools"
    );
    assert!(requests[1].json().get("tools").is_some());
}
