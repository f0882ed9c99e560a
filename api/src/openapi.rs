//! The OpenAPI 3.1 document, built from the same registrations as the routes.

use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::http::auth::SecurityAddon;
use crate::http::{accounts, health, organisations};
use crate::http::{auth, me, payments, registrations, staff, webhooks};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Doorstep API",
        version = "1",
        description = "Tenant self-service for social housing landlords: tenancies, rent accounts, payments, repairs, cases and places. \
                       Money is integer pence in fields ending `_pence`; a positive balance means arrears. Errors come as \
                       `{\"error\": {\"code\", \"message\", \"details\"}}`. Lists take `limit` and `cursor` and answer \
                       `{\"items\", \"next_cursor\"}`.",
        license(name = "AGPL-3.0-or-later", identifier = "AGPL-3.0-or-later")
    ),
    tags(
        (name = "public", description = "Open to everyone"),
        (name = "operations", description = "Health and metrics for whoever runs the portal"),
        (name = "identity", description = "Registering, signing in and the signed-in caller. Sign-in is REST only; \
                                           GraphQL takes the same access token."),
        (name = "accounts", description = "Rent accounts: balances, history and statements, for their tenants and their landlord's staff"),
        (name = "payments", description = "Paying rent from the portal: the provider's page to embed, and what became of the payment"),
        (name = "integrations", description = "Signed notifications from payment providers and other systems"),
        (name = "staff", description = "Organisation-scoped staff work: registrations, PIN letters, API keys, audit"),
    ),
    modifiers(&SecurityAddon)
)]
pub struct ApiDoc;

/// Every REST route with its description. `/api/v1` routes are nested here so that their
/// documented paths carry the prefix.
pub fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(health::metrics))
        .routes(routes!(auth::jwks::jwks))
        .nest(
            "/api/v1",
            OpenApiRouter::new()
                .routes(routes!(organisations::list::list))
                .routes(routes!(organisations::get::get))
                // identity
                .routes(routes!(registrations::create::create))
                .routes(routes!(registrations::activate::activate))
                .routes(routes!(auth::login::login))
                .routes(routes!(auth::refresh::refresh))
                .routes(routes!(auth::logout::logout))
                .routes(routes!(auth::oidc::providers::list))
                .routes(routes!(auth::oidc::start::start))
                .routes(routes!(auth::oidc::callback::callback))
                .routes(routes!(auth::oidc::pending::get, auth::oidc::pending::discard))
                .routes(routes!(auth::oidc::activate::activate))
                .routes(routes!(me::me))
                .routes(routes!(accounts::get::get))
                .routes(routes!(accounts::transactions::list))
                .routes(routes!(accounts::statement::get))
                .routes(routes!(accounts::arrears::list))
                // payments
                .routes(routes!(payments::create::create))
                .routes(routes!(payments::get::get))
                .routes(routes!(webhooks::receive::receive))
                .routes(routes!(staff::registrations::list::list))
                .routes(routes!(staff::registrations::get::get))
                .routes(routes!(staff::registrations::validate::validate))
                .routes(routes!(staff::registrations::reject::reject))
                .routes(routes!(staff::registrations::letter::letter))
                .routes(routes!(staff::letters::print_run))
                .routes(routes!(staff::api_keys::create::create, staff::api_keys::list::list))
                .routes(routes!(staff::api_keys::revoke::revoke))
                .routes(routes!(staff::users::unlock))
                .routes(routes!(staff::audit::list))
                .routes(routes!(staff::tenants::list::list))
                .routes(routes!(staff::tenants::get::get))
                // reconciliation, suspense and payments by channel (income staff)
                .routes(routes!(staff::reconciliation::list_runs::list))
                .routes(routes!(staff::reconciliation::get_run::get))
                .routes(routes!(staff::reconciliation::run_items::list))
                .routes(routes!(staff::reconciliation::run_report_csv::get))
                .routes(routes!(staff::reconciliation::resolve_item::resolve))
                .routes(routes!(staff::reconciliation::list_suspense::list))
                .routes(routes!(staff::reconciliation::allocate_suspense::allocate))
                .routes(routes!(staff::reconciliation::close_suspense::close))
                .routes(routes!(staff::payments::by_channel::by_channel)),
        )
}

pub fn document() -> utoipa::openapi::OpenApi {
    api_router().split_for_parts().1
}

/// The document as served and as checked in: pretty JSON with a trailing newline.
pub fn document_json() -> anyhow::Result<String> {
    let mut text = document().to_pretty_json()?;
    text.push('\n');
    Ok(text)
}
