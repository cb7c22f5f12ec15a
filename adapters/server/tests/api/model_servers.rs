//! The service on model servers that differ from OpenAI: a hand-off streamed through a server
//! that cannot stream tools, as the client and the database see it.

use serde_json::json;

use crate::both_backends;
use crate::fake_tool_server::{self, SPECIALIST_REPLY};
use crate::helpers::{spawn_with, Backend};
use crate::stream::stream_events;

both_backends!(
    a_streamed_hand_off_reaches_the_specialist_on_a_server_that_cannot_stream_tools,
    |backend| async move {
        // Arrange
        let fake = fake_tool_server::start().await;
        let base = fake.base_url.clone();
        let app = spawn_with(backend, move |s| s.llm.base_url = Some(base), None).await;

        // Act
        let events = stream_events(&app, &json!({"content": "When are you open?"})).await;

        // Assert
        let (last, deltas) = events.split_last().expect("events");
        let shown: String = deltas
            .iter()
            .map(|e| e["content"].as_str().expect("content"))
            .collect();
        assert_eq!(shown, SPECIALIST_REPLY);
        assert_eq!(last["is_final"], true);
        assert_eq!(last["agent"], "appointments", "{last}");
        assert!(last.get("error").is_none(), "{last}");
        let stored = app
            .texts("SELECT body FROM messages WHERE direction = 'outgoing'")
            .await;
        assert_eq!(stored, [Some(SPECIALIST_REPLY.to_string())]);
        let streamed: Vec<bool> = fake
            .seen
            .lock()
            .expect("lock")
            .iter()
            .map(|body| body["stream"] == true)
            .collect();
        assert_eq!(
            streamed,
            [true, false, false],
            "one failed stream, then the manager and the specialist asked whole"
        );
    }
);
