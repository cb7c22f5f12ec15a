//! What each agent asks of its model (a completion-token limit, a tool choice) and what becomes
//! of a reply the model did not finish.

use crate::ports::ToolChoice;

/// What a turn does with a reply cut off by the token limit or a content filter. The stored
/// reply is marked either way.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CutOffPolicy {
    /// Keep the reply as the model left it.
    Keep,
    /// Append a short note saying the reply is incomplete.
    #[default]
    Note,
    /// Answer with the fixed fallback reply instead.
    Fallback,
}

/// The fixed texts for replies the model did not finish.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CutOffReplies {
    /// Appended to a reply that reached the token limit.
    pub length_note: String,
    /// Appended to a reply a content filter stopped.
    pub content_filter_note: String,
    /// Sent instead of an unfinished reply.
    pub fallback_reply: String,
}

impl Default for CutOffReplies {
    fn default() -> Self {
        Self {
            length_note: "(My reply was cut short. Ask me to go on if you need more.)".into(),
            content_filter_note: "(Part of this reply was withheld.)".into(),
            fallback_reply: "Sorry, I could not finish my answer. Could you ask again in other \
                             words? You can also ask to talk to a person of our team."
                .into(),
        }
    }
}

/// How one agent's model is asked, and what happens when it does not finish.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ModelOptions {
    /// Most tokens a reply may use; `None` leaves it to the model server's setting.
    pub max_completion_tokens: Option<u32>,
    /// Overrides the model server's tool choice for this agent.
    pub tool_choice: Option<ToolChoice>,
    pub on_cut_off: CutOffPolicy,
}
