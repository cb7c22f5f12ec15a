//! The agents answering one turn: the active agent's model replies or hands the conversation on
//! through a tool call, and whoever receives it answers in the same turn, within a bounded
//! number of hand-offs.

use crate::agent::{self, Action, AgentProfile, SYSTEM_AGENT};
use crate::domain::{Conversation, Message};
use crate::ports::{CutOff, LlmRequest};

use super::{cut_off, prompt, ChatError, ChatService};

/// The reply of a turn and who wrote it.
pub(crate) struct Answer {
    pub agent: String,
    pub body: String,
    /// Set when the model did not finish the reply.
    pub cut_off: Option<CutOff>,
}

/// What to do after one model reply.
pub(crate) enum Next {
    /// Ask the agent that now has the conversation.
    Ask(AgentProfile),
    /// Finish with this reply.
    Done(Answer),
}

/// Appends `more` to what was said this turn, a blank line apart. Text a model writes before it
/// hands off is kept: a streaming client has already seen it.
pub(crate) fn join(said: &mut String, more: &str) {
    if more.trim().is_empty() {
        return;
    }
    if !said.trim().is_empty() {
        said.push_str("\n\n");
    }
    said.push_str(more);
}

impl ChatService {
    /// The prompt for `agent`: its instructions, the history, the new turn, its token limit
    /// and, unless this is the last hand-off allowed, its tools and tool choice.
    pub(crate) fn request_for(
        &self,
        agent: &AgentProfile,
        history: &[Message],
        incoming: &Message,
        images: Vec<String>,
        hops: usize,
    ) -> LlmRequest {
        let mut request = prompt::build(&agent.instructions, history, incoming, images);
        request.max_completion_tokens = agent.model.max_completion_tokens;
        if hops < self.agents().max_handoffs {
            request.tools = agent::tools_for(self.agents(), agent);
            request.tool_choice.clone_from(&agent.model.tool_choice);
        }
        request
    }

    /// Applies what `agent`'s reply asked for: stores a hand-off, or hands the conversation to
    /// a person. `said` is the turn's text so far, this reply's included.
    pub(crate) async fn follow(
        &self,
        conversation: &mut Conversation,
        agent: &AgentProfile,
        action: Action,
        said: String,
        hops: usize,
    ) -> Result<Next, ChatError> {
        match action {
            Action::Transfer(to) if hops < self.agents().max_handoffs => {
                tracing::info!(from = %agent.id, to = %to, "hand-off");
                self.conversations()
                    .set_active_agent(conversation.id, &to)
                    .await?;
                conversation.active_agent.clone_from(&to);
                Ok(Next::Ask(self.agents().agent(&to).clone()))
            }
            Action::RequestHuman { language } => {
                let mut body = said;
                join(
                    &mut body,
                    &self.agents().language(language.as_deref()).human_notice,
                );
                self.hand_to_human(conversation).await?;
                Ok(Next::Done(Answer {
                    agent: SYSTEM_AGENT.to_string(),
                    body,
                    cut_off: None,
                }))
            }
            Action::Transfer(_) | Action::Answer => Ok(Next::Done(Answer {
                agent: agent.id.clone(),
                body: said,
                cut_off: None,
            })),
        }
    }

    /// Asks the conversation's active agent, following hand-offs, and returns the answer; an
    /// answer the model did not finish is settled as the agent's policy says.
    ///
    /// # Errors
    /// [`ChatError::Llm`] when a model call fails; [`ChatError::Store`] when a hand-off cannot
    /// be stored.
    pub(crate) async fn answer(
        &self,
        conversation: &mut Conversation,
        incoming: &Message,
        history: &[Message],
        images: Vec<String>,
    ) -> Result<Answer, ChatError> {
        let mut agent = self.agents().agent(&conversation.active_agent).clone();
        let mut said = String::new();
        let mut hops = 0;
        loop {
            let request = self.request_for(&agent, history, incoming, images.clone(), hops);
            let reply = self
                .llm()
                .complete(&request)
                .await
                .map_err(|source| ChatError::Llm {
                    source,
                    incoming: incoming.id,
                })?;
            join(&mut said, &reply.text);
            let action = agent::action(self.agents(), &agent, &reply.tool_calls);
            match self
                .follow(conversation, &agent, action, said.clone(), hops)
                .await?
            {
                Next::Ask(next) => {
                    agent = next;
                    hops += 1;
                }
                Next::Done(mut answer) => {
                    if let Some(cut) = reply.cut_off {
                        let policy = agent.model.on_cut_off;
                        cut_off::settle(&mut answer, cut, policy, &self.agents().cut_off, false);
                    }
                    if answer.body.trim().is_empty() {
                        return Err(ChatError::Llm {
                            source: empty_reply(),
                            incoming: incoming.id,
                        });
                    }
                    return Ok(answer);
                }
            }
        }
    }
}

/// A reply with neither text nor a usable tool call (some servers do this on a content
/// filter or a broken template) is not something to store and send as an answer.
pub(crate) fn empty_reply() -> crate::ports::LlmError {
    crate::ports::LlmError::BadResponse("the model returned an empty reply".into())
}
