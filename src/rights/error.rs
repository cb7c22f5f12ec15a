//! What can go wrong with each data rights operation, in terms the caller can act on.

use crate::access::AccessError;
use crate::ports::RightsError;

/// Why a user's data could not be exported.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The caller may not export data (no `admin` scope).
    #[error(transparent)]
    Access(#[from] AccessError),
    /// No user has this id or identity.
    #[error("no such user")]
    NotFound,
    /// The store cannot be reached; trying again later may work.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A bug or an unexpected database state.
    #[error(transparent)]
    Unknown(anyhow::Error),
}

/// Why a user could not be erased; when it fails, nothing was removed.
#[derive(Debug, thiserror::Error)]
pub enum EraseError {
    /// The caller may not erase data (no `admin` scope).
    #[error(transparent)]
    Access(#[from] AccessError),
    /// No user has this id or identity (never existed, or already erased).
    #[error("no such user")]
    NotFound,
    /// The store cannot be reached; trying again later may work.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A bug or an unexpected database state.
    #[error(transparent)]
    Unknown(anyhow::Error),
}

/// Why a retention purge stopped; the batches before the failure stay purged.
#[derive(Debug, thiserror::Error)]
pub enum PurgeError {
    /// The caller may not purge data (no `admin` scope).
    #[error(transparent)]
    Access(#[from] AccessError),
    /// The store cannot be reached; the next run carries on.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A bug or an unexpected database state.
    #[error(transparent)]
    Unknown(anyhow::Error),
}

impl From<RightsError> for ExportError {
    fn from(err: RightsError) -> Self {
        match err {
            RightsError::Unavailable(cause) => Self::Unavailable(cause),
            RightsError::Unknown(err) => Self::Unknown(err),
        }
    }
}

impl From<RightsError> for EraseError {
    fn from(err: RightsError) -> Self {
        match err {
            RightsError::Unavailable(cause) => Self::Unavailable(cause),
            RightsError::Unknown(err) => Self::Unknown(err),
        }
    }
}

impl From<RightsError> for PurgeError {
    fn from(err: RightsError) -> Self {
        match err {
            RightsError::Unavailable(cause) => Self::Unavailable(cause),
            RightsError::Unknown(err) => Self::Unknown(err),
        }
    }
}
