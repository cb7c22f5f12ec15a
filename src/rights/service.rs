//! [`Rights`]: export, erasure and retention over the [`DataRights`] port.

use std::sync::Arc;
use std::time::Duration;

use crate::access::{Caller, Scope};
use crate::ports::{
    Clock, DataRights, Erasure, ErasureReport, PurgeReport, SystemClock, UserExport, UserRef,
};

use super::{EraseError, ExportError, PurgeError};

/// A user's data exported or erased, and old data purged, by a caller with the `admin` scope.
#[derive(Clone)]
pub struct Rights {
    store: Arc<dyn DataRights>,
    clock: Arc<dyn Clock>,
}

impl Rights {
    pub fn new(store: Arc<dyn DataRights>) -> Self {
        Self {
            store,
            clock: Arc::new(SystemClock),
        }
    }

    /// The same operations reading the time from `clock`.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Everything stored about `user`: the user, their conversations, messages (with media,
    /// transcripts and delivery status) and delivery records.
    ///
    /// # Errors
    /// [`ExportError::Access`] without the `admin` scope; [`ExportError::NotFound`] for an
    /// unknown user; [`ExportError::Unavailable`] when the store cannot be reached.
    pub async fn export(&self, caller: &Caller, user: &UserRef) -> Result<UserExport, ExportError> {
        caller.require(Scope::Admin)?;
        let export = self
            .store
            .export_user(user)
            .await?
            .ok_or(ExportError::NotFound)?;
        tracing::info!(user = %export.user.id, actor = %caller.actor(), "user data exported");
        Ok(export)
    }

    /// Removes every row that holds `user`'s data, in one transaction, and records that an
    /// erasure happened, when and by whom (`caller.actor()`), never who was erased. A later
    /// message from the same number or `user_id` starts a new user.
    ///
    /// # Errors
    /// [`EraseError::Access`] without the `admin` scope; [`EraseError::NotFound`] for an
    /// unknown user; [`EraseError::Unavailable`] when the store cannot be reached (nothing is
    /// removed then).
    pub async fn erase(
        &self,
        caller: &Caller,
        user: &UserRef,
    ) -> Result<ErasureReport, EraseError> {
        caller.require(Scope::Admin)?;
        let erasure = Erasure {
            at: self.clock.now(),
            actor: caller.actor(),
        };
        let report = self
            .store
            .erase_user(user, &erasure)
            .await?
            .ok_or(EraseError::NotFound)?;
        tracing::info!(rows = report.rows, actor = %erasure.actor, "user erased");
        Ok(report)
    }

    /// Purges messages, raw parameters, finished jobs, conversations and emptied users older
    /// than `retention`, `batch` rows of each kind per store call, until a call removes
    /// nothing. Returns what was removed in all.
    ///
    /// Each batch is its own short transaction, so traffic is never blocked for long; rows
    /// that arrive meanwhile are newer than the cut-off, so the loop ends.
    ///
    /// # Errors
    /// [`PurgeError::Access`] without the `admin` scope; [`PurgeError::Unavailable`] when the
    /// store cannot be reached (what earlier batches removed stays removed).
    pub async fn purge(
        &self,
        caller: &Caller,
        retention: Duration,
        batch: usize,
    ) -> Result<PurgeReport, PurgeError> {
        caller.require(Scope::Admin)?;
        let retention = chrono::Duration::from_std(retention)
            .map_err(|_| PurgeError::Unknown(anyhow::anyhow!("retention period out of range")))?;
        let cutoff = self.clock.now() - retention;
        let batch = batch.max(1);
        let mut total = PurgeReport::default();
        loop {
            let removed = self.store.purge_before(cutoff, batch).await?;
            if removed.total() == 0 {
                return Ok(total);
            }
            total.messages += removed.messages;
            total.conversations += removed.conversations;
            total.jobs += removed.jobs;
            total.users += removed.users;
        }
    }
}
