//! The conversation state that `/chat/`, the stream and the staff operations report.

use chrono::{DateTime, Utc};
use poem_openapi::types::Example;
use poem_openapi::{Enum, Object};
use uuid::Uuid;
use whatsapp_agent::domain::{Conversation, ConversationState};

/// Who answers the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum ConversationStateView {
    /// The assistant answers.
    Bot,
    /// A person of the team has the conversation; the assistant stays silent until it is
    /// released.
    WaitingForHuman,
}

impl From<ConversationState> for ConversationStateView {
    fn from(state: ConversationState) -> Self {
        match state {
            ConversationState::Bot => Self::Bot,
            ConversationState::WaitingForHuman => Self::WaitingForHuman,
        }
    }
}

/// A conversation: one session of a user's messages.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct ConversationView {
    pub id: Uuid,
    /// Id of the user row.
    pub user_uuid: Uuid,
    pub state: ConversationStateView,
    /// The agent that answers the next message (e.g. `anna`, `appointments`).
    pub active_agent: String,
    /// Why the conversation needs attention (a red flag such as `chest_pain`), if it does.
    #[oai(skip_serializing_if_is_none)]
    pub flag_reason: Option<String>,
    pub started_at: DateTime<Utc>,
    /// Set once the conversation is over (inactivity or `/reset`).
    #[oai(skip_serializing_if_is_none)]
    pub ended_at: Option<DateTime<Utc>>,
}

impl Example for ConversationView {
    fn example() -> Self {
        use crate::chat::example_ids;
        Self {
            id: example_ids::CONVERSATION,
            user_uuid: example_ids::USER,
            state: ConversationStateView::Bot,
            active_agent: "anna".into(),
            flag_reason: None,
            started_at: example_ids::time(),
            ended_at: None,
        }
    }
}

impl From<Conversation> for ConversationView {
    fn from(c: Conversation) -> Self {
        Self {
            id: c.id.0,
            user_uuid: c.user_id.0,
            state: c.state.into(),
            active_agent: c.active_agent,
            flag_reason: c.flag_reason,
            started_at: c.started_at,
            ended_at: c.ended_at,
        }
    }
}

/// Whether `header` is `Bearer <expected>`, compared without an early exit on the first
/// differing byte.
pub(crate) fn bearer_matches(header: Option<&str>, expected: &str) -> bool {
    let Some(given) = header.and_then(|h| h.strip_prefix("Bearer ")) else {
        return false;
    };
    let (a, b) = (given.trim().as_bytes(), expected.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
