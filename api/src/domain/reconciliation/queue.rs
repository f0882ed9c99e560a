//! The income team's queues: reconciliation runs and their exceptions, and the suspense
//! account. Every call asks the policy layer first. Staff with the `income` role (admins
//! always) see what belongs to their organisations, and staff of a top-level organisation
//! also what belongs to none (payments for a reference that is no account's). An object the
//! caller may not see answers exactly like one that does not exist. Every decision is
//! written to the audit trail in the transaction that makes it.

use std::collections::HashMap;

use chrono::Utc;
use doorstep_shared::Money;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
};
use serde_json::json;

use super::error::ReconciliationError;
use super::model::{
    ItemStatus, ReconciliationItemPage, ReconciliationItemView, ReconciliationReport, ReconciliationRunPage,
    ResolveItemAction, SuspensePaymentPage, SuspensePaymentView, SuspenseStatus,
};
use super::report::{self, ItemFilter};
use super::sql::statement;
use crate::domain::identity::IdentityError;
use crate::domain::identity::audit::{self, Actor, ClientMeta, Event, Outcome as AuditOutcome};
use crate::domain::identity::model::Role;
use crate::domain::identity::policy::{self, OrgScope, Principal, StaffPrincipal};
use crate::domain::ledger::Channel;
use crate::domain::payments::ingest::{self, Outcome};
use crate::domain::payments::{LiveBus, Notice, NoticeKind};
use crate::entity::{app_user, reconciliation_item, reconciliation_run, rent_account, suspense_payment};
use crate::http::pagination::{PageRequest, encode_cursor};

/// Staff roles that work reconciliation, suspense and payment figures (admins always may).
pub const INCOME_ROLES: &[Role] = &[Role::Income, Role::Admin];
/// Longest note staff may write at once.
pub const MAX_NOTE_CHARS: usize = 1000;

/// The organisations an income request may list. Other staff and tenants get 403.
pub fn income_scope(p: &Principal) -> Result<OrgScope, ReconciliationError> {
    Ok(scope_of(policy::require_staff(p, INCOME_ROLES)?))
}

fn scope_of(s: &StaffPrincipal) -> OrgScope {
    OrgScope { org_ids: s.org_ids.clone(), include_unassigned: s.top_level }
}

/// Income staff acting on one object: anyone else is told it does not exist.
fn object_staff<'a>(p: &'a Principal, what: &'static str) -> Result<&'a StaffPrincipal, ReconciliationError> {
    match policy::require_staff(p, INCOME_ROLES) {
        Err(IdentityError::Forbidden(_)) => Err(ReconciliationError::not_found(what)),
        other => Ok(other?),
    }
}

fn check_note(note: Option<&str>, required: bool) -> Result<Option<String>, ReconciliationError> {
    let note = note.map(str::trim).filter(|n| !n.is_empty());
    match note {
        None if required => Err(ReconciliationError::invalid("note", "is required: say what was found or done")),
        None => Ok(None),
        Some(n) if n.chars().count() > MAX_NOTE_CHARS => {
            Err(ReconciliationError::invalid("note", format!("must be at most {MAX_NOTE_CHARS} characters")))
        }
        Some(n) if n.chars().any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t') => {
            Err(ReconciliationError::invalid("note", "contains a control character"))
        }
        Some(n) => Ok(Some(n.to_owned())),
    }
}

/// A note as it is kept: who wrote it and when, after any earlier ones.
fn append_note(earlier: Option<&str>, staff: &StaffPrincipal, note: &str) -> String {
    let entry = format!("[{} {}] {note}", Utc::now().format("%Y-%m-%d %H:%M UTC"), staff.email);
    match earlier.filter(|e| !e.is_empty()) {
        Some(e) => format!("{e}\n{entry}"),
        None => entry,
    }
}

// ----- runs -----

/// Runs with items of the caller's organisations, newest first.
pub async fn list_runs(
    db: &DatabaseConnection,
    p: &Principal,
    page: PageRequest,
) -> Result<ReconciliationRunPage, ReconciliationError> {
    let scope = income_scope(p)?;
    let mut items = report::runs(db, Some(&scope), page.after, page.limit).await?;
    let more = items.len() as u64 > page.limit;
    items.truncate(page.limit as usize);
    let next_cursor = if more { items.last().map(|r| encode_cursor(r.id)) } else { None };
    Ok(ReconciliationRunPage { items, next_cursor })
}

/// A run's report: counts, totals and a line per reason code, for the caller's organisations.
pub async fn run_report(
    db: &DatabaseConnection,
    p: &Principal,
    id: i64,
) -> Result<ReconciliationReport, ReconciliationError> {
    let staff = object_staff(p, "reconciliation run")?;
    report::report(db, Some(&scope_of(staff)), id)
        .await?
        .ok_or_else(|| ReconciliationError::not_found("reconciliation run"))
}

/// A run's items in file order.
pub async fn run_items(
    db: &DatabaseConnection,
    p: &Principal,
    run_id: i64,
    mut filter: ItemFilter,
    page: PageRequest,
) -> Result<ReconciliationItemPage, ReconciliationError> {
    let staff = object_staff(p, "reconciliation run")?;
    let scope = scope_of(staff);
    if report::run(db, Some(&scope), run_id).await?.is_none() {
        return Err(ReconciliationError::not_found("reconciliation run"));
    }
    filter.after = page.after;
    let mut items = report::items(db, Some(&scope), run_id, &filter, Some(page.limit)).await?;
    let more = items.len() as u64 > page.limit;
    items.truncate(page.limit as usize);
    let next_cursor = if more { items.last().map(|i| encode_cursor(i.id)) } else { None };
    Ok(ReconciliationItemPage { items, next_cursor })
}

/// A run's late and exception items as CSV (matched lines are left out).
pub async fn run_report_csv(
    db: &DatabaseConnection,
    p: &Principal,
    run_id: i64,
) -> Result<Vec<u8>, ReconciliationError> {
    let staff = object_staff(p, "reconciliation run")?;
    let scope = scope_of(staff);
    if report::run(db, Some(&scope), run_id).await?.is_none() {
        return Err(ReconciliationError::not_found("reconciliation run"));
    }
    let filter = ItemFilter { not_matched: true, ..ItemFilter::default() };
    let items = report::items(db, Some(&scope), run_id, &filter, None).await?;
    report::items_csv(&items).map_err(|e| ReconciliationError::Conflict(format!("the report cannot be written: {e}")))
}

/// Adds a note to an item, or closes it with one.
pub async fn resolve_item(
    db: &DatabaseConnection,
    p: &Principal,
    id: i64,
    action: ResolveItemAction,
    note: Option<&str>,
    meta: &ClientMeta,
) -> Result<ReconciliationItemView, ReconciliationError> {
    let staff = object_staff(p, "reconciliation item")?;
    let scope = scope_of(staff);
    let item = reconciliation_item::Entity::find_by_id(id)
        .one(db)
        .await?
        .filter(|i| scope.contains(i.organisation_id))
        .ok_or_else(|| ReconciliationError::not_found("reconciliation item"))?;
    let note = check_note(note, true)?.unwrap_or_default();
    let txn = db
        .begin_with_options(TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..Default::default()
        })
        .await?;
    let kept = append_note(item.note.as_deref(), staff, &note);
    let action_name = match action {
        ResolveItemAction::Note => {
            reconciliation_item::Entity::update_many()
                .col_expr(reconciliation_item::Column::Note, Expr::value(kept))
                .filter(reconciliation_item::Column::Id.eq(id))
                .exec(&txn)
                .await?;
            "reconciliation.item_noted"
        }
        ResolveItemAction::Close => {
            if item.resolution != "open" {
                return Err(ReconciliationError::Conflict("this item is already resolved".into()));
            }
            if item.status == ItemStatus::UnknownAccount.as_str()
                && let Some(s) = open_suspense_for(&txn, item.run_id, &item.provider_payment_id).await?
            {
                return Err(ReconciliationError::Conflict(format!(
                    "the payment is still in suspense: allocate it to an account or close suspense payment {s} first"
                )));
            }
            let done = reconciliation_item::Entity::update_many()
                .col_expr(reconciliation_item::Column::Resolution, Expr::value("resolved"))
                .col_expr(reconciliation_item::Column::Note, Expr::value(kept))
                .col_expr(reconciliation_item::Column::ResolvedBy, Expr::value(staff.user_id))
                .col_expr(reconciliation_item::Column::ResolvedAt, Expr::value(Utc::now()))
                .filter(reconciliation_item::Column::Id.eq(id))
                .filter(reconciliation_item::Column::Resolution.eq("open"))
                .exec(&txn)
                .await?;
            if done.rows_affected != 1 {
                return Err(ReconciliationError::Conflict("this item is already resolved".into()));
            }
            "reconciliation.item_closed"
        }
    };
    audit::record(
        &txn,
        Event::new(action_name, AuditOutcome::Success, Actor::of(p))
            .org(item.organisation_id)
            .object("reconciliation_item", id)
            .details(json!({
                "run_id": item.run_id,
                "status": item.status,
                "provider_payment_id": item.provider_payment_id,
                "note": note,
            })),
        meta,
    )
    .await?;
    txn.commit().await?;
    report::item(db, id).await?.ok_or_else(|| ReconciliationError::not_found("reconciliation item"))
}

/// The open suspense payment holding an unknown-account item's money, if any.
async fn open_suspense_for(
    conn: &impl ConnectionTrait,
    run_id: i64,
    payment_id: &str,
) -> Result<Option<i64>, ReconciliationError> {
    let Some(run) = reconciliation_run::Entity::find_by_id(run_id).one(conn).await? else { return Ok(None) };
    Ok(suspense_payment::Entity::find()
        .filter(suspense_payment::Column::Provider.eq(run.provider))
        .filter(suspense_payment::Column::ProviderPaymentId.eq(payment_id))
        .filter(suspense_payment::Column::Status.eq(SuspenseStatus::Open.as_str()))
        .one(conn)
        .await?
        .map(|s| s.id))
}

// ----- suspense -----

/// Suspense payments of the caller's organisations (and, for a top-level organisation's
/// staff, those tied to none), oldest first.
pub async fn list_suspense(
    db: &DatabaseConnection,
    p: &Principal,
    status: Option<&str>,
    page: PageRequest,
) -> Result<SuspensePaymentPage, ReconciliationError> {
    let scope = income_scope(p)?;
    let mut q = suspense_payment::Entity::find()
        .filter(org_condition(&scope))
        .order_by_asc(suspense_payment::Column::Id)
        .limit(page.limit + 1);
    if let Some(s) = status.map(str::trim).filter(|s| !s.is_empty()) {
        let s = SuspenseStatus::parse(s)
            .ok_or_else(|| ReconciliationError::invalid("status", "must be open, allocated or closed"))?;
        q = q.filter(suspense_payment::Column::Status.eq(s.as_str()));
    }
    if let Some(after) = page.after {
        q = q.filter(suspense_payment::Column::Id.gt(after));
    }
    let rows = q.all(db).await?;
    let more = rows.len() as u64 > page.limit;
    let mut items = suspense_views(db, rows.into_iter().take(page.limit as usize).collect()).await?;
    items.truncate(page.limit as usize);
    let next_cursor = if more { items.last().map(|s| encode_cursor(s.id)) } else { None };
    Ok(SuspensePaymentPage { items, next_cursor })
}

fn org_condition(scope: &OrgScope) -> sea_orm::Condition {
    let mut c = sea_orm::Condition::any().add(suspense_payment::Column::OrganisationId.is_in(scope.org_ids.clone()));
    if scope.include_unassigned {
        c = c.add(suspense_payment::Column::OrganisationId.is_null());
    }
    c
}

async fn suspense_views(
    db: &impl ConnectionTrait,
    rows: Vec<suspense_payment::Model>,
) -> Result<Vec<SuspensePaymentView>, ReconciliationError> {
    let account_ids: Vec<i64> = rows.iter().filter_map(|r| r.allocated_account_id).collect();
    let user_ids: Vec<i64> = rows.iter().filter_map(|r| r.resolved_by).collect();
    let mut numbers: HashMap<i64, String> = HashMap::new();
    if !account_ids.is_empty() {
        for a in rent_account::Entity::find().filter(rent_account::Column::Id.is_in(account_ids)).all(db).await? {
            numbers.insert(a.id, a.account_number);
        }
    }
    let mut emails: HashMap<i64, String> = HashMap::new();
    if !user_ids.is_empty() {
        for u in app_user::Entity::find().filter(app_user::Column::Id.is_in(user_ids)).all(db).await? {
            emails.insert(u.id, u.email);
        }
    }
    Ok(rows
        .into_iter()
        .map(|r| SuspensePaymentView {
            id: r.id,
            allocated_account_number: r.allocated_account_id.and_then(|a| numbers.get(&a).cloned()),
            resolved_by: r.resolved_by.and_then(|u| emails.get(&u).cloned()),
            provider: r.provider,
            provider_payment_id: r.provider_payment_id,
            account_reference: r.account_reference,
            amount_pence: r.amount_pence,
            channel: r.channel,
            paid_at: r.paid_at,
            received_at: r.received_at,
            origin: r.origin,
            status: r.status,
            allocated_account_id: r.allocated_account_id,
            ledger_entry_id: r.ledger_entry_id,
            note: r.note,
            resolved_at: r.resolved_at,
        })
        .collect())
}

async fn suspense_view(db: &impl ConnectionTrait, id: i64) -> Result<SuspensePaymentView, ReconciliationError> {
    let row = suspense_payment::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| ReconciliationError::not_found("suspense payment"))?;
    suspense_views(db, vec![row]).await?.pop().ok_or_else(|| ReconciliationError::not_found("suspense payment"))
}

/// An open suspense payment the caller may act on.
async fn open_suspense(
    db: &DatabaseConnection,
    staff: &StaffPrincipal,
    id: i64,
) -> Result<suspense_payment::Model, ReconciliationError> {
    let scope = scope_of(staff);
    let s = suspense_payment::Entity::find_by_id(id)
        .one(db)
        .await?
        .filter(|s| scope.contains(s.organisation_id))
        .ok_or_else(|| ReconciliationError::not_found("suspense payment"))?;
    if s.status != SuspenseStatus::Open.as_str() {
        return Err(ReconciliationError::Conflict(format!("this payment is already {}", s.status)));
    }
    Ok(s)
}

/// Settles the unknown-account items of the provider's runs that this payment is behind.
async fn settle_items(
    conn: &impl ConnectionTrait,
    s: &suspense_payment::Model,
    staff: &StaffPrincipal,
    note: &str,
) -> Result<(), ReconciliationError> {
    conn.execute_raw(statement(
        conn.get_database_backend(),
        "UPDATE reconciliation_item
            SET resolution = 'resolved', resolved_by = $1, resolved_at = $2,
                note = CASE WHEN note IS NULL OR note = '' THEN $3 ELSE note || $6 || $3 END
          WHERE status = 'unknown_account' AND resolution = 'open' AND provider_payment_id = $4
            AND run_id IN (SELECT id FROM reconciliation_run WHERE provider = $5)",
        vec![
            staff.user_id.into(),
            Utc::now().into(),
            append_note(None, staff, note).into(),
            s.provider_payment_id.clone().into(),
            s.provider.clone().into(),
            "\n".into(),
        ],
    ))
    .await?;
    Ok(())
}

/// Posts a suspense payment to an account of the caller's organisations: once, however
/// often it is asked.
pub async fn allocate_suspense(
    db: &DatabaseConnection,
    live: &LiveBus,
    p: &Principal,
    id: i64,
    account_id: i64,
    note: Option<&str>,
    meta: &ClientMeta,
) -> Result<SuspensePaymentView, ReconciliationError> {
    let staff = object_staff(p, "suspense payment")?;
    let s = open_suspense(db, staff, id).await?;
    let note = check_note(note, false)?;
    let account = rent_account::Entity::find_by_id(account_id)
        .one(db)
        .await?
        .filter(|a| policy::can_view_account(p, a.organisation_id, a.id))
        .ok_or_else(|| ReconciliationError::invalid("account_id", "is not an account of your organisations"))?;
    let channel = Channel::parse(&s.channel)
        .ok_or_else(|| ReconciliationError::Conflict(format!("the payment's channel {:?} is not known", s.channel)))?;
    let txn = db
        .begin_with_options(TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..Default::default()
        })
        .await?;
    let kept = note.as_deref().map(|n| append_note(s.note.as_deref(), staff, n)).or(s.note.clone());
    // The state change first and conditional: of two allocations at once, one finds the
    // payment no longer open and posts nothing.
    let claimed = suspense_payment::Entity::update_many()
        .col_expr(suspense_payment::Column::Status, Expr::value(SuspenseStatus::Allocated.as_str()))
        .col_expr(suspense_payment::Column::AllocatedAccountId, Expr::value(account.id))
        .col_expr(suspense_payment::Column::OrganisationId, Expr::value(account.organisation_id))
        .col_expr(suspense_payment::Column::Note, Expr::value(kept))
        .col_expr(suspense_payment::Column::ResolvedBy, Expr::value(staff.user_id))
        .col_expr(suspense_payment::Column::ResolvedAt, Expr::value(Utc::now()))
        .filter(suspense_payment::Column::Id.eq(id))
        .filter(suspense_payment::Column::Status.eq(SuspenseStatus::Open.as_str()))
        .exec(&txn)
        .await?;
    if claimed.rows_affected != 1 {
        return Err(ReconciliationError::Conflict("this payment is no longer open".into()));
    }
    let notice = Notice {
        provider: s.provider.clone(),
        event_id: format!("suspense:{id}"),
        event_type: "suspense.allocated".into(),
        kind: NoticeKind::Succeeded,
        payment_id: s.provider_payment_id.clone(),
        intent_ref: None,
        account_reference: account.account_number.clone(),
        amount: Money::from_pence(s.amount_pence),
        channel,
        paid_at: s.paid_at,
        failure: None,
        payload: String::new(),
    };
    let mut changes = Vec::new();
    let entry_id = match ingest::post_payment(&txn, &account, &notice, &mut changes).await? {
        Outcome::Posted { entry_id, .. } => entry_id,
        Outcome::AlreadyPosted { account_id, .. } => {
            return Err(ReconciliationError::Conflict(format!(
                "payment {} is already on account {account_id}",
                s.provider_payment_id
            )));
        }
        Outcome::Conflict(why) => return Err(ReconciliationError::Conflict(why)),
        other => {
            return Err(ReconciliationError::Conflict(format!("the payment could not be posted ({})", other.as_str())));
        }
    };
    suspense_payment::Entity::update_many()
        .col_expr(suspense_payment::Column::LedgerEntryId, Expr::value(entry_id))
        .filter(suspense_payment::Column::Id.eq(id))
        .exec(&txn)
        .await?;
    let item_note = format!(
        "Allocated from suspense to account {}{}",
        account.account_number,
        note.as_deref().map(|n| format!(": {n}")).unwrap_or_default()
    );
    settle_items(&txn, &s, staff, &item_note).await?;
    audit::record(
        &txn,
        Event::new("suspense.allocated", AuditOutcome::Success, Actor::of(p))
            .org(Some(account.organisation_id))
            .object("suspense_payment", id)
            .details(json!({
                "provider": s.provider,
                "provider_payment_id": s.provider_payment_id,
                "amount_pence": s.amount_pence,
                "account_id": account.id,
                "account_number": account.account_number,
                "ledger_entry_id": entry_id,
                "note": note,
            })),
        meta,
    )
    .await?;
    txn.commit().await?;
    live.after_commit(changes);
    suspense_view(db, id).await
}

/// Closes a suspense payment without posting it (refunded to the payer, say): a note says why.
pub async fn close_suspense(
    db: &DatabaseConnection,
    p: &Principal,
    id: i64,
    note: Option<&str>,
    meta: &ClientMeta,
) -> Result<SuspensePaymentView, ReconciliationError> {
    let staff = object_staff(p, "suspense payment")?;
    let s = open_suspense(db, staff, id).await?;
    let note = check_note(note, true)?.unwrap_or_default();
    let txn = db
        .begin_with_options(TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..Default::default()
        })
        .await?;
    let done = suspense_payment::Entity::update_many()
        .col_expr(suspense_payment::Column::Status, Expr::value(SuspenseStatus::Closed.as_str()))
        .col_expr(suspense_payment::Column::Note, Expr::value(append_note(s.note.as_deref(), staff, &note)))
        .col_expr(suspense_payment::Column::ResolvedBy, Expr::value(staff.user_id))
        .col_expr(suspense_payment::Column::ResolvedAt, Expr::value(Utc::now()))
        .filter(suspense_payment::Column::Id.eq(id))
        .filter(suspense_payment::Column::Status.eq(SuspenseStatus::Open.as_str()))
        .exec(&txn)
        .await?;
    if done.rows_affected != 1 {
        return Err(ReconciliationError::Conflict("this payment is no longer open".into()));
    }
    settle_items(&txn, &s, staff, &format!("Suspense payment closed: {note}")).await?;
    audit::record(
        &txn,
        Event::new("suspense.closed", AuditOutcome::Success, Actor::of(p))
            .org(s.organisation_id)
            .object("suspense_payment", id)
            .details(json!({
                "provider": s.provider,
                "provider_payment_id": s.provider_payment_id,
                "amount_pence": s.amount_pence,
                "note": note,
            })),
        meta,
    )
    .await?;
    txn.commit().await?;
    suspense_view(db, id).await
}
