//! Replies the model did not finish (token limit, content filter): what the turn stores and
//! sends, as the agent's policy says, and the marker the stored reply carries.

use crate::agent::{CutOffPolicy, CutOffReplies};
use crate::ports::CutOff;

use super::handoff::{join, Answer};

/// What the stored reply's `error` says about a reply the model did not finish.
pub(crate) fn marker(cut: CutOff) -> String {
    let why = match cut {
        CutOff::TokenLimit => "the reply reached the completion-token limit",
        CutOff::ContentFilter => "the model service's content filter stopped the reply",
    };
    format!("{}: {why}", cut.code())
}

/// Applies `policy` to an answer the model did not finish. `shown` says the user has already
/// seen its text (a stream), so a fallback reply can only follow it, not replace it.
pub(crate) fn settle(
    answer: &mut Answer,
    cut: CutOff,
    policy: CutOffPolicy,
    replies: &CutOffReplies,
    shown: bool,
) {
    tracing::warn!(agent = %answer.agent, cut_off = cut.code(), ?policy, "reply cut off");
    answer.cut_off = Some(cut);
    let note = match cut {
        CutOff::TokenLimit => &replies.length_note,
        CutOff::ContentFilter => &replies.content_filter_note,
    };
    match policy {
        CutOffPolicy::Keep => {}
        CutOffPolicy::Note => join(&mut answer.body, note),
        CutOffPolicy::Fallback if shown => join(&mut answer.body, &replies.fallback_reply),
        CutOffPolicy::Fallback => answer.body.clone_from(&replies.fallback_reply),
    }
}
