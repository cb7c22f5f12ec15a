//! `MemoryStore`: the turn and conversation store ports over one `Mutex`, with their documented
//! semantics: each call happens whole or not at all, as one transaction would.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use chrono::Utc;
use whatsapp_agent::domain::{
    Conversation, ConversationId, ConversationState, Message, MessageId, NewMessage, User, UserId,
};
use whatsapp_agent::ports::{
    AcceptError, Accepted, Arrival, ConversationStore, Finish, FinishError, Incoming, StoreError,
    TurnStore,
};

#[derive(Default)]
struct Tables {
    users: Vec<User>,
    messages: Vec<Message>,
    conversations: Vec<Conversation>,
    links: HashMap<MessageId, ConversationId>,
}

#[derive(Default)]
pub struct MemoryStore {
    tables: Mutex<Tables>,
    /// Every `finish` call received, whether it was stored or refused.
    finishes: Mutex<Vec<Finish>>,
    /// When set, `finish` fails with this outage and stores nothing.
    refuse_finish: Mutex<Option<String>>,
    /// When set, everything is erased just before the next `finish`, as an erasure of the user
    /// that commits while their turn runs.
    erase_before_finish: Mutex<bool>,
}

fn stored(message: &NewMessage, user: UserId) -> Message {
    Message {
        id: message.id,
        user_id: user,
        direction: message.direction,
        body: message.body.clone(),
        media: message.media.clone(),
        channel: message.channel,
        provider_message_id: message.provider_message_id.clone(),
        delivery_status: None,
        agent: message.agent.clone(),
        error: message.error.clone(),
        created_at: Utc::now(),
    }
}

impl MemoryStore {
    fn tables(&self) -> MutexGuard<'_, Tables> {
        self.tables.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Every stored message, in the order it was stored.
    pub fn messages(&self) -> Vec<Message> {
        self.tables().messages.clone()
    }

    /// The conversation a message is filed under.
    pub fn conversation_of(&self, message: MessageId) -> Option<ConversationId> {
        self.tables().links.get(&message).copied()
    }

    /// Every stored user, in the order it was created.
    pub fn users(&self) -> Vec<User> {
        self.tables().users.clone()
    }

    /// Every conversation, in the order it was started.
    pub fn conversations(&self) -> Vec<Conversation> {
        self.tables().conversations.clone()
    }

    /// Every `finish` call received.
    pub fn finishes(&self) -> Vec<Finish> {
        self.finishes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Erases every user, conversation and message just before the next `finish`.
    pub fn erase_before_finishing(&self) {
        *self
            .erase_before_finish
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = true;
    }

    /// Makes every later `finish` fail as an outage would.
    pub fn refuse_finishing(&self, why: &str) {
        *self
            .refuse_finish
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(why.to_string());
    }
}

#[async_trait]
impl TurnStore for MemoryStore {
    async fn accept(&self, arrival: &Arrival) -> Result<Accepted, AcceptError> {
        let mut t = self.tables();
        let (user, incoming) = match &arrival.incoming {
            Incoming::New { user, message } => {
                if let Some(provider_id) = &message.provider_message_id {
                    let taken = t.messages.iter().any(|m| {
                        m.channel == message.channel
                            && m.provider_message_id.as_ref() == Some(provider_id)
                    });
                    if taken {
                        return Err(AcceptError::Duplicate(provider_id.clone()));
                    }
                }
                let found = t
                    .users
                    .iter_mut()
                    .find(|u| u.phone_number == user.phone_number);
                let found = match found {
                    Some(found) => {
                        if user.display_name.is_some() {
                            found.display_name.clone_from(&user.display_name);
                        }
                        found.clone()
                    }
                    None => {
                        let created = User {
                            id: UserId::new(),
                            phone_number: user.phone_number.clone(),
                            display_name: user.display_name.clone(),
                            channel: user.channel,
                            created_at: Utc::now(),
                        };
                        t.users.push(created.clone());
                        created
                    }
                };
                let incoming = stored(message, found.id);
                (found, incoming)
            }
            Incoming::Stored { user, message } => (user.clone(), message.clone()),
        };
        let now = arrival.now;
        let open = t
            .conversations
            .iter_mut()
            .find(|c| c.user_id == user.id && c.ended_at.is_none());
        let conversation = match open {
            Some(open) if now - open.last_activity_at <= arrival.idle_timeout => {
                open.last_activity_at = now;
                open.clone()
            }
            idle => {
                if let Some(idle) = idle {
                    idle.ended_at = Some(now);
                }
                let started = Conversation {
                    id: ConversationId::new(),
                    user_id: user.id,
                    active_agent: arrival.manager.clone(),
                    state: ConversationState::Bot,
                    human_notice_sent: false,
                    flag_reason: None,
                    started_at: now,
                    last_activity_at: now,
                    ended_at: None,
                };
                t.conversations.push(started.clone());
                started
            }
        };
        let earlier: Vec<Message> = t
            .messages
            .iter()
            .filter(|m| t.links.get(&m.id) == Some(&conversation.id))
            .cloned()
            .collect();
        let skip = earlier.len().saturating_sub(arrival.history_limit);
        let history = earlier.into_iter().skip(skip).collect();
        if matches!(arrival.incoming, Incoming::New { .. }) {
            t.messages.push(incoming.clone());
        }
        t.links.insert(incoming.id, conversation.id);
        Ok(Accepted {
            user,
            incoming,
            conversation,
            history,
        })
    }

    async fn finish(&self, finish: &Finish) -> Result<Option<Message>, FinishError> {
        self.finishes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(finish.clone());
        if let Some(why) = self
            .refuse_finish
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
        {
            return Err(FinishError::Unavailable(why));
        }
        let mut t = self.tables();
        if std::mem::take(
            &mut *self
                .erase_before_finish
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        ) {
            *t = Tables::default();
        }
        let Some(conversation) = t
            .conversations
            .iter_mut()
            .find(|c| c.id == finish.conversation)
        else {
            return Err(FinishError::ConversationGone(finish.conversation));
        };
        conversation.apply(&finish.change, finish.now);
        if let Some((id, media)) = &finish.transcripts {
            if let Some(message) = t.messages.iter_mut().find(|m| m.id == *id) {
                message.media.clone_from(media);
            }
        }
        let reply = finish
            .reply
            .as_ref()
            .map(|reply| stored(reply, reply.user_id));
        if let Some(reply) = &reply {
            t.messages.push(reply.clone());
            t.links.insert(reply.id, finish.conversation);
        }
        Ok(reply)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

#[async_trait]
impl ConversationStore for MemoryStore {
    async fn release(&self, id: ConversationId) -> Result<Option<Conversation>, StoreError> {
        let mut t = self.tables();
        Ok(t.conversations.iter_mut().find(|c| c.id == id).map(|c| {
            c.state = ConversationState::Bot;
            c.human_notice_sent = false;
            c.clone()
        }))
    }
}
