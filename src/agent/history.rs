//! The memory budget: how much of the conversation goes to the model with a new turn.

use crate::domain::Message;

use super::MemoryConfig;

/// The newest messages of `history` (oldest first) that fit both the message and the character
/// budget, oldest first. `chars` measures a message as the model sees it. The oldest messages
/// are dropped whole, never cut.
pub fn trim(
    mut history: Vec<Message>,
    memory: &MemoryConfig,
    chars: impl Fn(&Message) -> usize,
) -> Vec<Message> {
    let mut used = 0;
    let mut keep = 0;
    for message in history.iter().rev().take(memory.max_messages) {
        used += chars(message);
        if used > memory.max_chars {
            break;
        }
        keep += 1;
    }
    history.drain(..history.len() - keep);
    history
}
