//! Sending a failed WhatsApp reply again: a person's as it was written, a bot's by re-driving
//! the job that sends it.

use crate::access::{Caller, Scope};
use crate::domain::{Channel, ConversationId, Direction, Message, MessageId};
use crate::ports::StaffStoreError;

use super::{Staff, StaffError};

/// Delivery statuses after which a reply may be sent again.
const FAILED: [&str; 2] = ["failed", "undelivered"];

/// Who wrote a reply that may be sent again, which says how it is sent.
#[derive(Debug, PartialEq, Eq)]
enum Author {
    /// A person: sent again at once, as it was written.
    Person,
    /// Anna, a specialist or a fixed reply: its job is re-driven and a worker sends it.
    Bot,
}

impl Staff {
    /// Sends again a reply that did not reach the user on WhatsApp (its delivery status is
    /// `failed` or `undelivered`).
    ///
    /// A person's reply is sent at once, as it was written, with the same delivery tracking as
    /// the first time; the reply is returned with what the provider said now. A bot's reply
    /// (Anna, a specialist, a fixed reply) is handed back to the WhatsApp workers: the job that
    /// sends it is re-driven as an operator's job retry does (the stored reply is sent, not
    /// generated again, and parts that went out are not sent again), the reply is returned as
    /// now stored, `queued` without its old error, and the conversation counts as changed so
    /// that every open inbox hears of it.
    ///
    /// # Errors
    /// [`StaffError::Access`] without the `admin` scope; [`StaffError::NotFound`] when the
    /// conversation has no such message; [`StaffError::Invalid`] naming `message_id` when it is
    /// not a failed WhatsApp reply, when part of a person's reply went out (sending it whole
    /// would repeat that part), or when no job sends a bot's reply;
    /// [`StaffError::Job`] with [`crate::ports::JobBoardError::NotFailed`] when the job that
    /// sends a bot's reply is not failed (pending or running: it is being sent already; done);
    /// [`StaffError::Store`] when the store fails. Nothing is sent or changed on an error.
    #[tracing::instrument(skip_all, fields(conversation = %id, message = %message))]
    pub async fn retry(
        &self,
        caller: &Caller,
        id: ConversationId,
        message: MessageId,
    ) -> Result<Message, StaffError> {
        caller.require(Scope::Admin)?;
        let Some((user, stored, parts_sent)) = self.store.stored_reply(id, message).await? else {
            return Err(missing(id, message));
        };
        match check(&stored, user.channel, parts_sent)? {
            Author::Person => {
                tracing::info!("sending a failed staff reply again");
                self.send(&user, stored).await
            }
            Author::Bot => self.redrive(id, message).await,
        }
    }

    /// Re-drives the failed job that sends a bot's reply; returns the reply as now stored.
    async fn redrive(&self, id: ConversationId, message: MessageId) -> Result<Message, StaffError> {
        let jobs = self.jobs.as_ref().ok_or_else(|| {
            StaffError::Store(StaffStoreError::Unknown(anyhow::anyhow!(
                "no job board is wired to re-drive a bot's reply"
            )))
        })?;
        let Some(job) = jobs.retry_reply(message).await? else {
            return Err(StaffError::invalid(
                "message_id",
                "no job sends this reply any more, so it cannot be sent again; send a new reply",
            ));
        };
        tracing::info!(job, "a bot's failed reply re-driven by the team");
        // Re-driving counts as activity, as a release does, so every open inbox hears of it.
        // The job is queued either way: a failure here only delays that news.
        if let Err(err) = self.store.mark_changed(id, self.clock.now()).await {
            tracing::warn!(error = %err, "re-drive not marked as activity");
        }
        match self.store.stored_reply(id, message).await? {
            Some((_, now, _)) => Ok(now),
            None => Err(missing(id, message)),
        }
    }
}

fn missing(id: ConversationId, message: MessageId) -> StaffError {
    StaffError::NotFound(format!("conversation {id} has no message {message}"))
}

/// Only a failed WhatsApp reply is sent again; a person's only if no part of it went out.
fn check(stored: &Message, channel: Channel, parts_sent: usize) -> Result<Author, StaffError> {
    if stored.direction != Direction::Outgoing || channel != Channel::WhatsApp {
        return Err(StaffError::invalid(
            "message_id",
            "only a reply on WhatsApp can be sent again",
        ));
    }
    if !stored
        .delivery_status
        .as_deref()
        .is_some_and(|s| FAILED.contains(&s))
    {
        return Err(StaffError::invalid(
            "message_id",
            "this reply did not fail; only a failed or undelivered reply is sent again",
        ));
    }
    let by_person = stored
        .agent
        .as_deref()
        .is_some_and(|a| a.starts_with("human:"));
    if !by_person {
        return Ok(Author::Bot);
    }
    if parts_sent > 0 {
        return Err(StaffError::invalid(
            "message_id",
            "part of this reply went out; send the rest as a new reply",
        ));
    }
    Ok(Author::Person)
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::domain::UserId;

    fn reply(agent: &str, status: Option<&str>) -> Message {
        Message {
            id: MessageId::new(),
            user_id: UserId(uuid::Uuid::nil()),
            direction: Direction::Outgoing,
            body: "Please call 112 now.".into(),
            media: Vec::new(),
            channel: Channel::WhatsApp,
            provider_message_id: None,
            delivery_status: status.map(str::to_string),
            agent: Some(agent.into()),
            error: None,
            created_at: Utc::now(),
        }
    }

    #[test]
    fn a_failed_whatsapp_reply_goes_again_a_persons_only_with_nothing_sent() {
        let failed = reply("human:Dr Ruiz", Some("failed"));
        assert_eq!(
            check(&failed, Channel::WhatsApp, 0).ok(),
            Some(Author::Person)
        );
        assert_eq!(
            check(
                &reply("human:Dr Ruiz", Some("undelivered")),
                Channel::WhatsApp,
                0
            )
            .ok(),
            Some(Author::Person)
        );
        let bots = reply("anna", Some("failed"));
        assert_eq!(check(&bots, Channel::WhatsApp, 0).ok(), Some(Author::Bot));
        assert_eq!(
            check(&bots, Channel::WhatsApp, 1).ok(),
            Some(Author::Bot),
            "its job does not send a part again"
        );
        let mut incoming = reply("anna", Some("failed"));
        incoming.direction = Direction::Incoming;
        let refused = [
            check(&failed, Channel::WhatsApp, 1),
            check(&failed, Channel::Chat, 0),
            check(&bots, Channel::Chat, 0),
            check(&incoming, Channel::WhatsApp, 0),
            check(&reply("anna", Some("delivered")), Channel::WhatsApp, 0),
            check(
                &reply("human:Dr Ruiz", Some("delivered")),
                Channel::WhatsApp,
                0,
            ),
            check(&reply("human:Dr Ruiz", None), Channel::WhatsApp, 0),
        ];
        for outcome in refused {
            assert!(
                matches!(&outcome, Err(StaffError::Invalid { field, .. }) if field == "message_id"),
                "{outcome:?}"
            );
        }
    }
}
