//! Hand-written statements, written once with PostgreSQL's `$n` placeholders.

use sea_orm::{DatabaseBackend, Statement, Value};

/// `sql` with placeholders as `backend` writes them: `$1` for PostgreSQL, `?1` for SQLite.
pub(crate) fn statement(backend: DatabaseBackend, sql: &str, values: Vec<Value>) -> Statement {
    let sql = match backend {
        DatabaseBackend::Postgres => sql.to_string(),
        _ => sql.replace('$', "?"),
    };
    Statement::from_sql_and_values(backend, sql, values)
}
