//! Payments over GraphQL: start a payment, follow it, and the live subscriptions that put a
//! new balance on a tenant's open screen the moment a payment is posted.

use std::sync::Arc;

use async_graphql::{Context, Object, Subscription};
use doorstep_shared::dto::{AccountSummary, Payment};
use futures::Stream;
use futures::stream::{self, StreamExt};
use sea_orm::DatabaseConnection;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};

use super::gql_error;
use crate::domain::identity::Principal;
use crate::domain::ledger::{access, views};
use crate::domain::payments::intents::{self, PayRequest};
use crate::domain::payments::{Change, LiveBus, Providers};
use crate::http::payments::to_dto;

#[derive(Default)]
pub struct PaymentQuery;

#[derive(Default)]
pub struct PaymentMutation;

#[derive(Default)]
pub struct PaymentSubscription;

fn principal(ctx: &Context<'_>) -> Principal {
    ctx.data_opt::<Principal>().cloned().unwrap_or_default()
}

/// Where the provider page sends the payer when done.
pub struct ReturnUrl(pub String);

#[Object]
impl PaymentQuery {
    /// A payment started in the portal, and what became of it.
    async fn payment(&self, ctx: &Context<'_>, id: String) -> async_graphql::Result<Payment> {
        let db = ctx.data::<DatabaseConnection>()?;
        Ok(to_dto(intents::get(db, &principal(ctx), &id).await.map_err(|e| gql_error(e.into()))?))
    }
}

#[Object]
impl PaymentMutation {
    /// Starts a payment into a rent account (as `POST /api/v1/accounts/{id}/payments`); the
    /// same `idempotencyKey` with the same request answers the same payment.
    async fn pay(
        &self,
        ctx: &Context<'_>,
        account_id: i64,
        amount_pence: i64,
        idempotency_key: String,
    ) -> async_graphql::Result<Payment> {
        let db = ctx.data::<DatabaseConnection>()?;
        let providers = ctx.data::<Arc<Providers>>()?;
        let return_url = ctx.data::<ReturnUrl>()?.0.clone();
        intents::payable_account(db, &principal(ctx), account_id).await.map_err(|e| gql_error(e.into()))?;
        let request = PayRequest::parse(account_id, amount_pence, Some(&idempotency_key), return_url)
            .map_err(|e| gql_error(e.into()))?;
        let (intent, _) =
            intents::create(db, providers, &principal(ctx), request).await.map_err(|e| gql_error(e.into()))?;
        Ok(to_dto(intent))
    }
}

/// Turns the bus into a stream of re-read states for one object: the current state first,
/// then a fresh one after every change that concerns it (and after a lag, in case one was
/// missed). Ends when the bus closes.
fn watch<T, C, F, Fut>(
    rx: tokio::sync::broadcast::Receiver<Change>,
    first: T,
    concerns: C,
    read: F,
) -> impl Stream<Item = T>
where
    T: Send + 'static,
    C: Fn(&Change) -> bool + Send + 'static,
    F: Fn() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Option<T>> + Send,
{
    stream::once(async move { first }).chain(stream::unfold(
        (rx, concerns, read),
        |(mut rx, concerns, read)| async move {
            loop {
                match rx.recv().await {
                    Ok(c) if concerns(&c) => {}
                    Ok(_) => continue,
                    Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => return None,
                }
                // Everything already announced has committed, so one read after draining
                // the queue shows all of it: a subscriber that fell behind a busy account
                // catches up in one read instead of one per change.
                loop {
                    match rx.try_recv() {
                        Ok(_) | Err(TryRecvError::Lagged(_)) => {}
                        Err(TryRecvError::Empty) => break,
                        Err(TryRecvError::Closed) => return None,
                    }
                }
                if let Some(v) = read().await {
                    return Some((v, (rx, concerns, read)));
                }
            }
        },
    ))
}

#[Subscription]
impl PaymentSubscription {
    /// The account as it is now, then again every time its balance moves (a payment from
    /// any channel, a charge, a correction). Only for callers who may see the account.
    async fn account_updated(
        &self,
        ctx: &Context<'_>,
        account_id: i64,
    ) -> async_graphql::Result<impl Stream<Item = AccountSummary> + use<>> {
        let db = ctx.data::<DatabaseConnection>()?.clone();
        let live = ctx.data::<LiveBus>()?;
        // Subscribe before reading, so that nothing between the read and the first change is missed.
        let rx = live.subscribe();
        let account =
            access::visible_account(&db, &principal(ctx), account_id).await.map_err(|e| gql_error(e.into()))?;
        let first = views::summary(&db, account).await.map_err(|e| gql_error(e.into()))?;
        Ok(watch(
            rx,
            first,
            move |c| matches!(c, Change::Account { account_id: id, .. } if *id == account_id),
            move || {
                let db = db.clone();
                async move {
                    let account = views::account(&db, account_id).await.ok()??;
                    views::summary(&db, account).await.ok()
                }
            },
        ))
    }

    /// A payment as it is now, then again when its status changes.
    async fn payment_updated(
        &self,
        ctx: &Context<'_>,
        id: String,
    ) -> async_graphql::Result<impl Stream<Item = Payment> + use<>> {
        let db = ctx.data::<DatabaseConnection>()?.clone();
        let live = ctx.data::<LiveBus>()?;
        let rx = live.subscribe();
        let p = principal(ctx);
        let first = to_dto(intents::get(&db, &p, &id).await.map_err(|e| gql_error(e.into()))?);
        let watched = id.clone();
        Ok(watch(
            rx,
            first,
            move |c| matches!(c, Change::Payment { public_id } if *public_id == watched),
            move || {
                let (db, p, id) = (db.clone(), p.clone(), id.clone());
                async move { intents::get(&db, &p, &id).await.ok().map(to_dto) }
            },
        ))
    }
}
