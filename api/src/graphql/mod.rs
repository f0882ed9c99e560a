//! GraphQL transport over the same domain services as REST. Depth, complexity and batch
//! size are limited; introspection is configurable.

pub mod accounts;
pub mod identity;
pub mod org;

use async_graphql::{EmptySubscription, ErrorExtensions, MergedObject, Schema};
use async_graphql_axum::{GraphQLBatchRequest, GraphQLResponse};
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use sea_orm::DatabaseConnection;

use crate::domain::identity::{ClientMeta, Principal};
use crate::{ApiError, AppState};

pub const MAX_DEPTH: usize = 12;
pub const MAX_COMPLEXITY: usize = 500;
pub const MAX_BATCH: usize = 10;

#[derive(MergedObject, Default)]
pub struct QueryRoot(org::OrgQuery, identity::IdentityQuery, accounts::AccountQuery);

#[derive(MergedObject, Default)]
pub struct MutationRoot(identity::IdentityMutation);

pub type DoorstepSchema = Schema<QueryRoot, MutationRoot, EmptySubscription>;

pub fn schema(db: DatabaseConnection, introspection: bool) -> DoorstepSchema {
    let builder = Schema::build(QueryRoot::default(), MutationRoot::default(), EmptySubscription)
        .data(db)
        .limit_depth(MAX_DEPTH)
        .limit_complexity(MAX_COMPLEXITY)
        .limit_recursive_depth(64)
        .limit_directives(16);
    if introspection { builder.finish() } else { builder.disable_introspection().finish() }
}

/// The SDL as checked in at `openapi/schema.graphql`.
pub fn sdl() -> String {
    let mut sdl = Schema::build(QueryRoot::default(), MutationRoot::default(), EmptySubscription).finish().sdl();
    if !sdl.ends_with('\n') {
        sdl.push('\n');
    }
    sdl
}

pub fn routes() -> Router<AppState> {
    Router::new().route("/graphql", get(crate::http::pages::graphiql).post(execute))
}

/// Runs a request (or batch) as the caller: the same `Authorization` header as REST, turned
/// into a `Principal` that every resolver hands to the policy layer.
async fn execute(
    State(state): State<AppState>,
    principal: Principal,
    meta: ClientMeta,
    request: GraphQLBatchRequest,
) -> Result<GraphQLResponse, ApiError> {
    let batch = request.into_inner().data(principal).data(meta);
    if let async_graphql::BatchRequest::Batch(items) = &batch
        && items.len() > MAX_BATCH
    {
        return Err(ApiError::validation("batch", format!("may hold at most {MAX_BATCH} operations")));
    }
    Ok(state.graphql.execute_batch(batch).await.into())
}

/// A domain error as GraphQL sees it: the same code and message as REST, nothing internal.
pub fn gql_error(err: ApiError) -> async_graphql::Error {
    if let ApiError::Internal(e) = &err {
        tracing::error!(error = format!("{e:#}"), "internal error in a resolver");
    }
    let envelope = err.envelope();
    let code = envelope.error.code;
    async_graphql::Error::new(envelope.error.message).extend_with(|_, ext| ext.set("code", code))
}
