//! Many simultaneous chats: every one answered, every message stored.

use futures::future::join_all;
use serde_json::json;

use crate::both_backends;
use crate::helpers::{spawn, Backend};

both_backends!(
    two_hundred_concurrent_chats_all_succeed,
    |backend| async move {
        let app = spawn(backend).await;

        let requests = (0..200).map(|i| {
            let app = &app;
            async move {
                // Half share the default user (contention on one row), half are distinct users.
                let body = if i % 2 == 0 {
                    json!({"content": format!("message {i}"), "media_urls": [], "audio_urls": []})
                } else {
                    json!({"content": format!("message {i}"), "user_id": format!("user-{i}")})
                };
                app.post_json("/chat/", &body).await.status().as_u16()
            }
        });
        let statuses = join_all(requests).await;

        let failures: Vec<_> = statuses.iter().filter(|s| **s != 200).collect();
        assert!(failures.is_empty(), "non-200 answers: {failures:?}");
        assert_eq!(app.count("SELECT COUNT(*) FROM messages").await, 400);
        assert_eq!(
            app.count("SELECT COUNT(*) FROM messages WHERE direction = 'incoming'")
                .await,
            200
        );
        assert_eq!(app.count("SELECT COUNT(*) FROM users").await, 101);
    }
);
