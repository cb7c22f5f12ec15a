//! `MemoryStore`: a `MessageStore` kept in `Mutex<Vec<..>>`, with the port's documented semantics.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;
use chrono::Utc;
use whatsapp_agent::domain::{
    Conversation, ConversationId, Media, Message, MessageId, NewMessage, NewUser, User, UserId,
};
use whatsapp_agent::ports::{MessageStore, StoreError};

#[derive(Default)]
pub struct MemoryStore {
    users: Mutex<Vec<User>>,
    messages: Mutex<Vec<Message>>,
    pub(super) conversations: Mutex<Vec<Conversation>>,
    pub(super) links: Mutex<HashMap<MessageId, ConversationId>>,
}

impl MemoryStore {
    /// Every stored message, in the order it was appended.
    pub fn messages(&self) -> Vec<Message> {
        self.messages
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The conversation a message is filed under.
    pub fn conversation_of(&self, message: MessageId) -> Option<ConversationId> {
        self.links
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&message)
            .copied()
    }

    /// Every stored user, in the order it was created.
    pub fn users(&self) -> Vec<User> {
        self.users
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

#[async_trait]
impl MessageStore for MemoryStore {
    async fn find_or_create_user(&self, user: &NewUser) -> Result<User, StoreError> {
        let mut users = self.users.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(found) = users
            .iter_mut()
            .find(|u| u.phone_number == user.phone_number)
        {
            if user.display_name.is_some() {
                found.display_name.clone_from(&user.display_name);
            }
            return Ok(found.clone());
        }
        let created = User {
            id: UserId::new(),
            phone_number: user.phone_number.clone(),
            display_name: user.display_name.clone(),
            channel: user.channel,
            created_at: Utc::now(),
        };
        users.push(created.clone());
        Ok(created)
    }

    async fn append(&self, message: &NewMessage) -> Result<Message, StoreError> {
        let mut messages = self.messages.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(provider_id) = &message.provider_message_id {
            let taken = messages.iter().any(|m| {
                m.channel == message.channel && m.provider_message_id.as_ref() == Some(provider_id)
            });
            if taken {
                return Err(StoreError::Duplicate(provider_id.clone()));
            }
        }
        let stored = Message {
            id: message.id,
            user_id: message.user_id,
            direction: message.direction,
            body: message.body.clone(),
            media: message.media.clone(),
            channel: message.channel,
            provider_message_id: message.provider_message_id.clone(),
            delivery_status: None,
            agent: message.agent.clone(),
            error: message.error.clone(),
            created_at: Utc::now(),
        };
        messages.push(stored.clone());
        Ok(stored)
    }

    async fn update_media(&self, message: MessageId, media: &[Media]) -> Result<(), StoreError> {
        let mut messages = self.messages.lock().unwrap_or_else(PoisonError::into_inner);
        let stored = messages
            .iter_mut()
            .find(|m| m.id == message)
            .ok_or_else(|| anyhow::anyhow!("message {message} not found"))?;
        stored.media = media.to_vec();
        Ok(())
    }

    async fn recent_messages(
        &self,
        user: UserId,
        limit: usize,
        exclude: Option<MessageId>,
    ) -> Result<Vec<Message>, StoreError> {
        let messages = self.messages.lock().unwrap_or_else(PoisonError::into_inner);
        let mine: Vec<&Message> = messages
            .iter()
            .filter(|m| m.user_id == user && Some(m.id) != exclude)
            .collect();
        let skip = mine.len().saturating_sub(limit);
        Ok(mine.into_iter().skip(skip).cloned().collect())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }
}
