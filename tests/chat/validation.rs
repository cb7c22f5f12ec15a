//! Invalid input is refused with the offending field; nothing is stored and the model is not asked.

use whatsapp_agent::access::Caller;
use whatsapp_agent::chat::InputLimits;
use whatsapp_agent::{ChatError, ChatInput};

use crate::support::Harness;

async fn refused_on(input: ChatInput, expected_field: &str) {
    // Arrange
    let h = Harness::replying(&[]);

    // Act
    let result = h.service.chat(&Caller::Anonymous, input).await;

    // Assert
    match result {
        Err(ChatError::Invalid { field, message }) => {
            assert_eq!(field, expected_field, "message was {message:?}");
            assert!(!message.is_empty());
        }
        other => panic!("expected ChatError::Invalid on {expected_field}, got {other:?}"),
    }
    assert!(h.store.messages().is_empty(), "no message is stored");
    assert!(h.store.users().is_empty(), "no user is created");
    assert!(h.llm.calls().is_empty(), "the model is not called");
}

#[tokio::test]
async fn empty_content_without_media_is_refused() {
    refused_on(ChatInput::text(""), "content").await;
}

#[tokio::test]
async fn whitespace_only_content_is_refused() {
    refused_on(ChatInput::text(" \n\t  "), "content").await;
}

#[tokio::test]
async fn content_over_the_limit_is_refused() {
    let too_long = "x".repeat(InputLimits::default().max_content_chars + 1);
    refused_on(ChatInput::text(too_long), "content").await;
}

#[tokio::test]
async fn a_bad_second_media_url_is_refused_by_its_index() {
    let input = ChatInput {
        media_urls: vec![
            "https://example.com/ok.png".to_string(),
            "ftp://example.com/bad.png".to_string(),
        ],
        ..ChatInput::text("look")
    };
    refused_on(input, "media_urls[1]").await;
}

#[tokio::test]
async fn an_empty_user_id_is_refused() {
    let input = ChatInput {
        user_id: Some(String::new()),
        ..ChatInput::text("hi")
    };
    refused_on(input, "user_id").await;
}

#[tokio::test]
async fn content_at_exactly_the_limit_is_accepted() {
    // Arrange
    let h = Harness::replying(&["that is long"]);
    let at_limit = "x".repeat(InputLimits::default().max_content_chars);

    // Act
    let result = h
        .service
        .chat(&Caller::Anonymous, ChatInput::text(at_limit))
        .await;

    // Assert
    assert!(result.is_ok(), "got {result:?}");
    assert_eq!(h.store.messages().len(), 2);
}
