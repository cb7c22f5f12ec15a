//! Builds the model prompt from an agent's instructions, the stored history and the new turn.

use crate::domain::{Direction, MediaKind, Message};
use crate::ports::{LlmMessage, LlmRequest};

/// The text the model sees for a message; media without text gets a short marker so the turn
/// is never empty.
pub(crate) fn message_text(message: &Message) -> String {
    let mut text = message.body.trim().to_string();
    for media in &message.media {
        let marker = match (media.kind, &media.transcript) {
            (MediaKind::Audio, Some(transcript)) => format!("[voice note] {transcript}"),
            (MediaKind::Audio, None) => "[voice note, not transcribed]".to_string(),
            (MediaKind::Image, _) => "[image]".to_string(),
            (MediaKind::Other, _) => "[attachment]".to_string(),
        };
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(&marker);
    }
    text
}

/// History (oldest first) plus the new incoming message. Only the new turn carries its images
/// (`images`, already resolved to URLs or `data:` URLs): older images were already answered, and
/// resending them costs tokens on every turn.
pub fn build(
    instructions: &str,
    history: &[Message],
    incoming: &Message,
    images: Vec<String>,
) -> LlmRequest {
    let mut messages: Vec<LlmMessage> = history
        .iter()
        .filter(|m| !m.body.trim().is_empty() || !m.media.is_empty())
        .map(|m| match m.direction {
            Direction::Incoming => LlmMessage::user(message_text(m)),
            Direction::Outgoing => LlmMessage::assistant(message_text(m)),
        })
        .collect();
    let mut turn = LlmMessage::user(message_text(incoming));
    turn.images = images;
    messages.push(turn);
    LlmRequest::new(instructions, messages)
}
