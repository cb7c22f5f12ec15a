//! One job's queue and delivery log in memory, and a messenger that records what it is asked.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use whatsapp_agent::domain::{Channel, Direction, Message, MessageId, User, UserId};
use whatsapp_agent::ports::{
    DeliveryLog, DeliveryLogError, Job, JobContext, JobFailure, JobLeases, LeaseError, Messenger,
    MessengerError, OutboundMessage, OutboundPart, PartAttempt, StatusUpdate,
};

pub fn time() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-29T18:00:00Z")
        .expect("time")
        .with_timezone(&Utc)
}

pub fn message(user: UserId, direction: Direction, body: &str) -> Message {
    Message {
        id: MessageId::new(),
        user_id: user,
        direction,
        body: body.into(),
        media: Vec::new(),
        channel: Channel::WhatsApp,
        provider_message_id: None,
        delivery_status: None,
        agent: None,
        error: None,
        created_at: Utc::now(),
    }
}

/// What happened to the job.
#[derive(Clone, Debug, Default)]
pub struct Record {
    pub reply: Option<Message>,
    pub attempts: Vec<PartAttempt>,
    pub begun: usize,
    pub sent: Vec<(u32, String)>,
    pub finished: bool,
    pub completed: bool,
    pub retried: Option<String>,
    pub failed: Option<JobFailure>,
}

/// One job; `lost` makes every fenced write answer `Lost`, as after a takeover.
pub struct Queue {
    pub job: Job,
    pub user: User,
    pub incoming: Message,
    pub lost: Mutex<bool>,
    pub record: Mutex<Record>,
}

impl Queue {
    pub fn new(attempts: u32) -> Arc<Self> {
        let user = User {
            id: UserId::new(),
            phone_number: "+14155550100".into(),
            display_name: None,
            channel: Channel::WhatsApp,
            created_at: time(),
        };
        let incoming = message(user.id, Direction::Incoming, "hello, is anyone there");
        Arc::new(Self {
            job: Job {
                id: 7,
                message: incoming.id,
                user: user.id,
                attempts,
                lease_token: uuid::Uuid::now_v7(),
            },
            user,
            incoming,
            lost: Mutex::new(false),
            record: Mutex::new(Record::default()),
        })
    }

    /// A stored reply, and an earlier attempt at its first part with no known outcome.
    pub fn with_unknown_attempt(self: Arc<Self>, body: &str) -> Arc<Self> {
        {
            let mut record = self.record.lock().expect("lock");
            record.reply = Some(message(self.user.id, Direction::Outgoing, body));
            record.attempts.push(PartAttempt {
                part: 0,
                first_attempt_at: time(),
                attempts: 1,
                provider_message_id: None,
            });
        }
        self
    }

    pub fn record(&self) -> Record {
        self.record.lock().expect("lock").clone()
    }

    fn held(&self) -> bool {
        !*self.lost.lock().expect("lock")
    }
}

#[async_trait]
impl JobLeases for Queue {
    async fn claim(&self, _: Duration) -> Result<Option<Job>, LeaseError> {
        Ok(Some(self.job.clone()))
    }

    async fn renew(&self, _: &Job, _: Duration) -> Result<(), LeaseError> {
        self.held().then_some(()).ok_or(LeaseError::Lost)
    }

    async fn context(&self, _: &Job) -> Result<JobContext, LeaseError> {
        Ok(JobContext {
            user: self.user.clone(),
            incoming: self.incoming.clone(),
            reply: self.record().reply,
            last_incoming_at: Utc::now(),
        })
    }

    async fn attach_reply(&self, _: &Job, _: MessageId) -> Result<(), LeaseError> {
        self.held().then_some(()).ok_or(LeaseError::Lost)
    }

    async fn attach_fixed_reply(
        &self,
        _: &Job,
        body: &str,
        agent: &str,
    ) -> Result<Message, LeaseError> {
        if !self.held() {
            return Err(LeaseError::Lost);
        }
        let mut reply = message(self.user.id, Direction::Outgoing, body);
        reply.agent = Some(agent.into());
        self.record.lock().expect("lock").reply = Some(reply.clone());
        Ok(reply)
    }

    async fn complete(&self, _: &Job) -> Result<(), LeaseError> {
        if !self.held() {
            return Err(LeaseError::Lost);
        }
        self.record.lock().expect("lock").completed = true;
        Ok(())
    }

    async fn retry_later(&self, _: &Job, _: Duration, error: &str) -> Result<(), LeaseError> {
        if !self.held() {
            return Err(LeaseError::Lost);
        }
        self.record.lock().expect("lock").retried = Some(error.into());
        Ok(())
    }

    async fn fail(&self, _: &Job, failure: &JobFailure) -> Result<(), LeaseError> {
        if !self.held() {
            return Err(LeaseError::Lost);
        }
        self.record.lock().expect("lock").failed = Some(failure.clone());
        Ok(())
    }
}

#[async_trait]
impl DeliveryLog for Queue {
    async fn attempts(&self, _: &Job) -> Result<Vec<PartAttempt>, DeliveryLogError> {
        Ok(self.record().attempts)
    }

    async fn begin_attempt(
        &self,
        _: &Job,
        part: u32,
        _: Duration,
    ) -> Result<DateTime<Utc>, DeliveryLogError> {
        if !self.held() {
            return Err(DeliveryLogError::Lost);
        }
        let mut record = self.record.lock().expect("lock");
        record.begun += 1;
        if !record.attempts.iter().any(|a| a.part == part) {
            record.attempts.push(PartAttempt {
                part,
                first_attempt_at: Utc::now(),
                attempts: 1,
                provider_message_id: None,
            });
        }
        Ok(Utc::now())
    }

    async fn record_sent(
        &self,
        _: &Job,
        _: MessageId,
        part: u32,
        provider_message_id: &str,
    ) -> Result<(), DeliveryLogError> {
        if !self.held() {
            return Err(DeliveryLogError::Lost);
        }
        self.record
            .lock()
            .expect("lock")
            .sent
            .push((part, provider_message_id.into()));
        Ok(())
    }

    async fn is_recorded(&self, provider_message_id: &str) -> Result<bool, DeliveryLogError> {
        Ok(self
            .record()
            .sent
            .iter()
            .any(|(_, id)| id == provider_message_id))
    }

    async fn finish_sending(&self, _: &Job, _: MessageId) -> Result<(), DeliveryLogError> {
        if !self.held() {
            return Err(DeliveryLogError::Lost);
        }
        self.record.lock().expect("lock").finished = true;
        Ok(())
    }

    async fn update_delivery(&self, _: &StatusUpdate) -> Result<bool, DeliveryLogError> {
        Ok(false)
    }
}

/// What the provider answers when asked whether a part went out.
#[derive(Clone, Debug)]
pub enum Lookup {
    Found(String),
    NotFound,
    CannotSay,
}

/// Records sends and lookups; sends succeed with `SM<n>`.
pub struct Provider {
    pub lookup: Lookup,
    pub sends: Mutex<Vec<OutboundPart>>,
    pub lookups: Mutex<Vec<(String, String, DateTime<Utc>)>>,
}

impl Provider {
    pub fn new(lookup: Lookup) -> Arc<Self> {
        Arc::new(Self {
            lookup,
            sends: Mutex::new(Vec::new()),
            lookups: Mutex::new(Vec::new()),
        })
    }

    pub fn sends(&self) -> Vec<OutboundPart> {
        self.sends.lock().expect("lock").clone()
    }

    pub fn lookups(&self) -> Vec<(String, String, DateTime<Utc>)> {
        self.lookups.lock().expect("lock").clone()
    }
}

#[async_trait]
impl Messenger for Provider {
    fn label(&self) -> String {
        "fake".into()
    }

    fn split(&self, body: &str) -> Vec<String> {
        vec![body.to_string()]
    }

    async fn send_part(&self, part: &OutboundPart) -> Result<String, MessengerError> {
        let mut sends = self.sends.lock().expect("lock");
        sends.push(part.clone());
        Ok(format!("SM{}", sends.len()))
    }

    async fn find_sent(
        &self,
        to: &str,
        body: &str,
        since: DateTime<Utc>,
    ) -> Result<Option<String>, MessengerError> {
        self.lookups
            .lock()
            .expect("lock")
            .push((to.into(), body.into(), since));
        match &self.lookup {
            Lookup::Found(id) => Ok(Some(id.clone())),
            Lookup::NotFound => Ok(None),
            Lookup::CannotSay => Err(MessengerError::Temporary {
                message: "list failed".into(),
                sent: Vec::new(),
            }),
        }
    }

    async fn send(&self, _: &OutboundMessage) -> Result<Vec<String>, MessengerError> {
        unreachable!("the worker sends part by part")
    }
}
