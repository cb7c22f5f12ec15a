//! [`Staff`]: the team's reads and actions over the store ports.

use std::sync::Arc;

use crate::access::{Caller, Scope};
use crate::domain::{Channel, Conversation, ConversationId, ConversationState, Message, User};
use crate::ports::{
    Clock, ConversationFilter, ConversationStore, ConversationSummary, Cursor, FiledMessage,
    JobBoard, Messenger, StaffStore, SystemClock, UserRef,
};

use super::page::{listed, probe, Listed};
use super::reply::not_found;
use super::StaffError;

/// Which conversations to list, and which page.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConversationQuery {
    pub state: Option<ConversationState>,
    /// `Some(true)`: only red-flagged ones; `Some(false)`: only the others.
    pub flagged: Option<bool>,
    pub channel: Option<Channel>,
    /// Where the page starts: the previous page's `next`.
    pub cursor: Option<Cursor>,
    /// Items per page: [`super::DEFAULT_LIMIT`] when `None`, at most [`super::MAX_LIMIT`].
    pub limit: Option<usize>,
}

/// One conversation and a page of its messages, newest first.
#[derive(Clone, Debug, PartialEq)]
pub struct ConversationWithMessages {
    pub summary: ConversationSummary,
    pub messages: Listed<Message>,
}

/// One user and a page of their messages across conversations, newest first.
#[derive(Clone, Debug, PartialEq)]
pub struct UserMessages {
    pub user: User,
    pub messages: Listed<FiledMessage>,
}

/// The staff operations. Every method requires the `admin` scope.
#[derive(Clone)]
pub struct Staff {
    pub(super) store: Arc<dyn StaffStore>,
    conversations: Arc<dyn ConversationStore>,
    pub(super) messenger: Option<Arc<dyn Messenger>>,
    pub(super) jobs: Option<Arc<dyn JobBoard>>,
    pub(super) clock: Arc<dyn Clock>,
}

impl Staff {
    /// The operations over `store`; `conversations` releases conversations to the bot. Replies
    /// to WhatsApp users need a messenger ([`Staff::with_messenger`]), and sending a bot's
    /// failed reply again needs the job queue ([`Staff::with_job_board`]).
    pub fn new(store: Arc<dyn StaffStore>, conversations: Arc<dyn ConversationStore>) -> Self {
        Self {
            store,
            conversations,
            messenger: None,
            jobs: None,
            clock: Arc::new(SystemClock),
        }
    }

    /// Sends replies to WhatsApp users through `messenger`.
    #[must_use]
    pub fn with_messenger(mut self, messenger: Arc<dyn Messenger>) -> Self {
        self.messenger = Some(messenger);
        self
    }

    /// Re-drives the jobs that send the bot's failed replies through `jobs`.
    #[must_use]
    pub fn with_job_board(mut self, jobs: Arc<dyn JobBoard>) -> Self {
        self.jobs = Some(jobs);
        self
    }

    /// Reads the time from `clock`.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Conversations matching `query`, most recently active first, each with its user, last
    /// message and unread count.
    ///
    /// # Errors
    /// [`StaffError::Access`] without the `admin` scope; [`StaffError::Invalid`] for a limit
    /// out of range; [`StaffError::Store`] when the store fails.
    pub async fn conversations(
        &self,
        caller: &Caller,
        query: ConversationQuery,
    ) -> Result<Listed<ConversationSummary>, StaffError> {
        caller.require(Scope::Admin)?;
        let page = probe(query.cursor, query.limit)?;
        let filter = ConversationFilter {
            state: query.state,
            flagged: query.flagged,
            channel: query.channel,
            page,
        };
        let found = self.store.conversations(&filter).await?;
        Ok(listed(found, page, |s| Cursor {
            at: s.conversation.last_activity_at,
            id: s.conversation.id.0,
        }))
    }

    /// One conversation with a page of its messages, newest first. Opening it marks it seen:
    /// its unread count becomes 0.
    ///
    /// # Errors
    /// [`StaffError::Access`] without the `admin` scope; [`StaffError::Invalid`] for a limit
    /// out of range; [`StaffError::NotFound`] when there is no such conversation;
    /// [`StaffError::Store`] when the store fails.
    pub async fn conversation(
        &self,
        caller: &Caller,
        id: ConversationId,
        cursor: Option<Cursor>,
        limit: Option<usize>,
    ) -> Result<ConversationWithMessages, StaffError> {
        caller.require(Scope::Admin)?;
        let page = probe(cursor, limit)?;
        let (summary, messages) = self
            .store
            .conversation(id, page, self.clock.now())
            .await?
            .ok_or_else(|| not_found(id))?;
        Ok(ConversationWithMessages {
            summary,
            messages: listed(messages, page, message_cursor),
        })
    }

    /// A page of one user's messages across conversations, newest first.
    ///
    /// # Errors
    /// [`StaffError::Access`] without the `admin` scope; [`StaffError::Invalid`] for a limit
    /// out of range; [`StaffError::NotFound`] when there is no such user;
    /// [`StaffError::Store`] when the store fails.
    pub async fn user_messages(
        &self,
        caller: &Caller,
        user: &UserRef,
        cursor: Option<Cursor>,
        limit: Option<usize>,
    ) -> Result<UserMessages, StaffError> {
        caller.require(Scope::Admin)?;
        let page = probe(cursor, limit)?;
        let (user, messages) = self
            .store
            .user_messages(user, page)
            .await?
            .ok_or_else(|| StaffError::NotFound("no such user".into()))?;
        Ok(UserMessages {
            user,
            messages: listed(messages, page, |m| message_cursor(&m.message)),
        })
    }

    /// A person takes the conversation over: the bot stays silent until it is released.
    ///
    /// # Errors
    /// [`StaffError::Access`] without the `admin` scope; [`StaffError::NotFound`] when there
    /// is no such conversation; [`StaffError::Store`] when the store fails.
    pub async fn take_over(
        &self,
        caller: &Caller,
        id: ConversationId,
    ) -> Result<Conversation, StaffError> {
        caller.require(Scope::Admin)?;
        let taken = self
            .store
            .take_over(id, self.clock.now())
            .await?
            .ok_or_else(|| not_found(id))?;
        tracing::info!(conversation = %id, "taken over by a person");
        Ok(taken)
    }

    /// Gives a conversation back to the bot after a person had it; the user gets a new notice
    /// if a person takes over once more. Like a takeover, it counts as the conversation's
    /// activity.
    ///
    /// # Errors
    /// [`StaffError::Access`] without the `admin` scope; [`StaffError::NotFound`] when there
    /// is no such conversation; [`StaffError::Store`] when the store fails.
    pub async fn release(
        &self,
        caller: &Caller,
        id: ConversationId,
    ) -> Result<Conversation, StaffError> {
        caller.require(Scope::Admin)?;
        let mut released = self
            .conversations
            .release(id)
            .await?
            .ok_or_else(|| not_found(id))?;
        tracing::info!(conversation = %id, "released to the bot");
        // Releasing counts as activity, as taking over does, so every open inbox hears of it.
        // It is released either way: a failure here only delays that news.
        let now = self.clock.now();
        match self.store.mark_changed(id, now).await {
            Ok(()) => released.last_activity_at = released.last_activity_at.max(now),
            Err(err) => {
                tracing::warn!(conversation = %id, error = %err, "release not marked as activity")
            }
        }
        Ok(released)
    }
}

fn message_cursor(message: &Message) -> Cursor {
    Cursor {
        at: message.created_at,
        id: message.id.0,
    }
}
