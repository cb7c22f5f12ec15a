//! Media round-trips whole, `update_media` replaces it, and the seed's `media_url` column
//! holds the first image URL.

use whatsapp_agent::domain::{Direction, Media, MediaKind, MessageId, NewUser};
use whatsapp_agent::ports::StoreError;

use crate::support::{message, TestDb};

on_both_backends!(
    media_round_trips_and_media_url_is_the_first_image,
    a_message_without_images_has_no_media_url,
    update_media_replaces_the_media_and_the_media_url,
    update_media_of_an_unknown_message_fails,
);

async fn media_round_trips_and_media_url_is_the_first_image(t: &TestDb) {
    // Arrange
    let u = t
        .store
        .find_or_create_user(&NewUser::chat("alice"))
        .await
        .expect("user");
    let media = vec![
        Media {
            url: "https://example.com/voice.ogg".to_string(),
            kind: MediaKind::Audio,
            content_type: Some("audio/ogg".to_string()),
            transcript: Some("call me back, ünïcode ✓".to_string()),
        },
        Media {
            url: "https://example.com/first.png".to_string(),
            kind: MediaKind::Image,
            content_type: Some("image/png".to_string()),
            transcript: None,
        },
        Media::image("https://example.com/second.jpg"),
        Media {
            url: "https://example.com/doc.pdf".to_string(),
            kind: MediaKind::Other,
            content_type: None,
            transcript: None,
        },
    ];
    let mut new = message(u.id, Direction::Incoming, "");
    new.media = media.clone();

    // Act
    let stored = t.store.append(&new).await.expect("append");
    let read = t.store.recent_messages(u.id, 10, None).await.expect("read");

    // Assert
    assert_eq!(stored.media, media);
    assert_eq!(read.len(), 1);
    assert_eq!(read[0].media, media);
    let rows = t.query("SELECT media_url FROM messages").await;
    assert_eq!(rows.len(), 1);
    let media_url: Option<String> = rows[0].try_get("", "media_url").expect("column");
    assert_eq!(media_url.as_deref(), Some("https://example.com/first.png"));
}

async fn a_message_without_images_has_no_media_url(t: &TestDb) {
    // Arrange
    let u = t
        .store
        .find_or_create_user(&NewUser::chat("alice"))
        .await
        .expect("user");
    let mut new = message(u.id, Direction::Incoming, "listen");
    new.media = vec![Media::audio("https://example.com/voice.ogg")];

    // Act
    let stored = t.store.append(&new).await.expect("append");

    // Assert
    assert_eq!(stored.media, new.media);
    let rows = t.query("SELECT media_url FROM messages").await;
    let media_url: Option<String> = rows[0].try_get("", "media_url").expect("column");
    assert_eq!(media_url, None);
}

async fn update_media_replaces_the_media_and_the_media_url(t: &TestDb) {
    // Arrange
    let u = t
        .store
        .find_or_create_user(&NewUser::chat("alice"))
        .await
        .expect("user");
    let mut new = message(u.id, Direction::Incoming, "");
    new.media = vec![Media::audio("https://example.com/voice.ogg")];
    let stored = t.store.append(&new).await.expect("append");
    let mut transcribed = Media::audio("https://example.com/voice.ogg");
    transcribed.content_type = Some("audio/ogg".to_string());
    transcribed.transcript = Some("see you at noon".to_string());
    let updated = vec![transcribed, Media::image("https://example.com/photo.jpg")];

    // Act
    t.store
        .update_media(stored.id, &updated)
        .await
        .expect("update_media");

    // Assert
    let read = t.store.recent_messages(u.id, 10, None).await.expect("read");
    assert_eq!(read.len(), 1);
    assert_eq!(read[0].media, updated);
    let rows = t.query("SELECT media_url FROM messages").await;
    let media_url: Option<String> = rows[0].try_get("", "media_url").expect("column");
    assert_eq!(media_url.as_deref(), Some("https://example.com/photo.jpg"));
}

async fn update_media_of_an_unknown_message_fails(t: &TestDb) {
    // Act
    let result = t
        .store
        .update_media(
            MessageId::new(),
            &[Media::image("https://example.com/a.png")],
        )
        .await;

    // Assert
    assert!(
        matches!(result, Err(StoreError::Unknown(_))),
        "expected StoreError::Unknown, got {result:?}"
    );
}
