//! The statements of a turn's two writes, for any number of turns in one transaction: accepting
//! arrivals and finishing turns. A single turn is a batch of one; the shared writer
//! ([`crate::turn_writer`]) passes every turn that waited while the previous commit was in
//! flight. The same statements serve PostgreSQL and SQLite.
//!
//! Rows of many turns go in one multi-row statement (users ensured, users and their open
//! conversations read, histories read, messages inserted, activities moved). What only some
//! turns need (a rename, opening or touching a conversation, a conversation change, transcripts)
//! is a statement of its own. Multi-row statements are cut into power-of-two runs, so a
//! connection prepares a few texts once and reuses them.

use std::collections::{HashMap, HashSet};

use sea_orm::{ConnectionTrait, DatabaseTransaction, EntityTrait, FromQueryResult};
use uuid::Uuid;
use whatsapp_agent::domain::{
    first_image_url, Conversation, ConversationId, Message, NewMessage, NewUser, UserId,
};
use whatsapp_agent::ports::{Accepted, Arrival, Finish, FinishError, Incoming, StoreError};

use crate::conversations::to_conversation;
use crate::entity::{conversations, messages, users};
use crate::error::store_error;
use crate::raw::{statement, Query};
use crate::store::{to_message, to_user};

const USER_COLUMNS: &str = "id, phone_number, display_name, channel, created_at, updated_at";
const CONVERSATION_COLUMNS: &str = "id, user_id, open_user_id, active_agent, state, \
     human_notice_sent, flag_reason, started_at, last_activity_at, ended_at";
const MESSAGE_COLUMNS: &str = "id, user_id, direction, body, media_url, media, channel, \
     provider_message_id, delivery_status, agent, error, created_at";

/// The most rows one statement carries.
const MAX_ROWS: usize = 64;

/// How stale a conversation's recorded last activity may get before a turn writes it again.
/// Within it, a turn reads its conversation without writing (or locking) the row, so turns of
/// one user never queue behind each other; the idle timeout is kept to within this much.
const ACTIVITY_RESOLUTION: chrono::Duration = chrono::Duration::seconds(60);

/// Users and their open conversations, in one read.
const USERS_AND_CONVERSATIONS_SQL: &str =
    "SELECT u.id, u.phone_number, u.display_name, u.channel, u.created_at, u.updated_at, \
           c.id AS c_id, c.user_id AS c_user_id, c.open_user_id AS c_open_user_id, \
           c.active_agent AS c_active_agent, c.state AS c_state, \
           c.human_notice_sent AS c_human_notice_sent, c.flag_reason AS c_flag_reason, \
           c.started_at AS c_started_at, c.last_activity_at AS c_last_activity_at, \
           c.ended_at AS c_ended_at \
         FROM users u LEFT JOIN conversations c ON c.open_user_id = u.id \
         WHERE u.phone_number IN ";

const RENAME_USER_SQL: &str = "UPDATE users SET display_name = $1, updated_at = $2 WHERE id = $3";

const END_IDLE_SQL: &str =
    "UPDATE conversations SET ended_at = $1, open_user_id = NULL WHERE open_user_id = $2";

const LINK_MESSAGE_SQL: &str = "UPDATE messages SET conversation_id = $1 WHERE id = $2";

/// Applies a turn's change: `$3` the new agent or NULL, `$4` hand to a person, `$5` the flag or
/// NULL, `$6` end the conversation.
const CHANGE_CONVERSATION_SQL: &str = "UPDATE conversations SET \
       last_activity_at = $2, \
       active_agent = COALESCE($3, active_agent), \
       state = CASE WHEN $4 THEN 'waiting_for_human' ELSE state END, \
       human_notice_sent = CASE WHEN $4 THEN true ELSE human_notice_sent END, \
       flag_reason = COALESCE($5, flag_reason), \
       ended_at = CASE WHEN $6 AND ended_at IS NULL THEN $2 ELSE ended_at END, \
       open_user_id = CASE WHEN $6 THEN NULL ELSE open_user_id END \
     WHERE id = $1";

const UPDATE_MEDIA_SQL: &str = "UPDATE messages SET media = $1, media_url = $2 WHERE id = $3";

fn touch_conversation_sql() -> String {
    format!(
        "UPDATE conversations SET last_activity_at = $1 WHERE id = $2 \
         RETURNING {CONVERSATION_COLUMNS}"
    )
}

/// Opens a conversation; one a concurrent turn opened first is returned instead.
fn open_conversation_sql() -> String {
    format!(
        "INSERT INTO conversations ({CONVERSATION_COLUMNS}) \
         VALUES ($1, $2, $2, $3, 'bot', false, NULL, $4, $4, NULL) \
         ON CONFLICT (open_user_id) DO UPDATE SET last_activity_at = excluded.last_activity_at \
         RETURNING {CONVERSATION_COLUMNS}"
    )
}

/// `items` in runs of power-of-two lengths, longest first, at most [`MAX_ROWS`].
fn runs<T>(items: &[T]) -> Vec<&[T]> {
    let mut out = Vec::new();
    let mut rest = items;
    while !rest.is_empty() {
        let len = MAX_ROWS.min(1 << rest.len().ilog2());
        let (run, tail) = rest.split_at(len);
        out.push(run);
        rest = tail;
    }
    out
}

fn media_json(
    media: &[whatsapp_agent::domain::Media],
) -> Result<Option<serde_json::Value>, anyhow::Error> {
    if media.is_empty() {
        return Ok(None);
    }
    Ok(Some(serde_json::to_value(media)?))
}

/// A message to insert, filed under its conversation.
struct Filing<'a> {
    message: &'a NewMessage,
    user: Uuid,
    conversation: ConversationId,
}

/// Inserts the messages, each filed under its conversation; returns them as stored, in order.
async fn insert_messages(
    txn: &DatabaseTransaction,
    filings: &[Filing<'_>],
) -> Result<Vec<Message>, StoreError> {
    let backend = txn.get_database_backend();
    let mut stored = Vec::with_capacity(filings.len());
    for run in runs(filings) {
        let now = chrono::Utc::now();
        let mut query = Query::default();
        let mut rows = Vec::with_capacity(run.len());
        for filing in run {
            let message = filing.message;
            let media = media_json(&message.media)?;
            let row = [
                query.bind(message.id.0),
                query.bind(filing.user),
                query.bind(message.direction.as_str()),
                query.bind(message.body.clone()),
                query.bind(message.media_url().map(str::to_string)),
                query.bind(media),
                query.bind(message.channel.as_str()),
                query.bind(message.provider_message_id.clone()),
                "NULL".to_string(),
                query.bind(message.agent.clone()),
                query.bind(message.error.clone()),
                query.bind(now),
                query.bind(filing.conversation.0),
            ];
            rows.push(format!("({})", row.join(", ")));
            stored.push(Message {
                id: message.id,
                user_id: UserId(filing.user),
                direction: message.direction,
                body: message.body.clone(),
                media: message.media.clone(),
                channel: message.channel,
                provider_message_id: message.provider_message_id.clone(),
                delivery_status: None,
                agent: message.agent.clone(),
                error: message.error.clone(),
                created_at: now,
            });
        }
        let sql = format!(
            "INSERT INTO messages ({MESSAGE_COLUMNS}, conversation_id) VALUES {}",
            rows.join(", ")
        );
        txn.execute(statement(backend, &sql, query.values))
            .await
            .map_err(store_error)?;
    }
    Ok(stored)
}

/// Who an arrival is from, with the id a new user gets.
fn identity(arrival: &Arrival) -> (Uuid, NewUser) {
    match &arrival.incoming {
        Incoming::New { user, .. } => (Uuid::now_v7(), user.clone()),
        Incoming::Stored { user, .. } => (
            user.id.0,
            NewUser {
                phone_number: user.phone_number.clone(),
                display_name: user.display_name.clone(),
                channel: user.channel,
            },
        ),
    }
}

/// The phone number (or chat user) an arrival is from.
fn phone(arrival: &Arrival) -> &str {
    match &arrival.incoming {
        Incoming::New { user, .. } => &user.phone_number,
        Incoming::Stored { user, .. } => &user.phone_number,
    }
}

type UserRow = (users::Model, Option<conversations::Model>);

/// Creates the users who do not exist and reads every user with their open conversation, keyed
/// by phone number. The insert is a write without effect on existing users that locks nothing
/// on PostgreSQL, and takes SQLite's writer lock before anything is read.
async fn ensure_users(
    txn: &DatabaseTransaction,
    people: &[(Uuid, NewUser, chrono::DateTime<chrono::Utc>)],
) -> Result<HashMap<String, UserRow>, StoreError> {
    let backend = txn.get_database_backend();
    let mut found = HashMap::with_capacity(people.len());
    for run in runs(people) {
        let mut query = Query::default();
        let rows: Vec<String> = run
            .iter()
            .map(|(id, user, now)| {
                let now = query.bind(*now);
                format!(
                    "({}, {}, {}, {}, {now}, {now})",
                    query.bind(*id),
                    query.bind(user.phone_number.clone()),
                    query.bind(user.display_name.clone()),
                    query.bind(user.channel.as_str()),
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO users ({USER_COLUMNS}) VALUES {} ON CONFLICT (phone_number) DO NOTHING",
            rows.join(", ")
        );
        txn.execute(statement(backend, &sql, query.values))
            .await
            .map_err(store_error)?;

        let mut query = Query::default();
        let phones: Vec<String> = run
            .iter()
            .map(|(_, user, _)| query.bind(user.phone_number.clone()))
            .collect();
        let sql = format!("{USERS_AND_CONVERSATIONS_SQL}({})", phones.join(", "));
        for row in txn
            .query_all(statement(backend, &sql, query.values))
            .await
            .map_err(store_error)?
        {
            let user = users::Model::from_query_result(&row, "").map_err(store_error)?;
            let open = match row
                .try_get::<Option<Uuid>>("", "c_id")
                .map_err(store_error)?
            {
                Some(_) => {
                    Some(conversations::Model::from_query_result(&row, "c_").map_err(store_error)?)
                }
                None => None,
            };
            found.insert(user.phone_number.clone(), (user, open));
        }
    }
    Ok(found)
}

/// The user's open conversation, its activity brought up to date, or a new one when there is
/// none or it idled out. No statement in the common case: a recent activity is left as it is.
async fn current_conversation(
    txn: &DatabaseTransaction,
    user: Uuid,
    open: Option<conversations::Model>,
    arrival: &Arrival,
) -> Result<Conversation, StoreError> {
    let backend = txn.get_database_backend();
    let now = arrival.now;
    if let Some(open) = open {
        let idle = now - open.last_activity_at;
        if idle <= arrival.idle_timeout {
            if idle < ACTIVITY_RESOLUTION {
                return to_conversation(open);
            }
            let touched = conversations::Entity::find()
                .from_raw_sql(statement(
                    backend,
                    &touch_conversation_sql(),
                    vec![now.into(), open.id.into()],
                ))
                .one(txn)
                .await
                .map_err(store_error)?
                .ok_or_else(|| anyhow::anyhow!("conversation {} vanished", open.id))?;
            return to_conversation(touched);
        }
        txn.execute(statement(
            backend,
            END_IDLE_SQL,
            vec![now.into(), user.into()],
        ))
        .await
        .map_err(store_error)?;
    }
    let opened = conversations::Entity::find()
        .from_raw_sql(statement(
            backend,
            &open_conversation_sql(),
            vec![
                Uuid::now_v7().into(),
                user.into(),
                arrival.manager.clone().into(),
                now.into(),
            ],
        ))
        .one(txn)
        .await
        .map_err(store_error)?
        .ok_or_else(|| anyhow::anyhow!("opening a conversation returned no row"))?;
    to_conversation(opened)
}

/// The last `limit` messages of each conversation, oldest first.
async fn histories(
    txn: &DatabaseTransaction,
    wanted: &[(ConversationId, usize)],
) -> Result<HashMap<ConversationId, Vec<Message>>, StoreError> {
    let backend = txn.get_database_backend();
    let mut found: HashMap<ConversationId, Vec<Message>> = HashMap::new();
    for run in runs(wanted) {
        let mut query = Query::default();
        let parts: Vec<String> = run
            .iter()
            .enumerate()
            .map(|(n, (conversation, limit))| {
                format!(
                    "SELECT * FROM (SELECT {MESSAGE_COLUMNS}, conversation_id FROM messages \
                     WHERE conversation_id = {} ORDER BY created_at DESC, id DESC LIMIT {}) AS h{n}",
                    query.bind(conversation.0),
                    query.bind(i64::try_from(*limit).unwrap_or(i64::MAX)),
                )
            })
            .collect();
        let sql = parts.join(" UNION ALL ");
        for row in txn
            .query_all(statement(backend, &sql, query.values))
            .await
            .map_err(store_error)?
        {
            let conversation: Uuid = row.try_get("", "conversation_id").map_err(store_error)?;
            let message =
                to_message(messages::Model::from_query_result(&row, "").map_err(store_error)?)?;
            found
                .entry(ConversationId(conversation))
                .or_default()
                .push(message);
        }
    }
    for messages in found.values_mut() {
        messages.sort_by_key(|m| (m.created_at, m.id.0));
    }
    Ok(found)
}

/// Accepts `arrivals` in `txn`, in order; see [`whatsapp_agent::ports::TurnStore::accept`].
/// Arrivals from one user are taken one after the other, each seeing the one before.
pub(crate) async fn accept_all(
    txn: &DatabaseTransaction,
    arrivals: &[&Arrival],
) -> Result<Vec<Accepted>, StoreError> {
    let mut accepted: Vec<Option<Accepted>> = arrivals.iter().map(|_| None).collect();
    let mut pending: Vec<usize> = (0..arrivals.len()).collect();
    while !pending.is_empty() {
        let mut phones = HashSet::new();
        let (round, later): (Vec<usize>, Vec<usize>) = pending
            .into_iter()
            .partition(|&i| phones.insert(phone(arrivals[i])));
        let round_arrivals: Vec<&Arrival> = round.iter().map(|&i| arrivals[i]).collect();
        for (i, done) in round
            .into_iter()
            .zip(accept_round(txn, &round_arrivals).await?)
        {
            accepted[i] = Some(done);
        }
        pending = later;
    }
    Ok(accepted.into_iter().flatten().collect())
}

/// Accepts arrivals from distinct users.
async fn accept_round(
    txn: &DatabaseTransaction,
    arrivals: &[&Arrival],
) -> Result<Vec<Accepted>, StoreError> {
    let backend = txn.get_database_backend();
    let people: Vec<_> = arrivals
        .iter()
        .map(|a| {
            let (id, user) = identity(a);
            (id, user, a.now)
        })
        .collect();
    let mut found = ensure_users(txn, &people).await?;

    let mut turns = Vec::with_capacity(arrivals.len());
    for (arrival, (_, identity, now)) in arrivals.iter().zip(people) {
        let (mut user, open) = found
            .remove(&identity.phone_number)
            .ok_or_else(|| anyhow::anyhow!("user vanished right after it was ensured"))?;
        if identity.display_name.is_some() && user.display_name != identity.display_name {
            txn.execute(statement(
                backend,
                RENAME_USER_SQL,
                vec![
                    identity.display_name.clone().into(),
                    now.into(),
                    user.id.into(),
                ],
            ))
            .await
            .map_err(store_error)?;
            user.display_name = identity.display_name;
        }
        let user = to_user(user)?;
        let conversation = current_conversation(txn, user.id.0, open, arrival).await?;
        turns.push((user, conversation));
    }

    let wanted: Vec<(ConversationId, usize)> = arrivals
        .iter()
        .zip(&turns)
        .filter(|(a, _)| a.history_limit > 0)
        .map(|(a, (_, c))| (c.id, a.history_limit))
        .collect();
    let mut histories = histories(txn, &wanted).await?;

    let filings: Vec<Filing> = arrivals
        .iter()
        .zip(&turns)
        .filter_map(|(a, (user, conversation))| match &a.incoming {
            Incoming::New { message, .. } => Some(Filing {
                message,
                user: user.id.0,
                conversation: conversation.id,
            }),
            Incoming::Stored { .. } => None,
        })
        .collect();
    let mut inserted = insert_messages(txn, &filings).await?.into_iter();

    let mut accepted = Vec::with_capacity(arrivals.len());
    for (arrival, (user, conversation)) in arrivals.iter().zip(turns) {
        let incoming = match &arrival.incoming {
            Incoming::New { .. } => inserted
                .next()
                .ok_or_else(|| anyhow::anyhow!("an inserted message went missing"))?,
            Incoming::Stored { message, .. } => {
                let linked = txn
                    .execute(statement(
                        backend,
                        LINK_MESSAGE_SQL,
                        vec![conversation.id.0.into(), message.id.0.into()],
                    ))
                    .await
                    .map_err(store_error)?;
                if linked.rows_affected() == 0 {
                    return Err(anyhow::anyhow!("message {} not found", message.id).into());
                }
                message.clone()
            }
        };
        // The history was read before the message was filed; a stored message answered again
        // (a retried delivery) may already be filed there.
        let history = histories
            .remove(&conversation.id)
            .unwrap_or_default()
            .into_iter()
            .filter(|m| m.id != incoming.id)
            .collect();
        accepted.push(Accepted {
            user,
            incoming,
            conversation,
            history,
        });
    }
    Ok(accepted)
}

/// Finishes `finishes` in `txn`, in order; see [`whatsapp_agent::ports::TurnStore::finish`].
pub(crate) async fn finish_all(
    txn: &DatabaseTransaction,
    finishes: &[&Finish],
) -> Result<Vec<Option<Message>>, FinishError> {
    let backend = txn.get_database_backend();
    let filings: Vec<Filing> = finishes
        .iter()
        .filter_map(|f| {
            f.reply.as_ref().map(|reply| Filing {
                message: reply,
                user: reply.user_id.0,
                conversation: f.conversation,
            })
        })
        .collect();
    let mut inserted = insert_messages(txn, &filings)
        .await
        .map_err(from_store)?
        .into_iter();

    // Without a change only an activity older than the resolution is written, so in the common
    // case the row is neither written nor locked; when accepting found it recent, not even read.
    let quiet: Vec<&&Finish> = finishes
        .iter()
        .filter(|f| f.change.is_empty() && f.now - f.accepted_activity >= ACTIVITY_RESOLUTION)
        .collect();
    for run in runs(&quiet) {
        let mut query = Query::default();
        let now = run
            .iter()
            .map(|f| f.now)
            .max()
            .unwrap_or_else(chrono::Utc::now);
        let set = query.bind(now);
        let stale = query.bind(now - ACTIVITY_RESOLUTION);
        let ids: Vec<String> = run.iter().map(|f| query.bind(f.conversation.0)).collect();
        let sql = format!(
            "UPDATE conversations SET last_activity_at = {set} \
             WHERE id IN ({}) AND last_activity_at < {stale}",
            ids.join(", ")
        );
        txn.execute(statement(backend, &sql, query.values))
            .await
            .map_err(|e| from_store(store_error(e)))?;
    }

    let mut stored = Vec::with_capacity(finishes.len());
    for finish in finishes {
        let change = &finish.change;
        if !change.is_empty() {
            let updated = txn
                .execute(statement(
                    backend,
                    CHANGE_CONVERSATION_SQL,
                    vec![
                        finish.conversation.0.into(),
                        finish.now.into(),
                        change.active_agent.clone().into(),
                        change.hand_to_human.into(),
                        change.flag_reason.clone().into(),
                        change.end.into(),
                    ],
                ))
                .await
                .map_err(|e| from_store(store_error(e)))?;
            if updated.rows_affected() == 0 {
                return Err(FinishError::ConversationGone(finish.conversation));
            }
        }
        if let Some((id, media)) = &finish.transcripts {
            let value = media_json(media)?;
            let first_image = first_image_url(media).map(str::to_string);
            txn.execute(statement(
                backend,
                UPDATE_MEDIA_SQL,
                vec![value.into(), first_image.into(), id.0.into()],
            ))
            .await
            .map_err(|e| from_store(store_error(e)))?;
        }
        stored.push(if finish.reply.is_some() {
            inserted.next()
        } else {
            None
        });
    }
    Ok(stored)
}

/// Hands a conversation back to the bot and returns it.
pub(crate) fn release_sql() -> String {
    format!(
        "UPDATE conversations SET state = 'bot', human_notice_sent = false WHERE id = $1 \
         RETURNING {CONVERSATION_COLUMNS}"
    )
}

pub(crate) fn from_store(err: StoreError) -> FinishError {
    match err {
        StoreError::Unavailable(m) => FinishError::Unavailable(m),
        StoreError::Duplicate(m) => FinishError::Unknown(anyhow::anyhow!("duplicate: {m}")),
        StoreError::Unknown(e) => FinishError::Unknown(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_are_powers_of_two_longest_first_and_bounded() {
        let items: Vec<usize> = (0..200).collect();
        let lens: Vec<usize> = runs(&items).iter().map(|r| r.len()).collect();
        assert_eq!(lens, vec![64, 64, 64, 8]);
        let lens: Vec<usize> = runs(&items[..13]).iter().map(|r| r.len()).collect();
        assert_eq!(lens, vec![8, 4, 1]);
        assert!(runs::<usize>(&[]).is_empty());
        let flat: Vec<usize> = runs(&items[..13]).concat();
        assert_eq!(flat, items[..13]);
    }
}
