//! Domain vocabulary: users, messages and their media, independent of storage or transport.

mod ids;
mod message;
mod user;

pub use ids::{MessageId, UserId};
pub use message::{first_image_url, Direction, Media, MediaKind, Message, NewMessage};
pub use user::{Channel, NewUser, User, CHAT_USER_PREFIX, DEFAULT_CHAT_USER_ID};
