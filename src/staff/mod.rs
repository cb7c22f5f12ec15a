//! Staff operations: what the clinic's team does with conversations, behind the `admin` scope.
//!
//! Read the inbox (conversations, one conversation, one user's messages), take a conversation
//! over, give it back to the bot, reply as a person, and send a failed WhatsApp reply again (a
//! bot's through the job that sends it). Every operation checks its caller first, so no
//! transport can forget to.

mod changes;
mod error;
mod page;
mod reply;
mod retry;
mod service;

pub use changes::{Change, ChangeFeed, MAX_CHANGES, OVERLAP};
pub use error::StaffError;
pub use page::{Listed, DEFAULT_LIMIT, MAX_LIMIT};
pub use reply::{PersonReply, MAX_AUTHOR_CHARS, MAX_REPLY_CHARS, STAFF_AUTHOR};
pub use service::{ConversationQuery, ConversationWithMessages, Staff, UserMessages};
