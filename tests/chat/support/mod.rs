//! Hand-written fakes and a harness that wires them into a `ChatService`.

mod memory_store;
mod no_fetch;
mod scripted_llm;

use std::sync::Arc;

use whatsapp_agent::chat::InputLimits;
use whatsapp_agent::ports::LlmError;
use whatsapp_agent::{ChatConfig, ChatService, Persona};

pub use memory_store::MemoryStore;
pub use no_fetch::NoFetch;
pub use scripted_llm::ScriptedLlm;

/// The persona every test talks to.
pub fn persona() -> Persona {
    Persona {
        id: "test-persona".to_string(),
        name: "Tess".to_string(),
        instructions: "You are Tess. Answer in one short sentence.".to_string(),
    }
}

/// A `ChatService` over an in-memory store, a scripted model and a fetcher that downloads
/// nothing, with the fakes at hand.
pub struct Harness {
    pub store: Arc<MemoryStore>,
    pub llm: Arc<ScriptedLlm>,
    pub fetcher: Arc<NoFetch>,
    pub service: ChatService,
}

impl Harness {
    /// A service whose model answers with `script`, one entry per call, in order.
    pub fn new(history_limit: usize, script: Vec<Result<String, LlmError>>) -> Self {
        let store = Arc::new(MemoryStore::default());
        let llm = Arc::new(ScriptedLlm::new(Arc::clone(&store), script));
        let fetcher = Arc::new(NoFetch::default());
        let config = ChatConfig {
            persona: persona(),
            history_limit,
            limits: InputLimits::default(),
            inline_images: false,
        };
        let service = ChatService::new(store.clone(), llm.clone(), fetcher.clone(), config);
        Self {
            store,
            llm,
            fetcher,
            service,
        }
    }

    /// A service whose model answers every call in `replies` successfully.
    pub fn replying(replies: &[&str]) -> Self {
        Self::new(10, replies.iter().map(|r| Ok(r.to_string())).collect())
    }
}
