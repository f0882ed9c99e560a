//! The weekly charge run: each open account's weekly charge for one rent week (Monday to
//! Sunday), skipping rent-free weeks and weeks already charged by any source. Set-wise, a
//! chunk of accounts per transaction, so 130,000 accounts take seconds rather than minutes;
//! re-running the same week posts nothing.

use chrono::{Datelike, Duration, NaiveDate, Utc, Weekday};
use sea_orm::{ConnectionTrait, DatabaseConnection, FromQueryResult, TransactionTrait, Value};

use super::sql::statement;

pub const SOURCE: &str = "charge_run";
const CHUNK: i64 = 2000;

#[derive(Debug, thiserror::Error)]
pub enum ChargeRunError {
    #[error("week: {0} is a {1}; a rent week starts on a Monday")]
    NotMonday(NaiveDate, Weekday),
    #[error(transparent)]
    Db(#[from] sea_orm::DbErr),
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChargeRunReport {
    pub week: Option<NaiveDate>,
    /// Accounts that were due a charge this week and got one now.
    pub posted: u64,
    pub total_pence: i64,
    /// Open accounts with a charge that had one for this week already.
    pub already_charged: u64,
    /// Accounts of organisations for which this is a rent-free week.
    pub rent_free: u64,
}

#[derive(FromQueryResult)]
struct Charged {
    id: i64,
    balance_pence: i64,
    weekly_charge_pence: i64,
    kind: String,
    account_number: String,
}

#[derive(FromQueryResult)]
struct Count {
    n: i64,
}

/// The Monday of the rent week containing `day`.
pub fn week_of(day: NaiveDate) -> NaiveDate {
    day - Duration::days(i64::from(day.weekday().num_days_from_monday()))
}

/// Condition for "this account is due a charge for the week starting $1 (ending $2)".
const DUE: &str = "a.weekly_charge_pence > 0
    AND a.opened_on <= $2
    AND (a.closed_on IS NULL OR a.closed_on >= $1)
    AND NOT EXISTS (SELECT 1 FROM rent_free_week r WHERE r.organisation_id = a.organisation_id AND r.week_start = $1)
    AND NOT EXISTS (SELECT 1 FROM ledger_entry e
                     WHERE e.account_id = a.id AND e.kind = 'charge'
                       AND e.effective_date >= $1 AND e.effective_date <= $2)";

/// How many accounts are due, for a progress bar.
pub async fn count_due(db: &DatabaseConnection, week: NaiveDate) -> Result<u64, ChargeRunError> {
    let week = monday(week)?;
    let sql = format!("SELECT COUNT(*) AS n FROM rent_account a WHERE {DUE}");
    let n = Count::find_by_statement(statement(db.get_database_backend(), &sql, week_values(week)))
        .one(db)
        .await?
        .map_or(0, |c| c.n);
    Ok(n.max(0) as u64)
}

/// Posts the week's charges. `on_chunk` hears how many accounts each chunk charged.
pub async fn run(
    db: &DatabaseConnection,
    week: NaiveDate,
    mut on_chunk: impl FnMut(u64),
) -> Result<ChargeRunReport, ChargeRunError> {
    let week = monday(week)?;
    let backend = db.get_database_backend();
    let mut report = ChargeRunReport { week: Some(week), ..Default::default() };
    // The write comes first in each transaction: it takes the row locks (PostgreSQL) or the
    // write lock (SQLite) before anything is read, so live postings to the same accounts
    // wait for the chunk instead of racing it.
    let update = format!(
        "UPDATE rent_account SET balance_pence = balance_pence + weekly_charge_pence,
                version = version + 1,
                last_entry_date = CASE WHEN last_entry_date IS NULL OR last_entry_date < $1 THEN $1 ELSE last_entry_date END
          WHERE id IN (SELECT a.id FROM rent_account a WHERE {DUE} ORDER BY a.id LIMIT {CHUNK})
          RETURNING id, balance_pence, weekly_charge_pence, kind, account_number"
    );
    loop {
        let txn = db.begin().await?;
        let charged = Charged::find_by_statement(statement(backend, &update, week_values(week))).all(&txn).await?;
        if charged.is_empty() {
            txn.commit().await?;
            break;
        }
        insert_entries(&txn, week, &charged).await?;
        txn.commit().await?;
        report.posted += charged.len() as u64;
        report.total_pence += charged.iter().map(|c| c.weekly_charge_pence).sum::<i64>();
        on_chunk(charged.len() as u64);
    }
    let end = week + Duration::days(6);
    let counts = |extra: &str| {
        format!(
            "SELECT COUNT(*) AS n FROM rent_account a WHERE a.weekly_charge_pence > 0 AND a.opened_on <= $2
               AND (a.closed_on IS NULL OR a.closed_on >= $1) AND {extra}"
        )
    };
    let rent_free = counts(
        "EXISTS (SELECT 1 FROM rent_free_week r WHERE r.organisation_id = a.organisation_id AND r.week_start = $1)",
    );
    let charged = counts(
        "EXISTS (SELECT 1 FROM ledger_entry e WHERE e.account_id = a.id AND e.kind = 'charge'
                   AND e.effective_date >= $1 AND e.effective_date <= $2)",
    );
    let n = |sql: String| {
        let stmt = statement(backend, &sql, vec![Value::from(week), Value::from(end)]);
        async move { Count::find_by_statement(stmt).one(db).await.map(|c| c.map_or(0, |c| c.n.max(0) as u64)) }
    };
    report.rent_free = n(rent_free).await?;
    report.already_charged = n(charged).await?.saturating_sub(report.posted);
    Ok(report)
}

async fn insert_entries(txn: &impl ConnectionTrait, week: NaiveDate, rows: &[Charged]) -> Result<(), sea_orm::DbErr> {
    let backend = txn.get_database_backend();
    let now = Utc::now();
    // Eight values a row keeps a chunk well under SQLite's bound-parameter limit.
    for part in rows.chunks(1000) {
        let mut sql = String::from(
            "INSERT INTO ledger_entry (account_id, kind, amount_pence, effective_date, posted_at, description, \
             source, source_ref, channel, balance_after_pence) VALUES ",
        );
        let mut values: Vec<Value> = Vec::with_capacity(part.len() * 8);
        for (i, row) in part.iter().enumerate() {
            let p: Vec<String> = (1..=8).map(|k| format!("${}", i * 8 + k)).collect();
            if i > 0 {
                sql.push(',');
            }
            sql.push_str(&format!(
                "({}, 'charge', {}, {}, {}, {}, {}, {}, NULL, {})",
                p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7]
            ));
            values.push(row.id.into());
            values.push(row.weekly_charge_pence.into());
            values.push(week.into());
            values.push(now.into());
            values.push(describe(&row.kind, week).into());
            values.push(SOURCE.into());
            values.push(format!("{}:{week}", row.account_number).into());
            values.push(row.balance_pence.into());
        }
        txn.execute_raw(statement(backend, &sql, values)).await?;
    }
    Ok(())
}

fn describe(kind: &str, week: NaiveDate) -> String {
    let what = match kind {
        "rent" => "Rent",
        "garage" => "Garage rent",
        "community_alarm" => "Community alarm",
        "service_charge" => "Service charge",
        _ => "Charge",
    };
    format!("{what}, week commencing {}", week.format("%-d %B %Y"))
}

fn monday(week: NaiveDate) -> Result<NaiveDate, ChargeRunError> {
    match week.weekday() {
        Weekday::Mon => Ok(week),
        other => Err(ChargeRunError::NotMonday(week, other)),
    }
}

fn week_values(week: NaiveDate) -> Vec<Value> {
    vec![Value::from(week), Value::from(week + Duration::days(6))]
}
