//! Rows of the demo's non-ledger tables, encoded for the target database as they are
//! generated: PostgreSQL `COPY` text, or values for multi-row SQLite `INSERT`s.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{PgConnection, SqliteConnection};

use crate::domain::ledger::bulk::Backend;

pub enum Val {
    Int(i64),
    OptInt(Option<i64>),
    Float(f64),
    Text(String),
    Str(&'static str),
    OptText(Option<String>),
    OptStr(Option<&'static str>),
    Date(NaiveDate),
    OptDate(Option<NaiveDate>),
    Ts(DateTime<Utc>),
}

pub struct TableBatch {
    pub table: &'static str,
    columns: &'static [&'static str],
    backend: Backend,
    copy: Vec<u8>,
    vals: Vec<Val>,
    rows: u64,
}

/// SQLite's limit on bound parameters per statement.
const SQLITE_MAX_PARAMS: usize = 32_766;

impl TableBatch {
    pub fn new(backend: Backend, table: &'static str, columns: &'static [&'static str]) -> Self {
        TableBatch { table, columns, backend, copy: Vec::new(), vals: Vec::new(), rows: 0 }
    }

    pub fn rows(&self) -> u64 {
        self.rows
    }

    pub fn push<const N: usize>(&mut self, row: [Val; N]) {
        debug_assert_eq!(N, self.columns.len(), "{}", self.table);
        self.rows += 1;
        match self.backend {
            Backend::Sqlite => self.vals.extend(row),
            Backend::Postgres => {
                for (i, v) in row.into_iter().enumerate() {
                    if i > 0 {
                        self.copy.push(b'\t');
                    }
                    encode_copy(&mut self.copy, v);
                }
                self.copy.push(b'\n');
            }
        }
    }

    pub async fn write_pg(self, conn: &mut PgConnection) -> Result<u64, sqlx::Error> {
        if self.rows == 0 {
            return Ok(0);
        }
        let sql = format!("COPY {} ({}) FROM STDIN", self.table, self.columns.join(", "));
        let mut copy = conn.copy_in_raw(&sql).await?;
        for part in self.copy.chunks(1 << 20) {
            copy.send(part).await?;
        }
        copy.finish().await
    }

    pub async fn write_sqlite(self, conn: &mut SqliteConnection) -> Result<u64, sqlx::Error> {
        let width = self.columns.len();
        let per_statement = (SQLITE_MAX_PARAMS / width).min(500);
        let one = format!("({})", vec!["?"; width].join(","));
        let mut vals = self.vals.into_iter().peekable();
        let mut written = 0;
        while vals.peek().is_some() {
            let batch: Vec<Val> = vals.by_ref().take(per_statement * width).collect();
            let rows = batch.len() / width;
            let sql = format!(
                "INSERT INTO {} ({}) VALUES {}",
                self.table,
                self.columns.join(", "),
                vec![one.as_str(); rows].join(",")
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for v in batch {
                q = match v {
                    Val::Int(x) => q.bind(x),
                    Val::OptInt(x) => q.bind(x),
                    Val::Float(x) => q.bind(x),
                    Val::Text(x) => q.bind(x),
                    Val::Str(x) => q.bind(x),
                    Val::OptText(x) => q.bind(x),
                    Val::OptStr(x) => q.bind(x),
                    Val::Date(x) => q.bind(x),
                    Val::OptDate(x) => q.bind(x),
                    Val::Ts(x) => q.bind(x),
                };
            }
            written += q.execute(&mut *conn).await?.rows_affected();
        }
        Ok(written)
    }
}

fn encode_copy(b: &mut Vec<u8>, v: Val) {
    use std::io::Write;
    match v {
        Val::Int(x) | Val::OptInt(Some(x)) => {
            let _ = write!(b, "{x}");
        }
        Val::Float(x) => {
            let _ = write!(b, "{x}");
        }
        Val::Text(s) | Val::OptText(Some(s)) => crate::domain::ledger::bulk::push_copy_text(b, &s),
        Val::Str(s) | Val::OptStr(Some(s)) => crate::domain::ledger::bulk::push_copy_text(b, s),
        Val::Date(d) | Val::OptDate(Some(d)) => {
            let _ = write!(b, "{}", d.format("%Y-%m-%d"));
        }
        Val::Ts(t) => {
            let _ = write!(b, "{}", t.format("%Y-%m-%d %H:%M:%S%.6f+00"));
        }
        Val::OptInt(None) | Val::OptText(None) | Val::OptStr(None) | Val::OptDate(None) => b.extend_from_slice(b"\\N"),
    }
}
