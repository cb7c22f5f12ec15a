//! One user's messages across their conversations.

use poem_openapi::payload::Json;
use whatsapp_agent::access::{AccessError, Caller};
use whatsapp_agent::ports::UserRef;

use crate::error::Failure;
use crate::state::AppState;

use super::cursor;
use super::replies::UserMessagesReply;
use super::request::staff_caller;
use super::views::UserMessagesView;

pub async fn messages(
    state: &AppState,
    caller: Result<Caller, AccessError>,
    user: &str,
    cursor: Option<String>,
    limit: Option<u32>,
) -> UserMessagesReply {
    match try_messages(state, caller, user, cursor, limit).await {
        Ok(view) => UserMessagesReply::Ok(Json(view)),
        Err(failure) => failure.into(),
    }
}

async fn try_messages(
    state: &AppState,
    caller: Result<Caller, AccessError>,
    user: &str,
    page: Option<String>,
    limit: Option<u32>,
) -> Result<UserMessagesView, Failure> {
    let (staff, caller) = staff_caller(state, caller)?;
    let before = page.as_deref().map(cursor::decode).transpose()?;
    let found = staff
        .user_messages(
            &caller,
            &UserRef::parse(user),
            before,
            limit.map(|l| l as usize),
        )
        .await?;
    Ok(UserMessagesView {
        user: (&found.user).into(),
        messages: found.messages.items.iter().map(Into::into).collect(),
        next_cursor: found.messages.next.map(cursor::encode),
    })
}
