//! The start of every turn, before any model is asked: find the conversation, then the fixed
//! rules in order: a reset, a red flag, a person in charge, a request for a person.

use crate::agent::{self, GUARDRAIL_AGENT, SYSTEM_AGENT};
use crate::domain::{Conversation, ConversationState, MediaKind, Message, User};

use super::{prompt, ChatError, ChatService};

/// How the turn goes on.
pub(crate) enum Opening {
    /// A fixed reply; no model is asked.
    Fixed { agent: &'static str, body: String },
    /// No reply: a person has the conversation and the user was told.
    Silent,
    /// The active agent answers; `history` is already within the memory budget.
    Model {
        history: Vec<Message>,
        images: Vec<String>,
    },
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

impl ChatService {
    /// Files the incoming message in the user's current conversation and decides how the turn
    /// goes on. Voice notes are transcribed first, so the rules read spoken words too.
    ///
    /// # Errors
    /// [`ChatError::Store`], or a media failure of [`ChatService::prepare_media`].
    pub(crate) async fn open(
        &self,
        user: &User,
        incoming: Message,
    ) -> Result<(Message, Conversation, Opening), ChatError> {
        let agents = self.agents();
        let now = self.clock().now();
        let conversations = self.conversations();
        let mut conversation = conversations
            .current(
                user.id,
                &agents.manager.id,
                chrono::Duration::from_std(agents.memory.session_timeout)
                    .unwrap_or(chrono::Duration::MAX),
                now,
            )
            .await?;
        conversations.attach(incoming.id, conversation.id).await?;

        if incoming.media.is_empty() && agents.is_reset(&incoming.body) {
            conversations.end(conversation.id, now).await?;
            conversation.ended_at = Some(now);
            let body = agents.language(None).reset_reply.clone();
            return Ok((incoming, conversation, fixed(SYSTEM_AGENT, body)));
        }

        // The typed words are read before any attachment is fetched, so a download that is
        // slow or fails never delays the emergency reply; spoken words are read once
        // transcribed.
        let mut assessment = agents.triage.assess(&incoming.body);
        let mut images = Vec::new();
        let mut incoming = incoming;
        if assessment.red_flag.is_none() {
            (incoming, images) = self.prepare_media(incoming).await?;
            if incoming.media.iter().any(|m| m.transcript.is_some()) {
                assessment = agents.triage.assess(&words_of(&incoming));
            }
        }

        // A red flag is answered even while a person has the conversation: the safe reply
        // must never wait for someone to read the inbox.
        if let Some(hit) = assessment.red_flag {
            tracing::warn!(reason = %hit.reason, language = %hit.language, "red flag; fixed reply");
            conversations.flag(conversation.id, &hit.reason).await?;
            let body = agents
                .language(Some(&hit.language))
                .emergency_reply_for(&hit.reason)
                .to_string();
            conversation.flag_reason = Some(hit.reason);
            return Ok((incoming, conversation, fixed(GUARDRAIL_AGENT, body)));
        }

        if conversation.state == ConversationState::WaitingForHuman {
            if conversation.human_notice_sent {
                return Ok((incoming, conversation, Opening::Silent));
            }
            let body = agents.language(None).human_notice.clone();
            self.hand_to_human(&mut conversation).await?;
            return Ok((incoming, conversation, fixed(SYSTEM_AGENT, body)));
        }

        if let Some(language) = assessment.asks_for_human {
            let body = agents.language(Some(&language)).human_notice.clone();
            self.hand_to_human(&mut conversation).await?;
            return Ok((incoming, conversation, fixed(SYSTEM_AGENT, body)));
        }

        let history = conversations
            .history(
                conversation.id,
                agents.memory.max_messages,
                Some(incoming.id),
            )
            .await?;
        let history = agent::trim(history, &agents.memory, |m| {
            prompt::message_text(m).chars().count()
        });
        Ok((incoming, conversation, Opening::Model { history, images }))
    }

    /// Marks the conversation as waiting for a person, with the notice about to be sent.
    pub(crate) async fn hand_to_human(
        &self,
        conversation: &mut Conversation,
    ) -> Result<(), ChatError> {
        tracing::info!(conversation = %conversation.id, "a person takes over");
        self.conversations()
            .set_state(conversation.id, ConversationState::WaitingForHuman, true)
            .await?;
        conversation.state = ConversationState::WaitingForHuman;
        conversation.human_notice_sent = true;
        Ok(())
    }
}

fn fixed(agent: &'static str, body: String) -> Opening {
    Opening::Fixed { agent, body }
}
