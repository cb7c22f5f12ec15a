//! Hand-written fakes and a harness that wires them into a `ChatService`. Shared by the chat and
//! agent test binaries, so not every helper is used by both.
#![allow(dead_code, unused_imports)]

mod clock;
mod memory_store;
mod no_fetch;
mod scripted_llm;

use std::sync::Arc;
use std::time::Duration;

use whatsapp_agent::agent::{
    AgentProfile, AgentsConfig, CutOffReplies, LanguagePack, MemoryConfig, ModelOptions, RedFlag,
    Triage, TriageConfig,
};
use whatsapp_agent::chat::InputLimits;
use whatsapp_agent::ports::{LlmError, LlmReply};
use whatsapp_agent::{ChatConfig, ChatService};

pub use clock::ManualClock;
pub use memory_store::MemoryStore;
pub use no_fetch::NoFetch;
pub use scripted_llm::{calls, ScriptedLlm};

/// The manager every test talks to first.
pub fn persona() -> AgentProfile {
    AgentProfile {
        id: "test-persona".to_string(),
        name: "Tess".to_string(),
        description: String::new(),
        instructions: "You are Tess. Answer in one short sentence.".to_string(),
        model: ModelOptions::default(),
    }
}

fn specialist(id: &str, about: &str) -> AgentProfile {
    AgentProfile {
        id: id.to_string(),
        name: id.to_string(),
        description: about.to_string(),
        instructions: format!("You are the {id} specialist."),
        model: ModelOptions::default(),
    }
}

fn language(code: &str, flags: &[(&str, &[&str])], asks: &[&str], notice: &str) -> LanguagePack {
    LanguagePack {
        code: code.to_string(),
        red_flags: flags
            .iter()
            .map(|(reason, patterns)| RedFlag {
                reason: (*reason).to_string(),
                patterns: patterns.iter().map(|p| (*p).to_string()).collect(),
            })
            .collect(),
        emergency_reply: format!("[{code}] Emergency: call 112 now."),
        human_phrases: asks.iter().map(|p| (*p).to_string()).collect(),
        human_notice: notice.to_string(),
        reset_reply: format!("[{code}] New conversation."),
        common_words: match code {
            "en" => &["the", "i", "to", "a", "for", "want", "my"][..],
            "es" => &["el", "la", "quiero", "una", "para", "de", "mi"][..],
            "de" => &["ich", "der", "die", "und", "mein", "eine"][..],
            _ => &[][..],
        }
        .iter()
        .map(|w| (*w).to_string())
        .collect(),
        ..LanguagePack::default()
    }
}

/// Tess with two specialists, red flags and person requests in English, Spanish and German.
pub fn agents(history_limit: usize) -> AgentsConfig {
    let languages = vec![
        language(
            "en",
            &[
                ("chest_pain", &["chest pain"]),
                ("self_harm", &["suicid*", "kill myself"]),
            ],
            &["talk to a human"],
            "A person of our team will answer you here.",
        ),
        language(
            "es",
            &[("chest_pain", &["dolor en el pecho", "me duele el pecho"])],
            &["hablar con una persona"],
            "Una persona de nuestro equipo te responderá aquí.",
        ),
        language(
            "de",
            &[("breathing", &["keine luft", "atemnot"])],
            &["mit einem menschen sprechen"],
            "Eine Person aus unserem Team antwortet Ihnen hier.",
        ),
    ];
    let triage = TriageConfig {
        categories: ["self_harm", "breathing", "chest_pain"]
            .map(String::from)
            .to_vec(),
        ..TriageConfig::default()
    };
    AgentsConfig {
        triage: Triage::new(&triage, &languages).expect("valid rules"),
        languages,
        manager: persona(),
        specialists: vec![
            specialist("appointments", "booking and opening hours"),
            specialist("medical_info", "general health information"),
        ],
        memory: MemoryConfig {
            session_timeout: Duration::from_secs(30 * 60),
            max_messages: history_limit,
            max_chars: 100_000,
        },
        max_handoffs: 3,
        reset_command: "/reset".to_string(),
        cut_off: CutOffReplies::default(),
    }
}

/// A `ChatService` over an in-memory store, a scripted model, a fetcher that downloads nothing
/// and a clock that only moves when told, with the fakes at hand.
pub struct Harness {
    pub store: Arc<MemoryStore>,
    pub llm: Arc<ScriptedLlm>,
    pub fetcher: Arc<NoFetch>,
    pub clock: Arc<ManualClock>,
    pub service: ChatService,
}

impl Harness {
    /// A service whose model answers with `script`, one entry per call, in order.
    pub fn new(history_limit: usize, script: Vec<Result<String, LlmError>>) -> Self {
        let script = script.into_iter().map(|r| r.map(LlmReply::text)).collect();
        Self::with_agents(agents(history_limit), script)
    }

    /// A service whose model answers every call in `replies` successfully.
    pub fn replying(replies: &[&str]) -> Self {
        Self::new(10, replies.iter().map(|r| Ok(r.to_string())).collect())
    }

    /// A service with these agents whose model answers with `script`, tool calls included.
    pub fn with_agents(agents: AgentsConfig, script: Vec<Result<LlmReply, LlmError>>) -> Self {
        let store = Arc::new(MemoryStore::default());
        let llm = Arc::new(ScriptedLlm::new(Arc::clone(&store), script));
        let fetcher = Arc::new(NoFetch::default());
        let clock = Arc::new(ManualClock::default());
        let config = ChatConfig {
            limits: InputLimits::default(),
            inline_images: false,
        };
        let service = ChatService::new(
            store.clone(),
            store.clone(),
            llm.clone(),
            fetcher.clone(),
            config,
            agents,
        )
        .with_clock(clock.clone());
        Self {
            store,
            llm,
            fetcher,
            clock,
            service,
        }
    }

    /// A service with the default test agents whose model answers with `script`.
    pub fn scripted(script: Vec<LlmReply>) -> Self {
        Self::with_agents(agents(10), script.into_iter().map(Ok).collect())
    }
}
