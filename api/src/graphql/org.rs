use async_graphql::{Context, Object, SimpleObject};
use doorstep_shared::dto::Organisation;
use sea_orm::DatabaseConnection;

use super::gql_error;
use crate::domain;
use crate::http::pagination::{PageParams, encode_cursor};

#[derive(Default)]
pub struct OrgQuery;

/// A page of organisations.
#[derive(SimpleObject)]
pub struct OrganisationPage {
    pub items: Vec<Organisation>,
    pub next_cursor: Option<String>,
}

#[Object]
impl OrgQuery {
    /// Landlords on this portal, with their branding and contacts.
    async fn organisations(
        &self,
        ctx: &Context<'_>,
        limit: Option<i64>,
        cursor: Option<String>,
    ) -> async_graphql::Result<OrganisationPage> {
        let db = ctx.data::<DatabaseConnection>()?;
        let page = PageParams { limit, cursor }.parse().map_err(gql_error)?;
        let (rows, more) = domain::org::list(db, page.after, page.limit).await.map_err(|e| gql_error(e.into()))?;
        let next_cursor = if more { rows.last().map(|(id, _)| encode_cursor(*id)) } else { None };
        Ok(OrganisationPage { items: rows.into_iter().map(|(_, o)| o).collect(), next_cursor })
    }

    /// One landlord by its slug.
    async fn organisation(&self, ctx: &Context<'_>, slug: String) -> async_graphql::Result<Organisation> {
        let db = ctx.data::<DatabaseConnection>()?;
        domain::org::get_by_slug(db, &slug).await.map_err(|e| gql_error(e.into()))
    }
}
