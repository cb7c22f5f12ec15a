//! Core of whatsapp-agent: the domain types, the ports the outside world plugs into, and the use
//! cases that run a conversation turn.
//!
//! This crate performs no I/O of its own. Adapters (HTTP, SQL, LLM vendors, messaging providers)
//! implement the traits in [`ports`] and are wired together by the server crate, so the backend
//! behind every port is chosen at run time.

pub mod access;
pub mod agent;
pub mod chat;
pub mod domain;
pub mod inbox;
pub mod ports;
pub mod rights;
pub mod staff;

pub use chat::{
    ChatConfig, ChatError, ChatInput, ChatService, ReplyStream, StreamEvent, TurnOutcome,
};
