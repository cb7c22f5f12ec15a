//! Users and the channels they reach us through.

use chrono::{DateTime, Utc};

use super::UserId;

/// Prefix that keeps app-chat users apart from WhatsApp numbers in `users.phone_number`.
pub const CHAT_USER_PREFIX: &str = "chat_";
/// The `user_id` an app-chat request gets when it names none (the seed's contract).
pub const DEFAULT_CHAT_USER_ID: &str = "chat_user";

/// Where a user talks to us from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Channel {
    /// The HTTP chat API (`/chat/`, `/chat/stream`).
    Chat,
    /// WhatsApp through the messaging provider.
    WhatsApp,
}

impl Channel {
    /// The stable name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Chat => "chat",
            Channel::WhatsApp => "whatsapp",
        }
    }

    /// Parses a stored name.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "chat" => Some(Channel::Chat),
            "whatsapp" => Some(Channel::WhatsApp),
            _ => None,
        }
    }
}

/// A stored user.
#[derive(Clone, Debug, PartialEq)]
pub struct User {
    pub id: UserId,
    /// The identity key: E.164 for WhatsApp users, `chat_{user_id}` for chat users.
    pub phone_number: String,
    pub display_name: Option<String>,
    pub channel: Channel,
    pub created_at: DateTime<Utc>,
}

/// What is needed to find or create a user.
#[derive(Clone, Debug, PartialEq)]
pub struct NewUser {
    pub phone_number: String,
    pub display_name: Option<String>,
    pub channel: Channel,
}

impl NewUser {
    /// An app-chat user, stored as `chat_{user_id}`.
    pub fn chat(user_id: &str) -> Self {
        Self {
            phone_number: format!("{CHAT_USER_PREFIX}{user_id}"),
            display_name: None,
            channel: Channel::Chat,
        }
    }
}
