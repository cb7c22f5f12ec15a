//! Conversations: the sessions a user's messages are grouped into, who answers in them and
//! whether the bot or a person is in charge.

use chrono::{DateTime, Utc};

use super::{ConversationId, UserId};

/// Who answers the user in a conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConversationState {
    /// The agents answer.
    Bot,
    /// A person of the team takes over; the bot stays silent until the conversation is released.
    WaitingForHuman,
}

impl ConversationState {
    /// The stable name stored in the database and shown by the API.
    pub fn as_str(self) -> &'static str {
        match self {
            ConversationState::Bot => "bot",
            ConversationState::WaitingForHuman => "waiting_for_human",
        }
    }

    /// Parses a stored name.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "bot" => Some(ConversationState::Bot),
            "waiting_for_human" => Some(ConversationState::WaitingForHuman),
            _ => None,
        }
    }
}

/// One session of a user's messages. A new one starts after a period of inactivity or when the
/// user asks for a fresh start; the model only sees the history of the current one.
#[derive(Clone, Debug, PartialEq)]
pub struct Conversation {
    pub id: ConversationId,
    pub user_id: UserId,
    /// The agent that answers the next turn (the manager or a specialist).
    pub active_agent: String,
    pub state: ConversationState,
    /// Whether the user was told, while waiting for a person, that one will answer.
    pub human_notice_sent: bool,
    /// Why the conversation needs attention (e.g. a red flag such as `chest_pain`), if it does.
    pub flag_reason: Option<String>,
    pub started_at: DateTime<Utc>,
    pub last_activity_at: DateTime<Utc>,
    /// When the conversation was closed; `None` while it is the user's current one.
    pub ended_at: Option<DateTime<Utc>>,
}
