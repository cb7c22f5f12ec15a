//! Receiving webhooks: verify, parse, store with a job. No model call happens here, so the
//! provider gets its acknowledgement in milliseconds.

use std::sync::Arc;

use tracing::Instrument;

use crate::domain::{storable_text, Channel, Direction, MessageId, NewMessage, NewUser};
use crate::ports::{
    DeliveryLog, Enqueued, InboundChannel, InboundDelivery, InboundIntake, JobBoard, JobBoardError,
    StoreError, WebhookError, WebhookRequest,
};

/// What happened to an inbound delivery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Received {
    /// Stored, with a job queued.
    Accepted,
    /// Seen before (a provider retry); acknowledged, not stored or answered again.
    Duplicate,
}

/// Why a webhook was not acknowledged.
#[derive(Debug, thiserror::Error)]
pub enum InboxError {
    #[error(transparent)]
    Webhook(#[from] WebhookError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The request's parameters made storable. Used after the signature check, which covers the
/// parameters exactly as sent.
fn storable_params(request: &WebhookRequest) -> Vec<(String, String)> {
    request
        .params()
        .into_iter()
        .map(|(k, v)| {
            (
                storable_text(&k).into_owned(),
                storable_text(&v).into_owned(),
            )
        })
        .collect()
}

/// The stored identity of a channel sender. E.164 numbers are kept as they are; anything else
/// (provider-scoped ids) is prefixed, so it can never collide with a `chat_…` app-chat user.
fn channel_identity(from: &str) -> String {
    if from.starts_with('+') || !from.starts_with(crate::domain::CHAT_USER_PREFIX) {
        from.to_string()
    } else {
        format!("whatsapp:{from}")
    }
}

/// Opens the span one stage of an inbound message's work runs in (`webhook`, `job`), given the
/// message's id. The composition root makes all stages of one message continue one trace; the
/// span must declare a `conversation` field, which the worker fills in. Never a phone number or
/// a body.
pub type MessageSpan = Arc<dyn Fn(&'static str, MessageId) -> tracing::Span + Send + Sync>;

/// A plain span per stage, for when no tracing backend links them.
pub fn plain_message_span() -> MessageSpan {
    Arc::new(|stage, id| {
        tracing::info_span!(
            "inbound",
            stage,
            inbound_message = %id,
            conversation = tracing::field::Empty,
        )
    })
}

/// The receiving side of a messaging channel.
#[derive(Clone)]
pub struct Inbox {
    channel: Arc<dyn InboundChannel>,
    intake: Arc<dyn InboundIntake>,
    deliveries: Arc<dyn DeliveryLog>,
    pub(super) jobs: Option<Arc<dyn JobBoard>>,
    span: MessageSpan,
}

impl Inbox {
    pub fn new(
        channel: Arc<dyn InboundChannel>,
        intake: Arc<dyn InboundIntake>,
        deliveries: Arc<dyn DeliveryLog>,
    ) -> Self {
        Self {
            channel,
            intake,
            deliveries,
            jobs: None,
            span: plain_message_span(),
        }
    }

    /// Reads the queue's state through `jobs` (for readiness and operators).
    pub fn with_job_board(mut self, jobs: Arc<dyn JobBoard>) -> Self {
        self.jobs = Some(jobs);
        self
    }

    /// How long the oldest job still waiting to be answered has waited; zero when none
    /// waits, `None` when no job board is wired.
    ///
    /// # Errors
    /// [`JobBoardError::Unavailable`] when the database is down.
    pub async fn oldest_pending_age(&self) -> Result<Option<std::time::Duration>, JobBoardError> {
        let Some(jobs) = &self.jobs else {
            return Ok(None);
        };
        let oldest = jobs.oldest_pending().await?;
        Ok(Some(oldest.map_or(std::time::Duration::ZERO, |at| {
            (chrono::Utc::now() - at).to_std().unwrap_or_default()
        })))
    }

    /// Stores each message inside the span `span` opens for its `webhook` stage.
    pub fn with_message_span(mut self, span: MessageSpan) -> Self {
        self.span = span;
        self
    }

    /// Verifies and stores an inbound message with its job.
    ///
    /// # Errors
    /// [`WebhookError::Forbidden`] (nothing stored) for a bad signature; `Malformed` for a
    /// signed request without the required fields; [`StoreError`] when it could not be
    /// stored, so the provider retries.
    pub async fn receive(&self, request: &WebhookRequest) -> Result<Received, InboxError> {
        self.channel.verify(request)?;
        let inbound = self.channel.parse_message(&storable_params(request))?;
        let user = NewUser {
            phone_number: channel_identity(&inbound.from),
            display_name: inbound.profile_name.clone(),
            channel: Channel::WhatsApp,
        };
        let mut message = NewMessage::new(
            crate::domain::UserId::new(),
            Channel::WhatsApp,
            Direction::Incoming,
            inbound.body.clone(),
        );
        message.media = inbound.media.clone();
        message.provider_message_id = Some(inbound.provider_message_id.clone());
        let span = (self.span)("webhook", message.id);
        let delivery = InboundDelivery {
            user,
            channel_user_id: inbound.channel_user_id.clone(),
            message,
            raw: inbound.raw,
        };
        Ok(
            match self
                .intake
                .enqueue(&delivery)
                .instrument(span)
                .await
                .map_err(StoreError::from)?
            {
                Enqueued::Accepted { .. } => Received::Accepted,
                Enqueued::Duplicate => Received::Duplicate,
            },
        )
    }

    /// Verifies and applies a delivery status callback. Returns whether it changed anything.
    ///
    /// # Errors
    /// As for [`Inbox::receive`].
    pub async fn status(&self, request: &WebhookRequest) -> Result<bool, InboxError> {
        self.channel.verify(request)?;
        let update = self.channel.parse_status(&storable_params(request))?;
        Ok(self
            .deliveries
            .update_delivery(&update)
            .await
            .map_err(StoreError::from)?)
    }
}
