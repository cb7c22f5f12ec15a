//! Domain vocabulary: users, conversations, messages and their media, independent of storage
//! or transport.

mod conversation;
mod ids;
mod message;
mod user;

pub use conversation::{Conversation, ConversationChange, ConversationState};
pub use ids::{ConversationId, MessageId, UserId};
pub use message::{
    first_image_url, storable_text, Direction, Media, MediaKind, Message, NewMessage,
};
pub use user::{Channel, NewUser, User, CHAT_USER_PREFIX, DEFAULT_CHAT_USER_ID};
