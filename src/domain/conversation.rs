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

/// What one turn changed about its conversation. It is stored when the turn finishes, in the
/// same write as the reply, so a reply is never stored without the hand-off or hand-over that
/// produced it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConversationChange {
    /// The agent that answers the next turn, after this turn's hand-offs.
    pub active_agent: Option<String>,
    /// A person of the team takes over, and the user was told so.
    pub hand_to_human: bool,
    /// Why the conversation needs attention (a red flag), replacing an earlier reason.
    pub flag_reason: Option<String>,
    /// The conversation ends with this turn (the user asked for a fresh start).
    pub end: bool,
}

impl ConversationChange {
    /// Whether the turn changed nothing.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

impl Conversation {
    /// The conversation as `change` leaves it at `now`.
    pub fn apply(&mut self, change: &ConversationChange, now: DateTime<Utc>) {
        if let Some(agent) = &change.active_agent {
            self.active_agent.clone_from(agent);
        }
        if change.hand_to_human {
            self.state = ConversationState::WaitingForHuman;
            self.human_notice_sent = true;
        }
        if let Some(reason) = &change.flag_reason {
            self.flag_reason = Some(reason.clone());
        }
        if change.end && self.ended_at.is_none() {
            self.ended_at = Some(now);
        }
        self.last_activity_at = now;
    }
}
