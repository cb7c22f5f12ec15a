//! `OpenAiClient`: the [`LlmPort`](whatsapp_agent::ports::LlmPort) over the OpenAI-compatible
//! Chat Completions and audio transcription APIs.
//!
//! Works with OpenAI and compatible servers (vLLM, Ollama, llama.cpp server, llama-cpp-python,
//! LM Studio, LiteLLM). Capability flags switch off tools, vision or stream usage for servers
//! that lack them; limits the settings do not declare are learned at run time (see `quirks`).
//! Failures map to `LlmError` variants that say whether a retry can help; retries back off with
//! jitter and honour `Retry-After`.

mod client;
mod error;
mod fallback;
mod quirks;
mod retry;
mod settings;
mod stream;
mod wire;

pub use client::OpenAiClient;
pub use settings::{OpenAiSettings, TokenLimitField};
pub use wire::chat_request_body;
