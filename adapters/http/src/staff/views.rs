//! What the staff endpoints answer: conversations, users and messages as the team reads them.
//!
//! WhatsApp numbers are masked (`+1415•••0100`): the team recognises a patient by name and the
//! last digits; the full number is only in a data export.

use chrono::{DateTime, Utc};
use poem_openapi::types::Example;
use poem_openapi::{Enum, Object};
use uuid::Uuid;
use whatsapp_agent::domain::{
    Channel, ConversationState, Direction, Media, MediaKind, Message, User,
};
use whatsapp_agent::ports::{ConversationSummary, FiledMessage};

use crate::chat::example_ids;
use crate::conversations::ConversationStateView;

/// Characters of a last message's body shown in a listing.
const PREVIEW_CHARS: usize = 200;

/// Where a user talks to us from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum ChannelView {
    /// The app-chat API (`/chat/`, `/chat/stream`).
    Chat,
    /// WhatsApp.
    Whatsapp,
}

impl From<Channel> for ChannelView {
    fn from(channel: Channel) -> Self {
        match channel {
            Channel::Chat => Self::Chat,
            Channel::WhatsApp => Self::Whatsapp,
        }
    }
}

impl From<ChannelView> for Channel {
    fn from(channel: ChannelView) -> Self {
        match channel {
            ChannelView::Chat => Channel::Chat,
            ChannelView::Whatsapp => Channel::WhatsApp,
        }
    }
}

impl From<ConversationStateView> for ConversationState {
    fn from(state: ConversationStateView) -> Self {
        match state {
            ConversationStateView::Bot => ConversationState::Bot,
            ConversationStateView::WaitingForHuman => ConversationState::WaitingForHuman,
        }
    }
}

/// Whether the user wrote the message or it was written to them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum DirectionView {
    Incoming,
    Outgoing,
}

impl From<Direction> for DirectionView {
    fn from(direction: Direction) -> Self {
        match direction {
            Direction::Incoming => Self::Incoming,
            Direction::Outgoing => Self::Outgoing,
        }
    }
}

/// A user, as the team sees them.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct StaffUserView {
    /// Id of the user row; `GET /users/{user}/messages` takes it.
    pub id: Uuid,
    /// `chat_{user_id}` for app-chat users; for WhatsApp users the number with its middle
    /// digits masked, e.g. `+1415•••0100`.
    pub identity: String,
    pub channel: ChannelView,
    /// The name the user's WhatsApp profile shows, when known.
    #[oai(skip_serializing_if_is_none)]
    pub display_name: Option<String>,
}

impl Example for StaffUserView {
    fn example() -> Self {
        Self {
            id: example_ids::USER,
            identity: "+1415•••0100".into(),
            channel: ChannelView::Whatsapp,
            display_name: Some("Ana".into()),
        }
    }
}

impl From<&User> for StaffUserView {
    fn from(user: &User) -> Self {
        Self {
            id: user.id.0,
            identity: match user.channel {
                Channel::WhatsApp => mask(&user.phone_number),
                Channel::Chat => user.phone_number.clone(),
            },
            channel: user.channel.into(),
            display_name: user.display_name.clone(),
        }
    }
}

/// `+14155550100` → `+1415•••0100`: the country and area code and the last four digits.
fn mask(number: &str) -> String {
    let chars: Vec<char> = number.chars().collect();
    let tail: String = chars[chars.len().saturating_sub(4)..].iter().collect();
    if chars.len() > 9 {
        let head: String = chars[..5].iter().collect();
        format!("{head}•••{tail}")
    } else {
        format!("•••{tail}")
    }
}

/// The newest message of a conversation, shortened.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct LastMessageView {
    pub id: Uuid,
    pub direction: DirectionView,
    /// The first 200 characters of the text, with `…` when it is longer.
    pub body: String,
    /// Who wrote an outgoing message: an agent (`anna`), `system`, or a person (`human:<name>`).
    #[oai(skip_serializing_if_is_none)]
    pub agent: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl Example for LastMessageView {
    fn example() -> Self {
        Self {
            id: example_ids::INCOMING,
            direction: DirectionView::Incoming,
            body: "I have crushing chest pain and can't breathe".into(),
            agent: None,
            created_at: example_ids::time(),
        }
    }
}

impl From<&Message> for LastMessageView {
    fn from(m: &Message) -> Self {
        let body = if m.body.chars().count() > PREVIEW_CHARS {
            let mut short: String = m.body.chars().take(PREVIEW_CHARS).collect();
            short.push('…');
            short
        } else {
            m.body.clone()
        };
        Self {
            id: m.id.0,
            direction: m.direction.into(),
            body,
            agent: m.agent.clone(),
            created_at: m.created_at,
        }
    }
}

/// A conversation as the inbox lists it.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct ConversationSummaryView {
    pub id: Uuid,
    pub user: StaffUserView,
    /// Who answers: the bot, or a person of the team (the bot is silent).
    pub state: ConversationStateView,
    /// The agent that answers the next message while the bot has it.
    pub active_agent: String,
    /// Why the conversation needs attention (a red flag such as `chest_pain`), if it does.
    #[oai(skip_serializing_if_is_none)]
    pub flag_reason: Option<String>,
    /// Absent while the conversation has no message.
    #[oai(skip_serializing_if_is_none)]
    pub last_message: Option<LastMessageView>,
    /// Messages from the user since the team last opened the conversation.
    pub unread: u64,
    pub started_at: DateTime<Utc>,
    pub last_activity_at: DateTime<Utc>,
    /// Set once the conversation is over (inactivity or `/reset`).
    #[oai(skip_serializing_if_is_none)]
    pub ended_at: Option<DateTime<Utc>>,
}

impl Example for ConversationSummaryView {
    fn example() -> Self {
        Self {
            id: example_ids::CONVERSATION,
            user: StaffUserView::example(),
            state: ConversationStateView::WaitingForHuman,
            active_agent: "anna".into(),
            flag_reason: Some("chest_pain".into()),
            last_message: Some(LastMessageView::example()),
            unread: 1,
            started_at: example_ids::time(),
            last_activity_at: example_ids::time(),
            ended_at: None,
        }
    }
}

impl From<&ConversationSummary> for ConversationSummaryView {
    fn from(s: &ConversationSummary) -> Self {
        let c = &s.conversation;
        Self {
            id: c.id.0,
            user: (&s.user).into(),
            state: c.state.into(),
            active_agent: c.active_agent.clone(),
            flag_reason: c.flag_reason.clone(),
            last_message: s.last_message.as_ref().map(Into::into),
            unread: s.unread,
            started_at: c.started_at,
            last_activity_at: c.last_activity_at,
            ended_at: c.ended_at,
        }
    }
}

/// What an attachment is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum MediaKindView {
    Image,
    Audio,
    Other,
}

/// An attachment of a message.
#[derive(Debug, Clone, Object)]
pub struct MediaView {
    pub url: String,
    pub kind: MediaKindView,
    #[oai(skip_serializing_if_is_none)]
    pub content_type: Option<String>,
    /// The text of a voice note, once transcribed.
    #[oai(skip_serializing_if_is_none)]
    pub transcript: Option<String>,
}

impl From<&Media> for MediaView {
    fn from(m: &Media) -> Self {
        Self {
            url: m.url.clone(),
            kind: match m.kind {
                MediaKind::Image => MediaKindView::Image,
                MediaKind::Audio => MediaKindView::Audio,
                MediaKind::Other => MediaKindView::Other,
            },
            content_type: m.content_type.clone(),
            transcript: m.transcript.clone(),
        }
    }
}

/// A stored message, whole.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct StaffMessageView {
    pub id: Uuid,
    /// The conversation it belongs to (absent for messages stored before conversations were).
    #[oai(skip_serializing_if_is_none)]
    pub conversation_id: Option<Uuid>,
    pub direction: DirectionView,
    /// Who wrote an outgoing message: an agent (`anna`), `system`, or a person (`human:<name>`).
    #[oai(skip_serializing_if_is_none)]
    pub agent: Option<String>,
    pub body: String,
    pub media: Vec<MediaView>,
    /// Of outgoing WhatsApp messages: `queued`, `sent`, `delivered`, `read`, `failed` or
    /// `undelivered`, as the provider last reported.
    #[oai(skip_serializing_if_is_none)]
    pub delivery_status: Option<String>,
    /// Why the message is incomplete or was not delivered.
    #[oai(skip_serializing_if_is_none)]
    pub error: Option<String>,
    /// The provider's id (a WhatsApp message SID).
    #[oai(skip_serializing_if_is_none)]
    pub provider_message_id: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl Example for StaffMessageView {
    fn example() -> Self {
        Self {
            id: example_ids::OUTGOING,
            conversation_id: Some(example_ids::CONVERSATION),
            direction: DirectionView::Outgoing,
            agent: Some("human:Dr Ruiz".into()),
            body: "This is Dr Ruiz. Please call 112 now; I am calling you as well.".into(),
            media: Vec::new(),
            delivery_status: Some("sent".into()),
            error: None,
            provider_message_id: Some("SM0123456789abcdef0123456789abcdef".into()),
            created_at: example_ids::time(),
        }
    }
}

impl StaffMessageView {
    pub fn new(m: &Message, conversation_id: Option<Uuid>) -> Self {
        Self {
            id: m.id.0,
            conversation_id,
            direction: m.direction.into(),
            agent: m.agent.clone(),
            body: m.body.clone(),
            media: m.media.iter().map(Into::into).collect(),
            delivery_status: m.delivery_status.clone(),
            error: m.error.clone(),
            provider_message_id: m.provider_message_id.clone(),
            created_at: m.created_at,
        }
    }
}

impl From<&FiledMessage> for StaffMessageView {
    fn from(f: &FiledMessage) -> Self {
        Self::new(&f.message, f.conversation.map(|c| c.0))
    }
}

/// A page of conversations, most recently active first.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct ConversationListView {
    pub conversations: Vec<ConversationSummaryView>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    #[oai(nullable)]
    pub next_cursor: Option<String>,
}

impl Example for ConversationListView {
    fn example() -> Self {
        Self {
            conversations: vec![ConversationSummaryView::example()],
            next_cursor: None,
        }
    }
}

/// One conversation and a page of its messages, newest first.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct ConversationDetailView {
    pub conversation: ConversationSummaryView,
    pub messages: Vec<StaffMessageView>,
    /// Pass as `cursor` for older messages; `null` on the last page.
    #[oai(nullable)]
    pub next_cursor: Option<String>,
}

impl Example for ConversationDetailView {
    fn example() -> Self {
        Self {
            conversation: ConversationSummaryView::example(),
            messages: vec![StaffMessageView::example()],
            next_cursor: None,
        }
    }
}

/// One user and a page of their messages across conversations, newest first.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct UserMessagesView {
    pub user: StaffUserView,
    pub messages: Vec<StaffMessageView>,
    /// Pass as `cursor` for older messages; `null` on the last page.
    #[oai(nullable)]
    pub next_cursor: Option<String>,
}

impl Example for UserMessagesView {
    fn example() -> Self {
        Self {
            user: StaffUserView::example(),
            messages: vec![StaffMessageView::example()],
            next_cursor: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_show_their_prefix_and_last_four_digits() {
        assert_eq!(mask("+14155550100"), "+1415•••0100");
        assert_eq!(mask("+4930123"), "•••0123");
        assert_eq!(mask("12"), "•••12");
    }
}
