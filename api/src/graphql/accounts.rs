//! Rent accounts over GraphQL: the same services and policy as REST.

use async_graphql::{Context, Object, SimpleObject};
use chrono::NaiveDate;
use doorstep_shared::dto::{AccountSummary, Transaction};
use sea_orm::DatabaseConnection;

use super::gql_error;
use crate::ApiError;
use crate::domain::identity::Principal;
use crate::domain::ledger::access;
use crate::domain::ledger::views::{self, HistoryQuery};
use crate::http::accounts::{check_period, decode_history_cursor, encode_history_cursor};
use crate::http::pagination::parse_limit;

#[derive(Default)]
pub struct AccountQuery;

/// A page of an account's history.
#[derive(SimpleObject)]
pub struct TransactionPage {
    pub items: Vec<Transaction>,
    pub next_cursor: Option<String>,
}

fn principal(ctx: &Context<'_>) -> Principal {
    ctx.data_opt::<Principal>().cloned().unwrap_or_default()
}

#[Object]
impl AccountQuery {
    /// A rent account at a glance: balance, last transaction date, three most recent lines.
    async fn account(&self, ctx: &Context<'_>, id: i64) -> async_graphql::Result<AccountSummary> {
        let db = ctx.data::<DatabaseConnection>()?;
        let account = access::visible_account(db, &principal(ctx), id).await.map_err(|e| gql_error(e.into()))?;
        views::summary(db, account).await.map_err(|e| gql_error(e.into()))
    }

    /// The account's history, newest first, with the balance after each line.
    async fn account_transactions(
        &self,
        ctx: &Context<'_>,
        id: i64,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
        limit: Option<i64>,
        cursor: Option<String>,
    ) -> async_graphql::Result<TransactionPage> {
        let db = ctx.data::<DatabaseConnection>()?;
        let run = async {
            check_period(from, to)?;
            let limit = parse_limit(limit)?;
            let after = cursor.as_deref().filter(|c| !c.is_empty()).map(decode_history_cursor).transpose()?;
            let account = access::visible_account(db, &principal(ctx), id).await?;
            let (items, next) = views::history(db, account.id, HistoryQuery { from, to, after, limit }).await?;
            Ok::<_, ApiError>(TransactionPage { items, next_cursor: next.map(encode_history_cursor) })
        };
        run.await.map_err(gql_error)
    }
}
