//! The ledger's bulk loader, for account histories that are computed whole (the demo seed,
//! a future migration from a landlord's old system).
//!
//! [`service::post_batch`](super::service::post_batch) is the path for live postings: it
//! reads the account, checks idempotency keys and writes row by row. A history of a hundred
//! million lines cannot go that way, so this module takes the other route and keeps the same
//! invariants by construction:
//!
//! * entries are pushed per account in date order, and the running balance (`balance_after`)
//!   and the account's final cached balance, version and last entry date are computed here,
//!   in Rust, as they are pushed: nothing is read back;
//! * every entry's sign is checked against its kind, as `post_batch` does;
//! * the accounts must be new: the cached totals are set only where `version = 0`, and the
//!   chunk fails (the caller rolls back) if any account had been posted to before;
//! * `(source, source_ref)` stays the idempotency key: loading the same history twice fails
//!   on the unique index instead of doubling balances.
//!
//! On PostgreSQL a chunk goes in with `COPY ... FROM STDIN` (text format); on SQLite with
//! multi-row prepared `INSERT`s under the bound-parameter limit. Either way inside the
//! caller's transaction, so a chunk's entries and its accounts' cached balances commit
//! together.

use std::borrow::Cow;

use chrono::{Datelike, NaiveDate, NaiveTime, Timelike};
use doorstep_shared::Money;
use sqlx::{PgConnection, SqliteConnection};

use super::model::{Channel, EntryKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

#[derive(Debug, thiserror::Error)]
pub enum BulkError {
    #[error("account {account_id}: a {kind} of {amount} has the wrong sign")]
    WrongSign { account_id: i64, kind: EntryKind, amount: Money },
    #[error("account {account_id}: entry dated {date} follows one dated {last}; push entries in date order")]
    OutOfOrder { account_id: i64, date: NaiveDate, last: NaiveDate },
    #[error("account {0}: the balance would overflow")]
    Overflow(i64),
    #[error("no account is open: call begin_account first")]
    NoAccount,
    #[error(
        "{0} of the chunk's accounts are missing or already have ledger entries; bulk loading is for new accounts only"
    )]
    NotFresh(usize),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// The cached figures an account ends a chunk with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountTotals {
    pub account_id: i64,
    pub balance_pence: i64,
    pub entries: i64,
    pub last_entry_date: Option<NaiveDate>,
}

struct Row {
    account_id: i64,
    kind: EntryKind,
    amount_pence: i64,
    effective_date: NaiveDate,
    description: Cow<'static, str>,
    source_ref: String,
    channel: Option<Channel>,
    balance_after_pence: i64,
}

/// Entries for a set of new accounts, encoded for the target database as they are pushed.
pub struct HistoryChunk {
    backend: Backend,
    source: String,
    posted_time: NaiveTime,
    /// PostgreSQL: `COPY` text rows.
    copy: Vec<u8>,
    /// SQLite: rows to bind.
    rows: Vec<Row>,
    accounts: Vec<AccountTotals>,
    open: Option<AccountTotals>,
    len: usize,
}

const COPY_SQL: &str = "COPY ledger_entry (account_id, kind, amount_pence, effective_date, posted_at, description, \
                        source, source_ref, channel, balance_after_pence) FROM STDIN";
const COLUMNS: usize = 10;
/// SQLite allows 32766 bound parameters per statement; 1000 rows of 10 stay well under.
const SQLITE_ROWS_PER_INSERT: usize = 1000;

impl HistoryChunk {
    /// `source` is the ledger source of every entry (e.g. `demo`); `posted_time` the UTC time
    /// of day recorded as `posted_at` on each entry's effective date (histories carry no
    /// posting times of their own).
    pub fn new(backend: Backend, source: &str, posted_time: NaiveTime) -> Self {
        HistoryChunk {
            backend,
            source: source.to_owned(),
            posted_time,
            copy: Vec::new(),
            rows: Vec::new(),
            accounts: Vec::new(),
            open: None,
            len: 0,
        }
    }

    /// Starts the history of a new account (the previous one, if any, is closed).
    pub fn begin_account(&mut self, account_id: i64) {
        self.end_account();
        self.open = Some(AccountTotals { account_id, balance_pence: 0, entries: 0, last_entry_date: None });
    }

    /// Closes the open account and returns its totals.
    pub fn end_account(&mut self) -> Option<AccountTotals> {
        let t = self.open.take()?;
        if t.entries > 0 {
            self.accounts.push(t);
        }
        Some(t)
    }

    /// Number of entries in the chunk.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends an entry to the open account and returns the balance after it.
    pub fn push(
        &mut self,
        kind: EntryKind,
        amount: Money,
        effective_date: NaiveDate,
        description: impl Into<Cow<'static, str>>,
        source_ref: &str,
        channel: Option<Channel>,
    ) -> Result<Money, BulkError> {
        let open = self.open.as_mut().ok_or(BulkError::NoAccount)?;
        let account_id = open.account_id;
        if !kind.accepts(amount) {
            return Err(BulkError::WrongSign { account_id, kind, amount });
        }
        if let Some(last) = open.last_entry_date
            && effective_date < last
        {
            return Err(BulkError::OutOfOrder { account_id, date: effective_date, last });
        }
        let balance = open.balance_pence.checked_add(amount.pence()).ok_or(BulkError::Overflow(account_id))?;
        open.balance_pence = balance;
        open.entries += 1;
        open.last_entry_date = Some(effective_date);
        self.len += 1;
        let description = description.into();
        match self.backend {
            Backend::Postgres => {
                let b = &mut self.copy;
                push_int(b, account_id);
                b.push(b'\t');
                b.extend_from_slice(kind.as_str().as_bytes());
                b.push(b'\t');
                push_int(b, amount.pence());
                b.push(b'\t');
                push_date(b, effective_date);
                b.push(b'\t');
                push_date(b, effective_date);
                b.push(b' ');
                push_time(b, self.posted_time);
                b.extend_from_slice(b"+00\t");
                push_copy_text(b, &description);
                b.push(b'\t');
                push_copy_text(b, &self.source);
                b.push(b'\t');
                push_copy_text(b, source_ref);
                b.push(b'\t');
                match channel {
                    Some(c) => b.extend_from_slice(c.as_str().as_bytes()),
                    None => b.extend_from_slice(b"\\N"),
                }
                b.push(b'\t');
                push_int(b, balance);
                b.push(b'\n');
            }
            Backend::Sqlite => self.rows.push(Row {
                account_id,
                kind,
                amount_pence: amount.pence(),
                effective_date,
                description,
                source_ref: source_ref.to_owned(),
                channel,
                balance_after_pence: balance,
            }),
        }
        Ok(Money::from_pence(balance))
    }

    /// The totals of the accounts closed so far.
    pub fn accounts(&self) -> &[AccountTotals] {
        &self.accounts
    }
}

/// What a chunk wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChunkStats {
    pub entries: u64,
    pub accounts: u64,
}

/// Writes a chunk on PostgreSQL inside the caller's transaction.
pub async fn write_pg(conn: &mut PgConnection, mut chunk: HistoryChunk) -> Result<ChunkStats, BulkError> {
    chunk.end_account();
    if chunk.backend != Backend::Postgres {
        return Err(BulkError::Db(sqlx::Error::Protocol("a SQLite chunk cannot go to PostgreSQL".into())));
    }
    if chunk.len > 0 {
        let mut copy = conn.copy_in_raw(COPY_SQL).await?;
        // Sent in slices so that the driver's buffer stays small.
        for part in chunk.copy.chunks(1 << 20) {
            copy.send(part).await?;
        }
        copy.finish().await?;
    }
    let n = chunk.accounts.len();
    if n > 0 {
        let ids: Vec<i64> = chunk.accounts.iter().map(|a| a.account_id).collect();
        let balances: Vec<i64> = chunk.accounts.iter().map(|a| a.balance_pence).collect();
        let versions: Vec<i64> = chunk.accounts.iter().map(|a| a.entries).collect();
        let dates: Vec<Option<NaiveDate>> = chunk.accounts.iter().map(|a| a.last_entry_date).collect();
        let done = sqlx::query(
            "UPDATE rent_account AS a SET balance_pence = v.balance, version = v.entries, last_entry_date = v.last \
             FROM UNNEST($1::int8[], $2::int8[], $3::int8[], $4::date[]) AS v(id, balance, entries, last) \
             WHERE a.id = v.id AND a.version = 0",
        )
        .bind(ids)
        .bind(balances)
        .bind(versions)
        .bind(dates)
        .execute(&mut *conn)
        .await?
        .rows_affected();
        if done as usize != n {
            return Err(BulkError::NotFresh(n - done as usize));
        }
    }
    Ok(ChunkStats { entries: chunk.len as u64, accounts: n as u64 })
}

/// Writes a chunk on SQLite inside the caller's transaction.
pub async fn write_sqlite(conn: &mut SqliteConnection, mut chunk: HistoryChunk) -> Result<ChunkStats, BulkError> {
    chunk.end_account();
    if chunk.backend != Backend::Sqlite {
        return Err(BulkError::Db(sqlx::Error::Protocol("a PostgreSQL chunk cannot go to SQLite".into())));
    }
    let source = chunk.source.clone();
    let time = chunk.posted_time;
    let mut rows = std::mem::take(&mut chunk.rows).into_iter().peekable();
    while rows.peek().is_some() {
        let batch: Vec<Row> = rows.by_ref().take(SQLITE_ROWS_PER_INSERT).collect();
        let sql = insert_sql(batch.len());
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for r in batch {
            q = q
                .bind(r.account_id)
                .bind(r.kind.as_str())
                .bind(r.amount_pence)
                .bind(r.effective_date)
                .bind(r.effective_date.and_time(time).and_utc())
                .bind(r.description.into_owned())
                .bind(source.clone())
                .bind(r.source_ref)
                .bind(r.channel.map(Channel::as_str))
                .bind(r.balance_after_pence);
        }
        q.execute(&mut *conn).await?;
    }
    let n = chunk.accounts.len();
    // Four parameters per account.
    for batch in chunk.accounts.chunks(4000) {
        let values = vec!["(?,?,?,?)"; batch.len()].join(",");
        let sql = format!(
            "UPDATE rent_account SET balance_pence = v.column2, version = v.column3, last_entry_date = v.column4 \
             FROM (VALUES {values}) AS v WHERE rent_account.id = v.column1 AND rent_account.version = 0"
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for a in batch {
            q = q.bind(a.account_id).bind(a.balance_pence).bind(a.entries).bind(a.last_entry_date);
        }
        let done = q.execute(&mut *conn).await?.rows_affected() as usize;
        if done != batch.len() {
            return Err(BulkError::NotFresh(batch.len() - done));
        }
    }
    Ok(ChunkStats { entries: chunk.len as u64, accounts: n as u64 })
}

fn insert_sql(rows: usize) -> String {
    let one = format!("({})", ["?"; COLUMNS].join(","));
    format!(
        "INSERT INTO ledger_entry (account_id, kind, amount_pence, effective_date, posted_at, description, source, \
         source_ref, channel, balance_after_pence) VALUES {}",
        vec![one.as_str(); rows].join(",")
    )
}

fn push_int(b: &mut Vec<u8>, v: i64) {
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    let mut n = v.unsigned_abs();
    loop {
        i -= 1;
        tmp[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if v < 0 {
        b.push(b'-');
    }
    b.extend_from_slice(&tmp[i..]);
}

fn push_padded(b: &mut Vec<u8>, v: u32, width: usize) {
    let mut tmp = [b'0'; 10];
    let mut n = v;
    for i in (0..width).rev() {
        tmp[i] = b'0' + (n % 10) as u8;
        n /= 10;
    }
    b.extend_from_slice(&tmp[..width]);
}

fn push_date(b: &mut Vec<u8>, d: NaiveDate) {
    push_padded(b, d.year() as u32, 4);
    b.push(b'-');
    push_padded(b, d.month(), 2);
    b.push(b'-');
    push_padded(b, d.day(), 2);
}

fn push_time(b: &mut Vec<u8>, t: NaiveTime) {
    push_padded(b, t.hour(), 2);
    b.push(b':');
    push_padded(b, t.minute(), 2);
    b.push(b':');
    push_padded(b, t.second(), 2);
}

/// A value in PostgreSQL's `COPY` text format: backslash, tab, newline and carriage return
/// escaped.
pub(crate) fn push_copy_text(b: &mut Vec<u8>, s: &str) {
    for &c in s.as_bytes() {
        match c {
            b'\\' => b.extend_from_slice(b"\\\\"),
            b'\t' => b.extend_from_slice(b"\\t"),
            b'\n' => b.extend_from_slice(b"\\n"),
            b'\r' => b.extend_from_slice(b"\\r"),
            _ => b.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn running_balance_and_totals_are_computed_as_entries_are_pushed() {
        let mut c = HistoryChunk::new(Backend::Postgres, "demo", NaiveTime::from_hms_opt(2, 0, 0).unwrap());
        c.begin_account(7);
        assert_eq!(
            c.push(EntryKind::Charge, Money::from_pence(9000), d("2024-04-01"), "Rent", "a/1", None).unwrap().pence(),
            9000
        );
        let after = c
            .push(EntryKind::Payment, Money::from_pence(-10000), d("2024-04-03"), "Web", "a/2", Some(Channel::Web))
            .unwrap();
        assert_eq!(after.pence(), -1000);
        c.begin_account(8);
        c.push(EntryKind::Charge, Money::from_pence(500), d("2024-04-01"), "Alarm", "b\\1\t", None).unwrap();
        c.end_account();
        assert_eq!(c.len(), 3);
        assert_eq!(
            c.accounts(),
            &[
                AccountTotals {
                    account_id: 7,
                    balance_pence: -1000,
                    entries: 2,
                    last_entry_date: Some(d("2024-04-03"))
                },
                AccountTotals { account_id: 8, balance_pence: 500, entries: 1, last_entry_date: Some(d("2024-04-01")) },
            ]
        );
        let text = String::from_utf8(c.copy.clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "7\tcharge\t9000\t2024-04-01\t2024-04-01 02:00:00+00\tRent\tdemo\ta/1\t\\N\t9000");
        assert_eq!(lines[1], "7\tpayment\t-10000\t2024-04-03\t2024-04-03 02:00:00+00\tWeb\tdemo\ta/2\tweb\t-1000");
        assert!(lines[2].contains("\tb\\\\1\\t\t"), "{}", lines[2]);
    }

    #[test]
    fn wrong_signs_and_dates_out_of_order_are_refused() {
        let mut c = HistoryChunk::new(Backend::Sqlite, "demo", NaiveTime::MIN);
        assert!(matches!(
            c.push(EntryKind::Charge, Money::from_pence(1), d("2024-01-01"), "x", "x", None),
            Err(BulkError::NoAccount)
        ));
        c.begin_account(1);
        assert!(matches!(
            c.push(EntryKind::Payment, Money::from_pence(100), d("2024-01-01"), "x", "x", None),
            Err(BulkError::WrongSign { .. })
        ));
        c.push(EntryKind::Charge, Money::from_pence(100), d("2024-01-08"), "x", "1", None).unwrap();
        assert!(matches!(
            c.push(EntryKind::Charge, Money::from_pence(100), d("2024-01-01"), "x", "2", None),
            Err(BulkError::OutOfOrder { .. })
        ));
    }

    #[test]
    fn integers_and_dates_encode_like_display() {
        for v in [0i64, 7, -7, 1234567890, i64::MIN, i64::MAX] {
            let mut b = Vec::new();
            push_int(&mut b, v);
            assert_eq!(String::from_utf8(b).unwrap(), v.to_string());
        }
        let mut b = Vec::new();
        push_date(&mut b, d("0987-03-09"));
        assert_eq!(b, b"0987-03-09");
    }
}
