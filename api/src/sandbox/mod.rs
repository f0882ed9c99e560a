//! The sandbox payment provider (`doorstep sandbox-provider`): a process of its own that
//! talks to the portal only over HTTP, as a real provider would. It hosts the card page the
//! portal embeds, makes payments arrive from the other channels on request, sends signed
//! notifications with retries, serves the end-of-day file and can be told to misbehave.
//! The contract is docs/payments.md.

mod api;
pub mod card;
pub mod deliver;
pub mod faults;
mod page;
pub mod state;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, header};
use axum::routing::{get, post};
use secrecy::SecretString;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

pub use deliver::RetryPolicy;
pub use state::Sandbox;

/// Where notifications go unless told otherwise.
pub const DEFAULT_PORTAL_URL: &str = "http://127.0.0.1:8080";
/// The development signing secret. The portal accepts it for the sandbox provider only.
pub const DEVELOPMENT_SECRET: &str = "sandbox-development-secret";
/// Where the sandbox listens unless told otherwise.
pub const DEFAULT_ADDR: &str = "127.0.0.1:8090";
/// The portal's webhook path for this provider.
pub const WEBHOOK_PATH: &str = "/api/v1/webhooks/sandbox";

/// How the sandbox is set up.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The portal: notifications go to `<portal_url>/api/v1/webhooks/sandbox`, and only its
    /// origin may frame the card page.
    pub portal_url: String,
    /// How browsers and the portal reach the sandbox, for the page URLs it hands out.
    /// `None`: `http://127.0.0.1:<the port it listens on>`.
    pub public_url: Option<String>,
    /// Signs notifications and verifies the portal's requests.
    pub secret: SecretString,
    pub retry: RetryPolicy,
    /// How long one delivery attempt may take.
    pub timeout: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            portal_url: DEFAULT_PORTAL_URL.into(),
            public_url: None,
            secret: SecretString::from(DEVELOPMENT_SECRET),
            retry: RetryPolicy::default(),
            timeout: Duration::from_secs(10),
        }
    }
}

/// What every handler reaches.
pub(crate) struct Ctx {
    pub sandbox: Arc<Sandbox>,
    pub secret: SecretString,
    /// `frame-ancestors <portal origin>` and the rest of the card page's policy.
    pub page_csp: HeaderValue,
    pub webhook_url: String,
    pub portal_origin: String,
}

/// A running sandbox. Dropping it (or calling `stop`) stops the server and the deliveries.
pub struct Running {
    addr: SocketAddr,
    url: String,
    sandbox: Arc<Sandbox>,
    shutdown: watch::Sender<bool>,
    server: JoinHandle<std::io::Result<()>>,
    worker: JoinHandle<()>,
}

impl Running {
    /// The address it is bound to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its public URL, without a trailing slash.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn sandbox(&self) -> &Arc<Sandbox> {
        &self.sandbox
    }

    /// Stops taking requests, finishes those in flight and stops delivering.
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.shutdown.send(true);
        self.server.await.context("the sandbox server task")?.context("serving the sandbox")?;
        let _ = self.worker.await;
        Ok(())
    }
}

/// The origin (`scheme://host[:port]`) of an http(s) URL, or why it is not one.
fn origin(url: &str, what: &str) -> anyhow::Result<String> {
    let parsed = reqwest::Url::parse(url).with_context(|| format!("{what} `{url}` is not a URL"))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
        anyhow::bail!("{what} `{url}` must be an http or https URL with a host");
    }
    Ok(parsed.origin().ascii_serialization())
}

/// Serves the sandbox on `listener` (port 0 is fine) and starts delivering notifications.
pub async fn start(listener: TcpListener, settings: Settings) -> anyhow::Result<Running> {
    let addr = listener.local_addr().context("the sandbox listener has no address")?;
    let portal_url = settings.portal_url.trim().trim_end_matches('/').to_owned();
    let portal_origin = origin(&portal_url, "DOORSTEP_PORTAL_URL")?;
    let url = match &settings.public_url {
        Some(u) => {
            let u = u.trim().trim_end_matches('/').to_owned();
            origin(&u, "DOORSTEP_SANDBOX_URL")?;
            u
        }
        None => format!("http://127.0.0.1:{}", addr.port()),
    };
    let page_csp = HeaderValue::from_str(&format!(
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; \
         frame-ancestors {portal_origin}"
    ))
    .context("DOORSTEP_PORTAL_URL cannot go into a header")?;
    let client = reqwest::Client::builder()
        .timeout(settings.timeout)
        .user_agent(concat!("doorstep-sandbox-provider/", env!("CARGO_PKG_VERSION")))
        .build()
        .context("building the HTTP client for notifications")?;

    let (sandbox, queue) = Sandbox::new(url.clone());
    let sandbox = Arc::new(sandbox);
    let (shutdown, shutdown_rx) = watch::channel(false);
    let webhook_url = format!("{portal_url}{WEBHOOK_PATH}");
    let deliverer = deliver::Deliverer {
        sandbox: sandbox.clone(),
        client,
        url: webhook_url.clone(),
        secret: settings.secret.clone(),
        retry: settings.retry,
        shutdown: shutdown_rx.clone(),
    };
    let worker = tokio::spawn(deliver::run(deliverer, queue));
    let ctx = Arc::new(Ctx { sandbox: sandbox.clone(), secret: settings.secret, page_csp, webhook_url, portal_origin });
    let app = router(ctx);
    let mut stop = shutdown_rx;
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stop.wait_for(|s| *s).await;
            })
            .await
    });
    Ok(Running { addr, url, sandbox, shutdown, server, worker })
}

fn router(ctx: Arc<Ctx>) -> Router {
    Router::new()
        .route("/", get(page::landing))
        .route("/events", post(page::landing_payment))
        .route("/sandbox.css", get(page::stylesheet))
        .route("/pay/{session}", get(page::show).post(page::submit))
        .route("/healthz", get(api::healthz))
        .route("/api/sessions", post(api::create_session))
        .route("/api/events", post(api::create_event))
        .route("/api/payments/{id}", get(api::payment))
        .route("/api/end-of-day/{file}", get(api::end_of_day))
        .route("/api/faults", get(api::faults).post(api::arm_fault).delete(api::clear_faults))
        .fallback(api::not_found)
        .with_state(ctx)
        .layer(DefaultBodyLimit::max(64 * 1024))
        // Only the card page may be framed, and only by the portal: it sets its own policy.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; \
                 frame-ancestors 'none'",
            ),
        ))
        .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::overriding(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")))
        .layer(TraceLayer::new_for_http())
}

/// `doorstep sandbox-provider`: binds, says where it is, serves until Ctrl-C or SIGTERM.
pub async fn run(addr: SocketAddr, settings: Settings) -> anyhow::Result<()> {
    let listener = TcpListener::bind(addr).await.with_context(|| format!("cannot listen on {addr}"))?;
    let portal = settings.portal_url.clone();
    let development_secret = {
        use secrecy::ExposeSecret;
        settings.secret.expose_secret() == DEVELOPMENT_SECRET
    };
    let running = start(listener, settings).await?;
    println!("Sandbox payment provider on {} (notifications to {portal})", running.url());
    tracing::info!(addr = %running.addr(), url = running.url(), %portal, development_secret, "sandbox provider serving");
    crate::app::shutdown_signal().await;
    tracing::info!("sandbox provider stopping");
    running.stop().await
}
