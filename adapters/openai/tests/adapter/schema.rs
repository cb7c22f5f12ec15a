//! The request bodies the adapter sends validate against the official `CreateChatCompletionRequest`
//! schema (a fixture extracted from the OpenAI OpenAPI description).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::{json, Value};
use wa_openai::TokenLimitField;
use whatsapp_agent::ports::{LlmMessage, LlmPort, LlmRequest, ToolCall, ToolChoice, ToolSpec};

use crate::fake::{FakeOpenAi, Reply};
use crate::openai_wire as wire;
use crate::{conversation, drain};

fn fixture_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/create_chat_completion_request.schema.json")
}

fn fixture() -> Value {
    let text = std::fs::read_to_string(fixture_path()).expect("read the schema fixture");
    serde_json::from_str(&text).expect("the schema fixture is JSON")
}

fn validator() -> jsonschema::Validator {
    jsonschema::draft202012::new(&fixture())
        .unwrap_or_else(|err| panic!("the schema fixture does not compile: {err}"))
}

/// Every reason `body` fails the schema, one per line.
fn violations(validator: &jsonschema::Validator, body: &Value) -> Vec<String> {
    validator
        .iter_errors(body)
        .map(|err| {
            format!(
                "at {} (schema {}): {err}",
                err.instance_path, err.schema_path
            )
        })
        .collect()
}

fn booking_tool() -> ToolSpec {
    ToolSpec {
        name: "book_appointment".into(),
        description: "Books a slot for the patient.".into(),
        parameters: json!({
            "type": "object",
            "properties": {
                "slot": {"type": "string", "format": "date-time"},
                "reason": {"type": "string"}
            },
            "required": ["slot"]
        }),
    }
}

/// A conversation where the model called a tool and got its result back.
fn after_a_tool_call() -> LlmRequest {
    let mut asked = LlmMessage::assistant("");
    asked.tool_calls = vec![ToolCall {
        id: "call_Book42".into(),
        name: "book_appointment".into(),
        arguments: r#"{"slot":"2025-03-14T10:00:00+01:00"}"#.into(),
    }];
    let mut asked_with_text = LlmMessage::assistant("Te lo reservo.");
    asked_with_text.tool_calls = vec![ToolCall {
        id: "call_Book43".into(),
        name: "book_appointment".into(),
        arguments: r#"{"slot":"2025-03-14T12:30:00+01:00"}"#.into(),
    }];
    LlmRequest {
        system: "Eres la recepcionista de la Clínica Sol.".into(),
        messages: vec![
            LlmMessage::user("Resérvame el viernes a las 10"),
            asked,
            LlmMessage::tool_result("call_Book42", r#"{"ok":false,"reason":"taken"}"#),
            LlmMessage::user("Entonces a las 12:30"),
            asked_with_text,
            LlmMessage::tool_result("call_Book43", r#"{"ok":true}"#),
        ],
        tools: vec![booking_tool()],
        tool_choice: Some(ToolChoice::Function("book_appointment".into())),
        max_completion_tokens: Some(300),
    }
}

fn with_image() -> LlmRequest {
    let mut photo = LlmMessage::user("¿Qué pone aquí?");
    photo.images = vec![
        "data:image/png;base64,iVBORw0KGgo=".into(),
        "https://example.com/receta.jpg".into(),
    ];
    let mut only_photo = LlmMessage::user("");
    only_photo.images = vec!["data:image/jpeg;base64,/9j/4AAQSkZJRg==".into()];
    LlmRequest::new("Sistema", vec![photo, only_photo])
}

#[tokio::test]
async fn every_request_body_the_adapter_sends_matches_the_official_schema() {
    let fake = FakeOpenAi::start().await;
    let client = fake.client();
    let tuned = fake.client_with(|s| {
        s.temperature = Some(0.2);
        s.max_completion_tokens = Some(512);
    });
    let no_vision = fake.client_with(|s| s.supports_vision = false);
    let legacy = fake.client_with(|s| {
        s.max_completion_tokens = Some(512);
        s.token_limit_field = TokenLimitField::MaxTokens;
    });
    let mut labels = Vec::new();

    let mut complete = |label: &'static str| {
        fake.push(Reply::json(200, wire::completion("Vale", 10, 1)));
        labels.push(label);
    };
    complete("plain");
    client.complete(&conversation()).await.expect("plain");
    complete("tuned");
    tuned.complete(&conversation()).await.expect("tuned");
    complete("limit as max_tokens");
    legacy
        .complete(&conversation())
        .await
        .expect("limit as max_tokens");
    complete("with tools");
    client
        .complete(&LlmRequest {
            tools: vec![booking_tool()],
            ..conversation()
        })
        .await
        .expect("with tools");
    complete("with images");
    client.complete(&with_image()).await.expect("with images");
    complete("images without vision");
    no_vision
        .complete(&with_image())
        .await
        .expect("images without vision");
    complete("tool results");
    client
        .complete(&after_a_tool_call())
        .await
        .expect("tool results");

    fake.push(Reply::sse(wire::text_stream(&["Vale"], 10, 1)));
    labels.push("streamed");
    let stream = client.stream(&conversation()).await.expect("streamed");
    drain(stream).await;
    fake.push(Reply::sse(wire::text_stream(&["Vale"], 10, 1)));
    labels.push("streamed tool results");
    let stream = client
        .stream(&after_a_tool_call())
        .await
        .expect("streamed tool results");
    drain(stream).await;

    let requests = fake.requests();
    assert_eq!(requests.len(), labels.len());
    let validator = validator();
    let mut failures = Vec::new();
    for (label, request) in labels.iter().zip(&requests) {
        let body = request.json();
        let errors = violations(&validator, &body);
        if !errors.is_empty() {
            failures.push(format!(
                "{label}: {}\n  {}",
                serde_json::to_string_pretty(&body).unwrap_or_default(),
                errors.join("\n  ")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "bodies that break CreateChatCompletionRequest:\n{}",
        failures.join("\n\n")
    );

    // The tool-result exchange went out as OpenAI documents it.
    let body = requests[6].json();
    assert_eq!(
        body["messages"][2],
        json!({"role": "assistant", "content": null, "tool_calls": [{
            "id": "call_Book42", "type": "function",
            "function": {"name": "book_appointment",
                         "arguments": "{\"slot\":\"2025-03-14T10:00:00+01:00\"}"}
        }]})
    );
    assert_eq!(
        body["messages"][3],
        json!({"role": "tool", "tool_call_id": "call_Book42",
               "content": "{\"ok\":false,\"reason\":\"taken\"}"})
    );
    assert_eq!(body["messages"][5]["content"], "Te lo reservo.");
    // A named tool choice and the request's own limit, as documented.
    assert_eq!(
        body["tool_choice"],
        json!({"type": "function", "function": {"name": "book_appointment"}})
    );
    assert_eq!(body["max_completion_tokens"], json!(300));
    let legacy = requests[2].json();
    assert_eq!(legacy["max_tokens"], json!(512));
    assert!(legacy.get("max_completion_tokens").is_none(), "{legacy}");
}

#[test]
fn the_schema_rejects_bodies_openai_would_reject() {
    let validator = validator();
    let bad = [
        (
            "no messages",
            json!({"model": "gpt-4o-mini", "messages": []}),
        ),
        (
            "no model",
            json!({"messages": [{"role": "user", "content": "Hola"}]}),
        ),
        (
            "unknown role",
            json!({"model": "gpt-4o-mini", "messages": [{"role": "bot", "content": "Hola"}]}),
        ),
        (
            "flat tool",
            json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hola"}],
                   "tools": [{"type": "function", "name": "f", "parameters": {}}]}),
        ),
        (
            "tool result without its call id",
            json!({"model": "gpt-4o-mini", "messages": [{"role": "tool", "content": "42"}]}),
        ),
        (
            "image part without url",
            json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": [
                {"type": "image_url", "image_url": "data:image/png;base64,AAAA"}]}]}),
        ),
        (
            "stream as a string",
            json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hola"}],
                   "stream": "yes"}),
        ),
    ];
    for (label, body) in bad {
        assert!(
            !violations(&validator, &body).is_empty(),
            "the schema accepted a bad body ({label}): {body}"
        );
    }
    let good = json!({"model": "gpt-4o-mini", "messages": [
        {"role": "developer", "content": "Sé breve."},
        {"role": "user", "content": "Hola"}
    ], "stream": true, "stream_options": {"include_usage": true}});
    assert_eq!(violations(&validator, &good), Vec::<String>::new());
}

#[test]
fn the_fixture_says_where_it_comes_from() {
    let schema = fixture();
    let comment = schema["$comment"].as_str().expect("a $comment");
    assert!(
        comment.contains("shared/specs/openai-openapi.yaml"),
        "{comment}"
    );
    assert!(comment.contains("CreateChatCompletionRequest"), "{comment}");
    assert!(comment.contains("2.3.0"), "{comment}");
    assert_eq!(
        schema["$ref"], "#/$defs/CreateChatCompletionRequest",
        "the fixture validates request bodies at its root"
    );
}

/// The parts of the OpenAPI description the staleness check reads. Typed, because the document
/// holds integers (e.g. `seed.minimum`) too large for a generic YAML or JSON value.
#[derive(Deserialize)]
struct Description {
    info: Info,
    components: Components,
}

#[derive(Deserialize)]
struct Info {
    version: String,
}

#[derive(Deserialize)]
struct Components {
    schemas: BTreeMap<String, SchemaOutline>,
}

#[derive(Deserialize)]
struct SchemaOutline {
    #[serde(rename = "allOf")]
    all_of: Option<Vec<SchemaOutline>>,
    properties: Option<BTreeMap<String, IgnoredAny>>,
}

/// When the description the fixture came from is checked out next to this repository, the
/// fixture must still match it (same version, same request properties, every definition present).
#[test]
fn the_fixture_matches_the_description_when_it_is_available() {
    let spec_path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/specs/openai-openapi.yaml");
    let Ok(text) = std::fs::read_to_string(&spec_path) else {
        eprintln!("skipped: {} not present", spec_path.display());
        return;
    };
    let spec: Description = serde_yaml::from_str(&text).expect("the description is YAML");
    let fixture = fixture();
    let version = &spec.info.version;
    let comment = fixture["$comment"].as_str().unwrap_or_default();
    assert!(
        comment.contains(&format!("info.version {version}")),
        "the fixture predates API version {version}; re-extract it: {comment}"
    );
    let defs = fixture["$defs"].as_object().expect("$defs");
    for name in defs.keys() {
        assert!(
            spec.components.schemas.contains_key(name),
            "{name} is no longer in the description"
        );
    }
    let mut in_fixture: Vec<String> = defs["CreateChatCompletionRequest"]["allOf"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|part| part["properties"].as_object())
        .flat_map(|props| props.keys().cloned())
        .collect();
    let mut in_spec: Vec<String> = spec
        .components
        .schemas
        .get("CreateChatCompletionRequest")
        .and_then(|schema| schema.all_of.as_ref())
        .into_iter()
        .flatten()
        .filter_map(|part| part.properties.as_ref())
        .flat_map(|props| props.keys().cloned())
        .collect();
    in_fixture.sort();
    in_spec.sort();
    assert!(
        !in_spec.is_empty(),
        "no request properties found in the description"
    );
    assert_eq!(
        in_fixture, in_spec,
        "CreateChatCompletionRequest changed; re-extract the fixture"
    );
}
