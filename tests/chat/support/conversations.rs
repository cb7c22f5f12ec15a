//! `MemoryStore` as a `ConversationStore`: conversations in a `Vec`, message links in a map,
//! with the port's documented semantics.

use std::sync::PoisonError;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use whatsapp_agent::domain::{
    Conversation, ConversationId, ConversationState, Message, MessageId, UserId,
};
use whatsapp_agent::ports::{ConversationStore, StoreError};

use super::MemoryStore;

impl MemoryStore {
    /// Every conversation, in the order it was started.
    pub fn conversations(&self) -> Vec<Conversation> {
        self.conversations
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn update(
        &self,
        id: ConversationId,
        change: impl FnOnce(&mut Conversation),
    ) -> Option<Conversation> {
        let mut all = self
            .conversations
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let found = all.iter_mut().find(|c| c.id == id)?;
        change(found);
        Some(found.clone())
    }
}

#[async_trait]
impl ConversationStore for MemoryStore {
    async fn current(
        &self,
        user: UserId,
        agent: &str,
        idle_timeout: Duration,
        now: DateTime<Utc>,
    ) -> Result<Conversation, StoreError> {
        let mut all = self
            .conversations
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(open) = all
            .iter_mut()
            .find(|c| c.user_id == user && c.ended_at.is_none())
        {
            if now - open.last_activity_at <= idle_timeout {
                open.last_activity_at = now;
                return Ok(open.clone());
            }
            open.ended_at = Some(now);
        }
        let started = Conversation {
            id: ConversationId::new(),
            user_id: user,
            active_agent: agent.to_string(),
            state: ConversationState::Bot,
            human_notice_sent: false,
            flag_reason: None,
            started_at: now,
            last_activity_at: now,
            ended_at: None,
        };
        all.push(started.clone());
        Ok(started)
    }

    async fn get(&self, id: ConversationId) -> Result<Option<Conversation>, StoreError> {
        Ok(self.update(id, |_| {}))
    }

    async fn attach(&self, message: MessageId, id: ConversationId) -> Result<(), StoreError> {
        let known = self.messages().iter().any(|m| m.id == message);
        if !known {
            return Err(anyhow::anyhow!("message {message} not found").into());
        }
        self.links
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(message, id);
        Ok(())
    }

    async fn set_active_agent(&self, id: ConversationId, agent: &str) -> Result<(), StoreError> {
        self.update(id, |c| c.active_agent = agent.to_string());
        Ok(())
    }

    async fn set_state(
        &self,
        id: ConversationId,
        state: ConversationState,
        human_notice_sent: bool,
    ) -> Result<Option<Conversation>, StoreError> {
        Ok(self.update(id, |c| {
            c.state = state;
            c.human_notice_sent = human_notice_sent;
        }))
    }

    async fn flag(&self, id: ConversationId, reason: &str) -> Result<(), StoreError> {
        self.update(id, |c| c.flag_reason = Some(reason.to_string()));
        Ok(())
    }

    async fn end(&self, id: ConversationId, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.update(id, |c| {
            c.ended_at.get_or_insert(now);
        });
        Ok(())
    }

    async fn history(
        &self,
        id: ConversationId,
        limit: usize,
        exclude: Option<MessageId>,
    ) -> Result<Vec<Message>, StoreError> {
        let links = self
            .links
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let mine: Vec<Message> = self
            .messages()
            .into_iter()
            .filter(|m| links.get(&m.id) == Some(&id) && Some(m.id) != exclude)
            .collect();
        let skip = mine.len().saturating_sub(limit);
        Ok(mine.into_iter().skip(skip).collect())
    }
}
