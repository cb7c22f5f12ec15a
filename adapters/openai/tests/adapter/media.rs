//! Images in prompts and voice-note transcription.

use serde_json::json;
use whatsapp_agent::ports::{Blob, LlmError, LlmMessage, LlmPort, LlmRequest};

use crate::fake::{FakeOpenAi, Reply};
use crate::openai_wire as wire;

const PNG: &str = "data:image/png;base64,iVBORw0KGgo=";

fn photo_request() -> LlmRequest {
    let mut photo = LlmMessage::user("¿Esta receta sigue vigente?");
    photo.images = vec![PNG.to_string()];
    LlmRequest::new(
        "Eres la recepcionista de la Clínica Sol.",
        vec![LlmMessage::user("Hola"), photo],
    )
}

#[tokio::test]
async fn images_are_sent_as_content_parts_with_the_data_url() {
    let fake = FakeOpenAi::start().await;
    fake.push(Reply::json(
        200,
        wire::completion("Sí, vence en junio.", 900, 8),
    ));

    let reply = fake
        .client()
        .complete(&photo_request())
        .await
        .expect("the completion succeeds");

    assert_eq!(reply.text, "Sí, vence en junio.");
    let body = fake.requests()[0].json();
    assert_eq!(body["model"], "gpt-4o-mini");
    assert_eq!(
        body["messages"][1],
        json!({"role": "user", "content": "Hola"})
    );
    assert_eq!(
        body["messages"][2],
        json!({"role": "user", "content": [
            {"type": "text", "text": "¿Esta receta sigue vigente?"},
            {"type": "image_url", "image_url": {"url": PNG}},
        ]})
    );
}

#[tokio::test]
async fn turns_with_images_use_the_vision_model_when_one_is_set() {
    let fake = FakeOpenAi::start().await;
    fake.push(Reply::json(200, wire::completion("Sí", 900, 1)));
    fake.push(Reply::json(200, wire::completion("Hola", 10, 1)));
    let client = fake.client_with(|s| s.vision_model = Some("gpt-4o".into()));

    client
        .complete(&photo_request())
        .await
        .expect("the completion succeeds");
    client
        .complete(&crate::conversation())
        .await
        .expect("the completion succeeds");

    let requests = fake.requests();
    assert_eq!(requests[0].json()["model"], "gpt-4o");
    assert_eq!(requests[1].json()["model"], "gpt-4o-mini");
}

#[tokio::test]
async fn without_vision_images_are_left_out_and_the_content_is_a_string() {
    let fake = FakeOpenAi::start().await;
    fake.push(Reply::json(
        200,
        wire::completion("No puedo ver imágenes.", 20, 5),
    ));

    fake.client_with(|s| s.supports_vision = false)
        .complete(&photo_request())
        .await
        .expect("the completion succeeds");

    let sent = &fake.requests()[0];
    let body = sent.json();
    let content = &body["messages"][2]["content"];
    let text = content
        .as_str()
        .unwrap_or_else(|| panic!("content must be a string: {content}"));
    assert!(text.starts_with("¿Esta receta sigue vigente?"), "{text}");
    let raw = String::from_utf8_lossy(&sent.body);
    assert!(!raw.contains("image_url"), "{raw}");
    assert!(!raw.contains("iVBORw0KGgo"), "{raw}");
}

fn voice_note() -> Blob {
    let mut bytes = b"OggS\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00".to_vec();
    bytes.extend_from_slice(b"OpusHead\x01\x01\x38\x01\x80\xbb\x00\x00\x00\x00");
    bytes.extend((0u8..=255).cycle().take(600));
    Blob {
        bytes,
        content_type: "audio/ogg".into(),
        filename: "voice.ogg".into(),
    }
}

#[tokio::test]
async fn a_voice_note_is_uploaded_as_multipart_and_its_text_returned() {
    let fake = FakeOpenAi::start().await;
    fake.push(Reply::json(200, r#"{"text":"hola, necesito una cita"}"#));
    let audio = voice_note();

    let text = fake
        .client()
        .transcribe(&audio)
        .await
        .expect("the transcription succeeds");

    assert_eq!(text, "hola, necesito una cita");
    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    let sent = &requests[0];
    assert_eq!(sent.method, "POST");
    assert_eq!(sent.path, "/v1/audio/transcriptions");
    assert_eq!(sent.header("authorization"), Some("Bearer sk-test"));
    assert!(
        sent.header("content-type")
            .is_some_and(|v| v.starts_with("multipart/form-data; boundary=")),
        "{:?}",
        sent.header("content-type")
    );
    let file = sent.part("file");
    assert_eq!(file.filename.as_deref(), Some("voice.ogg"));
    assert_eq!(file.content_type.as_deref(), Some("audio/ogg"));
    assert_eq!(file.bytes, audio.bytes, "the exact bytes are uploaded");
    assert_eq!(sent.part("model").bytes, b"whisper-1");
    assert_eq!(sent.part("model").filename, None);
    let documented = [
        "file",
        "model",
        "language",
        "prompt",
        "response_format",
        "temperature",
    ];
    for part in &sent.parts {
        assert!(
            documented.contains(&part.name.as_str()),
            "undocumented part {:?}",
            part.name
        );
    }
}

#[tokio::test]
async fn a_rejected_transcription_is_a_typed_error() {
    let fake = FakeOpenAi::start().await;
    fake.push(Reply::json(
        400,
        wire::error_body(
            "Invalid file format. Supported formats: ['flac', 'm4a', 'mp3', 'mp4', 'mpeg', \
             'mpga', 'oga', 'ogg', 'wav', 'webm']",
            "invalid_request_error",
            None,
        ),
    ));

    let result = fake.client().transcribe(&voice_note()).await;

    assert!(
        matches!(&result, Err(LlmError::Rejected(detail)) if detail.contains("Invalid file format")),
        "{result:?}"
    );
    assert_eq!(fake.requests().len(), 1);
}
