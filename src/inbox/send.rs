//! Sending a stored reply part by part, so that no part goes out twice.
//!
//! Before a part is sent, the attempt is recorded (fenced by the job's lease); after, the
//! provider's id. A part with an attempt but no id may or may not have gone out (a timeout,
//! a crash, a database outage right after the send): the provider is asked first, and the
//! part is sent again only when the provider has no such message.

use chrono::Duration as ChronoDuration;

use crate::domain::Message;
use crate::ports::{DeliveryLogError, Job, MessengerError, OutboundPart};

use super::worker::{InboundWorker, Step};

impl From<DeliveryLogError> for Step {
    fn from(err: DeliveryLogError) -> Self {
        match err {
            DeliveryLogError::Lost => Step::Lost,
            other => Step::Retry(other.to_string()),
        }
    }
}

impl InboundWorker {
    /// Sends every part of `reply` not yet known to have gone out, then marks the reply sent.
    pub(super) async fn send_reply(
        &self,
        job: &Job,
        to: &str,
        reply: &Message,
    ) -> Result<(), Step> {
        let parts = self.messenger.split(&reply.body);
        let recorded = self.deliveries.attempts(job).await?;
        let skew = ChronoDuration::from_std(self.config.clock_skew).unwrap_or_default();
        for (index, body) in parts.iter().enumerate() {
            let part = u32::try_from(index).unwrap_or(u32::MAX);
            let earlier = recorded.iter().find(|a| a.part == part);
            if let Some(earlier) = earlier {
                if earlier.provider_message_id.is_some() {
                    continue;
                }
                // The provider's clock and ours differ a little, and its times are in whole
                // seconds: look back a little before the first attempt.
                let since = earlier.first_attempt_at - skew;
                let found = match self.messenger.find_sent(to, body, since).await {
                    // The same text sent for an earlier reply is not this part.
                    Ok(Some(id)) if self.deliveries.is_recorded(&id).await? => Ok(None),
                    other => other,
                };
                match found {
                    Ok(Some(id)) => {
                        tracing::info!(
                            job = job.id,
                            part,
                            "part had gone out; recorded, not sent again"
                        );
                        self.deliveries
                            .record_sent(job, reply.id, part, &id)
                            .await?;
                        continue;
                    }
                    Ok(None) => {}
                    Err(err) => {
                        return Err(Step::Retry(format!(
                            "cannot tell whether part {} went out: {err}",
                            index + 1
                        )))
                    }
                }
            }
            self.deliveries
                .begin_attempt(job, part, self.config.lease)
                .await?;
            let outbound = OutboundPart {
                to: to.to_string(),
                body: body.clone(),
                media_urls: Vec::new(),
            };
            match self.messenger.send_part(&outbound).await {
                Ok(id) => {
                    self.deliveries
                        .record_sent(job, reply.id, part, &id)
                        .await?
                }
                Err(MessengerError::Temporary { message, .. }) => {
                    return Err(Step::Retry(format!("send failed: {message}")))
                }
                Err(MessengerError::Permanent { message, code, .. }) => {
                    return Err(Step::Fail(match code {
                        Some(code) => format!("send refused ({code}): {message}"),
                        None => format!("send refused: {message}"),
                    }))
                }
            }
        }
        self.deliveries.finish_sending(job, reply.id).await?;
        Ok(())
    }
}
