//! Figures operators scrape: the connection pool's use and the inbound job queue's depth.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, Statement};

/// Connections the pool holds, and how many of them are idle.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolStats {
    pub open: u32,
    pub idle: u32,
}

/// Jobs per status (`pending`, `running`, `done`, `failed`), and when the oldest pending one
/// was queued.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct QueueStats {
    pub by_status: Vec<(String, i64)>,
    pub oldest_pending: Option<DateTime<Utc>>,
}

pub fn pool_stats(db: &DatabaseConnection) -> PoolStats {
    match db {
        DatabaseConnection::SqlxPostgresPoolConnection(_) => {
            let pool = db.get_postgres_connection_pool();
            PoolStats {
                open: pool.size(),
                idle: u32::try_from(pool.num_idle()).unwrap_or(u32::MAX),
            }
        }
        DatabaseConnection::SqlxSqlitePoolConnection(_) => {
            let pool = db.get_sqlite_connection_pool();
            PoolStats {
                open: pool.size(),
                idle: u32::try_from(pool.num_idle()).unwrap_or(u32::MAX),
            }
        }
        _ => PoolStats::default(),
    }
}

/// # Errors
/// The database error when the queue cannot be read.
pub async fn queue_stats(db: &DatabaseConnection) -> Result<QueueStats, DbErr> {
    let backend = db.get_database_backend();
    let rows = db
        .query_all(Statement::from_string(
            backend,
            "SELECT status, COUNT(*) FROM inbound_jobs GROUP BY status",
        ))
        .await?;
    let mut by_status = Vec::with_capacity(rows.len());
    for row in rows {
        by_status.push((row.try_get_by_index(0)?, row.try_get_by_index(1)?));
    }
    let oldest = db
        .query_one(Statement::from_string(
            backend,
            "SELECT MIN(created_at) FROM inbound_jobs WHERE status = 'pending'",
        ))
        .await?;
    let oldest_pending = match oldest {
        Some(row) => row.try_get_by_index::<Option<DateTime<Utc>>>(0)?,
        None => None,
    };
    Ok(QueueStats {
        by_status,
        oldest_pending,
    })
}
