//! The data rights port: a user's data exported whole, erased whole, and old data purged.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::domain::{Conversation, User, UserId};

use super::staff::{FiledMessage, UserRef};

/// One delivery record of a reply part, as the provider reported it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryRecord {
    pub provider_message_id: String,
    pub message_id: Option<Uuid>,
    pub part: Option<i32>,
    pub status: Option<String>,
    pub error_code: Option<String>,
    pub updated_at: DateTime<Utc>,
}

/// Everything stored about one user.
#[derive(Clone, Debug, PartialEq)]
pub struct UserExport {
    pub user: User,
    /// Oldest first.
    pub conversations: Vec<Conversation>,
    /// Oldest first, with media (and transcripts) and delivery status.
    pub messages: Vec<FiledMessage>,
    pub deliveries: Vec<DeliveryRecord>,
}

/// Who erased, and when: all the audit record keeps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Erasure {
    pub at: DateTime<Utc>,
    /// The caller, e.g. `key:wak_3kX9aQ2m`; never the user's number or content.
    pub actor: String,
}

/// What an erasure removed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErasureReport {
    pub user: UserId,
    /// Rows removed, over every table.
    pub rows: u64,
}

/// What one purge batch removed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PurgeReport {
    pub messages: u64,
    pub conversations: u64,
    pub jobs: u64,
    pub users: u64,
}

impl PurgeReport {
    /// Rows removed in all.
    pub fn total(&self) -> u64 {
        self.messages + self.conversations + self.jobs + self.users
    }
}

/// Why a data rights operation failed.
#[derive(Debug, thiserror::Error)]
pub enum RightsError {
    /// The store cannot be reached; trying again later may work.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A bug or an unexpected database state.
    #[error(transparent)]
    Unknown(#[from] anyhow::Error),
}

/// Export, erasure and retention over the whole store.
#[async_trait]
pub trait DataRights: Send + Sync {
    /// Everything stored about `user`; `None` when there is no such user.
    ///
    /// # Errors
    /// [`RightsError::Unavailable`] when the store cannot be reached.
    async fn export_user(&self, user: &UserRef) -> Result<Option<UserExport>, RightsError>;

    /// Removes, in one transaction, every row that holds `user`'s data (user, messages with
    /// their raw parameters, conversations, jobs, deliveries) and writes an audit record of
    /// `erasure` alone. `None` when there is no such user.
    ///
    /// # Errors
    /// [`RightsError::Unavailable`] when the store cannot be reached; nothing is removed.
    async fn erase_user(
        &self,
        user: &UserRef,
        erasure: &Erasure,
    ) -> Result<Option<ErasureReport>, RightsError>;

    /// Removes at most `batch` rows of each kind older than `cutoff`: messages, finished jobs,
    /// conversations whose last activity is older, and users left with nothing. Small
    /// transactions that never hold locks on recent rows; call again until it removes nothing.
    ///
    /// # Errors
    /// [`RightsError::Unavailable`] when the store cannot be reached.
    async fn purge_before(
        &self,
        cutoff: DateTime<Utc>,
        batch: usize,
    ) -> Result<PurgeReport, RightsError>;

    /// Takes or renews the lease of the background task `task` for `holder` until the
    /// database's clock passes `lease_secs`; `false` when another holder's lease still runs.
    /// Lets one instance at a time run a cluster-wide chore.
    ///
    /// # Errors
    /// [`RightsError::Unavailable`] when the store cannot be reached.
    async fn lead_task(
        &self,
        task: &str,
        holder: Uuid,
        lease_secs: u32,
    ) -> Result<bool, RightsError>;
}
