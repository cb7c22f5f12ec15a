//! Red flags get the fixed emergency reply in the user's language, flag the conversation, and
//! the model is never asked.

use std::sync::Arc;
use whatsapp_agent::access::Caller;

use whatsapp_agent::agent::GUARDRAIL_AGENT;
use whatsapp_agent::chat::InputLimits;
use whatsapp_agent::ports::{
    Blob, ChunkStream, LlmError, LlmPort, LlmReply, LlmRequest, MediaError, MediaFetcher,
    MediaPurpose,
};
use whatsapp_agent::{ChatConfig, ChatInput, ChatService};

use crate::support::{agents, Harness, MemoryStore};

async fn red_flag_turn(text: &str, expected_reply: &str, expected_reason: &str) {
    // Arrange
    let h = Harness::scripted(vec![]);

    // Act
    let outcome = h
        .service
        .chat(&Caller::Anonymous, ChatInput::text(text))
        .await
        .expect("turn");

    // Assert
    assert!(h.llm.calls().is_empty(), "the model must not be asked");
    let reply = outcome.outgoing.expect("a reply");
    assert_eq!(reply.body, expected_reply);
    assert!(reply.body.contains("112"));
    assert_eq!(reply.agent.as_deref(), Some(GUARDRAIL_AGENT));
    assert_eq!(
        outcome.conversation.flag_reason.as_deref(),
        Some(expected_reason)
    );
    let stored = h.store.conversations();
    assert_eq!(stored[0].flag_reason.as_deref(), Some(expected_reason));
    assert_eq!(
        h.store.messages().len(),
        2,
        "the question and the fixed reply"
    );
}

#[tokio::test]
async fn english_chest_pain_gets_the_fixed_reply() {
    red_flag_turn(
        "I have a strong CHEST PAIN since an hour",
        "[en] Emergency: call 112 now.",
        "chest_pain",
    )
    .await;
}

#[tokio::test]
async fn spanish_chest_pain_with_accents_gets_the_spanish_reply() {
    red_flag_turn(
        "¡Me duele el PÉCHO mucho!",
        "[es] Emergency: call 112 now.",
        "chest_pain",
    )
    .await;
}

#[tokio::test]
async fn german_breathing_trouble_gets_the_german_reply() {
    red_flag_turn(
        "Ich habe plötzlich Atemnot.",
        "[de] Emergency: call 112 now.",
        "breathing",
    )
    .await;
}

#[tokio::test]
async fn a_word_prefix_pattern_matches_suicidal_thoughts() {
    red_flag_turn(
        "I keep having suicidal thoughts",
        "[en] Emergency: call 112 now.",
        "self_harm",
    )
    .await;
}

#[tokio::test]
async fn a_red_flag_is_answered_even_while_a_person_has_the_conversation() {
    // Arrange
    let h = Harness::scripted(vec![]);
    h.service
        .chat(
            &Caller::Anonymous,
            ChatInput::text("I want to talk to a human"),
        )
        .await
        .expect("takeover");

    // Act
    let outcome = h
        .service
        .chat(&Caller::Anonymous, ChatInput::text("chest pain now"))
        .await
        .expect("turn");

    // Assert
    let reply = outcome.outgoing.expect("the safe reply is never withheld");
    assert_eq!(reply.agent.as_deref(), Some(GUARDRAIL_AGENT));
    assert!(h.llm.calls().is_empty());
}

#[tokio::test]
async fn harmless_words_that_contain_a_pattern_do_not_trigger_it() {
    // Arrange
    let h = Harness::replying(&["Sure."]);

    // Act
    let outcome = h
        .service
        .chat(
            &Caller::Anonymous,
            ChatInput::text("Is the chest painting class still on?"),
        )
        .await
        .expect("turn");

    // Assert
    assert_eq!(outcome.outgoing.expect("a reply").body, "Sure.");
    assert_eq!(outcome.conversation.flag_reason, None);
}

#[tokio::test]
async fn a_red_flag_in_the_text_is_answered_without_fetching_a_broken_attachment() {
    // Arrange
    let h = Harness::scripted(vec![]);
    let input = ChatInput {
        media_urls: vec!["https://media.example/broken.jpg".to_string()],
        audio_urls: vec!["https://media.example/broken.ogg".to_string()],
        ..ChatInput::text("my chest pain is getting worse")
    };

    // Act
    let outcome = h
        .service
        .chat(&Caller::Anonymous, input)
        .await
        .expect("the emergency reply, not an error");

    // Assert
    assert_eq!(h.fetcher.attempts(), 0, "nothing is downloaded first");
    let reply = outcome.outgoing.expect("a reply");
    assert_eq!(reply.agent.as_deref(), Some(GUARDRAIL_AGENT));
    assert_eq!(
        outcome.conversation.flag_reason.as_deref(),
        Some("chest_pain")
    );
}

/// A model that only transcribes, always with the same words.
struct Transcriber(&'static str);

#[async_trait::async_trait]
impl LlmPort for Transcriber {
    fn label(&self) -> String {
        "transcriber".to_string()
    }

    async fn complete(&self, _request: &LlmRequest) -> Result<LlmReply, LlmError> {
        Err(LlmError::Rejected("no model call expected".to_string()))
    }

    async fn stream(&self, _request: &LlmRequest) -> Result<ChunkStream, LlmError> {
        Err(LlmError::Rejected("no model call expected".to_string()))
    }

    async fn transcribe(&self, _audio: &Blob) -> Result<String, LlmError> {
        Ok(self.0.to_string())
    }
}

/// A fetcher that serves the same short voice note for every URL.
struct VoiceNote;

#[async_trait::async_trait]
impl MediaFetcher for VoiceNote {
    async fn fetch(&self, _url: &str, _purpose: MediaPurpose) -> Result<Blob, MediaError> {
        Ok(Blob {
            bytes: b"OggS voice".to_vec(),
            content_type: "audio/ogg".to_string(),
            filename: "voice.ogg".to_string(),
        })
    }
}

#[tokio::test]
async fn a_red_flag_spoken_in_a_voice_note_gets_the_fixed_reply() {
    // Arrange: what a transcription of a frightened voice note looks like.
    let store = Arc::new(MemoryStore::default());
    let service = ChatService::new(
        store.clone(),
        store.clone(),
        Arc::new(Transcriber(
            "um hello yeah so my um my chest pain started like an hour ago and it's not going away",
        )),
        Arc::new(VoiceNote),
        ChatConfig {
            limits: InputLimits::default(),
            inline_images: false,
        },
        agents(10),
    );
    let input = ChatInput {
        audio_urls: vec!["https://media.example/voice.ogg".to_string()],
        ..ChatInput::text("")
    };

    // Act
    let outcome = service.chat(&Caller::Anonymous, input).await.expect("turn");

    // Assert
    let reply = outcome.outgoing.expect("a reply");
    assert_eq!(reply.agent.as_deref(), Some(GUARDRAIL_AGENT));
    assert_eq!(
        outcome.conversation.flag_reason.as_deref(),
        Some("chest_pain")
    );
    let transcript = outcome.incoming.media[0].transcript.as_deref();
    assert!(
        transcript.is_some_and(|t| t.contains("chest pain")),
        "{transcript:?}"
    );
}
