//! The JSON we send and receive, per the official Chat Completions description.

use serde::Deserialize;
use serde_json::{json, Value};
use whatsapp_agent::ports::{CutOff, LlmMessage, LlmRequest, Role, ToolCall, ToolChoice, Usage};

use crate::settings::{OpenAiSettings, TokenLimitField};

fn message_json(message: &LlmMessage, vision: bool) -> Value {
    match message.role {
        Role::User => {
            if message.images.is_empty() {
                return json!({"role": "user", "content": message.text});
            }
            if !vision {
                let note = format!(
                    "{}\n[{} image(s) omitted]",
                    message.text,
                    message.images.len()
                );
                return json!({"role": "user", "content": note.trim()});
            }
            let mut parts = Vec::new();
            if !message.text.trim().is_empty() {
                parts.push(json!({"type": "text", "text": message.text}));
            }
            for url in &message.images {
                parts.push(json!({"type": "image_url", "image_url": {"url": url}}));
            }
            json!({"role": "user", "content": parts})
        }
        Role::Assistant => {
            let mut value = json!({"role": "assistant", "content": message.text});
            if !message.tool_calls.is_empty() {
                if message.text.is_empty() {
                    value["content"] = Value::Null;
                }
                value["tool_calls"] = message
                    .tool_calls
                    .iter()
                    .map(|call| {
                        json!({"id": call.id, "type": "function",
                               "function": {"name": call.name, "arguments": call.arguments}})
                    })
                    .collect();
            }
            value
        }
        Role::Tool => json!({
            "role": "tool",
            "tool_call_id": message.tool_call_id.clone().unwrap_or_default(),
            "content": message.text,
        }),
    }
}

fn tool_choice_json(choice: &ToolChoice) -> Value {
    match choice {
        ToolChoice::Auto => json!("auto"),
        ToolChoice::None => json!("none"),
        ToolChoice::Required => json!("required"),
        ToolChoice::Function(name) => json!({"type": "function", "function": {"name": name}}),
    }
}

/// The `CreateChatCompletionRequest` body for a prompt.
pub fn chat_request_body(settings: &OpenAiSettings, request: &LlmRequest, stream: bool) -> Value {
    let has_images = request.messages.iter().any(|m| !m.images.is_empty());
    let model = match (&settings.vision_model, has_images) {
        (Some(vision), true) => vision,
        _ => &settings.model,
    };
    let mut messages = vec![json!({"role": "system", "content": request.system})];
    messages.extend(
        request
            .messages
            .iter()
            .map(|m| message_json(m, settings.supports_vision)),
    );
    let mut body = json!({"model": model, "messages": messages});
    if stream {
        body["stream"] = json!(true);
        if settings.stream_usage {
            body["stream_options"] = json!({"include_usage": true});
        }
    }
    if settings.supports_tools && !request.tools.is_empty() {
        body["tools"] = request
            .tools
            .iter()
            .map(|tool| {
                json!({"type": "function", "function": {
                    "name": tool.name,
                    "description": tool.description,
                    "parameters": tool.parameters,
                }})
            })
            .collect();
        // Explicit even for `auto`: some servers treat a missing choice as `none` and leave
        // the tools out of the prompt.
        let choice = request
            .tool_choice
            .as_ref()
            .unwrap_or(&settings.tool_choice);
        body["tool_choice"] = tool_choice_json(choice);
    }
    if let Some(temperature) = settings.temperature {
        body["temperature"] = json!(temperature);
    }
    if let Some(max) = request
        .max_completion_tokens
        .or(settings.max_completion_tokens)
    {
        let field = match settings.token_limit_field {
            TokenLimitField::MaxCompletionTokens => "max_completion_tokens",
            TokenLimitField::MaxTokens => "max_tokens",
        };
        body[field] = json!(max);
    }
    body
}

/// Why a reply stopped, when the model did not finish it: `finish_reason` `length` or
/// `content_filter`.
pub fn cut_off(finish_reason: Option<&str>) -> Option<CutOff> {
    match finish_reason? {
        "length" => Some(CutOff::TokenLimit),
        "content_filter" => Some(CutOff::ContentFilter),
        _ => None,
    }
}

#[derive(Debug, Deserialize)]
pub struct WireUsage {
    #[serde(default)]
    pub prompt_tokens: u32,
    #[serde(default)]
    pub completion_tokens: u32,
}

impl From<WireUsage> for Usage {
    fn from(u: WireUsage) -> Self {
        Usage {
            prompt_tokens: u.prompt_tokens,
            completion_tokens: u.completion_tokens,
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct WireFunction {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub arguments: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct WireToolCall {
    #[serde(default)]
    pub index: Option<usize>,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub function: Option<WireFunction>,
}

#[derive(Debug, Deserialize)]
pub struct WireMessage {
    #[serde(default)]
    pub content: Option<String>,
    /// Set instead of `content` when the model declines to answer.
    #[serde(default)]
    pub refusal: Option<String>,
    #[serde(default)]
    pub tool_calls: Option<Vec<WireToolCall>>,
}

#[derive(Debug, Deserialize)]
pub struct WireChoice {
    #[serde(default)]
    pub message: Option<WireMessage>,
    #[serde(default)]
    pub delta: Option<WireMessage>,
    #[serde(default)]
    pub finish_reason: Option<String>,
}

/// A completion or a stream chunk; both share this shape.
#[derive(Debug, Deserialize)]
pub struct WireCompletion {
    #[serde(default)]
    pub choices: Vec<WireChoice>,
    #[serde(default)]
    pub usage: Option<WireUsage>,
    #[serde(default)]
    pub error: Option<Value>,
}

impl WireToolCall {
    pub fn into_call(self, fallback_id: usize) -> ToolCall {
        let function = self.function.unwrap_or(WireFunction {
            name: None,
            arguments: None,
        });
        ToolCall {
            id: self.id.unwrap_or_else(|| format!("call_{fallback_id}")),
            name: function.name.unwrap_or_default(),
            arguments: function.arguments.unwrap_or_default(),
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct WireTranscription {
    pub text: String,
}
