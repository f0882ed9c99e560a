//! Raw SQL that runs on both databases. Statements are written with PostgreSQL's `$1`
//! placeholders; SQLite reads the same numbers as `?1`.

use sea_orm::{DatabaseBackend, Statement, Value};

pub fn statement(backend: DatabaseBackend, sql: &str, values: Vec<Value>) -> Statement {
    let sql = match backend {
        DatabaseBackend::Sqlite => sql.replace('$', "?"),
        _ => sql.to_owned(),
    };
    Statement::from_sql_and_values(backend, sql, values)
}
