//! Hand-written statements, written once with PostgreSQL's `$n` placeholders, and a builder
//! for the keyset-paged listings.

use sea_orm::{DatabaseBackend, Statement, Value};
use whatsapp_agent::ports::Cursor;

/// `sql` with placeholders as `backend` writes them: `$1` for PostgreSQL, `?1` for SQLite.
pub(crate) fn statement(backend: DatabaseBackend, sql: &str, values: Vec<Value>) -> Statement {
    let sql = match backend {
        DatabaseBackend::Postgres => sql.to_string(),
        _ => sql.replace('$', "?"),
    };
    Statement::from_sql_and_values(backend, sql, values)
}

/// A SQL text with `$n` placeholders and their values, grown one condition at a time.
#[derive(Default)]
pub(crate) struct Query {
    pub(crate) conditions: Vec<String>,
    pub(crate) values: Vec<Value>,
}

impl Query {
    /// Binds `value` and returns its placeholder.
    pub(crate) fn bind(&mut self, value: impl Into<Value>) -> String {
        self.values.push(value.into());
        format!("${}", self.values.len())
    }

    /// Rows strictly after `cursor` in newest-first order on (`time`, `id`).
    pub(crate) fn before(&mut self, cursor: Option<Cursor>, time: &str, id: &str) {
        if let Some(cursor) = cursor {
            let at = self.bind(cursor.at);
            let last = self.bind(cursor.id);
            self.conditions.push(format!(
                "({time} < {at} OR ({time} = {at} AND {id} < {last}))"
            ));
        }
    }

    /// The statement's text: `select`, the conditions, `order` and a bound `limit`.
    pub(crate) fn sql(&mut self, select: &str, order: &str, limit: usize) -> String {
        let limit = self.bind(i64::try_from(limit).unwrap_or(i64::MAX));
        let filter = if self.conditions.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.conditions.join(" AND "))
        };
        format!("{select}{filter} ORDER BY {order} LIMIT {limit}")
    }
}
