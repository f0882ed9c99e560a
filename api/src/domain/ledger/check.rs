//! `doorstep ledger check`: proves that every account's cached balance equals the sum of
//! its entries, and that the newest entry's running balance agrees.

use sea_orm::{DatabaseConnection, FromQueryResult};

use super::sql::statement;

#[derive(Debug, Clone, PartialEq, Eq, FromQueryResult)]
pub struct Drift {
    pub account_id: i64,
    pub account_number: String,
    pub cached_pence: i64,
    pub sum_pence: i64,
    pub entries: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckReport {
    pub accounts: i64,
    pub entries: i64,
    pub drift: Vec<Drift>,
    /// Accounts whose latest entry's `balance_after` differs from the cached balance.
    pub running_balance_mismatches: i64,
}

impl CheckReport {
    pub fn is_clean(&self) -> bool {
        self.drift.is_empty() && self.running_balance_mismatches == 0
    }
}

#[derive(FromQueryResult)]
struct Count {
    n: i64,
}

pub async fn check(db: &DatabaseConnection) -> Result<CheckReport, sea_orm::DbErr> {
    let backend = db.get_database_backend();
    let count = |sql: &str| statement(backend, sql, vec![]);
    let accounts =
        Count::find_by_statement(count("SELECT COUNT(*) AS n FROM rent_account")).one(db).await?.map_or(0, |c| c.n);
    let entries =
        Count::find_by_statement(count("SELECT COUNT(*) AS n FROM ledger_entry")).one(db).await?.map_or(0, |c| c.n);
    let drift = Drift::find_by_statement(statement(
        backend,
        "SELECT a.id AS account_id, a.account_number, a.balance_pence AS cached_pence,
                CAST(COALESCE(s.total, 0) AS BIGINT) AS sum_pence, CAST(COALESCE(s.n, 0) AS BIGINT) AS entries
           FROM rent_account a
           LEFT JOIN (SELECT account_id, SUM(amount_pence) AS total, COUNT(*) AS n
                        FROM ledger_entry GROUP BY account_id) s ON s.account_id = a.id
          WHERE a.balance_pence <> COALESCE(s.total, 0)
          ORDER BY a.id",
        vec![],
    ))
    .all(db)
    .await?;
    let running_balance_mismatches = Count::find_by_statement(count(
        // One grouped pass over the ledger: a correlated MAX(id) per account is planned on
        // PostgreSQL as a backward scan of the primary key, minutes at a few million lines.
        "SELECT COUNT(*) AS n FROM rent_account a
           JOIN (SELECT account_id, MAX(id) AS last_id FROM ledger_entry GROUP BY account_id) l ON l.account_id = a.id
           JOIN ledger_entry e ON e.id = l.last_id
          WHERE e.balance_after_pence <> a.balance_pence",
    ))
    .one(db)
    .await?
    .map_or(0, |c| c.n);
    Ok(CheckReport { accounts, entries, drift, running_balance_mismatches })
}
