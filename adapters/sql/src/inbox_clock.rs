//! What the inbox's statements share: times from the database's clock, and the fence that
//! every write made for a job passes first.
//!
//! Lease times are read and written by the database, never by an instance, so instances whose
//! clocks disagree still agree on whose lease has run out. On SQLite times are written in the
//! same text form as every other stored time, so that they compare as text.

use std::time::Duration;

use sea_orm::{ConnectionTrait, DatabaseBackend, Value};
use whatsapp_agent::ports::{Job, StoreError};

use crate::error::store_error;
use crate::raw::statement;

/// The database's current time.
pub(crate) fn now(backend: DatabaseBackend) -> &'static str {
    match backend {
        DatabaseBackend::Postgres => "CURRENT_TIMESTAMP",
        _ => "strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')",
    }
}

/// The database's current time plus the seconds bound to placeholder `$n`.
pub(crate) fn later(backend: DatabaseBackend, n: usize) -> String {
    match backend {
        DatabaseBackend::Postgres => format!("(CURRENT_TIMESTAMP + ${n} * INTERVAL '1 second')"),
        _ => format!("strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now', '+' || ${n} || ' seconds')"),
    }
}

/// A duration as the seconds `later` adds.
pub(crate) fn seconds(duration: Duration) -> Value {
    duration.as_secs_f64().into()
}

/// Writes `set` (assignments whose placeholders start at `$3`, bound from `values`) to the
/// job's row, only if the job is still the caller's: its token is the job's, it is running and
/// its lease has not run out by the database's clock. Inside a transaction, on PostgreSQL, the
/// row then stays locked until the transaction ends, so no claim can take the job over while
/// the caller writes the rest.
///
/// Returns `false`, having written nothing, when the job is no longer the caller's.
pub(crate) async fn fenced<C: ConnectionTrait>(
    conn: &C,
    job: &Job,
    set: &str,
    values: Vec<Value>,
) -> Result<bool, StoreError> {
    let backend = conn.get_database_backend();
    let now = now(backend);
    let mut bound: Vec<Value> = vec![job.id.into(), job.lease_token.into()];
    bound.extend(values);
    let set = if set.is_empty() {
        String::new()
    } else {
        format!(", {set}")
    };
    let sql = format!(
        "UPDATE inbound_jobs SET updated_at = {now}{set} \
         WHERE id = $1 AND lease_token = $2 AND status = 'running' AND lease_until > {now}"
    );
    let done = conn
        .execute(statement(backend, &sql, bound))
        .await
        .map_err(store_error)?;
    Ok(done.rows_affected() == 1)
}
