//! Posting a provider's notification: in one transaction, the inbox row (a redelivered event
//! is a no-op), the ledger entry (a payment already posted is not posted again), the cached
//! balance and the outbox row for the housing management system; after the commit, the live
//! announcement. The caller answers the provider only after this has committed.

use chrono::Utc;
use doorstep_shared::Money;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter, SqlErr,
    Statement, TransactionTrait,
};
use serde_json::json;

use super::live::{Change, LiveBus};
use super::model::{Notice, NoticeKind, describe, ledger_source, london_date};
use crate::domain::ledger::{self, EntryKind, LedgerError, NewEntry, PostOutcome};
use crate::entity::{outbox, payment_intent, provider_event, rent_account, suspense_payment};

/// The outbox topic of payments for the housing management system.
pub const HMS_PAYMENT_TOPIC: &str = "hms.payment";

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error(transparent)]
    Db(#[from] sea_orm::DbErr),
}

impl From<LedgerError> for IngestError {
    fn from(e: LedgerError) -> Self {
        match e {
            LedgerError::Db(d) => IngestError::Db(d),
            other => IngestError::Db(sea_orm::DbErr::Custom(other.to_string())),
        }
    }
}

/// What became of a notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Posted to the account now.
    Posted { account_id: i64, entry_id: i64 },
    /// The payment was already on the account (another event for the same payment).
    AlreadyPosted { account_id: i64, entry_id: i64 },
    /// This event id was recorded before: nothing happened.
    DuplicateEvent,
    /// No account has that reference: held in suspense for staff.
    Suspense { suspense_id: Option<i64> },
    /// A failed payment: the intent says so; nothing posted.
    Failed,
    /// An event we record but do not act on.
    Ignored,
    /// The payment id was posted before with a different amount or account: not posted.
    Conflict(String),
}

impl Outcome {
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Posted { .. } => "posted",
            Outcome::AlreadyPosted { .. } => "already_posted",
            Outcome::DuplicateEvent => "duplicate_event",
            Outcome::Suspense { .. } => "suspense",
            Outcome::Failed => "failed_payment",
            Outcome::Ignored => "ignored",
            Outcome::Conflict(_) => "conflict",
        }
    }
}

/// Records and posts one notification, committing before it returns.
pub async fn ingest(db: &DatabaseConnection, live: &LiveBus, notice: &Notice) -> Result<Outcome, IngestError> {
    if db.get_database_backend() == DbBackend::Postgres
        && let Some((outcome, changes)) = post_in_one_statement(db, notice).await?
    {
        live.after_commit(changes);
        return Ok(outcome);
    }
    let txn = db.begin().await?;
    // The inbox row first: a write, so SQLite takes its write lock before anything is read,
    // and on a redelivery the conflict tells us to stop.
    let inserted = provider_event::Entity::insert(provider_event::ActiveModel {
        provider: Set(notice.provider.clone()),
        event_id: Set(notice.event_id.clone()),
        event_type: Set(notice.event_type.clone()),
        provider_payment_id: Set(Some(notice.payment_id.clone())),
        outcome: Set("received".into()),
        ledger_entry_id: Set(None),
        payload: Set(notice.payload.clone()),
        received_at: Set(Utc::now()),
        ..Default::default()
    })
    .on_conflict(
        OnConflict::columns([provider_event::Column::Provider, provider_event::Column::EventId])
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(&txn)
    .await?;
    if inserted == 0 {
        txn.rollback().await?;
        return Ok(Outcome::DuplicateEvent);
    }

    let mut changes = Vec::new();
    let outcome = match notice.kind {
        NoticeKind::Succeeded => {
            let account = find_account(&txn, notice).await?;
            match account {
                Some(account) => post_payment(&txn, &account, notice, &mut changes).await?,
                None => Outcome::Suspense { suspense_id: hold_in_suspense(&txn, notice, "webhook").await? },
            }
        }
        NoticeKind::Failed => {
            if let Some(public_id) = mark_intent_failed(&txn, notice).await? {
                changes.push(Change::Payment { public_id });
            }
            Outcome::Failed
        }
        NoticeKind::Other => Outcome::Ignored,
    };
    let entry_id = match &outcome {
        Outcome::Posted { entry_id, .. } | Outcome::AlreadyPosted { entry_id, .. } => Some(*entry_id),
        _ => None,
    };
    provider_event::Entity::update_many()
        .col_expr(provider_event::Column::Outcome, sea_orm::sea_query::Expr::value(outcome.as_str()))
        .col_expr(provider_event::Column::LedgerEntryId, sea_orm::sea_query::Expr::value(entry_id))
        .filter(provider_event::Column::Provider.eq(notice.provider.as_str()))
        .filter(provider_event::Column::EventId.eq(notice.event_id.as_str()))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    live.after_commit(changes);
    Ok(outcome)
}

/// PostgreSQL's path for the usual notification, a payment for a known account that was not
/// seen before: the account's move, the ledger line, the outbox row, the inbox row and the
/// portal intent's settlement as one statement, committed on its own. One round trip instead
/// of nine, and the account row stays locked only for the statement itself, which is what
/// keeps a busy account and a busy node fast.
///
/// Anything unusual falls back (`None`) to the general path in [`ingest`], which tells the
/// cases apart: no account with that reference (nothing was written), an event or payment
/// seen before (a UNIQUE violation: the whole statement was undone), or an input the fast
/// path does not take.
async fn post_in_one_statement(
    db: &DatabaseConnection,
    notice: &Notice,
) -> Result<Option<(Outcome, Vec<Change>)>, IngestError> {
    if notice.kind != NoticeKind::Succeeded || notice.intent_ref.is_some() || notice.amount.pence() <= 0 {
        return Ok(None);
    }
    let reference = clean_reference(&notice.account_reference);
    if reference.is_empty() {
        return Ok(None);
    }
    let effective_date = london_date(notice.paid_at);
    let source = ledger_source(&notice.provider);
    let message_key = format!("{source}/{}", notice.payment_id);
    let now = Utc::now();
    // The outbox payload as the general path writes it; the account's own fields and the
    // ledger line's id come from the statement.
    let sql = format!(
        "WITH acct AS (
            UPDATE rent_account SET balance_pence = balance_pence - $1, version = version + 1,
                   last_entry_date = CASE WHEN last_entry_date IS NULL OR last_entry_date < $2 THEN $2 ELSE last_entry_date END
             WHERE account_number = $3
            RETURNING id, balance_pence, version, account_number, hms_ref
         ), line AS (
            INSERT INTO ledger_entry (account_id, kind, amount_pence, effective_date, posted_at, description,
                   source, source_ref, channel, balance_after_pence)
            SELECT id, '{kind}', -$1::bigint, $2, $4, $5, $6, $7, $8, balance_pence FROM acct
            RETURNING id, account_id
         ), hms AS (
            INSERT INTO outbox (topic, message_key, payload, created_at, attempts, next_attempt_at)
            SELECT '{topic}', $9, json_build_object(
                     'message_key', $9::text, 'account_number', acct.account_number, 'hms_account_ref', acct.hms_ref,
                     'amount_pence', $1::bigint, 'channel', $8::text, 'paid_at', $10::text,
                     'effective_date', $2::date, 'provider', $11::text, 'provider_payment_id', $7::text,
                     'ledger_entry_id', line.id)::text, $4, 0, $4
              FROM line, acct
            ON CONFLICT (topic, message_key) DO NOTHING
         ), intent AS (
            UPDATE payment_intent SET status = 'succeeded', ledger_entry_id = line.id, updated_at = $4
              FROM line WHERE provider = $11 AND provider_payment_id = $7
            RETURNING public_id
         ), inbox AS (
            INSERT INTO provider_event (provider, event_id, event_type, provider_payment_id, outcome,
                   ledger_entry_id, payload, received_at)
            SELECT $11, $12, $13, $7, 'posted', line.id, $14, $4 FROM line
         )
         SELECT acct.id AS account_id, acct.version, line.id AS entry_id,
                (SELECT public_id FROM intent LIMIT 1) AS intent_id
           FROM acct, line",
        kind = EntryKind::Payment.as_str(),
        topic = HMS_PAYMENT_TOPIC,
    );
    let values: Vec<sea_orm::Value> = vec![
        notice.amount.pence().into(),
        effective_date.into(),
        reference.into(),
        now.into(),
        describe(notice.channel).to_owned().into(),
        source.into(),
        notice.payment_id.clone().into(),
        notice.channel.as_str().to_owned().into(),
        message_key.into(),
        notice.paid_at.to_rfc3339().into(),
        notice.provider.clone().into(),
        notice.event_id.clone().into(),
        notice.event_type.clone().into(),
        notice.payload.clone().into(),
    ];
    let row = match db.query_one_raw(Statement::from_sql_and_values(DbBackend::Postgres, sql, values)).await {
        Ok(row) => row,
        Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let Some(row) = row else { return Ok(None) };
    let account_id: i64 = row.try_get("", "account_id")?;
    let version: i64 = row.try_get("", "version")?;
    let entry_id: i64 = row.try_get("", "entry_id")?;
    let intent: Option<String> = row.try_get("", "intent_id")?;
    let mut changes: Vec<Change> = intent.map(|public_id| Change::Payment { public_id }).into_iter().collect();
    changes.push(Change::Account { account_id, version });
    Ok(Some((Outcome::Posted { account_id, entry_id }, changes)))
}

/// A payment reference as account numbers are stored: no spaces, upper case.
fn clean_reference(reference: &str) -> String {
    reference.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_uppercase()
}

/// The account a payment is for: the portal intent's account when the payment started here,
/// otherwise the account whose number the payer quoted.
async fn find_account(
    conn: &impl ConnectionTrait,
    notice: &Notice,
) -> Result<Option<rent_account::Model>, IngestError> {
    if let Some(reference) = &notice.intent_ref {
        let intent_account = sea_orm::sea_query::Query::select()
            .column(payment_intent::Column::AccountId)
            .from(payment_intent::Entity)
            .and_where(payment_intent::Column::PublicId.eq(reference.as_str()))
            .and_where(payment_intent::Column::Provider.eq(notice.provider.as_str()))
            .to_owned();
        if let Some(account) =
            rent_account::Entity::find().filter(rent_account::Column::Id.in_subquery(intent_account)).one(conn).await?
        {
            return Ok(Some(account));
        }
    }
    account_by_reference(conn, &notice.account_reference).await
}

/// The account whose number (the payment reference) is `reference`, ignoring spaces and case.
pub async fn account_by_reference(
    conn: &impl ConnectionTrait,
    reference: &str,
) -> Result<Option<rent_account::Model>, IngestError> {
    let cleaned = clean_reference(reference);
    if cleaned.is_empty() {
        return Ok(None);
    }
    Ok(rent_account::Entity::find().filter(rent_account::Column::AccountNumber.eq(cleaned)).one(conn).await?)
}

/// Posts a received payment to an account inside the caller's transaction: the ledger entry,
/// the outbox row, the intent's status and the live announcements (collected in `changes`
/// for the caller to hand to [`LiveBus::after_commit`]).
pub async fn post_payment(
    conn: &impl ConnectionTrait,
    account: &rent_account::Model,
    notice: &Notice,
    changes: &mut Vec<Change>,
) -> Result<Outcome, IngestError> {
    let entry = NewEntry {
        kind: EntryKind::Payment,
        amount: -notice.amount,
        effective_date: london_date(notice.paid_at),
        description: describe(notice.channel).to_owned(),
        source: ledger_source(&notice.provider),
        source_ref: notice.payment_id.clone(),
        channel: Some(notice.channel),
    };
    let (posted, version) = match ledger::post_one(conn, account.id, entry).await {
        Ok(p) => p,
        Err(LedgerError::KeyReused { key }) => {
            return Ok(Outcome::Conflict(format!("{key} was posted before with another amount or account")));
        }
        Err(LedgerError::WrongSign { .. }) => return Ok(Outcome::Conflict("the amount is not positive".into())),
        Err(e) => return Err(e.into()),
    };
    let entry = posted.entry().clone();
    if let PostOutcome::AlreadyPosted(_) = posted {
        return Ok(Outcome::AlreadyPosted { account_id: account.id, entry_id: entry.id });
    }
    let payload = json!({
        "message_key": format!("{}/{}", entry.source, entry.source_ref),
        "account_number": account.account_number,
        "hms_account_ref": account.hms_ref,
        "amount_pence": notice.amount.pence(),
        "channel": notice.channel.as_str(),
        "paid_at": notice.paid_at.to_rfc3339(),
        "effective_date": entry.effective_date.to_string(),
        "provider": notice.provider,
        "provider_payment_id": notice.payment_id,
        "ledger_entry_id": entry.id,
    });
    outbox::Entity::insert(outbox::ActiveModel {
        topic: Set(HMS_PAYMENT_TOPIC.into()),
        message_key: Set(format!("{}/{}", entry.source, entry.source_ref)),
        payload: Set(payload.to_string()),
        created_at: Set(Utc::now()),
        attempts: Set(0),
        next_attempt_at: Set(Utc::now()),
        delivered_at: Set(None),
        last_error: Set(None),
        ..Default::default()
    })
    .on_conflict(OnConflict::columns([outbox::Column::Topic, outbox::Column::MessageKey]).do_nothing().to_owned())
    .exec_without_returning(conn)
    .await?;

    // One statement finds and settles the portal's intent, if the payment started here.
    let settled = payment_intent::Entity::update_many()
        .col_expr(payment_intent::Column::Status, sea_orm::sea_query::Expr::value("succeeded"))
        .col_expr(payment_intent::Column::LedgerEntryId, sea_orm::sea_query::Expr::value(entry.id))
        .col_expr(payment_intent::Column::UpdatedAt, sea_orm::sea_query::Expr::value(Utc::now()))
        .filter(payment_intent::Column::Provider.eq(notice.provider.as_str()))
        .filter(payment_intent::Column::ProviderPaymentId.eq(notice.payment_id.as_str()))
        .exec_with_returning(conn)
        .await?;
    for intent in settled {
        changes.push(Change::Payment { public_id: intent.public_id });
    }
    changes.push(Change::Account { account_id: account.id, version });
    Ok(Outcome::Posted { account_id: account.id, entry_id: entry.id })
}

/// Holds a payment for an unknown reference in suspense (once per provider payment id).
pub async fn hold_in_suspense(
    conn: &impl ConnectionTrait,
    notice: &Notice,
    origin: &str,
) -> Result<Option<i64>, IngestError> {
    suspense_payment::Entity::insert(suspense_payment::ActiveModel {
        organisation_id: Set(None),
        provider: Set(notice.provider.clone()),
        provider_payment_id: Set(notice.payment_id.clone()),
        account_reference: Set(notice.account_reference.clone()),
        amount_pence: Set(notice.amount.pence()),
        channel: Set(notice.channel.as_str().to_owned()),
        paid_at: Set(notice.paid_at),
        received_at: Set(Utc::now()),
        origin: Set(origin.to_owned()),
        status: Set("open".into()),
        ..Default::default()
    })
    .on_conflict(
        OnConflict::columns([suspense_payment::Column::Provider, suspense_payment::Column::ProviderPaymentId])
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(conn)
    .await?;
    Ok(suspense_payment::Entity::find()
        .filter(suspense_payment::Column::Provider.eq(notice.provider.as_str()))
        .filter(suspense_payment::Column::ProviderPaymentId.eq(notice.payment_id.as_str()))
        .one(conn)
        .await?
        .map(|s| s.id))
}

async fn mark_intent_failed(conn: &impl ConnectionTrait, notice: &Notice) -> Result<Option<String>, IngestError> {
    let Some(intent) = payment_intent::Entity::find()
        .filter(payment_intent::Column::Provider.eq(notice.provider.as_str()))
        .filter(payment_intent::Column::ProviderPaymentId.eq(notice.payment_id.as_str()))
        .one(conn)
        .await?
    else {
        return Ok(None);
    };
    if intent.status == "succeeded" {
        return Ok(None);
    }
    let reason = match notice.failure.as_deref() {
        Some("challenge_failed") => "the card issuer's security check was not passed",
        Some("expired") => "the payment page timed out",
        Some("cancelled") => "the payment was cancelled",
        _ => "the payment was declined",
    };
    payment_intent::Entity::update_many()
        .col_expr(payment_intent::Column::Status, sea_orm::sea_query::Expr::value("failed"))
        .col_expr(payment_intent::Column::FailureReason, sea_orm::sea_query::Expr::value(reason))
        .col_expr(payment_intent::Column::UpdatedAt, sea_orm::sea_query::Expr::value(Utc::now()))
        .filter(payment_intent::Column::Id.eq(intent.id))
        .exec(conn)
        .await?;
    Ok(Some(intent.public_id))
}

/// A positive amount, for building notices from outside input.
pub fn positive_amount(pence: i64) -> Option<Money> {
    (pence > 0).then(|| Money::from_pence(pence))
}
