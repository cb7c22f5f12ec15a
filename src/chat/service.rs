//! `ChatService`: store the user's message, let the agents answer, store the reply.

use std::sync::Arc;

use tracing::instrument;

use crate::agent::AgentsConfig;
use crate::domain::{
    Channel, Conversation, ConversationId, ConversationState, Direction, Message, NewMessage,
    NewUser, User,
};
use crate::ports::{
    Clock, ConversationStore, CutOff, LlmPort, MediaFetcher, MessageStore, SystemClock,
};

use super::opening::Opening;
use super::{ChatError, ChatInput, InputLimits};

/// Settings of the chat use case.
#[derive(Clone, Debug)]
pub struct ChatConfig {
    pub limits: InputLimits,
    /// Download images and send them inline as `data:` URLs instead of passing their URLs,
    /// for model servers that cannot fetch URLs themselves.
    pub inline_images: bool,
}

/// The result of a turn.
#[derive(Clone, Debug)]
pub struct TurnOutcome {
    pub user: User,
    pub incoming: Message,
    /// The stored reply; `None` when the bot stays silent because a person has taken over the
    /// conversation and the user was already told so.
    pub outgoing: Option<Message>,
    /// The conversation as the turn left it (active agent, state, flag).
    pub conversation: Conversation,
    /// Set when the model did not finish the reply; the stored reply's `error` says so too.
    pub cut_off: Option<CutOff>,
}

/// Runs conversation turns over the store and model ports.
#[derive(Clone)]
pub struct ChatService {
    store: Arc<dyn MessageStore>,
    conversations: Arc<dyn ConversationStore>,
    llm: Arc<dyn LlmPort>,
    media: Arc<dyn MediaFetcher>,
    config: Arc<ChatConfig>,
    agents: Arc<AgentsConfig>,
    clock: Arc<dyn Clock>,
}

impl ChatService {
    pub fn new(
        store: Arc<dyn MessageStore>,
        conversations: Arc<dyn ConversationStore>,
        llm: Arc<dyn LlmPort>,
        media: Arc<dyn MediaFetcher>,
        config: ChatConfig,
        agents: AgentsConfig,
    ) -> Self {
        Self {
            store,
            conversations,
            llm,
            media,
            config: Arc::new(config),
            agents: Arc::new(agents),
            clock: Arc::new(SystemClock),
        }
    }

    /// The same service reading the time from `clock` (tests move time instead of waiting).
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    pub fn media(&self) -> &Arc<dyn MediaFetcher> {
        &self.media
    }

    pub fn config(&self) -> &ChatConfig {
        &self.config
    }

    pub fn agents(&self) -> &AgentsConfig {
        &self.agents
    }

    pub fn store(&self) -> &Arc<dyn MessageStore> {
        &self.store
    }

    pub fn conversations(&self) -> &Arc<dyn ConversationStore> {
        &self.conversations
    }

    pub fn llm(&self) -> &Arc<dyn LlmPort> {
        &self.llm
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// One app-chat turn: validates, stores the incoming message, then answers it.
    ///
    /// # Errors
    /// [`ChatError::Invalid`] before anything is stored; [`ChatError::Llm`] after the incoming
    /// message is stored, so it is never lost.
    #[instrument(skip_all, fields(user_id_len = input.user_id.len()))]
    pub async fn chat(&self, input: ChatInput) -> Result<TurnOutcome, ChatError> {
        let (user, incoming) = self.accept(input).await?;
        self.reply_to(user, incoming).await
    }

    /// Validates the input and stores the incoming message; the first half of a turn.
    ///
    /// # Errors
    /// [`ChatError::Invalid`] or [`ChatError::Store`]; nothing is stored on either.
    pub async fn accept(&self, input: ChatInput) -> Result<(User, Message), ChatError> {
        input.validate(&self.config.limits)?;
        let user = self
            .store
            .find_or_create_user(&NewUser::chat(&input.user_id))
            .await?;
        let mut incoming = NewMessage::new(
            user.id,
            Channel::Chat,
            Direction::Incoming,
            input.content.clone(),
        );
        incoming.media = input.media();
        let incoming = self.store.append(&incoming).await?;
        Ok((user, incoming))
    }

    /// Answers a stored incoming message and stores the reply: a fixed reply (reset, red flag,
    /// hand-over notice), silence while a person has the conversation, or the active agent's
    /// answer after any hand-offs.
    ///
    /// # Errors
    /// [`ChatError::Llm`] when the model fails; the incoming message stays stored.
    pub async fn reply_to(&self, user: User, incoming: Message) -> Result<TurnOutcome, ChatError> {
        let (incoming, mut conversation, opening) = self.open(&user, incoming).await?;
        let mut cut_off = None;
        let outgoing = match opening {
            Opening::Silent => None,
            Opening::Fixed { agent, body } => Some(
                self.store_reply(&user, incoming.channel, &conversation, agent, body, None)
                    .await?,
            ),
            Opening::Model { history, images } => {
                let answer = self
                    .answer(&mut conversation, &incoming, &history, images)
                    .await?;
                cut_off = answer.cut_off;
                Some(
                    self.store_reply(
                        &user,
                        incoming.channel,
                        &conversation,
                        &answer.agent,
                        answer.body,
                        cut_off.map(super::cut_off::marker),
                    )
                    .await?,
                )
            }
        };
        Ok(TurnOutcome {
            user,
            incoming,
            outgoing,
            conversation,
            cut_off,
        })
    }

    /// Gives a conversation back to the bot after a person had it. Returns `None` when there
    /// is no conversation with this id.
    ///
    /// # Errors
    /// [`ChatError::Store`] when the write fails.
    pub async fn release(&self, id: ConversationId) -> Result<Option<Conversation>, ChatError> {
        tracing::info!(conversation = %id, "released to the bot");
        Ok(self
            .conversations
            .set_state(id, ConversationState::Bot, false)
            .await?)
    }

    /// Stores an outgoing message written by `agent` in `conversation` on `channel`; `error` marks an
    /// incomplete or cut-off reply.
    ///
    /// # Errors
    /// [`ChatError::Store`] when the write fails.
    pub async fn store_reply(
        &self,
        user: &User,
        channel: Channel,
        conversation: &Conversation,
        agent: &str,
        body: String,
        error: Option<String>,
    ) -> Result<Message, ChatError> {
        let body = crate::domain::storable_text(&body).into_owned();
        let mut outgoing = NewMessage::new(user.id, channel, Direction::Outgoing, body);
        outgoing.agent = Some(agent.to_string());
        outgoing.error = error;
        let stored = self.store.append(&outgoing).await?;
        // A crash between these two writes leaves the reply stored but outside the
        // conversation's history; the next turn then misses one assistant message.
        self.conversations
            .attach(stored.id, conversation.id)
            .await?;
        Ok(stored)
    }
}
