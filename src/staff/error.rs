//! Why a staff operation did not happen, in terms the caller can act on.

use crate::access::AccessError;
use crate::ports::{JobBoardError, StaffStoreError, StoreError};

/// Why a staff operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StaffError {
    /// The caller may not use the staff operations (no credential, or no `admin` scope).
    #[error(transparent)]
    Access(#[from] AccessError),
    /// The conversation or user named does not exist; the message says which.
    #[error("{0}")]
    NotFound(String),
    /// The request is unusable; `field` names the offending part.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// Storage failed; nothing was changed unless the operation says otherwise.
    #[error(transparent)]
    Store(#[from] StaffStoreError),
    /// The job that sends a bot's reply could not be re-driven:
    /// [`JobBoardError::NotFailed`] when it is pending or running (the reply is being sent
    /// already) or done (the provider took it).
    #[error(transparent)]
    Job(#[from] JobBoardError),
}

impl StaffError {
    pub(crate) fn invalid(field: &str, message: impl Into<String>) -> Self {
        StaffError::Invalid {
            field: field.to_string(),
            message: message.into(),
        }
    }
}

impl From<StoreError> for StaffError {
    fn from(err: StoreError) -> Self {
        StaffError::Store(match err {
            StoreError::Unavailable(m) => StaffStoreError::Unavailable(m),
            StoreError::Duplicate(m) => {
                StaffStoreError::Unknown(anyhow::anyhow!("duplicate record: {m}"))
            }
            StoreError::Unknown(e) => StaffStoreError::Unknown(e),
        })
    }
}
