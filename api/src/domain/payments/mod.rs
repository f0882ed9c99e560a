//! Payments: intents created in the portal, signed notifications from providers posted to
//! the ledger exactly once, live updates, the outbox to the housing management system.

pub mod event_grid;
pub mod govuk_pay;
pub mod ingest;
pub mod intents;
pub mod live;
pub mod model;
pub mod provider;
pub mod relay;
pub mod sandbox;
pub mod signature;

pub use ingest::{IngestError, Outcome, ingest};
pub use live::{Change, LiveBus};
pub use model::{Notice, NoticeKind};
pub use provider::{Inbound, Provider, Providers, WebhookError};
