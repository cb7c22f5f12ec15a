//! Turns database errors into the domain's `StoreError` at the seam.

use sea_orm::{DbErr, RuntimeErr, SqlErr};
use whatsapp_agent::ports::StoreError;

/// Classifies a database error: constraint violations become `Duplicate`, anything that says
/// the database is unreachable or busy becomes `Unavailable`, the rest `Unknown`.
pub fn store_error(err: DbErr) -> StoreError {
    if let Some(SqlErr::UniqueConstraintViolation(detail)) = err.sql_err() {
        return StoreError::Duplicate(detail);
    }
    match &err {
        DbErr::ConnectionAcquire(cause) => StoreError::Unavailable(cause.to_string()),
        DbErr::Conn(cause) => StoreError::Unavailable(cause.to_string()),
        DbErr::Exec(RuntimeErr::SqlxError(cause)) | DbErr::Query(RuntimeErr::SqlxError(cause))
            if is_lock_conflict(cause) =>
        {
            StoreError::Unavailable(format!("{LOCK_CONFLICT}: {cause}"))
        }
        DbErr::Exec(RuntimeErr::SqlxError(cause)) | DbErr::Query(RuntimeErr::SqlxError(cause))
            if is_outage(cause) =>
        {
            StoreError::Unavailable(cause.to_string())
        }
        _ => StoreError::Unknown(anyhow::Error::new(err)),
    }
}

fn is_outage(err: &sea_orm::sqlx::Error) -> bool {
    use sea_orm::sqlx::Error;
    match err {
        Error::Io(_) | Error::PoolTimedOut | Error::PoolClosed | Error::WorkerCrashed => true,
        Error::Tls(_) => true,
        // SQLite reports a held write lock as SQLITE_BUSY (5) / SQLITE_LOCKED (6).
        Error::Database(db) => {
            matches!(db.code().as_deref(), Some("5" | "6" | "261" | "262" | "517" | "773"))
            // PostgreSQL: admin shutdown, cannot connect now, too many connections.
            || matches!(
                db.code().as_deref(),
                Some("57P01" | "57P02" | "57P03" | "53300")
            )
        }
        _ => false,
    }
}

/// Whether `err`, raised by the first statement on a pooled connection, says the connection was
/// already dead: closed by the server (a restart, an idle timeout, an administrator) or by the
/// network while it sat idle in the pool. Nothing ran on it, so the work may be retried.
pub fn broke_while_idle(err: &DbErr) -> bool {
    use sea_orm::sqlx::Error;
    let cause = match err {
        DbErr::Conn(RuntimeErr::SqlxError(cause))
        | DbErr::Exec(RuntimeErr::SqlxError(cause))
        | DbErr::Query(RuntimeErr::SqlxError(cause)) => cause,
        _ => return false,
    };
    match cause {
        Error::Io(_) | Error::Protocol(_) | Error::WorkerCrashed => true,
        // PostgreSQL: the server ended the session (administrator command, crash, shutdown)
        // or reports the connection itself as failed (class 08).
        Error::Database(db) => db.code().is_some_and(|code| {
            matches!(code.as_ref(), "57P01" | "57P02" | "57P03") || code.starts_with("08")
        }),
        _ => false,
    }
}

/// How an `Unavailable` from a lost lock race begins.
const LOCK_CONFLICT: &str = "transaction conflict";

/// PostgreSQL chose the transaction as a deadlock's victim or refused it for serialization.
fn is_lock_conflict(err: &sea_orm::sqlx::Error) -> bool {
    matches!(err, sea_orm::sqlx::Error::Database(db)
        if matches!(db.code().as_deref(), Some("40P01" | "40001")))
}

/// Whether `err` says a row the write refers to was deleted meanwhile (a foreign key no longer
/// met): an erasure of the user committed between reading their rows and writing the message.
/// Done again, the write finds or creates the rows afresh, or finds the conversation gone.
pub fn lost_a_race_with_erasure(err: &anyhow::Error) -> bool {
    err.downcast_ref::<DbErr>()
        .and_then(DbErr::sql_err)
        .is_some_and(|e| matches!(e, SqlErr::ForeignKeyConstraintViolation(_)))
}

/// Whether an `Unavailable` cause says the transaction lost a lock race (a deadlock's victim,
/// or refused for serialization): tried again at once, it goes through. Still an outage to a
/// caller when tries run out.
pub fn lost_a_lock_race(cause: &str) -> bool {
    cause.starts_with(LOCK_CONFLICT)
}

/// Whether a write lost a race that another try wins: a deadlock's victim, or the user erased
/// between reading their rows and filing the message.
pub fn lost_a_race(err: &StoreError) -> bool {
    match err {
        StoreError::Unavailable(cause) => lost_a_lock_race(cause),
        StoreError::Unknown(err) => lost_a_race_with_erasure(err),
        StoreError::Duplicate(_) => false,
    }
}

/// How many times a write that lost a race is tried in all.
const RACE_TRIES: usize = 3;

/// Runs the write `attempt` (a transaction of its own) again, at once, while `lost` says it lost
/// a race, up to [`RACE_TRIES`] times in all; the last outcome is returned.
pub async fn again_on_lost_race<T, E, F, Fut>(
    mut attempt: F,
    lost: impl Fn(&E) -> bool,
) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
{
    let mut tries = 1;
    loop {
        match attempt().await {
            Err(err) if tries < RACE_TRIES && lost(&err) => {
                tracing::info!("a write lost a race with another transaction; trying it again");
                tries += 1;
            }
            outcome => return outcome,
        }
    }
}
