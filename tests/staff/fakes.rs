//! A store holding one conversation (with the jobs that send its bot's replies), and a
//! messenger that records what it sends.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use whatsapp_agent::domain::{
    Channel, Conversation, ConversationId, ConversationState, Message, MessageId, NewMessage, User,
    UserId,
};
use whatsapp_agent::ports::{
    ConversationFilter, ConversationStore, ConversationSummary, FiledMessage, JobBoard,
    JobBoardError, JobSummary, Messenger, MessengerError, OutboundMessage, OutboundPart, Page,
    SendOutcome, StaffStore, StaffStoreError, StoreError, UserRef,
};

pub fn time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 15, 9, 30, 0)
        .single()
        .unwrap_or_default()
}

/// One conversation of one user on `channel`, and the messages stored in it.
pub struct OneConversation {
    pub summary: ConversationSummary,
    pub stored: Mutex<Vec<Message>>,
    pub outcomes: Mutex<Vec<SendOutcome>>,
    /// Jobs as (id, the reply it sends, status).
    pub jobs: Mutex<Vec<(i64, MessageId, String)>>,
    /// When the conversation was marked changed.
    pub changed: Mutex<Vec<DateTime<Utc>>>,
}

impl OneConversation {
    pub fn on(channel: Channel) -> Arc<Self> {
        let user = User {
            id: UserId::new(),
            phone_number: match channel {
                Channel::WhatsApp => "+14155550100".into(),
                Channel::Chat => "chat_alice".into(),
            },
            display_name: None,
            channel,
            created_at: time(),
        };
        let conversation = Conversation {
            id: ConversationId::new(),
            user_id: user.id,
            active_agent: "anna".into(),
            state: ConversationState::Bot,
            human_notice_sent: false,
            flag_reason: None,
            started_at: time(),
            last_activity_at: time(),
            ended_at: None,
        };
        Arc::new(Self {
            summary: ConversationSummary {
                conversation,
                user,
                last_message: None,
                unread: 0,
            },
            stored: Mutex::default(),
            outcomes: Mutex::default(),
            jobs: Mutex::default(),
            changed: Mutex::default(),
        })
    }

    pub fn id(&self) -> ConversationId {
        self.summary.conversation.id
    }

    pub fn stored(&self) -> Vec<Message> {
        self.stored.lock().expect("lock").clone()
    }

    /// A reply of the bot's already in the conversation, with its delivery status and error.
    pub fn bots_reply(&self, status: &str, error: Option<&str>) -> Message {
        let reply = Message {
            id: MessageId::new(),
            user_id: self.summary.user.id,
            direction: whatsapp_agent::domain::Direction::Outgoing,
            body: "We are open from 9 to 5.".into(),
            media: Vec::new(),
            channel: self.summary.user.channel,
            provider_message_id: None,
            delivery_status: Some(status.into()),
            agent: Some("anna".into()),
            error: error.map(str::to_string),
            created_at: time(),
        };
        self.stored.lock().expect("lock").push(reply.clone());
        reply
    }

    /// A job, `status`, that sends `reply`.
    pub fn job(&self, id: i64, reply: MessageId, status: &str) {
        self.jobs
            .lock()
            .expect("lock")
            .push((id, reply, status.into()));
    }

    pub fn job_status(&self, id: i64) -> Option<String> {
        let jobs = self.jobs.lock().expect("lock");
        jobs.iter().find(|j| j.0 == id).map(|j| j.2.clone())
    }
}

#[async_trait]
impl StaffStore for OneConversation {
    async fn conversations(
        &self,
        _: &ConversationFilter,
    ) -> Result<Vec<ConversationSummary>, StaffStoreError> {
        Ok(vec![self.summary.clone()])
    }

    async fn conversation(
        &self,
        id: ConversationId,
        _: Page,
        _: DateTime<Utc>,
    ) -> Result<Option<(ConversationSummary, Vec<Message>)>, StaffStoreError> {
        Ok((id == self.id()).then(|| (self.summary.clone(), self.stored())))
    }

    async fn user_messages(
        &self,
        _: &UserRef,
        _: Page,
    ) -> Result<Option<(User, Vec<FiledMessage>)>, StaffStoreError> {
        Ok(None)
    }

    async fn take_over(
        &self,
        id: ConversationId,
        _: DateTime<Utc>,
    ) -> Result<Option<Conversation>, StaffStoreError> {
        Ok((id == self.id()).then(|| {
            let mut taken = self.summary.conversation.clone();
            taken.state = ConversationState::WaitingForHuman;
            taken
        }))
    }

    async fn store_staff_reply(
        &self,
        id: ConversationId,
        reply: &NewMessage,
    ) -> Result<Option<(Conversation, User, Message)>, StaffStoreError> {
        if id != self.id() {
            return Ok(None);
        }
        let message = Message {
            id: reply.id,
            user_id: self.summary.user.id,
            direction: reply.direction,
            body: reply.body.clone(),
            media: reply.media.clone(),
            channel: reply.channel,
            provider_message_id: None,
            delivery_status: None,
            agent: reply.agent.clone(),
            error: None,
            created_at: time(),
        };
        self.stored.lock().expect("lock").push(message.clone());
        let mut conversation = self.summary.conversation.clone();
        conversation.state = ConversationState::WaitingForHuman;
        Ok(Some((conversation, self.summary.user.clone(), message)))
    }

    async fn record_staff_send(
        &self,
        message: MessageId,
        outcome: &SendOutcome,
    ) -> Result<Option<Message>, StaffStoreError> {
        self.outcomes.lock().expect("lock").push(outcome.clone());
        let mut stored = self.stored.lock().expect("lock");
        let Some(found) = stored.iter_mut().find(|m| m.id == message) else {
            return Ok(None);
        };
        match outcome {
            SendOutcome::Sent(ids) => {
                found.provider_message_id = ids.first().cloned();
                found.delivery_status = Some("sent".into());
            }
            SendOutcome::Failed { error, sent } => {
                found.provider_message_id = sent.first().cloned();
                found.delivery_status = Some("failed".into());
                found.error = Some(error.clone());
            }
        }
        Ok(Some(found.clone()))
    }

    async fn mark_changed(
        &self,
        _: ConversationId,
        at: DateTime<Utc>,
    ) -> Result<(), StaffStoreError> {
        self.changed.lock().expect("lock").push(at);
        Ok(())
    }

    async fn stored_reply(
        &self,
        id: ConversationId,
        message: MessageId,
    ) -> Result<Option<(User, Message, usize)>, StaffStoreError> {
        let found = self.stored().into_iter().find(|m| m.id == message);
        Ok(found
            .filter(|_| id == self.id())
            .map(|m| (self.summary.user.clone(), m, 0)))
    }
}

#[async_trait]
impl JobBoard for OneConversation {
    async fn list(&self, _: Option<&str>, _: usize) -> Result<Vec<JobSummary>, JobBoardError> {
        Ok(Vec::new())
    }

    async fn oldest_pending(&self) -> Result<Option<DateTime<Utc>>, JobBoardError> {
        Ok(None)
    }

    async fn retry(&self, id: i64) -> Result<(), JobBoardError> {
        Err(JobBoardError::NotFound(id))
    }

    async fn retry_reply(&self, reply: MessageId) -> Result<Option<i64>, JobBoardError> {
        let mut jobs = self.jobs.lock().expect("lock");
        let Some(job) = jobs.iter_mut().find(|j| j.1 == reply) else {
            return Ok(None);
        };
        if job.2 != "failed" {
            return Err(JobBoardError::NotFailed {
                id: job.0,
                status: job.2.clone(),
            });
        }
        job.2 = "pending".into();
        let mut stored = self.stored.lock().expect("lock");
        if let Some(m) = stored.iter_mut().find(|m| m.id == reply) {
            m.delivery_status = Some("queued".into());
            m.error = None;
        }
        Ok(Some(job.0))
    }
}

#[async_trait]
impl ConversationStore for OneConversation {
    async fn release(&self, id: ConversationId) -> Result<Option<Conversation>, StoreError> {
        Ok((id == self.id()).then(|| self.summary.conversation.clone()))
    }
}

/// Records every message it is asked to send and answers with `answer`.
pub struct RecordingMessenger {
    pub sent: Mutex<Vec<OutboundMessage>>,
    pub answer: Result<Vec<String>, MessengerError>,
}

impl RecordingMessenger {
    pub fn answering(answer: Result<Vec<String>, MessengerError>) -> Arc<Self> {
        Arc::new(Self {
            sent: Mutex::default(),
            answer,
        })
    }

    pub fn sent(&self) -> Vec<OutboundMessage> {
        self.sent.lock().expect("lock").clone()
    }
}

#[async_trait]
impl Messenger for RecordingMessenger {
    fn label(&self) -> String {
        "recording".into()
    }

    fn split(&self, body: &str) -> Vec<String> {
        vec![body.to_string()]
    }

    async fn send_part(&self, part: &OutboundPart) -> Result<String, MessengerError> {
        self.send(&OutboundMessage {
            to: part.to.clone(),
            body: part.body.clone(),
            media_urls: part.media_urls.clone(),
            skip_parts: 0,
        })
        .await
        .map(|ids| ids.concat())
    }

    async fn find_sent(
        &self,
        _: &str,
        _: &str,
        _: DateTime<Utc>,
    ) -> Result<Option<String>, MessengerError> {
        Ok(None)
    }

    async fn send(&self, message: &OutboundMessage) -> Result<Vec<String>, MessengerError> {
        self.sent.lock().expect("lock").push(message.clone());
        self.answer.clone()
    }
}
