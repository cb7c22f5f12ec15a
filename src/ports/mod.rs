//! Ports: the traits adapters implement. Each is used as `Arc<dyn Port>` so the backend is picked
//! at run time from configuration.

mod llm;
mod messenger;
mod store;

pub use llm::{LlmError, LlmMessage, LlmPort, LlmReply, LlmRequest, Role, TextStream, Usage};
pub use messenger::{Messenger, MessengerError, OutboundMessage};
pub use store::{MessageStore, StoreError};
