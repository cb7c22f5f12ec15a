//! A llama-cpp-python server (`--chat_format chatml-function-calling`), reproduced from what its
//! handler does: without a `tool_choice` it leaves the tools out of the prompt and answers in
//! text; with `auto` it may call a tool, but only without streaming: a streamed request whose
//! model picks a tool gets `200 text/event-stream` headers, then an error or nothing.

use serde_json::{json, Value};
use whatsapp_agent::ports::{LlmChunk, LlmPort, LlmRequest, ToolCall, ToolChoice, ToolSpec};

use crate::fake::{FakeOpenAi, Recorded, Reply};
use crate::openai_wire::s;
use crate::{drain, text_of};

const COMPLETION_ID: &str = "cmpl-3f1c2d9e-8b7a-4c65-9e21-5d0f7a6b4c13";
const CREATED: u64 = 1_764_412_345;
const MODEL: &str = "qwen2.5-1.5b-instruct-q4_k_m.gguf";
/// What the model says when it never saw the tools.
pub const PLAIN: &str = "Our clinic is open every day from 8:00 to 20:00.";

fn appointments_tool() -> ToolSpec {
    ToolSpec {
        name: "transfer_to_appointments".into(),
        description: "Hand the conversation to Appointments: booking and opening hours.".into(),
        parameters: json!({"type": "object", "properties": {}, "additionalProperties": false}),
    }
}

fn manager_turn() -> LlmRequest {
    LlmRequest {
        tools: vec![appointments_tool()],
        ..crate::conversation()
    }
}

/// A text answer, as its text-completion-to-chat conversion writes it.
fn text_completion(content: &str) -> String {
    format!(
        concat!(
            r#"{{"id":"chat{id}","object":"chat.completion","created":{created},"model":"{model}","#,
            r#""choices":[{{"index":0,"message":{{"role":"assistant","content":{content}}},"#,
            r#""logprobs":null,"finish_reason":"stop"}}],"#,
            r#""usage":{{"prompt_tokens":412,"completion_tokens":17,"total_tokens":429}}}}"#
        ),
        id = COMPLETION_ID,
        created = CREATED,
        model = MODEL,
        content = s(content),
    )
}

/// One tool call with empty arguments, as its automatic tool choice writes it (the call's id
/// repeats the completion's, and the legacy `function_call` comes along).
fn tool_call_completion(tool: &str) -> String {
    format!(
        concat!(
            r#"{{"id":"chat{id}","object":"chat.completion","created":{created},"model":"{model}","#,
            r#""choices":[{{"finish_reason":"tool_calls","index":0,"message":{{"role":"assistant","#,
            r#""content":null,"tool_calls":[{{"id":"call__0_{tool}_{id}","type":"function","#,
            r#""function":{{"name":"{tool}","arguments":"{{}}"}}}}],"#,
            r#""function_call":{{"name":"{tool}","arguments":"{{}}"}}}}}}],"#,
            r#""usage":{{"completion_tokens":9,"prompt_tokens":655,"total_tokens":664}}}}"#
        ),
        id = COMPLETION_ID,
        created = CREATED,
        model = MODEL,
        tool = tool,
    )
}

/// One streamed text chunk: its events are `json.dumps` output (spaced separators) framed
/// with CRLF.
fn text_chunk(delta: &str, finish_reason: &str) -> String {
    format!(
        concat!(
            r#"data: {{"id": "chat{id}", "model": "{model}", "created": {created}, "#,
            r#""object": "chat.completion.chunk", "choices": [{{"index": 0, "delta": {delta}, "#,
            r#""logprobs": null, "finish_reason": {finish}}}]}}"#,
            "\r\n\r\n"
        ),
        id = COMPLETION_ID,
        model = MODEL,
        created = CREATED,
        delta = delta,
        finish = finish_reason,
    )
}

/// The headers its event-source responses carry.
fn event_stream_headers(writes: Vec<String>) -> Reply {
    Reply::sse(writes)
        .header("x-accel-buffering", "no")
        .header("connection", "keep-alive")
}

/// How the failing stream ends after its headers.
#[derive(Clone, Copy)]
enum StreamFailure {
    /// The connection closes with no event at all.
    Empty,
    /// One event carrying the handler's error.
    ErrorEvent,
    /// No stream: a 500 with the error, as when the handler fails before the response starts.
    Status,
}

/// The server's rules: the tools count only with an explicit `auto`, and the model (asked about
/// opening hours) then always picks the hand-off.
fn server(failure: StreamFailure) -> impl Fn(&Recorded) -> Reply + Send + Sync + 'static {
    move |request: &Recorded| {
        let body: Value = request.json();
        let sees_tools = body["tool_choice"] == "auto" && body["tools"].is_array();
        let streamed = body["stream"] == true;
        match (sees_tools, streamed) {
            (false, false) => Reply::json(200, text_completion(PLAIN)),
            (false, true) => event_stream_headers(vec![
                text_chunk(r#"{"role": "assistant"}"#, "null"),
                text_chunk(&format!(r#"{{"content": {}}}"#, s(PLAIN)), "null"),
                text_chunk("{}", r#""stop""#),
                "data: [DONE]\r\n\r\n".to_string(),
            ]),
            (true, false) => Reply::json(200, tool_call_completion("transfer_to_appointments")),
            (true, true) => match failure {
                StreamFailure::Empty => event_stream_headers(Vec::new()),
                StreamFailure::ErrorEvent => event_stream_headers(vec![concat!(
                    r#"data: {"error":{"message":"Automatic streaming tool choice is not supported","#,
                    r#""type":"internal_server_error","param":null,"code":null}}"#,
                    "\r\n\r\n"
                )
                .to_string()]),
                StreamFailure::Status => Reply::json(
                    500,
                    concat!(
                        r#"{"error":{"message":"Automatic streaming tool choice is not supported","#,
                        r#""type":"internal_server_error","param":null,"code":null}}"#
                    ),
                ),
            },
        }
    }
}

fn hand_off() -> ToolCall {
    ToolCall {
        id: format!("call__0_transfer_to_appointments_{COMPLETION_ID}"),
        name: "transfer_to_appointments".into(),
        arguments: "{}".into(),
    }
}

#[tokio::test]
async fn tools_offered_with_an_explicit_auto_choice_lead_to_the_hand_off() {
    let fake = FakeOpenAi::start().await;
    fake.respond_with(server(StreamFailure::Empty));

    let reply = fake
        .client()
        .complete(&manager_turn())
        .await
        .expect("answered");

    assert_eq!(reply.tool_calls, [hand_off()], "not a hand-off: {reply:?}");
    assert_eq!(reply.text, "");
    assert_eq!(fake.requests()[0].json()["tool_choice"], "auto");
}

#[tokio::test]
async fn the_configured_choice_is_sent_and_an_agent_may_name_a_tool() {
    let fake = FakeOpenAi::start().await;
    fake.push(Reply::json(200, text_completion(PLAIN)));
    fake.push(Reply::json(
        200,
        tool_call_completion("transfer_to_appointments"),
    ));
    let client = fake.client_with(|s| s.tool_choice = ToolChoice::Required);

    client.complete(&manager_turn()).await.expect("answered");
    let named = LlmRequest {
        tool_choice: Some(ToolChoice::Function("transfer_to_appointments".into())),
        ..manager_turn()
    };
    client.complete(&named).await.expect("answered");
    client
        .complete(&crate::conversation())
        .await
        .expect_err("nothing scripted for a third call");

    let requests = fake.requests();
    assert_eq!(requests[0].json()["tool_choice"], "required");
    assert_eq!(
        requests[1].json()["tool_choice"],
        json!({"type": "function", "function": {"name": "transfer_to_appointments"}})
    );
    assert!(
        requests[2].json().get("tool_choice").is_none(),
        "no tools, no choice: {}",
        requests[2].json()
    );
}

async fn a_failed_stream_is_answered_whole(failure: StreamFailure) {
    let fake = FakeOpenAi::start().await;
    fake.respond_with(server(failure));
    let client = fake.client();

    let first = drain(client.stream(&manager_turn()).await.expect("starts")).await;
    let second = drain(client.stream(&manager_turn()).await.expect("starts")).await;

    for items in [&first, &second] {
        assert_eq!(
            items
                .iter()
                .filter_map(|i| match i {
                    Ok(LlmChunk::ToolCall(call)) => Some(call.clone()),
                    _ => None,
                })
                .collect::<Vec<_>>(),
            [hand_off()],
            "the hand-off arrives: {items:?}"
        );
        assert!(items.iter().all(Result::is_ok), "no error: {items:?}");
    }
    let streamed: Vec<bool> = fake
        .requests()
        .iter()
        .map(|r| r.json()["stream"] == true)
        .collect();
    let failed_streams = streamed.iter().filter(|s| **s).count();
    assert!(failed_streams >= 1, "{streamed:?}");
    assert_eq!(
        streamed[failed_streams..],
        [false, false],
        "after the failed stream, each call is asked whole: {streamed:?}"
    );
}

#[tokio::test]
async fn a_stream_closed_empty_after_its_headers_is_answered_whole_and_remembered() {
    a_failed_stream_is_answered_whole(StreamFailure::Empty).await;
}

#[tokio::test]
async fn a_stream_that_only_carries_an_error_is_answered_whole_and_remembered() {
    a_failed_stream_is_answered_whole(StreamFailure::ErrorEvent).await;
}

#[tokio::test]
async fn a_streamed_request_refused_with_an_error_status_is_answered_whole() {
    a_failed_stream_is_answered_whole(StreamFailure::Status).await;
}

#[tokio::test]
async fn a_text_answer_still_streams_when_the_model_needs_no_tool() {
    let fake = FakeOpenAi::start().await;
    fake.respond_with(server(StreamFailure::Empty));

    let items = drain(
        fake.client_with(|s| s.tool_choice = ToolChoice::None)
            .stream(&manager_turn())
            .await
            .expect("starts"),
    )
    .await;

    assert_eq!(text_of(&items), PLAIN);
    assert_eq!(fake.requests().len(), 1, "streamed, not asked again");
}

#[tokio::test]
async fn declared_without_tool_streaming_a_server_is_asked_whole_from_the_start() {
    let fake = FakeOpenAi::start().await;
    fake.respond_with(server(StreamFailure::Empty));

    let items = drain(
        fake.client_with(|s| s.stream_tools = false)
            .stream(&manager_turn())
            .await
            .expect("starts"),
    )
    .await;

    assert!(
        items.contains(&Ok(LlmChunk::ToolCall(hand_off()))),
        "{items:?}"
    );
    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    assert!(requests[0].json().get("stream").is_none());
}
