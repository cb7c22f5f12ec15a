//! The start of every turn, once its message is accepted and before any model is asked: the
//! fixed rules in order: a reset, a red flag, a person in charge, a request for a person.

use crate::agent::{self, GUARDRAIL_AGENT, SYSTEM_AGENT};
use crate::domain::{ConversationState, MediaKind, Message};

use super::turn::Turn;
use super::{media, prompt, ChatError, ChatService};

/// How the turn goes on.
pub(crate) enum Opening {
    /// A fixed reply; no model is asked.
    Fixed { agent: &'static str, body: String },
    /// No reply: a person has the conversation and the user was told.
    Silent,
    /// The active agent answers; the turn's history is within the memory budget.
    Model,
}

/// The user's words, typed or spoken, as the rules read them.
fn words_of(incoming: &Message) -> String {
    let spoken = incoming
        .media
        .iter()
        .filter(|m| m.kind == MediaKind::Audio)
        .filter_map(|m| m.transcript.as_deref());
    std::iter::once(incoming.body.as_str())
        .chain(spoken)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Applies the fixed rules to an accepted turn and decides how it goes on, noting what they
/// change about the conversation in `turn.change`. Voice notes are transcribed first, so the
/// rules read spoken words too. Nothing is stored here: the turn stores it when it finishes.
///
/// # Errors
/// A media failure of [`media::prepare`].
pub(crate) async fn open(service: &ChatService, turn: &mut Turn) -> Result<Opening, ChatError> {
    let agents = service.agents();
    if turn.incoming.media.is_empty() && agents.is_reset(&turn.incoming.body) {
        turn.change.end = true;
        let body = agents.language(None).reset_reply.clone();
        return Ok(fixed(SYSTEM_AGENT, body));
    }

    // The typed words are read before any attachment is fetched, so a download that is
    // slow or fails never delays the emergency reply; spoken words are read once
    // transcribed.
    let mut assessment = agents.triage.assess(&turn.incoming.body);
    if assessment.red_flag.is_none() {
        let prepared = media::prepare(service, &mut turn.incoming).await?;
        turn.images = prepared.images;
        turn.transcribed = prepared.transcribed;
        if turn.incoming.media.iter().any(|m| m.transcript.is_some()) {
            assessment = agents.triage.assess(&words_of(&turn.incoming));
        }
    }

    // A red flag is answered even while a person has the conversation: the safe reply
    // must never wait for someone to read the inbox.
    if let Some(hit) = assessment.red_flag {
        tracing::warn!(reason = %hit.reason, language = %hit.language, "red flag; fixed reply");
        let body = agents
            .language(Some(&hit.language))
            .emergency_reply_for(&hit.reason)
            .to_string();
        turn.change.flag_reason = Some(hit.reason);
        return Ok(fixed(GUARDRAIL_AGENT, body));
    }

    if turn.conversation.state == ConversationState::WaitingForHuman {
        if turn.conversation.human_notice_sent {
            return Ok(Opening::Silent);
        }
        let body = agents.language(None).human_notice.clone();
        turn.change.hand_to_human = true;
        return Ok(fixed(SYSTEM_AGENT, body));
    }

    if let Some(language) = assessment.asks_for_human {
        tracing::info!("a person takes over");
        let body = agents.language(Some(&language)).human_notice.clone();
        turn.change.hand_to_human = true;
        return Ok(fixed(SYSTEM_AGENT, body));
    }

    let history = std::mem::take(&mut turn.history);
    turn.history = agent::trim(history, &agents.memory, |m| {
        prompt::message_text(m).chars().count()
    });
    Ok(Opening::Model)
}

fn fixed(agent: &'static str, body: String) -> Opening {
    Opening::Fixed { agent, body }
}
