//! Image URLs become stored image media and reach the model, as URLs, with the new user turn.

use whatsapp_agent::access::Caller;
use whatsapp_agent::domain::{Media, MediaKind};
use whatsapp_agent::ports::Role;
use whatsapp_agent::ChatInput;

use crate::support::Harness;

const FIRST: &str = "https://example.com/a.jpg";
const SECOND: &str = "https://example.com/b.png";

fn with_images(content: &str) -> ChatInput {
    ChatInput {
        media_urls: vec![FIRST.to_string(), SECOND.to_string()],
        ..ChatInput::text(content)
    }
}

#[tokio::test]
async fn media_urls_are_stored_as_image_media_in_order() {
    // Arrange
    let h = Harness::replying(&["nice pictures"]);

    // Act
    let outcome = h
        .service
        .chat(&Caller::Anonymous, with_images("what are these?"))
        .await
        .expect("turn succeeds");

    // Assert
    let expected = vec![Media::image(FIRST), Media::image(SECOND)];
    assert_eq!(outcome.incoming.media, expected);
    assert_eq!(h.store.messages()[0].media, expected);
    assert_eq!(outcome.incoming.media_url(), Some(FIRST));
    assert!(outcome.outgoing.expect("a reply").media.is_empty());
}

#[tokio::test]
async fn the_model_gets_the_images_on_the_last_user_message() {
    // Arrange
    let h = Harness::replying(&["a cat and a dog"]);

    // Act
    h.service
        .chat(&Caller::Anonymous, with_images("what are these?"))
        .await
        .expect("turn succeeds");

    // Assert
    let request = h.llm.only_request();
    let last = request.messages.last().expect("a user turn");
    assert_eq!(last.role, Role::User);
    assert_eq!(last.images, [FIRST, SECOND]);
    assert!(last.text.contains("what are these?"));
    assert_eq!(
        h.fetcher.attempts(),
        0,
        "image URLs are passed, not downloaded"
    );
}

#[tokio::test]
async fn content_may_be_empty_when_images_are_given() {
    // Arrange
    let h = Harness::replying(&["I see a cat"]);

    // Act
    let outcome = h
        .service
        .chat(&Caller::Anonymous, with_images(""))
        .await
        .expect("image-only turn succeeds");

    // Assert
    assert_eq!(outcome.outgoing.expect("a reply").body, "I see a cat");
    assert!(outcome
        .incoming
        .media
        .iter()
        .all(|m| m.kind == MediaKind::Image));
    let request = h.llm.only_request();
    let last = request.messages.last().expect("a user turn");
    assert_eq!(last.images, [FIRST, SECOND]);
    assert!(
        !last.text.trim().is_empty(),
        "the model never gets an empty turn"
    );
}
