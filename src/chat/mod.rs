//! The chat use case: one conversation turn from a user's message to the stored reply. What a
//! turn is, for every channel, is in `turn.rs`.

mod cut_off;
mod error;
mod handoff;
mod input;
mod media;
mod opening;
mod prompt;
mod service;
mod stream;
mod turn;
mod turn_lock;

pub use error::ChatError;
pub use input::{ChatInput, InputLimits};
pub use service::{ChatConfig, ChatService, TurnOutcome};
pub use stream::{ReplyStream, StreamEvent};
