//! Reading conversations: the inbox listing and one conversation with its messages.

use poem_openapi::payload::Json;
use uuid::Uuid;
use whatsapp_agent::access::{AccessError, Caller};
use whatsapp_agent::domain::ConversationId;
use whatsapp_agent::staff::ConversationQuery;

use crate::error::Failure;
use crate::state::AppState;

use super::cursor;
use super::replies::{ConversationReply, ListReply};
use super::request::staff_caller;
use super::views::{ChannelView, ConversationDetailView, ConversationListView, StaffMessageView};
use crate::conversations::ConversationStateView;

/// The listing's filters and page, as the query string gave them.
pub struct ListParams {
    pub state: Option<ConversationStateView>,
    pub flagged: Option<bool>,
    pub channel: Option<ChannelView>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

pub async fn list(
    state: &AppState,
    caller: Result<Caller, AccessError>,
    params: ListParams,
) -> ListReply {
    match try_list(state, caller, params).await {
        Ok(view) => ListReply::Ok(Json(view)),
        Err(failure) => failure.into(),
    }
}

async fn try_list(
    state: &AppState,
    caller: Result<Caller, AccessError>,
    params: ListParams,
) -> Result<ConversationListView, Failure> {
    let (staff, caller) = staff_caller(state, caller)?;
    let query = ConversationQuery {
        state: params.state.map(Into::into),
        flagged: params.flagged,
        channel: params.channel.map(Into::into),
        cursor: params.cursor.as_deref().map(cursor::decode).transpose()?,
        limit: params.limit.map(|l| l as usize),
    };
    let page = staff.conversations(&caller, query).await?;
    Ok(ConversationListView {
        conversations: page.items.iter().map(Into::into).collect(),
        next_cursor: page.next.map(cursor::encode),
    })
}

pub async fn one(
    state: &AppState,
    caller: Result<Caller, AccessError>,
    id: Uuid,
    cursor: Option<String>,
    limit: Option<u32>,
) -> ConversationReply {
    match try_one(state, caller, id, cursor, limit).await {
        Ok(view) => ConversationReply::Ok(Json(view)),
        Err(failure) => failure.into(),
    }
}

async fn try_one(
    state: &AppState,
    caller: Result<Caller, AccessError>,
    id: Uuid,
    page: Option<String>,
    limit: Option<u32>,
) -> Result<ConversationDetailView, Failure> {
    let (staff, caller) = staff_caller(state, caller)?;
    let before = page.as_deref().map(cursor::decode).transpose()?;
    let found = staff
        .conversation(
            &caller,
            ConversationId(id),
            before,
            limit.map(|l| l as usize),
        )
        .await?;
    Ok(ConversationDetailView {
        conversation: (&found.summary).into(),
        messages: found
            .messages
            .items
            .iter()
            .map(|m| StaffMessageView::new(m, Some(id)))
            .collect(),
        next_cursor: found.messages.next.map(cursor::encode),
    })
}
