//! Staff work over GraphQL: finding a tenant and reading their tenancy, through the same
//! service and policy as `GET /staff/tenants` and `GET /staff/tenants/{id}`.

use async_graphql::{Context, Object};
use sea_orm::DatabaseConnection;

use super::gql_error;
use crate::domain::identity::Principal;
use crate::domain::tenancy::model::{StaffTenancyView, TenantMatchPage};
use crate::domain::tenancy::{self, SearchRequest};

#[derive(Default)]
pub struct StaffQuery;

fn principal(ctx: &Context<'_>) -> Principal {
    ctx.data_opt::<Principal>().cloned().unwrap_or_default()
}

#[Object]
impl StaffQuery {
    /// Staff: tenancies of your organisations where every word of `q` matches a tenant's
    /// name, the address, the postcode, the tenancy reference or an account number.
    async fn staff_tenants(
        &self,
        ctx: &Context<'_>,
        q: String,
        limit: Option<i64>,
        cursor: Option<String>,
    ) -> async_graphql::Result<TenantMatchPage> {
        let db = ctx.data::<DatabaseConnection>()?;
        let request = SearchRequest { q: Some(&q), limit, cursor: cursor.as_deref() };
        tenancy::find_tenants(db, &principal(ctx), request).await.map_err(|e| gql_error(e.into()))
    }

    /// Staff: one tenancy with its people, home, housing officer and accounts.
    async fn staff_tenant(&self, ctx: &Context<'_>, id: i64) -> async_graphql::Result<StaffTenancyView> {
        let db = ctx.data::<DatabaseConnection>()?;
        tenancy::staff_tenancy(db, &principal(ctx), id).await.map_err(|e| gql_error(e.into()))
    }
}
