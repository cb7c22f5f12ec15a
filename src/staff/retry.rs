//! Sending a person's failed WhatsApp reply again, as it was written.

use crate::access::{Caller, Scope};
use crate::domain::{Channel, ConversationId, Direction, Message, MessageId};

use super::{Staff, StaffError};

/// Delivery statuses after which a reply may be sent again.
const FAILED: [&str; 2] = ["failed", "undelivered"];

impl Staff {
    /// Sends again a person's reply that did not reach the user (its delivery status is
    /// `failed` or `undelivered`), with the same delivery tracking as the first time; returns
    /// the reply with what the provider said now.
    ///
    /// # Errors
    /// [`StaffError::Access`] without the `admin` scope; [`StaffError::NotFound`] when the
    /// conversation has no such message; [`StaffError::Invalid`] naming `message_id` when it is
    /// not a person's WhatsApp reply that failed, or when part of it went out (sending it whole
    /// would repeat that part); [`StaffError::Store`] when the store fails.
    #[tracing::instrument(skip_all, fields(conversation = %id, message = %message))]
    pub async fn retry(
        &self,
        caller: &Caller,
        id: ConversationId,
        message: MessageId,
    ) -> Result<Message, StaffError> {
        caller.require(Scope::Admin)?;
        let Some((user, stored, parts_sent)) = self.store.stored_reply(id, message).await? else {
            return Err(StaffError::NotFound(format!(
                "conversation {id} has no message {message}"
            )));
        };
        check(&stored, user.channel, parts_sent)?;
        tracing::info!("sending a failed staff reply again");
        self.send(&user, stored).await
    }
}

/// Only a person's WhatsApp reply that failed before any part went out is sent again.
fn check(stored: &Message, channel: Channel, parts_sent: usize) -> Result<(), StaffError> {
    let by_person = stored.direction == Direction::Outgoing
        && stored
            .agent
            .as_deref()
            .is_some_and(|a| a.starts_with("human:"));
    if !by_person || channel != Channel::WhatsApp {
        return Err(StaffError::invalid(
            "message_id",
            "only a person's reply on WhatsApp can be sent again",
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
    if parts_sent > 0 {
        return Err(StaffError::invalid(
            "message_id",
            "part of this reply went out; send the rest as a new reply",
        ));
    }
    Ok(())
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
    fn only_a_persons_failed_whatsapp_reply_with_nothing_sent_goes_again() {
        let failed = reply("human:Dr Ruiz", Some("failed"));
        assert!(check(&failed, Channel::WhatsApp, 0).is_ok());
        assert!(check(
            &reply("human:Dr Ruiz", Some("undelivered")),
            Channel::WhatsApp,
            0
        )
        .is_ok());
        let refused = [
            check(&failed, Channel::WhatsApp, 1),
            check(&failed, Channel::Chat, 0),
            check(&reply("anna", Some("failed")), Channel::WhatsApp, 0),
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
