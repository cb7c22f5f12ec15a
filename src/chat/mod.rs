//! The chat use case: one conversation turn from a user's message to the stored reply.

mod error;
mod input;
mod media;
mod prompt;
mod service;
mod stream;

pub use error::ChatError;
pub use input::{ChatInput, InputLimits};
pub use prompt::Persona;
pub use service::{ChatConfig, ChatService, TurnOutcome};
pub use stream::{ReplyStream, StreamEvent};
