//! The agents that answer: a manager (by default "Anna") who talks to the user and hands the
//! conversation to specialists through tool calls, a red-flag guardrail that answers medical
//! emergencies with a fixed safe reply before any model is asked, the hand-over to a person of
//! the team, and the memory budget of what the model sees.
//!
//! Everything here is pure: the turn itself runs in [`crate::ChatService`] over the ports.

mod config;
mod history;
mod model;
mod tools;
mod triage;

pub use config::{
    AgentProfile, AgentsConfig, Concept, LanguagePack, MemoryConfig, RedFlag, TriageConfig,
};
pub use history::trim;
pub use model::{CutOffPolicy, CutOffReplies, ModelOptions};
pub use tools::{action, tools_for, Action, REQUEST_HUMAN, TRANSFER_BACK, TRANSFER_PREFIX};
pub use triage::{Assessment, RedFlagHit, Triage, TriageError};

/// The `agent` recorded on the fixed emergency reply.
pub const GUARDRAIL_AGENT: &str = "guardrail";
/// The `agent` recorded on fixed service replies: the hand-over notice and the reset confirmation.
pub const SYSTEM_AGENT: &str = "system";
