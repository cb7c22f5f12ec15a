//! Steering a conversation: a person takes it over, gives it back, or replies.

use poem_openapi::payload::Json;
use poem_openapi::types::Example;
use poem_openapi::Object;
use serde::Deserialize;
use uuid::Uuid;
use whatsapp_agent::access::{AccessError, Caller};
use whatsapp_agent::domain::ConversationId;
use whatsapp_agent::staff::PersonReply;

use crate::state::AppState;

use super::replies::{ReplyReply, StateReply};
use super::request::staff_caller;
use super::views::StaffMessageView;

/// Which way a conversation changes hands.
#[derive(Clone, Copy, Debug)]
pub enum Hand {
    /// A person takes it; the bot goes silent.
    TakeOver,
    /// The bot answers again.
    Release,
}

pub async fn change_hands(
    state: &AppState,
    caller: Result<Caller, AccessError>,
    id: Uuid,
    hand: Hand,
) -> StateReply {
    let (staff, caller) = match staff_caller(state, caller) {
        Ok(found) => found,
        Err(failure) => return failure.into(),
    };
    let id = ConversationId(id);
    let changed = match hand {
        Hand::TakeOver => staff.take_over(&caller, id).await,
        Hand::Release => staff.release(&caller, id).await,
    };
    match changed {
        Ok(conversation) => StateReply::Ok(Json(conversation.into())),
        Err(err) => crate::error::Failure::from(err).into(),
    }
}

/// A person's reply to the user of a conversation.
#[derive(Debug, Clone, Object, Deserialize)]
#[oai(example)]
pub struct PersonReplyRequest {
    /// What the user reads: 1 to 4096 characters, not blank, no NUL.
    #[oai(validator(
        min_length = 1,
        max_length = 4096,
        pattern = r"^[^\u0000]*[^\u0000\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\u0000]*$"
    ))]
    pub text: String,
    /// Who signs it, stored as the agent `human:<author>`; defaults to the API key's name, or
    /// `staff`. 1 to 50 characters, not blank, no control characters.
    #[oai(validator(
        min_length = 1,
        max_length = 50,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\u0000-\u001f\u007f-\u009f]*$"
    ))]
    #[serde(default)]
    pub author: Option<String>,
}

impl Example for PersonReplyRequest {
    fn example() -> Self {
        Self {
            text: "This is Dr Ruiz. Please call 112 now; I am calling you as well.".into(),
            author: Some("Dr Ruiz".into()),
        }
    }
}

pub async fn reply(
    state: &AppState,
    caller: Result<Caller, AccessError>,
    id: Uuid,
    request: PersonReplyRequest,
) -> ReplyReply {
    let (staff, caller) = match staff_caller(state, caller) {
        Ok(found) => found,
        Err(failure) => return failure.into(),
    };
    let reply = PersonReply {
        text: request.text,
        author: request.author,
    };
    match staff.reply(&caller, ConversationId(id), reply).await {
        Ok(message) => ReplyReply::Created(Json(StaffMessageView::new(&message, Some(id)))),
        Err(err) => crate::error::Failure::from(err).into(),
    }
}
