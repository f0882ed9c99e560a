//! What tenants and staff read of rent accounts: summaries, history pages, arrears lists.
//! Reads only; the caller has already decided that the reader may see the account.

use chrono::NaiveDate;
use doorstep_shared::dto::{AccountSummary, ArrearsRow, BalanceState, Transaction};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter, QueryOrder, QuerySelect, Value,
};

use super::sql::statement;
use crate::entity::{ledger_entry, rent_account};

pub fn kind_label(kind: &str) -> &'static str {
    match kind {
        "rent" => "Rent",
        "garage" => "Garage",
        "community_alarm" => "Community alarm",
        "service_charge" => "Service charge",
        "sundry" => "Sundry",
        _ => "Account",
    }
}

pub fn to_transaction(e: ledger_entry::Model) -> Transaction {
    Transaction {
        id: e.id,
        date: e.effective_date,
        kind: e.kind,
        description: e.description,
        amount_pence: e.amount_pence,
        balance_after_pence: e.balance_after_pence,
        channel: e.channel,
    }
}

pub async fn account(db: &impl ConnectionTrait, id: i64) -> Result<Option<rent_account::Model>, sea_orm::DbErr> {
    rent_account::Entity::find_by_id(id).one(db).await
}

/// Balance, last transaction date and the three most recent lines.
pub async fn summary(db: &impl ConnectionTrait, a: rent_account::Model) -> Result<AccountSummary, sea_orm::DbErr> {
    let recent = ledger_entry::Entity::find()
        .filter(ledger_entry::Column::AccountId.eq(a.id))
        .order_by_desc(ledger_entry::Column::EffectiveDate)
        .order_by_desc(ledger_entry::Column::Id)
        .limit(3)
        .all(db)
        .await?;
    let recent = with_running_balance(db, a.id, recent).await?;
    Ok(AccountSummary {
        id: a.id,
        kind_label: kind_label(&a.kind).to_owned(),
        account_number: a.account_number,
        kind: a.kind,
        balance_pence: a.balance_pence,
        balance_state: BalanceState::of(a.balance_pence),
        balance_text: BalanceState::describe(a.balance_pence),
        weekly_charge_pence: a.weekly_charge_pence,
        last_transaction_date: a.last_entry_date,
        recent,
    })
}

/// A position in a history page: the last line shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryKey {
    pub date: NaiveDate,
    pub id: i64,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct HistoryQuery {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub after: Option<HistoryKey>,
    pub limit: u64,
}

/// Lines newest first (by date, then posting order), within `from..=to`.
pub async fn history(
    db: &impl ConnectionTrait,
    account_id: i64,
    q: HistoryQuery,
) -> Result<(Vec<Transaction>, Option<HistoryKey>), sea_orm::DbErr> {
    let mut find = ledger_entry::Entity::find().filter(ledger_entry::Column::AccountId.eq(account_id));
    if let Some(from) = q.from {
        find = find.filter(ledger_entry::Column::EffectiveDate.gte(from));
    }
    if let Some(to) = q.to {
        find = find.filter(ledger_entry::Column::EffectiveDate.lte(to));
    }
    if let Some(k) = q.after {
        find = find.filter(Condition::any().add(ledger_entry::Column::EffectiveDate.lt(k.date)).add(
            Condition::all().add(ledger_entry::Column::EffectiveDate.eq(k.date)).add(ledger_entry::Column::Id.lt(k.id)),
        ));
    }
    let rows = find
        .order_by_desc(ledger_entry::Column::EffectiveDate)
        .order_by_desc(ledger_entry::Column::Id)
        .limit(q.limit + 1)
        .all(db)
        .await?;
    let more = rows.len() as u64 > q.limit;
    let rows: Vec<_> = rows.into_iter().take(q.limit as usize).collect();
    let next = if more { rows.last().map(|e| HistoryKey { date: e.effective_date, id: e.id }) } else { None };
    Ok((with_running_balance(db, account_id, rows).await?, next))
}

/// Lines given newest first (by date, then posting order), with `balance_after_pence` set to
/// the balance after each line in that date order. The stored `balance_after` follows
/// posting order, which differs whenever a line is backdated (housing benefit often is),
/// and a tenant reading a history by date expects the running balance to add up down the
/// page. One sum per page, then subtraction.
async fn with_running_balance(
    db: &impl ConnectionTrait,
    account_id: i64,
    rows: Vec<ledger_entry::Model>,
) -> Result<Vec<Transaction>, sea_orm::DbErr> {
    let Some(first) = rows.first() else { return Ok(Vec::new()) };
    let total = Sum::find_by_statement(statement(
        db.get_database_backend(),
        "SELECT CAST(SUM(amount_pence) AS BIGINT) AS total FROM ledger_entry
          WHERE account_id = $1 AND (effective_date < $2 OR (effective_date = $2 AND id <= $3))",
        vec![Value::from(account_id), Value::from(first.effective_date), Value::from(first.id)],
    ))
    .one(db)
    .await?
    .and_then(|r| r.total)
    .unwrap_or(0);
    let mut running = total;
    Ok(rows
        .into_iter()
        .map(|e| {
            let amount = e.amount_pence;
            let mut t = to_transaction(e);
            t.balance_after_pence = running;
            running -= amount;
            t
        })
        .collect())
}

#[derive(FromQueryResult)]
struct Sum {
    total: Option<i64>,
}

/// The balance at the start of `day`: the sum of every line dated before it.
pub async fn balance_before(db: &impl ConnectionTrait, account_id: i64, day: NaiveDate) -> Result<i64, sea_orm::DbErr> {
    let row = Sum::find_by_statement(statement(
        db.get_database_backend(),
        "SELECT CAST(SUM(amount_pence) AS BIGINT) AS total FROM ledger_entry WHERE account_id = $1 AND effective_date < $2",
        vec![Value::from(account_id), Value::from(day)],
    ))
    .one(db)
    .await?;
    Ok(row.and_then(|r| r.total).unwrap_or(0))
}

/// Every line dated within `from..=to`, oldest first, for statements.
pub async fn lines_between(
    db: &impl ConnectionTrait,
    account_id: i64,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<Transaction>, sea_orm::DbErr> {
    Ok(ledger_entry::Entity::find()
        .filter(ledger_entry::Column::AccountId.eq(account_id))
        .filter(ledger_entry::Column::EffectiveDate.gte(from))
        .filter(ledger_entry::Column::EffectiveDate.lte(to))
        .order_by_asc(ledger_entry::Column::EffectiveDate)
        .order_by_asc(ledger_entry::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(to_transaction)
        .collect())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArrearsSort {
    BalanceDesc,
    WeeksDesc,
    LastPaymentAsc,
}

#[derive(Debug, Clone)]
pub struct ArrearsQuery {
    pub organisation_ids: Vec<i64>,
    pub patch: Option<String>,
    /// Only accounts owing at least this much.
    pub min_balance_pence: i64,
    pub sort: ArrearsSort,
    pub offset: u64,
    pub limit: u64,
}

#[derive(FromQueryResult)]
struct ArrearsDbRow {
    account_id: i64,
    account_number: String,
    kind: String,
    forename: Option<String>,
    surname: Option<String>,
    address_line1: String,
    town: String,
    postcode: String,
    patch: Option<String>,
    balance_pence: i64,
    weekly_charge_pence: i64,
    last_payment_date: Option<NaiveDate>,
}

/// Accounts in arrears for the given organisations, with the lead tenant and the date of
/// the last payment. Returns the rows and whether more follow.
pub async fn arrears(db: &impl ConnectionTrait, q: &ArrearsQuery) -> Result<(Vec<ArrearsRow>, bool), sea_orm::DbErr> {
    if q.organisation_ids.is_empty() {
        return Ok((Vec::new(), false));
    }
    let mut values: Vec<Value> = vec![Value::from(q.min_balance_pence.max(1))];
    let orgs: Vec<String> = q
        .organisation_ids
        .iter()
        .map(|id| {
            values.push(Value::from(*id));
            format!("${}", values.len())
        })
        .collect();
    let mut patch_clause = String::new();
    if let Some(patch) = &q.patch {
        values.push(Value::from(patch.clone()));
        patch_clause = format!("AND p.patch = ${}", values.len());
    }
    let order = match q.sort {
        ArrearsSort::BalanceDesc => "a.balance_pence DESC, a.id",
        ArrearsSort::WeeksDesc => {
            "CASE WHEN a.weekly_charge_pence > 0 THEN a.balance_pence * 1000 / a.weekly_charge_pence ELSE 0 END DESC, a.id"
        }
        ArrearsSort::LastPaymentAsc => "last_payment_date ASC, a.id",
    };
    values.push(Value::from((q.limit + 1) as i64));
    let limit = values.len();
    values.push(Value::from(q.offset as i64));
    let offset = values.len();
    let sql = format!(
        "SELECT a.id AS account_id, a.account_number, a.kind, per.forename, per.surname,
                p.address_line1, p.town, p.postcode, p.patch, a.balance_pence, a.weekly_charge_pence,
                (SELECT MAX(e.effective_date) FROM ledger_entry e
                  WHERE e.account_id = a.id AND e.amount_pence < 0 AND e.kind <> 'reversal') AS last_payment_date
           FROM rent_account a
           JOIN tenancy t ON t.id = a.tenancy_id
           JOIN property p ON p.id = t.property_id
           LEFT JOIN tenancy_member m ON m.tenancy_id = t.id AND m.role = 'lead'
           LEFT JOIN person per ON per.id = m.person_id
          WHERE a.balance_pence >= $1 AND a.organisation_id IN ({}) {patch_clause}
          ORDER BY {order}
          LIMIT ${limit} OFFSET ${offset}",
        orgs.join(", ")
    );
    let rows = ArrearsDbRow::find_by_statement(statement(db.get_database_backend(), &sql, values)).all(db).await?;
    let more = rows.len() as u64 > q.limit;
    Ok((
        rows.into_iter()
            .take(q.limit as usize)
            .map(|r| ArrearsRow {
                account_id: r.account_id,
                account_number: r.account_number,
                kind: r.kind,
                tenant_name: match (r.forename, r.surname) {
                    (Some(f), Some(s)) => format!("{f} {s}"),
                    (_, Some(s)) => s,
                    _ => String::from("(no lead tenant)"),
                },
                address: format!("{}, {} {}", r.address_line1, r.town, r.postcode),
                patch: r.patch,
                balance_pence: r.balance_pence,
                weeks_in_arrears_tenths: if r.weekly_charge_pence > 0 {
                    r.balance_pence * 10 / r.weekly_charge_pence
                } else {
                    0
                },
                last_payment_date: r.last_payment_date,
            })
            .collect(),
        more,
    ))
}
