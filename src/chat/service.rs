//! `ChatService`: the chat use case's entry points. What a turn does is in [`super::turn`].

use std::sync::Arc;
use std::time::Duration;

use tracing::instrument;

use crate::access::Caller;
use crate::agent::AgentsConfig;
use crate::domain::{Channel, Conversation, Direction, Message, NewMessage, NewUser, User};
use crate::ports::{
    Clock, ConversationStore, CutOff, Incoming, LlmPort, MediaFetcher, SystemClock, TurnStore,
};

use super::turn;
use super::turn_lock::{TurnGuard, TurnLocks, TurnWait};
use super::{ChatError, ChatInput, InputLimits, ReplyStream};

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
    turns: Arc<dyn TurnStore>,
    conversations: Arc<dyn ConversationStore>,
    llm: Arc<dyn LlmPort>,
    media: Arc<dyn MediaFetcher>,
    config: Arc<ChatConfig>,
    agents: Arc<AgentsConfig>,
    clock: Arc<dyn Clock>,
    /// Each user's turn in progress in this process, and the turns waiting behind it.
    turns_in_progress: Arc<TurnLocks>,
    /// How long a turn waits for its user's previous one; without it, as long as it takes.
    turn_wait: Option<TurnWait>,
}

impl ChatService {
    pub fn new(
        turns: Arc<dyn TurnStore>,
        conversations: Arc<dyn ConversationStore>,
        llm: Arc<dyn LlmPort>,
        media: Arc<dyn MediaFetcher>,
        config: ChatConfig,
        agents: AgentsConfig,
    ) -> Self {
        Self {
            turns,
            conversations,
            llm,
            media,
            config: Arc::new(config),
            agents: Arc::new(agents),
            clock: Arc::new(SystemClock),
            turns_in_progress: Arc::default(),
            turn_wait: None,
        }
    }

    /// The same service reading the time from `clock` (tests move time instead of waiting).
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The same service bounding how long a turn waits for the same user's previous turn (one
    /// runs at a time, in arrival order): past `wait`, measured by `timer`, it fails with
    /// [`ChatError::TurnInProgress`] before anything is stored.
    #[must_use]
    pub fn with_turn_wait(mut self, wait: Duration, timer: Arc<dyn crate::ports::Timer>) -> Self {
        self.turn_wait = Some(TurnWait { wait, timer });
        self
    }

    /// Waits until no other turn of `arrival`'s user runs in this process; the place is held
    /// until the guard is dropped.
    pub(crate) async fn enter_turn(&self, arrival: &Incoming) -> Result<TurnGuard, ChatError> {
        let user = match arrival {
            Incoming::New { user, .. } => &user.phone_number,
            Incoming::Stored { user, .. } => &user.phone_number,
        };
        self.turns_in_progress
            .enter(user, self.turn_wait.as_ref())
            .await
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

    pub fn turns(&self) -> &Arc<dyn TurnStore> {
        &self.turns
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

    /// One app-chat turn answered whole: the streamed turn with nobody watching.
    ///
    /// # Errors
    /// [`ChatError::Access`] when `caller` may not chat as the input's user and
    /// [`ChatError::Invalid`], both before anything is stored; [`ChatError::Llm`] after the
    /// incoming message is stored, so it is never lost.
    #[instrument(skip_all)]
    pub async fn chat(&self, caller: &Caller, input: ChatInput) -> Result<TurnOutcome, ChatError> {
        let arrival = self.arrival(caller, input)?;
        turn::whole(self, arrival).await
    }

    /// One app-chat turn answered as a stream. Returns once the model has accepted the request,
    /// so a model that is down fails here, before any byte is streamed; fixed replies and
    /// silence need no model and are stored before this returns.
    ///
    /// # Errors
    /// [`ChatError::Access`] and [`ChatError::Invalid`] before anything is stored;
    /// [`ChatError::Llm`] when the model refuses to start, with the incoming message stored.
    #[instrument(skip_all)]
    pub async fn stream(
        &self,
        caller: &Caller,
        input: ChatInput,
    ) -> Result<ReplyStream, ChatError> {
        let arrival = self.arrival(caller, input)?;
        turn::stream(self, arrival).await
    }

    /// Answers a message stored earlier (a queued delivery) whole, in the user's current
    /// conversation: the same turn as [`ChatService::chat`].
    ///
    /// # Errors
    /// [`ChatError::Llm`] when the model fails; the incoming message stays stored.
    pub async fn reply_to(&self, user: User, incoming: Message) -> Result<TurnOutcome, ChatError> {
        turn::whole(
            self,
            Incoming::Stored {
                user,
                message: incoming,
            },
        )
        .await
    }

    /// Checks that `caller` may chat as the input's user, and validates the input into the
    /// arrival of a new message.
    fn arrival(&self, caller: &Caller, mut input: ChatInput) -> Result<Incoming, ChatError> {
        let user_id = caller.chat_user(input.user_id.as_deref())?;
        input.user_id = Some(user_id);
        input.validate(&self.config.limits)?;
        let user = NewUser::chat(input.user_id.as_deref().unwrap_or_default());
        let mut message = NewMessage::new(
            crate::domain::UserId::new(),
            Channel::Chat,
            Direction::Incoming,
            input.content.clone(),
        );
        message.media = input.media();
        Ok(Incoming::New { user, message })
    }
}
