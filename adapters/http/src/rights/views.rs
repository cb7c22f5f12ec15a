//! The export document and the erasure answer.

use chrono::{DateTime, Utc};
use poem_openapi::types::Example;
use poem_openapi::{Enum, Object};
use uuid::Uuid;
use whatsapp_agent::domain::{Channel, Conversation, Direction, Media, MediaKind, User};
use whatsapp_agent::ports::{DeliveryRecord, ErasureReport, FiledMessage, UserExport};

use crate::chat::example_ids;
use crate::conversations::ConversationStateView;

/// Where a user talks to the service from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum ExportChannel {
    /// The app-chat API.
    Chat,
    /// WhatsApp.
    Whatsapp,
}

impl From<Channel> for ExportChannel {
    fn from(channel: Channel) -> Self {
        match channel {
            Channel::Chat => Self::Chat,
            Channel::WhatsApp => Self::Whatsapp,
        }
    }
}

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum ExportDirection {
    /// From the user.
    Incoming,
    /// From the assistant or a person of the team.
    Outgoing,
}

/// What an attachment is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum ExportMediaKind {
    Image,
    Audio,
    Other,
}

/// The user, with their full identity.
#[derive(Debug, Clone, Object)]
pub struct ExportedUser {
    pub uuid: Uuid,
    /// The phone number in E.164 (`+14155550100`) for WhatsApp, `chat_{user_id}` for app chat.
    pub identity: String,
    #[oai(skip_serializing_if_is_none)]
    pub display_name: Option<String>,
    pub channel: ExportChannel,
    pub created_at: DateTime<Utc>,
}

/// One conversation of the user.
#[derive(Debug, Clone, Object)]
pub struct ExportedConversation {
    pub id: Uuid,
    pub state: ConversationStateView,
    pub active_agent: String,
    #[oai(skip_serializing_if_is_none)]
    pub flag_reason: Option<String>,
    pub started_at: DateTime<Utc>,
    pub last_activity_at: DateTime<Utc>,
    #[oai(skip_serializing_if_is_none)]
    pub ended_at: Option<DateTime<Utc>>,
}

/// An attachment's metadata (the file itself stays with its host).
#[derive(Debug, Clone, Object)]
pub struct ExportedMedia {
    pub url: String,
    pub kind: ExportMediaKind,
    #[oai(skip_serializing_if_is_none)]
    pub content_type: Option<String>,
    /// What a voice note said, once transcribed.
    #[oai(skip_serializing_if_is_none)]
    pub transcript: Option<String>,
}

/// One message, either way.
#[derive(Debug, Clone, Object)]
pub struct ExportedMessage {
    pub id: Uuid,
    #[oai(skip_serializing_if_is_none)]
    pub conversation_id: Option<Uuid>,
    pub direction: ExportDirection,
    pub channel: ExportChannel,
    pub body: String,
    pub media: Vec<ExportedMedia>,
    /// The provider's id (a WhatsApp message SID).
    #[oai(skip_serializing_if_is_none)]
    pub provider_message_id: Option<String>,
    /// How far a WhatsApp reply got: `sent`, `delivered`, `read`, `failed`, …
    #[oai(skip_serializing_if_is_none)]
    pub delivery_status: Option<String>,
    /// Who wrote an outgoing message: an agent, or `human:<name>`.
    #[oai(skip_serializing_if_is_none)]
    pub agent: Option<String>,
    /// Why the message is incomplete or failed, when it is.
    #[oai(skip_serializing_if_is_none)]
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// What the provider reported about one sent part of a reply.
#[derive(Debug, Clone, Object)]
pub struct ExportedDelivery {
    pub provider_message_id: String,
    #[oai(skip_serializing_if_is_none)]
    pub message_id: Option<Uuid>,
    /// Which part of a split reply, from 0.
    #[oai(skip_serializing_if_is_none)]
    pub part: Option<i32>,
    #[oai(skip_serializing_if_is_none)]
    pub status: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub error_code: Option<String>,
    pub updated_at: DateTime<Utc>,
}

/// Everything stored about one user, oldest first.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct UserExportDocument {
    pub user: ExportedUser,
    pub conversations: Vec<ExportedConversation>,
    /// With media metadata, transcripts, delivery status and errors.
    pub messages: Vec<ExportedMessage>,
    pub deliveries: Vec<ExportedDelivery>,
}

impl From<User> for ExportedUser {
    fn from(user: User) -> Self {
        Self {
            uuid: user.id.0,
            identity: user.phone_number,
            display_name: user.display_name,
            channel: user.channel.into(),
            created_at: user.created_at,
        }
    }
}

impl From<Conversation> for ExportedConversation {
    fn from(c: Conversation) -> Self {
        Self {
            id: c.id.0,
            state: c.state.into(),
            active_agent: c.active_agent,
            flag_reason: c.flag_reason,
            started_at: c.started_at,
            last_activity_at: c.last_activity_at,
            ended_at: c.ended_at,
        }
    }
}

impl From<Media> for ExportedMedia {
    fn from(media: Media) -> Self {
        Self {
            url: media.url,
            kind: match media.kind {
                MediaKind::Image => ExportMediaKind::Image,
                MediaKind::Audio => ExportMediaKind::Audio,
                MediaKind::Other => ExportMediaKind::Other,
            },
            content_type: media.content_type,
            transcript: media.transcript,
        }
    }
}

impl From<FiledMessage> for ExportedMessage {
    fn from(filed: FiledMessage) -> Self {
        let m = filed.message;
        Self {
            id: m.id.0,
            conversation_id: filed.conversation.map(|c| c.0),
            direction: match m.direction {
                Direction::Incoming => ExportDirection::Incoming,
                Direction::Outgoing => ExportDirection::Outgoing,
            },
            channel: m.channel.into(),
            body: m.body,
            media: m.media.into_iter().map(Into::into).collect(),
            provider_message_id: m.provider_message_id,
            delivery_status: m.delivery_status,
            agent: m.agent,
            error: m.error,
            created_at: m.created_at,
        }
    }
}

impl From<DeliveryRecord> for ExportedDelivery {
    fn from(d: DeliveryRecord) -> Self {
        Self {
            provider_message_id: d.provider_message_id,
            message_id: d.message_id,
            part: d.part,
            status: d.status,
            error_code: d.error_code,
            updated_at: d.updated_at,
        }
    }
}

impl From<UserExport> for UserExportDocument {
    fn from(export: UserExport) -> Self {
        Self {
            user: export.user.into(),
            conversations: export.conversations.into_iter().map(Into::into).collect(),
            messages: export.messages.into_iter().map(Into::into).collect(),
            deliveries: export.deliveries.into_iter().map(Into::into).collect(),
        }
    }
}

impl Example for UserExportDocument {
    fn example() -> Self {
        let at = example_ids::time();
        Self {
            user: ExportedUser {
                uuid: example_ids::USER,
                identity: "+14155550100".into(),
                display_name: Some("Alice".into()),
                channel: ExportChannel::Whatsapp,
                created_at: at,
            },
            conversations: vec![ExportedConversation {
                id: example_ids::CONVERSATION,
                state: ConversationStateView::Bot,
                active_agent: "anna".into(),
                flag_reason: None,
                started_at: at,
                last_activity_at: at,
                ended_at: None,
            }],
            messages: vec![
                ExportedMessage {
                    id: example_ids::INCOMING,
                    conversation_id: Some(example_ids::CONVERSATION),
                    direction: ExportDirection::Incoming,
                    channel: ExportChannel::Whatsapp,
                    body: String::new(),
                    media: vec![ExportedMedia {
                        url:
                            "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1"
                                .into(),
                        kind: ExportMediaKind::Audio,
                        content_type: Some("audio/ogg".into()),
                        transcript: Some("Can I book an appointment for Monday?".into()),
                    }],
                    provider_message_id: Some("SM0123456789abcdef0123456789abcdef".into()),
                    delivery_status: None,
                    agent: None,
                    error: None,
                    created_at: at,
                },
                ExportedMessage {
                    id: example_ids::OUTGOING,
                    conversation_id: Some(example_ids::CONVERSATION),
                    direction: ExportDirection::Outgoing,
                    channel: ExportChannel::Whatsapp,
                    body: "Of course. Which time suits you on Monday?".into(),
                    media: vec![],
                    provider_message_id: Some("SMfedcba9876543210fedcba9876543210".into()),
                    delivery_status: Some("delivered".into()),
                    agent: Some("appointments".into()),
                    error: None,
                    created_at: at,
                },
            ],
            deliveries: vec![ExportedDelivery {
                provider_message_id: "SMfedcba9876543210fedcba9876543210".into(),
                message_id: Some(example_ids::OUTGOING),
                part: Some(0),
                status: Some("delivered".into()),
                error_code: None,
                updated_at: at,
            }],
        }
    }
}

/// What an erasure removed.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct ErasureResult {
    /// Always `true`: every row holding the user's data is gone.
    pub erased: bool,
    /// Rows removed over every table (user, messages, raw parameters, conversations, jobs,
    /// deliveries).
    pub rows: u64,
}

impl From<ErasureReport> for ErasureResult {
    fn from(report: ErasureReport) -> Self {
        Self {
            erased: true,
            rows: report.rows,
        }
    }
}

impl Example for ErasureResult {
    fn example() -> Self {
        Self {
            erased: true,
            rows: 14,
        }
    }
}
