//! Application state and the `serve` command.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::body::Bytes;
use sea_orm::DatabaseConnection;

use crate::config::Config;
use crate::graphql::DoorstepSchema;
use crate::metrics::Metrics;

/// What every handler can reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub config: Arc<Config>,
    pub metrics: Arc<Metrics>,
    pub graphql: DoorstepSchema,
    /// The OpenAPI document, rendered once.
    pub openapi_json: Bytes,
    /// Token signing keys and sign-in settings.
    pub identity: Arc<crate::domain::identity::Identity>,
    /// Live updates to open subscriptions (balances, payments).
    pub live: crate::domain::payments::LiveBus,
    /// The configured payment providers.
    pub providers: Arc<crate::domain::payments::Providers>,
}

impl AppState {
    pub fn new(db: DatabaseConnection, config: Config) -> anyhow::Result<Self> {
        let identity = Arc::new(crate::domain::identity::Identity::new(&config));
        let live = crate::domain::payments::LiveBus::new(db.get_database_backend());
        live.start(&db);
        let providers = Arc::new(crate::domain::payments::Providers::from_config(&config.payments));
        let graphql = crate::graphql::schema(
            crate::graphql::SchemaData {
                db: db.clone(),
                live: live.clone(),
                providers: providers.clone(),
                return_url: format!("{}/my-place/payment-done", config.public_url.trim_end_matches('/')),
            },
            config.graphql_introspection,
        );
        Ok(AppState {
            db,
            config: Arc::new(config),
            metrics: Arc::new(Metrics::new()),
            graphql,
            openapi_json: Bytes::from(crate::openapi::document_json()?),
            identity,
            live,
            providers,
        })
    }
}

/// Connects, migrates, seeds the demo landlord when asked and the database is empty, starts
/// the scheduled jobs and serves until Ctrl-C or SIGTERM, finishing requests in flight.
pub async fn serve(config: Config, demo: bool) -> anyhow::Result<()> {
    let db = crate::db::connect(&config.database_url, config.db_max_connections).await?;
    crate::db::migrate(&db).await?;
    if demo && crate::domain::demo::is_empty(&db).await? {
        tracing::info!("the database is empty: seeding the demo landlord");
        crate::cli::seed_demo::run_default(&config).await.context("seeding the demo landlord")?;
    }
    let addr = config.addr;
    let state = AppState::new(db, config)?;
    let (shutdown_tx, shutdown_rx) = tokio::sync::watch::channel(false);
    let jobs = crate::jobs::spawn_all(&state, shutdown_rx);
    let router = crate::http::router(state);
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("cannot listen on {addr}"))?;
    let local = listener.local_addr()?;
    println!("Doorstep is serving on http://{local}");
    tracing::info!(%local, "serving");
    axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    let _ = shutdown_tx.send(true);
    for job in jobs {
        let _ = job.await;
    }
    tracing::info!("stopped");
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM: how every long-running command knows to stop.
pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
