//! Messages, their direction and their media.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Channel, MessageId, UserId};

/// Whether a message came from the user or from the assistant (the seed's column values).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Incoming,
    Outgoing,
}

impl Direction {
    /// The stable name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Incoming => "incoming",
            Direction::Outgoing => "outgoing",
        }
    }

    /// Parses a stored name.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "incoming" => Some(Direction::Incoming),
            "outgoing" => Some(Direction::Outgoing),
            _ => None,
        }
    }
}

/// What a media attachment is, as far as the assistant cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaKind {
    Image,
    Audio,
    Other,
}

/// One attachment of a message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Media {
    pub url: String,
    pub kind: MediaKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// The text of a voice note, once transcribed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transcript: Option<String>,
}

impl Media {
    pub fn image(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            kind: MediaKind::Image,
            content_type: None,
            transcript: None,
        }
    }

    pub fn audio(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            kind: MediaKind::Audio,
            content_type: None,
            transcript: None,
        }
    }
}

/// Text as it may be stored: NUL characters, which no SQL text column accepts (PostgreSQL
/// refuses them outright), become U+FFFD. Applied to text from outside that is not validated
/// away first (webhook parameters, model output, transcripts).
pub fn storable_text(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains('\0') {
        std::borrow::Cow::Owned(text.replace('\0', "\u{FFFD}"))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

/// The URL of the first image, which the seed's `media_url` column holds.
pub fn first_image_url(media: &[Media]) -> Option<&str> {
    media
        .iter()
        .find(|m| m.kind == MediaKind::Image)
        .map(|m| m.url.as_str())
}

/// A stored message.
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    pub id: MessageId,
    pub user_id: UserId,
    pub direction: Direction,
    pub body: String,
    pub media: Vec<Media>,
    pub channel: Channel,
    /// The provider's id for the message (e.g. a WhatsApp message SID), unique per channel.
    pub provider_message_id: Option<String>,
    pub delivery_status: Option<String>,
    /// Which agent wrote an outgoing message.
    pub agent: Option<String>,
    /// Why a message is incomplete or failed, when it is.
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl Message {
    /// The URL of the first image attachment.
    pub fn media_url(&self) -> Option<&str> {
        first_image_url(&self.media)
    }
}

/// A message to append to the store.
#[derive(Clone, Debug, PartialEq)]
pub struct NewMessage {
    pub id: MessageId,
    pub user_id: UserId,
    pub direction: Direction,
    pub body: String,
    pub media: Vec<Media>,
    pub channel: Channel,
    pub provider_message_id: Option<String>,
    pub agent: Option<String>,
    pub error: Option<String>,
}

impl NewMessage {
    /// A message with a fresh id and no provider metadata.
    pub fn new(user_id: UserId, channel: Channel, direction: Direction, body: String) -> Self {
        Self {
            id: MessageId::new(),
            user_id,
            direction,
            body,
            media: Vec::new(),
            channel,
            provider_message_id: None,
            agent: None,
            error: None,
        }
    }

    /// The URL of the first image attachment.
    pub fn media_url(&self) -> Option<&str> {
        first_image_url(&self.media)
    }
}
