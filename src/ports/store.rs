//! Failures shared by the store ports that do not have an error of their own.

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached or the pool is exhausted; retrying later may work.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A record with the same unique key (e.g. provider message id) already exists.
    #[error("duplicate record: {0}")]
    Duplicate(String),
    /// A bug or an unexpected database state.
    #[error(transparent)]
    Unknown(#[from] anyhow::Error),
}

impl From<super::AcceptError> for StoreError {
    fn from(err: super::AcceptError) -> Self {
        match err {
            super::AcceptError::Unavailable(m) => StoreError::Unavailable(m),
            super::AcceptError::Duplicate(m) => StoreError::Duplicate(m),
            super::AcceptError::Unknown(e) => StoreError::Unknown(e),
        }
    }
}

impl From<super::FinishError> for StoreError {
    fn from(err: super::FinishError) -> Self {
        match err {
            super::FinishError::Unavailable(m) => StoreError::Unavailable(m),
            other @ super::FinishError::ConversationGone(_) => {
                StoreError::Unknown(anyhow::Error::new(other))
            }
            super::FinishError::Unknown(e) => StoreError::Unknown(e),
        }
    }
}
