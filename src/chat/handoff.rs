//! What one model reply means for the turn: the answer, a hand-off to the agent that answers
//! next in the same turn (within a bounded number of hand-offs), or a hand-over to a person.
//! Pure: the turn engine ([`super::turn`]) asks the models and stores the outcome.

use crate::agent::{self, Action, AgentProfile, AgentsConfig, SYSTEM_AGENT};
use crate::domain::{ConversationChange, Message};
use crate::ports::{CutOff, LlmError, LlmRequest};

use super::prompt;

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

/// The prompt for `agent`: its instructions, the history, the new turn, its token limit and,
/// unless this is the last hand-off allowed, its tools and tool choice.
pub(crate) fn request_for(
    agents: &AgentsConfig,
    agent: &AgentProfile,
    history: &[Message],
    incoming: &Message,
    images: Vec<String>,
    hops: usize,
) -> LlmRequest {
    let mut request = prompt::build(&agent.instructions, history, incoming, images);
    request.max_completion_tokens = agent.model.max_completion_tokens;
    if hops < agents.max_handoffs {
        request.tools = agent::tools_for(agents, agent);
        request.tool_choice.clone_from(&agent.model.tool_choice);
    }
    request
}

/// Applies what `agent`'s reply asked for, noting a hand-off or a hand-over in `change`.
/// `said` is the turn's text so far, this reply's included.
pub(crate) fn follow(
    agents: &AgentsConfig,
    change: &mut ConversationChange,
    agent: &AgentProfile,
    action: Action,
    said: String,
    hops: usize,
) -> Next {
    match action {
        Action::Transfer(to) if hops < agents.max_handoffs => {
            tracing::info!(from = %agent.id, to = %to, "hand-off");
            change.active_agent = Some(to.clone());
            Next::Ask(agents.agent(&to).clone())
        }
        Action::RequestHuman { language } => {
            tracing::info!("a person takes over");
            let mut body = said;
            join(
                &mut body,
                &agents.language(language.as_deref()).human_notice,
            );
            change.hand_to_human = true;
            Next::Done(Answer {
                agent: SYSTEM_AGENT.to_string(),
                body,
                cut_off: None,
            })
        }
        Action::Transfer(_) | Action::Answer => Next::Done(Answer {
            agent: agent.id.clone(),
            body: said,
            cut_off: None,
        }),
    }
}

/// A reply with neither text nor a usable tool call (some servers do this on a content
/// filter or a broken template) is not something to store and send as an answer.
pub(crate) fn empty_reply() -> LlmError {
    LlmError::BadResponse("the model returned an empty reply".into())
}
