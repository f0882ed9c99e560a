//! GraphQL transport over the same domain services as REST. Depth, complexity and batch
//! size are limited; introspection is configurable.

pub mod accounts;
pub mod identity;
pub mod org;
pub mod payments;
pub mod reconciliation;
pub mod staff;

use async_graphql::{ErrorExtensions, MergedObject, MergedSubscription, Schema};
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
pub struct QueryRoot(
    org::OrgQuery,
    identity::IdentityQuery,
    accounts::AccountQuery,
    staff::StaffQuery,
    reconciliation::ReconciliationQuery,
);

#[derive(MergedObject, Default)]
pub struct MutationRoot(identity::IdentityMutation, payments::PaymentMutation, reconciliation::ReconciliationMutation);

#[derive(MergedSubscription, Default)]
pub struct SubscriptionRoot(payments::PaymentSubscription);

pub type DoorstepSchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

/// What the resolvers reach besides the caller.
pub struct SchemaData {
    pub db: DatabaseConnection,
    pub live: crate::domain::payments::LiveBus,
    pub providers: std::sync::Arc<crate::domain::payments::Providers>,
    pub return_url: String,
}

pub fn schema(data: SchemaData, introspection: bool) -> DoorstepSchema {
    let builder = Schema::build(QueryRoot::default(), MutationRoot::default(), SubscriptionRoot::default())
        .data(data.db)
        .data(data.live)
        .data(data.providers)
        .data(payments::ReturnUrl(data.return_url))
        .limit_depth(MAX_DEPTH)
        .limit_complexity(MAX_COMPLEXITY)
        .limit_recursive_depth(64)
        .limit_directives(16);
    if introspection { builder.finish() } else { builder.disable_introspection().finish() }
}

/// The SDL as checked in at `openapi/schema.graphql`.
pub fn sdl() -> String {
    let mut sdl =
        Schema::build(QueryRoot::default(), MutationRoot::default(), SubscriptionRoot::default()).finish().sdl();
    if !sdl.ends_with('\n') {
        sdl.push('\n');
    }
    sdl
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/graphql", get(crate::http::pages::graphiql).post(execute))
        .route("/graphql/ws", get(subscriptions))
}

/// Subscriptions over WebSocket (`graphql-transport-ws`, and the older `graphql-ws`). The
/// access token goes in the connection's init payload as `{"authorization": "Bearer …"}`
/// (browsers cannot set headers on a WebSocket); the caller it names is checked by every
/// subscription resolver, exactly as for queries.
async fn subscriptions(
    State(state): State<AppState>,
    meta: ClientMeta,
    protocol: async_graphql_axum::GraphQLProtocol,
    upgrade: axum::extract::WebSocketUpgrade,
) -> axum::response::Response {
    let schema = state.graphql.clone();
    upgrade.protocols(async_graphql::http::ALL_WEBSOCKET_PROTOCOLS).on_upgrade(move |socket| {
        async_graphql_axum::GraphQLWebSocket::new(socket, schema, protocol)
            .on_connection_init(move |payload| async move {
                let token = payload
                    .get("authorization")
                    .or_else(|| payload.get("Authorization"))
                    .and_then(|v| v.as_str())
                    .map(str::to_owned);
                let principal = crate::domain::identity::sessions::authenticate(
                    &state.db,
                    &state.identity,
                    token.as_deref(),
                    &meta,
                )
                .await
                .map_err(|e| async_graphql::Error::new(ApiError::from(e).to_string()))?;
                let mut data = async_graphql::Data::default();
                data.insert(principal);
                data.insert(meta);
                Ok(data)
            })
            .serve()
    })
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
