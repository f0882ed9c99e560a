//! The income team's work over GraphQL: reconciliation runs, their reports and exceptions,
//! the suspense account and payments by channel, through the same services and policy as
//! `/api/v1/staff/reconciliation/…`, `/api/v1/staff/suspense/…` and
//! `/api/v1/staff/payments/by-channel`.

use async_graphql::{Context, Object};
use chrono::NaiveDate;
use sea_orm::DatabaseConnection;

use super::gql_error;
use crate::ApiError;
use crate::domain::identity::{ClientMeta, Principal};
use crate::domain::payments::LiveBus;
use crate::domain::reconciliation::model::{
    PaymentsByChannel, ReconciliationItemPage, ReconciliationItemView, ReconciliationReport, ReconciliationRunPage,
    ResolveItemAction, SuspensePaymentPage, SuspensePaymentView,
};
use crate::domain::reconciliation::report::ItemFilter;
use crate::domain::reconciliation::{ReconciliationError, channels, queue};
use crate::http::pagination::{PageParams, PageRequest};

#[derive(Default)]
pub struct ReconciliationQuery;

#[derive(Default)]
pub struct ReconciliationMutation;

fn principal(ctx: &Context<'_>) -> Principal {
    ctx.data_opt::<Principal>().cloned().unwrap_or_default()
}

fn meta(ctx: &Context<'_>) -> ClientMeta {
    ctx.data_opt::<ClientMeta>().cloned().unwrap_or_default()
}

fn page(limit: Option<i64>, cursor: Option<String>) -> async_graphql::Result<PageRequest> {
    PageParams { limit, cursor }.parse().map_err(gql_error)
}

fn err(e: ReconciliationError) -> async_graphql::Error {
    gql_error(ApiError::from(e))
}

#[Object]
impl ReconciliationQuery {
    /// Income staff: end-of-day runs that hold payments of your organisations, newest first.
    async fn reconciliation_runs(
        &self,
        ctx: &Context<'_>,
        limit: Option<i64>,
        cursor: Option<String>,
    ) -> async_graphql::Result<ReconciliationRunPage> {
        let db = ctx.data::<DatabaseConnection>()?;
        queue::list_runs(db, &principal(ctx), page(limit, cursor)?).await.map_err(err)
    }

    /// Income staff: a run's report for your organisations.
    async fn reconciliation_run(&self, ctx: &Context<'_>, id: i64) -> async_graphql::Result<ReconciliationReport> {
        let db = ctx.data::<DatabaseConnection>()?;
        queue::run_report(db, &principal(ctx), id).await.map_err(err)
    }

    /// Income staff: a run's items in file order. `status` is a reason code or `exceptions`;
    /// `resolution` is `open` or `resolved`.
    async fn reconciliation_items(
        &self,
        ctx: &Context<'_>,
        run_id: i64,
        status: Option<String>,
        resolution: Option<String>,
        limit: Option<i64>,
        cursor: Option<String>,
    ) -> async_graphql::Result<ReconciliationItemPage> {
        let db = ctx.data::<DatabaseConnection>()?;
        let filter = ItemFilter { status, resolution, ..ItemFilter::default() };
        queue::run_items(db, &principal(ctx), run_id, filter, page(limit, cursor)?).await.map_err(err)
    }

    /// Income staff: money received for references that matched no account. `status` is
    /// `open`, `allocated` or `closed`.
    async fn suspense_payments(
        &self,
        ctx: &Context<'_>,
        status: Option<String>,
        limit: Option<i64>,
        cursor: Option<String>,
    ) -> async_graphql::Result<SuspensePaymentPage> {
        let db = ctx.data::<DatabaseConnection>()?;
        queue::list_suspense(db, &principal(ctx), status.as_deref(), page(limit, cursor)?).await.map_err(err)
    }

    /// Income staff: payments by channel per `day` or `week` between two business dates.
    async fn payments_by_channel(
        &self,
        ctx: &Context<'_>,
        from: NaiveDate,
        to: NaiveDate,
        group: Option<String>,
    ) -> async_graphql::Result<PaymentsByChannel> {
        let db = ctx.data::<DatabaseConnection>()?;
        channels::by_channel(db, &principal(ctx), Some(from), Some(to), group.as_deref()).await.map_err(err)
    }
}

#[Object]
impl ReconciliationMutation {
    /// Income staff: add a note to a reconciliation item; it stays open.
    async fn note_reconciliation_item(
        &self,
        ctx: &Context<'_>,
        id: i64,
        note: String,
    ) -> async_graphql::Result<ReconciliationItemView> {
        let db = ctx.data::<DatabaseConnection>()?;
        queue::resolve_item(db, &principal(ctx), id, ResolveItemAction::Note, Some(&note), &meta(ctx))
            .await
            .map_err(err)
    }

    /// Income staff: resolve a reconciliation item, the note saying how.
    async fn close_reconciliation_item(
        &self,
        ctx: &Context<'_>,
        id: i64,
        note: String,
    ) -> async_graphql::Result<ReconciliationItemView> {
        let db = ctx.data::<DatabaseConnection>()?;
        queue::resolve_item(db, &principal(ctx), id, ResolveItemAction::Close, Some(&note), &meta(ctx))
            .await
            .map_err(err)
    }

    /// Income staff: post a suspense payment to an account of your organisations, once.
    async fn allocate_suspense_payment(
        &self,
        ctx: &Context<'_>,
        id: i64,
        account_id: i64,
        note: Option<String>,
    ) -> async_graphql::Result<SuspensePaymentView> {
        let db = ctx.data::<DatabaseConnection>()?;
        let live = ctx.data::<LiveBus>()?;
        queue::allocate_suspense(db, live, &principal(ctx), id, account_id, note.as_deref(), &meta(ctx))
            .await
            .map_err(err)
    }

    /// Income staff: close a suspense payment without posting it; the note says why.
    async fn close_suspense_payment(
        &self,
        ctx: &Context<'_>,
        id: i64,
        note: String,
    ) -> async_graphql::Result<SuspensePaymentView> {
        let db = ctx.data::<DatabaseConnection>()?;
        queue::close_suspense(db, &principal(ctx), id, Some(&note), &meta(ctx)).await.map_err(err)
    }
}
