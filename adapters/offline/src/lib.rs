//! Embedded local defaults, for runs with no keys and for tests.
//!
//! [`OfflineLlm`] is a deterministic echo model whose replies start with `[offline]`;
//! [`LoggingMessenger`] logs replies instead of sending them. The server only wires these in
//! when no real provider is configured, and says so at start-up.

mod llm;
mod messenger;

pub use llm::{OfflineLlm, OFFLINE_PREFIX};
pub use messenger::LoggingMessenger;
