use std::collections::HashMap;

use chrono::Utc;
use doorstep_shared::Money;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use super::model::{EntryKind, NewEntry};
use super::sql::statement;
use crate::entity::{ledger_entry, rent_account};

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("account {0} not found")]
    AccountNotFound(i64),
    #[error("a {kind} of {amount} has the wrong sign")]
    WrongSign { kind: EntryKind, amount: Money },
    #[error("{key} was already posted with different details")]
    KeyReused { key: String },
    #[error("entry {0} not found")]
    EntryNotFound(i64),
    #[error("entry {0} is itself a reversal")]
    ReversingAReversal(i64),
    #[error("the balance would overflow")]
    Overflow,
    #[error(transparent)]
    Db(#[from] sea_orm::DbErr),
}

/// What became of one requested posting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PostOutcome {
    Posted(ledger_entry::Model),
    /// The idempotency key was seen before with the same details: nothing was written.
    AlreadyPosted(ledger_entry::Model),
}

impl PostOutcome {
    pub fn entry(&self) -> &ledger_entry::Model {
        match self {
            PostOutcome::Posted(e) | PostOutcome::AlreadyPosted(e) => e,
        }
    }
}

/// Posts one entry. Call inside a transaction that has not read anything yet on SQLite
/// (see [`post_batch`]).
pub async fn post(conn: &impl ConnectionTrait, account_id: i64, entry: NewEntry) -> Result<PostOutcome, LedgerError> {
    Ok(post_one(conn, account_id, entry).await?.0)
}

/// Posts one entry, like [`post`], and also returns the account's version afterwards (the
/// version a live update announces).
///
/// The live path (a payment notification) is two statements: the account row is moved
/// first, which takes its lock (PostgreSQL) or the write lock (SQLite) and returns the new
/// balance, then the entry is inserted carrying that balance, unless its key is already
/// there. That rare case puts the account back as it was (under the same lock) and reports
/// the entry found, or the key's reuse with other details.
pub async fn post_one(
    conn: &impl ConnectionTrait,
    account_id: i64,
    e: NewEntry,
) -> Result<(PostOutcome, i64), LedgerError> {
    if !e.kind.accepts(e.amount) {
        return Err(LedgerError::WrongSign { kind: e.kind, amount: e.amount });
    }
    let backend = conn.get_database_backend();
    let moved = conn
        .query_one_raw(statement(
            backend,
            "UPDATE rent_account SET balance_pence = balance_pence + $1, version = version + 1,
                    last_entry_date = CASE WHEN last_entry_date IS NULL OR last_entry_date < $2 THEN $2 ELSE last_entry_date END
              WHERE id = $3
              RETURNING balance_pence, version",
            vec![e.amount.pence().into(), e.effective_date.into(), account_id.into()],
        ))
        .await?
        .ok_or(LedgerError::AccountNotFound(account_id))?;
    let balance: i64 = moved.try_get("", "balance_pence")?;
    let version: i64 = moved.try_get("", "version")?;
    let now = Utc::now();
    let mut model = unsaved(account_id, e, now, balance);
    let inserted = conn
        .query_one_raw(statement(
            backend,
            "INSERT INTO ledger_entry (account_id, kind, amount_pence, effective_date, posted_at, description,
                    source, source_ref, channel, balance_after_pence)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             ON CONFLICT (source, source_ref) DO NOTHING
             RETURNING id",
            vec![
                account_id.into(),
                model.kind.clone().into(),
                model.amount_pence.into(),
                model.effective_date.into(),
                now.into(),
                model.description.clone().into(),
                model.source.clone().into(),
                model.source_ref.clone().into(),
                model.channel.clone().into(),
                balance.into(),
            ],
        ))
        .await?;
    if let Some(row) = inserted {
        model.id = row.try_get("", "id")?;
        return Ok((PostOutcome::Posted(model), version));
    }
    // The key was posted before: undo the move. The cached last entry date is the latest
    // effective date on the account, so it is recomputed rather than remembered.
    conn.execute_raw(statement(
        backend,
        "UPDATE rent_account SET balance_pence = balance_pence - $1, version = version - 1,
                last_entry_date = (SELECT MAX(effective_date) FROM ledger_entry WHERE account_id = $2)
          WHERE id = $2",
        vec![model.amount_pence.into(), account_id.into()],
    ))
    .await?;
    let prev = ledger_entry::Entity::find()
        .filter(ledger_entry::Column::Source.eq(model.source.as_str()))
        .filter(ledger_entry::Column::SourceRef.eq(model.source_ref.as_str()))
        .one(conn)
        .await?
        .ok_or_else(|| LedgerError::KeyReused { key: format!("{}/{}", model.source, model.source_ref) })?;
    if prev.account_id != account_id || prev.kind != model.kind || prev.amount_pence != model.amount_pence {
        return Err(LedgerError::KeyReused { key: format!("{}/{}", model.source, model.source_ref) });
    }
    Ok((PostOutcome::AlreadyPosted(prev), version - 1))
}

/// Posts entries to one account in order, inside the caller's transaction.
///
/// The first statement is a write to the account row, which takes the row lock on
/// PostgreSQL and the write lock on SQLite before anything is read, so concurrent postings
/// to one account serialise instead of losing an update. Entries whose key was already
/// posted with the same account, kind and amount are reported as `AlreadyPosted`; a key
/// reused with other details is an error and the caller should roll back.
pub async fn post_batch(
    conn: &impl ConnectionTrait,
    account_id: i64,
    entries: Vec<NewEntry>,
) -> Result<Vec<PostOutcome>, LedgerError> {
    for e in &entries {
        if !e.kind.accepts(e.amount) {
            return Err(LedgerError::WrongSign { kind: e.kind, amount: e.amount });
        }
    }
    let locked = rent_account::Entity::update_many()
        .col_expr(rent_account::Column::Version, Expr::col(rent_account::Column::Version))
        .filter(rent_account::Column::Id.eq(account_id))
        .exec_with_returning(conn)
        .await?;
    let account = locked.into_iter().next().ok_or(LedgerError::AccountNotFound(account_id))?;

    let existing = find_existing(conn, &entries).await?;
    let mut balance = Money::from_pence(account.balance_pence);
    let mut last_date = account.last_entry_date;
    let now = Utc::now();
    let mut outcomes = Vec::with_capacity(entries.len());
    let mut to_insert = Vec::new();
    let mut seen_in_batch: HashMap<(String, String), usize> = HashMap::new();
    for e in entries {
        let key = (e.source.clone(), e.source_ref.clone());
        if let Some(prev) = existing.get(&key) {
            if prev.account_id != account_id || prev.kind != e.kind.as_str() || prev.amount_pence != e.amount.pence() {
                return Err(LedgerError::KeyReused { key: format!("{}/{}", e.source, e.source_ref) });
            }
            outcomes.push(PostOutcome::AlreadyPosted(prev.clone()));
            continue;
        }
        if let Some(&i) = seen_in_batch.get(&key) {
            let prev: &ledger_entry::Model = outcomes[i].entry();
            if prev.kind != e.kind.as_str() || prev.amount_pence != e.amount.pence() {
                return Err(LedgerError::KeyReused { key: format!("{}/{}", e.source, e.source_ref) });
            }
            outcomes.push(PostOutcome::AlreadyPosted(prev.clone()));
            continue;
        }
        balance = balance.checked_add(e.amount).ok_or(LedgerError::Overflow)?;
        last_date = Some(last_date.map_or(e.effective_date, |d| Ord::max(d, e.effective_date)));
        let model = unsaved(account_id, e, now, balance.pence());
        seen_in_batch.insert(key, outcomes.len());
        to_insert.push(outcomes.len());
        outcomes.push(PostOutcome::Posted(model));
    }
    if to_insert.is_empty() {
        return Ok(outcomes);
    }
    for i in to_insert.iter().copied() {
        let PostOutcome::Posted(m) = &outcomes[i] else { continue };
        let active = ledger_entry::ActiveModel {
            account_id: Set(m.account_id),
            kind: Set(m.kind.clone()),
            amount_pence: Set(m.amount_pence),
            effective_date: Set(m.effective_date),
            posted_at: Set(m.posted_at),
            description: Set(m.description.clone()),
            source: Set(m.source.clone()),
            source_ref: Set(m.source_ref.clone()),
            channel: Set(m.channel.clone()),
            balance_after_pence: Set(m.balance_after_pence),
            ..Default::default()
        };
        let inserted = ledger_entry::Entity::insert(active).exec(conn).await?;
        if let PostOutcome::Posted(m) = &mut outcomes[i] {
            m.id = inserted.last_insert_id;
        }
    }
    rent_account::Entity::update_many()
        .col_expr(rent_account::Column::BalancePence, Expr::value(balance.pence()))
        .col_expr(rent_account::Column::Version, Expr::col(rent_account::Column::Version).add(to_insert.len() as i64))
        .col_expr(rent_account::Column::LastEntryDate, Expr::value(last_date))
        .filter(rent_account::Column::Id.eq(account_id))
        .exec(conn)
        .await?;
    Ok(outcomes)
}

/// The row a new entry becomes, before the database gives it an id.
fn unsaved(
    account_id: i64,
    e: NewEntry,
    posted_at: chrono::DateTime<Utc>,
    balance_after_pence: i64,
) -> ledger_entry::Model {
    ledger_entry::Model {
        id: 0,
        account_id,
        kind: e.kind.as_str().to_owned(),
        amount_pence: e.amount.pence(),
        effective_date: e.effective_date,
        posted_at,
        description: e.description,
        source: e.source,
        source_ref: e.source_ref,
        channel: e.channel.map(|c| c.as_str().to_owned()),
        balance_after_pence,
    }
}

/// Corrects a mistake the only way the ledger allows: a new entry of the opposite amount,
/// keyed on the entry it reverses so that a second attempt is a no-op.
pub async fn reverse(
    conn: &impl ConnectionTrait,
    entry_id: i64,
    reason: &str,
    effective_date: chrono::NaiveDate,
) -> Result<PostOutcome, LedgerError> {
    let original =
        ledger_entry::Entity::find_by_id(entry_id).one(conn).await?.ok_or(LedgerError::EntryNotFound(entry_id))?;
    if original.kind == EntryKind::Reversal.as_str() {
        return Err(LedgerError::ReversingAReversal(entry_id));
    }
    let entry = NewEntry {
        kind: EntryKind::Reversal,
        amount: -Money::from_pence(original.amount_pence),
        effective_date,
        description: format!("Reversal of {}: {reason}", original.description),
        source: "reversal".into(),
        source_ref: entry_id.to_string(),
        channel: None,
    };
    post(conn, original.account_id, entry).await
}

async fn find_existing(
    conn: &impl ConnectionTrait,
    entries: &[NewEntry],
) -> Result<HashMap<(String, String), ledger_entry::Model>, sea_orm::DbErr> {
    let mut found = HashMap::new();
    // Chunked so that a large batch stays under SQLite's bound-parameter limit.
    for chunk in entries.chunks(200) {
        let mut cond = sea_orm::Condition::any();
        for e in chunk {
            cond = cond.add(
                sea_orm::Condition::all()
                    .add(ledger_entry::Column::Source.eq(e.source.as_str()))
                    .add(ledger_entry::Column::SourceRef.eq(e.source_ref.as_str())),
            );
        }
        for m in ledger_entry::Entity::find().filter(cond).all(conn).await? {
            found.insert((m.source.clone(), m.source_ref.clone()), m);
        }
    }
    Ok(found)
}
