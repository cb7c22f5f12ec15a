//! The tools an agent's model may call to hand the conversation on, and what a reply's tool
//! calls mean for the turn.

use serde_json::json;

use crate::ports::{ToolCall, ToolSpec};

use super::{AgentProfile, AgentsConfig};

/// Prefix of the manager's hand-off tools: `transfer_to_<specialist id>`.
pub const TRANSFER_PREFIX: &str = "transfer_to_";
/// A specialist's tool to give the conversation back to the manager.
pub const TRANSFER_BACK: &str = "transfer_back_to_manager";
/// Every agent's tool to hand the conversation to a person of the team.
pub const REQUEST_HUMAN: &str = "request_human";

/// What the model's tool calls ask for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// The reply's text is the answer.
    Answer,
    /// Hand the conversation to the agent with this id, who answers this same turn.
    Transfer(String),
    /// Hand the conversation to a person; `language` is the user's, if the model said.
    RequestHuman { language: Option<String> },
}

fn no_arguments() -> serde_json::Value {
    json!({"type": "object", "properties": {}, "additionalProperties": false})
}

/// The tools of `agent`: the manager may transfer to each specialist, a specialist may transfer
/// back, and both may ask for a person.
pub fn tools_for(config: &AgentsConfig, agent: &AgentProfile) -> Vec<ToolSpec> {
    let mut tools: Vec<ToolSpec> = if agent.id == config.manager.id {
        config
            .specialists
            .iter()
            .map(|s| ToolSpec {
                name: format!("{TRANSFER_PREFIX}{}", s.id),
                description: format!("Hand the conversation to {}: {}", s.name, s.description),
                parameters: no_arguments(),
            })
            .collect()
    } else {
        vec![ToolSpec {
            name: TRANSFER_BACK.to_string(),
            description: format!(
                "Hand the conversation back to {} when the request is outside your scope.",
                config.manager.name
            ),
            parameters: no_arguments(),
        }]
    };
    tools.push(ToolSpec {
        name: REQUEST_HUMAN.to_string(),
        description: "Hand the conversation to a person of the team, when the user asks for \
                      one or you cannot help."
            .to_string(),
        parameters: json!({
            "type": "object",
            "properties": {
                "language": {
                    "type": "string",
                    "description": "ISO 639-1 code of the user's language, e.g. en, es, de."
                }
            },
            "additionalProperties": false
        }),
    });
    tools
}

/// What the first call that `agent` may make asks for; calls to other tools are ignored.
pub fn action(config: &AgentsConfig, agent: &AgentProfile, calls: &[ToolCall]) -> Action {
    let is_manager = agent.id == config.manager.id;
    for call in calls {
        if call.name == REQUEST_HUMAN {
            let language = serde_json::from_str::<serde_json::Value>(&call.arguments)
                .ok()
                .and_then(|v| v.get("language")?.as_str().map(str::to_string));
            return Action::RequestHuman { language };
        }
        if !is_manager && call.name == TRANSFER_BACK {
            return Action::Transfer(config.manager.id.clone());
        }
        if let Some(target) = call.name.strip_prefix(TRANSFER_PREFIX) {
            if is_manager && config.specialists.iter().any(|s| s.id == target) {
                return Action::Transfer(target.to_string());
            }
        }
    }
    Action::Answer
}
