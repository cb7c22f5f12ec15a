//! What a clinic configures about its agents: who they are, the red flags and fixed replies per
//! language, and how much history the model sees.

use super::Triage;

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
    /// Token limit, tool choice and what to do with an unfinished reply.
    pub model: super::ModelOptions,
}

/// Emergency rules that share a reason (a triage category), e.g. `chest_pain`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RedFlag {
    /// Recorded on the flagged conversation; one of [`TriageConfig::categories`].
    pub reason: String,
    /// Rules, any of which raises the flag. A rule is parts joined by `+` that must all occur
    /// within [`TriageConfig::window`] words of each other, in any order. A part is a phrase
    /// (consecutive words; a word ending in `*` matches any word it begins) or `{concept}`,
    /// any term of a concept of the same language. A part starting with `!` must *not* occur
    /// near the others. A rule ending in `~N` needs its parts within `N` words instead.
    pub patterns: Vec<String>,
}

/// A named set of terms that mean the same thing, e.g. `chest`: "chest", "breastbone".
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Concept {
    pub name: String,
    /// Phrases, matched like a rule's phrases.
    pub terms: Vec<String>,
}

/// Everything that depends on the user's language.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LanguagePack {
    /// ISO 639-1 code, e.g. `en`.
    pub code: String,
    pub red_flags: Vec<RedFlag>,
    /// The terms red-flag rules refer to as `{name}`.
    pub concepts: Vec<Concept>,
    /// Words that negate what follows them ("no", "without", "don't"): a red flag only
    /// mentioned as negated ("no chest pain") raises nothing.
    pub negations: Vec<String>,
    /// Words after which a negation no longer reaches ("but", "now").
    pub negation_ends: Vec<String>,
    /// Frequent words of the language, to tell which language a message is in.
    pub common_words: Vec<String>,
    /// Real words never read as a misspelling of a term ("breast" is not "breath").
    pub not_typos: Vec<String>,
    /// The fixed reply to a red flag; includes the emergency number.
    pub emergency_reply: String,
    /// Replies for particular reasons (a crisis line for `self_harm`), instead of
    /// `emergency_reply`; each includes the emergency number too.
    pub replies: Vec<(String, String)>,
    /// Phrases with which a user asks for a person (same matching as red flags).
    pub human_phrases: Vec<String>,
    /// The one message a user gets when a person takes over.
    pub human_notice: String,
    /// The confirmation of a conversation reset.
    pub reset_reply: String,
    /// The fixed reply sent instead of silence when the model cannot answer for good: the
    /// assistant cannot answer now, and the emergency number. Empty: none.
    pub fallback: String,
    /// The notes and fallback reply for unfinished replies in this language, when it has its
    /// own; otherwise [`AgentsConfig::cut_off`].
    pub cut_off: Option<super::CutOffReplies>,
}

impl LanguagePack {
    /// The fixed reply to a red flag raised for `reason`.
    pub fn emergency_reply_for(&self, reason: &str) -> &str {
        self.replies
            .iter()
            .find(|(r, _)| r == reason)
            .map_or(self.emergency_reply.as_str(), |(_, reply)| reply.as_str())
    }
}

/// How red-flag rules are matched, for every language alike.
#[derive(Clone, Debug, PartialEq)]
pub struct TriageConfig {
    /// Every reason a red flag may have, most urgent first: when a message raises several,
    /// the first listed is recorded and answered (`self_harm` first, for its crisis line).
    pub categories: Vec<String>,
    /// The parts of a rule must all occur within this many words.
    pub window: usize,
    /// How many words before a term a negation may stand.
    pub negation_reach: usize,
    /// Words at least this long also match with one typo (a letter missing, added, changed or
    /// two swapped, never the first); 0 turns this off.
    pub typo_min_len: usize,
}

impl Default for TriageConfig {
    fn default() -> Self {
        Self {
            categories: Vec::new(),
            window: 12,
            negation_reach: 3,
            typo_min_len: 5,
        }
    }
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
    /// The red-flag and person-request rules of every language, ready to match.
    pub triage: Triage,
    pub memory: MemoryConfig,
    /// Hand-offs allowed in one turn; the last agent then answers without tools.
    pub max_handoffs: usize,
    /// The message that starts a new conversation, e.g. `/reset`.
    pub reset_command: String,
    /// The notes and fallback reply for replies the model did not finish.
    pub cut_off: super::CutOffReplies,
}

impl AgentsConfig {
    /// The texts for an unfinished reply to the user's `text`: in the language it is written
    /// in, when that language has its own.
    pub fn cut_off_replies(&self, text: &str) -> &super::CutOffReplies {
        self.triage
            .language_of(text)
            .and_then(|code| self.languages.iter().find(|l| l.code == code))
            .and_then(|l| l.cut_off.as_ref())
            .unwrap_or(&self.cut_off)
    }

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
