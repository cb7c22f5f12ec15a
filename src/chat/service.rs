//! `ChatService`: store the user's message, ask the model, store the reply.

use std::sync::Arc;

use tracing::instrument;

use crate::domain::{Channel, Direction, Message, NewMessage, NewUser, User};
use crate::ports::{LlmPort, LlmRequest, MediaFetcher, MessageStore};

use super::{prompt, ChatError, ChatInput, InputLimits, Persona};

/// Settings of the chat use case.
#[derive(Clone, Debug)]
pub struct ChatConfig {
    pub persona: Persona,
    /// How many earlier messages go to the model with a new turn.
    pub history_limit: usize,
    pub limits: InputLimits,
    /// Download images and send them inline as `data:` URLs instead of passing their URLs,
    /// for model servers that cannot fetch URLs themselves.
    pub inline_images: bool,
}

/// The result of a completed turn.
#[derive(Clone, Debug)]
pub struct TurnOutcome {
    pub user: User,
    pub incoming: Message,
    pub outgoing: Message,
}

/// Runs conversation turns over the store and model ports.
#[derive(Clone)]
pub struct ChatService {
    store: Arc<dyn MessageStore>,
    llm: Arc<dyn LlmPort>,
    media: Arc<dyn MediaFetcher>,
    config: Arc<ChatConfig>,
}

impl ChatService {
    pub fn new(
        store: Arc<dyn MessageStore>,
        llm: Arc<dyn LlmPort>,
        media: Arc<dyn MediaFetcher>,
        config: ChatConfig,
    ) -> Self {
        Self {
            store,
            llm,
            media,
            config: Arc::new(config),
        }
    }

    pub fn media(&self) -> &Arc<dyn MediaFetcher> {
        &self.media
    }

    pub fn config(&self) -> &ChatConfig {
        &self.config
    }

    pub fn store(&self) -> &Arc<dyn MessageStore> {
        &self.store
    }

    pub fn llm(&self) -> &Arc<dyn LlmPort> {
        &self.llm
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

    /// The prompt for answering `incoming`: persona, bounded history, the new turn with its
    /// attachments prepared. Returns the incoming message as updated (with transcripts).
    ///
    /// # Errors
    /// [`ChatError::Store`] when the history cannot be read; [`ChatError::Media`] or
    /// [`ChatError::Llm`] when an attachment cannot be fetched or transcribed.
    pub async fn prompt_for(
        &self,
        user: &User,
        incoming: Message,
    ) -> Result<(Message, LlmRequest), ChatError> {
        let (incoming, images) = self.prepare_media(incoming).await?;
        let history = self
            .store
            .recent_messages(user.id, self.config.history_limit, Some(incoming.id))
            .await?;
        let request = prompt::build(&self.config.persona, &history, &incoming, images);
        Ok((incoming, request))
    }

    /// Asks the model to answer a stored incoming message and stores the reply.
    ///
    /// # Errors
    /// [`ChatError::Llm`] when the model fails; the incoming message stays stored.
    pub async fn reply_to(&self, user: User, incoming: Message) -> Result<TurnOutcome, ChatError> {
        let (incoming, request) = self.prompt_for(&user, incoming).await?;
        let reply = self
            .llm
            .complete(&request)
            .await
            .map_err(|source| ChatError::Llm {
                source,
                incoming: incoming.id,
            })?;
        let outgoing = self
            .store_reply(&user, incoming.channel, reply.text, None)
            .await?;
        Ok(TurnOutcome {
            user,
            incoming,
            outgoing,
        })
    }

    /// Stores an outgoing message written by the persona; `error` marks an incomplete reply.
    ///
    /// # Errors
    /// [`ChatError::Store`] when the write fails.
    pub async fn store_reply(
        &self,
        user: &User,
        channel: Channel,
        body: String,
        error: Option<String>,
    ) -> Result<Message, ChatError> {
        let mut outgoing = NewMessage::new(user.id, channel, Direction::Outgoing, body);
        outgoing.agent = Some(self.config.persona.id.clone());
        outgoing.error = error;
        Ok(self.store.append(&outgoing).await?)
    }
}
