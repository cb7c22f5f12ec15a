//! Failures of a chat turn, in terms a caller can act on.

use crate::domain::MessageId;
use crate::ports::{LlmError, MediaError, StoreError};

/// Why a chat turn did not produce a reply.
#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    /// The caller's input is unusable; `field` names the offending part.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// The caller may not do this: no or a wrong credential, or a user token for another user.
    #[error(transparent)]
    Access(#[from] crate::access::AccessError),
    /// Storage failed; if it failed before the incoming message was stored, nothing was kept.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An attachment could not be fetched; `field` names it (e.g. `audio_urls[0]`). The
    /// incoming message stays stored.
    #[error("{field}: {source}")]
    Media {
        field: String,
        source: MediaError,
        incoming: MessageId,
    },
    /// The model failed after the incoming message was stored, so the user's words are kept.
    #[error("{source}")]
    Llm {
        source: LlmError,
        incoming: MessageId,
    },
    /// The user was erased (their data deleted on request) while the turn ran; nothing of it
    /// is kept.
    #[error("the user was erased while this message was being answered; nothing of it is kept")]
    UserErased,
    /// The same user's previous turn was still running when the wait for it ran out; nothing
    /// was stored.
    #[error("the previous message of this user is still being answered (waited {} s)", waited.as_secs())]
    TurnInProgress { waited: std::time::Duration },
}

impl ChatError {
    pub(crate) fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        ChatError::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl From<crate::ports::AcceptError> for ChatError {
    fn from(err: crate::ports::AcceptError) -> Self {
        ChatError::Store(err.into())
    }
}

impl From<crate::ports::FinishError> for ChatError {
    fn from(err: crate::ports::FinishError) -> Self {
        match err {
            crate::ports::FinishError::ConversationGone(_) => ChatError::UserErased,
            other => ChatError::Store(other.into()),
        }
    }
}
