//! Replying as a person: what a reply may hold, who it is signed by, and sending it on the
//! user's channel with the same delivery tracking as the bot's replies.

use crate::access::Caller;
use crate::domain::{Channel, ConversationId, Direction, Message, NewMessage, User};
use crate::ports::{MessengerError, OutboundMessage, SendOutcome};

use super::{Staff, StaffError};

/// The longest reply, in characters.
pub const MAX_REPLY_CHARS: usize = 4096;
/// The longest author name, in characters: `human:` and the name fit the stored agent's 64.
pub const MAX_AUTHOR_CHARS: usize = 50;
/// The author of a reply when neither the request nor the credential names one.
pub const STAFF_AUTHOR: &str = "staff";

/// A person's reply to a user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PersonReply {
    /// What the user reads.
    pub text: String,
    /// Who signs it (`Dr Ruiz`); defaults to the credential's name, else `staff`.
    pub author: Option<String>,
}

impl PersonReply {
    /// The checked text, and the agent the reply is stored under (`human:<name>`).
    fn validate(&self, caller: &Caller) -> Result<String, StaffError> {
        let chars = self.text.chars().count();
        if self.text.trim().is_empty() {
            return Err(StaffError::invalid("text", "must not be empty or blank"));
        }
        if chars > MAX_REPLY_CHARS {
            return Err(StaffError::invalid(
                "text",
                format!("must be at most {MAX_REPLY_CHARS} characters (it has {chars})"),
            ));
        }
        if self.text.contains('\0') {
            return Err(StaffError::invalid(
                "text",
                "must not contain NUL characters",
            ));
        }
        let name = match &self.author {
            Some(author) => {
                let trimmed = author.trim();
                if trimmed.is_empty()
                    || author.chars().count() > MAX_AUTHOR_CHARS
                    || author.chars().any(char::is_control)
                {
                    return Err(StaffError::invalid(
                        "author",
                        format!(
                            "must be 1 to {MAX_AUTHOR_CHARS} characters, not blank, without \
                             control characters"
                        ),
                    ));
                }
                trimmed.to_string()
            }
            // A key's name may be longer than an author's: its start signs the reply.
            None => caller
                .display_name()
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .unwrap_or(STAFF_AUTHOR)
                .chars()
                .take(MAX_AUTHOR_CHARS)
                .collect::<String>()
                .trim_end()
                .to_string(),
        };
        Ok(format!("human:{name}"))
    }
}

impl Staff {
    /// Stores a person's reply in the conversation, which the person now holds (the bot stays
    /// silent until it is released) and which counts as seen, and sends it on WhatsApp; on app
    /// chat it simply appears in the history the next turn reads. Returns the reply as stored,
    /// with its delivery status (`sent`, or `failed` and the error) on WhatsApp.
    ///
    /// # Errors
    /// [`StaffError::Access`] without the `admin` scope and [`StaffError::Invalid`] for an
    /// empty, blank or overlong text or author, both before anything is stored;
    /// [`StaffError::NotFound`] when there is no such conversation; [`StaffError::Store`] when
    /// the store fails (a failed send is not an error: it is recorded on the reply).
    #[tracing::instrument(skip_all, fields(conversation = %id))]
    pub async fn reply(
        &self,
        caller: &Caller,
        id: ConversationId,
        reply: PersonReply,
    ) -> Result<Message, StaffError> {
        caller.require(crate::access::Scope::Admin)?;
        let agent = reply.validate(caller)?;
        let now = self.clock.now();
        let Some((summary, _)) = self.store.conversation(id, empty_page(), now).await? else {
            return Err(not_found(id));
        };
        let mut message = NewMessage::new(
            summary.user.id,
            summary.user.channel,
            Direction::Outgoing,
            reply.text,
        );
        message.agent = Some(agent);
        let Some((_, user, stored)) = self.store.store_staff_reply(id, &message).await? else {
            return Err(not_found(id));
        };
        tracing::info!(message = %stored.id, channel = user.channel.as_str(), "staff reply stored");
        match user.channel {
            Channel::Chat => Ok(stored),
            Channel::WhatsApp => self.send(&user, stored).await,
        }
    }

    /// Sends a stored reply to a WhatsApp user and records what the provider said.
    pub(super) async fn send(&self, user: &User, stored: Message) -> Result<Message, StaffError> {
        let outcome = match &self.messenger {
            None => SendOutcome::Failed {
                error: "no messaging channel is configured".into(),
                sent: Vec::new(),
            },
            Some(messenger) => {
                let outbound = OutboundMessage {
                    to: user.phone_number.clone(),
                    body: stored.body.clone(),
                    media_urls: Vec::new(),
                    skip_parts: 0,
                };
                match messenger.send(&outbound).await {
                    Ok(ids) => SendOutcome::Sent(ids),
                    Err(MessengerError::Temporary { message, sent }) => SendOutcome::Failed {
                        error: format!("send failed: {message}"),
                        sent,
                    },
                    Err(MessengerError::Permanent {
                        message,
                        code,
                        sent,
                    }) => SendOutcome::Failed {
                        error: match code {
                            Some(code) => format!("send refused ({code}): {message}"),
                            None => format!("send refused: {message}"),
                        },
                        sent,
                    },
                }
            }
        };
        match &outcome {
            SendOutcome::Sent(parts) => {
                tracing::info!(message = %stored.id, parts = parts.len(), "staff reply sent");
            }
            SendOutcome::Failed { sent, .. } => {
                tracing::warn!(message = %stored.id, parts_sent = sent.len(), "staff reply not delivered");
            }
        }
        let id = stored.id;
        self.store
            .record_staff_send(id, &outcome)
            .await?
            .ok_or_else(|| StaffError::NotFound(format!("message {id} is gone")))
    }
}

/// A page of no messages: the conversation's summary only.
fn empty_page() -> crate::ports::Page {
    crate::ports::Page {
        before: None,
        limit: 0,
    }
}

pub(super) fn not_found(id: ConversationId) -> StaffError {
    StaffError::NotFound(format!("no conversation {id}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str) -> Caller {
        Caller::Key {
            prefix: "wak_12345678".into(),
            name: name.into(),
            scopes: vec![crate::access::Scope::Admin],
        }
    }

    fn reply(text: &str, author: Option<&str>) -> PersonReply {
        PersonReply {
            text: text.into(),
            author: author.map(str::to_string),
        }
    }

    #[test]
    fn the_author_is_the_request_s_then_the_key_s_then_staff() {
        let caller = key("Front desk");
        assert_eq!(
            reply("hi", Some(" Dr Ruiz "))
                .validate(&caller)
                .ok()
                .as_deref(),
            Some("human:Dr Ruiz")
        );
        assert_eq!(
            reply("hi", None).validate(&caller).ok().as_deref(),
            Some("human:Front desk")
        );
        assert_eq!(
            reply("hi", None)
                .validate(&Caller::AdminToken)
                .ok()
                .as_deref(),
            Some("human:staff")
        );
    }

    #[test]
    fn unusable_text_or_author_names_the_field() {
        let long = "a".repeat(MAX_REPLY_CHARS + 1);
        let cases = [
            (reply("", None), "text"),
            (reply(" \n", None), "text"),
            (reply(&long, None), "text"),
            (reply("a\0b", None), "text"),
            (reply("hi", Some("  ")), "author"),
            (reply("hi", Some("a\nb")), "author"),
        ];
        for (case, expected) in cases {
            match case.validate(&Caller::AdminToken) {
                Err(StaffError::Invalid { field, .. }) => assert_eq!(field, expected),
                other => panic!("{case:?}: {other:?}"),
            }
        }
        let longest = "é".repeat(MAX_REPLY_CHARS);
        assert!(reply(&longest, None).validate(&Caller::AdminToken).is_ok());
    }
}
