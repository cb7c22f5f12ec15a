//! What a clinic configures about its agents: who they are, the red flags and fixed replies per
//! language, and how much history the model sees.

/// One agent: the manager or a specialist.
#[derive(Clone, Debug, PartialEq)]
pub struct AgentProfile {
    /// Stable id: recorded on the messages the agent writes and used in its tool name
    /// (`transfer_to_<id>`), so it holds only `a-z`, `0-9` and `_`.
    pub id: String,
    pub name: String,
    /// When to hand a conversation to this agent; shown to the manager's model.
    pub description: String,
    /// The agent's system prompt.
    pub instructions: String,
}

/// Emergency patterns that share a reason, e.g. `chest_pain`.
#[derive(Clone, Debug, PartialEq)]
pub struct RedFlag {
    /// Recorded on the flagged conversation.
    pub reason: String,
    /// Phrases matched case- and accent-insensitively on whole words; a word ending in `*`
    /// matches any word it begins (`suicid*` matches "suicidal").
    pub patterns: Vec<String>,
}

/// Everything that depends on the user's language.
#[derive(Clone, Debug, PartialEq)]
pub struct LanguagePack {
    /// ISO 639-1 code, e.g. `en`.
    pub code: String,
    pub red_flags: Vec<RedFlag>,
    /// The fixed reply to a red flag; includes the emergency number.
    pub emergency_reply: String,
    /// Phrases with which a user asks for a person (same matching as red flags).
    pub human_phrases: Vec<String>,
    /// The one message a user gets when a person takes over.
    pub human_notice: String,
    /// The confirmation of a conversation reset.
    pub reset_reply: String,
}

/// How much of the conversation the model sees, and when a conversation ends.
#[derive(Clone, Debug, PartialEq)]
pub struct MemoryConfig {
    /// A conversation ends after this long without a message.
    pub session_timeout: std::time::Duration,
    /// At most this many earlier messages go to the model.
    pub max_messages: usize,
    /// And at most this many characters of them; the oldest are dropped whole.
    pub max_chars: usize,
}

/// The manager, its specialists and the rules around them.
#[derive(Clone, Debug, PartialEq)]
pub struct AgentsConfig {
    pub manager: AgentProfile,
    pub specialists: Vec<AgentProfile>,
    /// The first is the default, used when the user's language is unknown.
    pub languages: Vec<LanguagePack>,
    pub memory: MemoryConfig,
    /// Hand-offs allowed in one turn; the last agent then answers without tools.
    pub max_handoffs: usize,
    /// The message that starts a new conversation, e.g. `/reset`.
    pub reset_command: String,
}

impl AgentsConfig {
    /// The agent with this id, or the manager when the id is unknown (e.g. a specialist
    /// removed from the configuration while a conversation was with it).
    pub fn agent(&self, id: &str) -> &AgentProfile {
        self.specialists
            .iter()
            .find(|a| a.id == id)
            .unwrap_or(&self.manager)
    }

    /// The language pack for `code`, or the default one.
    ///
    /// # Panics
    /// Never for a configuration with at least one language, which loaders must ensure.
    pub fn language(&self, code: Option<&str>) -> &LanguagePack {
        code.and_then(|code| {
            let code = code.trim().to_ascii_lowercase();
            self.languages.iter().find(|l| l.code == code)
        })
        .unwrap_or(&self.languages[0])
    }

    /// Whether `text` is the reset command.
    pub fn is_reset(&self, text: &str) -> bool {
        text.trim().eq_ignore_ascii_case(self.reset_command.trim())
    }
}
