//! Identity over GraphQL: the caller (`me`) and the staff registration queue with its
//! decisions. Signing in is REST only (`POST /api/v1/auth/login`); GraphQL takes the same
//! `Authorization` header. Every resolver goes through the same policy layer as REST, with
//! the caller's [`Principal`] put in the context per request.

use async_graphql::{Context, Object};
use sea_orm::DatabaseConnection;

use super::gql_error;
use crate::domain::identity::model::{MeView, RegistrationPage, RegistrationView};
use crate::domain::identity::{ClientMeta, Principal, me, service};
use crate::http::pagination::PageParams;

fn principal(ctx: &Context<'_>) -> Principal {
    ctx.data_opt::<Principal>().cloned().unwrap_or_default()
}

fn meta(ctx: &Context<'_>) -> ClientMeta {
    ctx.data_opt::<ClientMeta>().cloned().unwrap_or_default()
}

#[derive(Default)]
pub struct IdentityQuery;

#[Object]
impl IdentityQuery {
    /// The signed-in caller: user, person, tenancies, homes, housing officers, accounts
    /// with balances, the landlord's branding; for staff, role and organisations.
    async fn me(&self, ctx: &Context<'_>) -> async_graphql::Result<MeView> {
        let db = ctx.data::<DatabaseConnection>()?;
        me::me(db, &principal(ctx)).await.map_err(|e| gql_error(e.into()))
    }

    /// Staff: registration requests of your organisations, oldest first, each beside the
    /// tenancy it matched.
    async fn registrations(
        &self,
        ctx: &Context<'_>,
        status: Option<String>,
        limit: Option<i64>,
        cursor: Option<String>,
    ) -> async_graphql::Result<RegistrationPage> {
        let db = ctx.data::<DatabaseConnection>()?;
        let page = PageParams { limit, cursor }.parse().map_err(gql_error)?;
        service::list_registrations(db, &principal(ctx), status.as_deref(), page).await.map_err(|e| gql_error(e.into()))
    }

    /// Staff: one registration request.
    async fn registration(&self, ctx: &Context<'_>, id: i64) -> async_graphql::Result<RegistrationView> {
        let db = ctx.data::<DatabaseConnection>()?;
        service::get_registration(db, &principal(ctx), id).await.map_err(|e| gql_error(e.into()))
    }
}

#[derive(Default)]
pub struct IdentityMutation;

#[Object]
impl IdentityMutation {
    /// Staff: validate a request; its PIN letter joins today's print run. Never returns
    /// the PIN.
    async fn validate_registration(&self, ctx: &Context<'_>, id: i64) -> async_graphql::Result<RegistrationView> {
        let db = ctx.data::<DatabaseConnection>()?;
        service::validate_registration(db, &principal(ctx), id, &meta(ctx)).await.map_err(|e| gql_error(e.into()))
    }

    /// Staff: reject a request with a reason the tenant can be told.
    async fn reject_registration(
        &self,
        ctx: &Context<'_>,
        id: i64,
        reason: String,
    ) -> async_graphql::Result<RegistrationView> {
        let db = ctx.data::<DatabaseConnection>()?;
        service::reject_registration(db, &principal(ctx), id, &reason, &meta(ctx))
            .await
            .map_err(|e| gql_error(e.into()))
    }
}
