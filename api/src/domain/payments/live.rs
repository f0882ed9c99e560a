//! Live updates: "this account changed" and "this payment changed", fanned out to every open
//! subscription on every API node.
//!
//! On PostgreSQL a node announces its changes after they commit: a notifier task batches
//! them (everything that arrived while the last `pg_notify` was under way, up to a payload
//! of about 7 kB) and sends one NOTIFY per batch on a connection of its own; every node's
//! listener rebroadcasts what it hears in-process. The NOTIFY is deliberately not part of the
//! posting transaction: PostgreSQL serialises the commits of all transactions that NOTIFY
//! (a cluster-wide lock taken in `PreCommit_Notify`), which measured at a quarter of the
//! durable notifications per second. The price is that a node killed between a commit and
//! its NOTIFY leaves open screens one update behind until the account's next change.
//! On SQLite (one process) the writer broadcasts in-process after the commit. Subscribers
//! re-read the state from the database, so a message carries only ids, never money or
//! personal data.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sea_orm::{DatabaseConnection, DbBackend};
use tokio::sync::{broadcast, mpsc};

/// The PostgreSQL channel name.
pub const CHANNEL: &str = "doorstep_live";
/// Largest NOTIFY payload we send (PostgreSQL's limit is 8000 bytes).
const MAX_PAYLOAD: usize = 7000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// An account's balance moved; `version` is its new version.
    Account { account_id: i64, version: i64 },
    /// A payment intent's status changed.
    Payment { public_id: String },
}

impl Change {
    fn encode(&self) -> String {
        match self {
            Change::Account { account_id, version } => format!("a:{account_id}:{version}"),
            Change::Payment { public_id } => format!("p:{public_id}"),
        }
    }

    fn decode(s: &str) -> Option<Change> {
        let (tag, rest) = s.split_once(':')?;
        match tag {
            "a" => {
                let (id, version) = rest.split_once(':')?;
                Some(Change::Account { account_id: id.parse().ok()?, version: version.parse().ok()? })
            }
            "p" if !rest.is_empty() => Some(Change::Payment { public_id: rest.to_owned() }),
            _ => None,
        }
    }
}

/// The in-process side of the fan-out. Cheap to clone.
#[derive(Clone)]
pub struct LiveBus {
    tx: broadcast::Sender<Change>,
    /// PostgreSQL delivers through NOTIFY and the listener; SQLite broadcasts directly.
    via_postgres: bool,
    /// The notifier's queue, once [`LiveBus::start`] has run (PostgreSQL).
    outgoing: std::sync::Arc<std::sync::OnceLock<mpsc::UnboundedSender<Change>>>,
    /// Changes handed to the notifier, and changes it has sent (or given up on): a
    /// short-lived process waits for the two to meet before it exits.
    queued: std::sync::Arc<AtomicU64>,
    sent: std::sync::Arc<AtomicU64>,
}

/// Several changes in one NOTIFY payload.
fn encode_batch(changes: &[Change]) -> String {
    changes.iter().map(Change::encode).collect::<Vec<_>>().join(";")
}

fn decode_batch(payload: &str) -> impl Iterator<Item = Change> + '_ {
    payload.split(';').filter_map(Change::decode)
}

impl std::fmt::Debug for LiveBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveBus").field("via_postgres", &self.via_postgres).finish()
    }
}

impl LiveBus {
    pub fn new(backend: DbBackend) -> LiveBus {
        let (tx, _) = broadcast::channel(4096);
        LiveBus {
            tx,
            via_postgres: backend == DbBackend::Postgres,
            outgoing: Default::default(),
            queued: Default::default(),
            sent: Default::default(),
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.tx.subscribe()
    }

    /// After the commit: on SQLite, tell this process's subscribers; on PostgreSQL, hand the
    /// changes to the notifier (if this process started one) for every node.
    pub fn after_commit(&self, changes: impl IntoIterator<Item = Change>) {
        if self.via_postgres {
            if let Some(out) = self.outgoing.get() {
                for c in changes {
                    self.queued.fetch_add(1, Ordering::SeqCst);
                    if out.send(c).is_err() {
                        self.sent.fetch_add(1, Ordering::SeqCst);
                    }
                }
            }
        } else {
            for c in changes {
                // No subscribers is fine.
                let _ = self.tx.send(c);
            }
        }
    }

    /// On PostgreSQL: starts the notifier and the listener (see the module comment).
    /// Nothing to start on SQLite.
    pub fn start(&self, db: &DatabaseConnection) {
        if self.start_notifier(db) {
            self.spawn_listener(db);
        }
    }

    /// On PostgreSQL: starts only the notifier, for a process that changes accounts but has
    /// no subscribers of its own (`doorstep reconcile`); see [`LiveBus::flush`]. Returns
    /// whether it started one now.
    pub fn start_notifier(&self, db: &DatabaseConnection) -> bool {
        if !self.via_postgres {
            return false;
        }
        let (out, mut queue) = mpsc::unbounded_channel::<Change>();
        if self.outgoing.set(out).is_err() {
            return false;
        }
        let pool = db.get_postgres_connection_pool().clone();
        let sent = self.sent.clone();
        tokio::spawn(async move {
            let mut batch = Vec::new();
            while let Some(first) = queue.recv().await {
                batch.clear();
                batch.push(first);
                let mut size = 0;
                while size < MAX_PAYLOAD {
                    match queue.try_recv() {
                        Ok(c) => {
                            size += 24;
                            batch.push(c);
                        }
                        Err(_) => break,
                    }
                }
                for chunk in batch.chunks(MAX_PAYLOAD / 32) {
                    let payload = encode_batch(chunk);
                    if let Err(e) =
                        sqlx::query("SELECT pg_notify($1, $2)").bind(CHANNEL).bind(&payload).execute(&pool).await
                    {
                        tracing::warn!(error = %e, changes = chunk.len(), "live updates: NOTIFY failed; open screens catch up on the next change");
                    }
                    sent.fetch_add(chunk.len() as u64, Ordering::SeqCst);
                }
            }
        });
        true
    }

    /// Waits (up to `limit`) until the notifier has sent everything handed to it so far.
    /// Returns whether it has.
    pub async fn flush(&self, limit: Duration) -> bool {
        let until = tokio::time::Instant::now() + limit;
        loop {
            if self.sent.load(Ordering::SeqCst) >= self.queued.load(Ordering::SeqCst) {
                return true;
            }
            if tokio::time::Instant::now() >= until {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Listens for NOTIFY and rebroadcasts in this process, reconnecting after a lost
    /// connection.
    fn spawn_listener(&self, db: &DatabaseConnection) {
        let pool = db.get_postgres_connection_pool().clone();
        let tx = self.tx.clone();
        tokio::spawn(async move {
            loop {
                match sqlx::postgres::PgListener::connect_with(&pool).await {
                    Ok(mut listener) => {
                        if let Err(e) = listener.listen(CHANNEL).await {
                            tracing::warn!(error = %e, "live updates: LISTEN failed");
                        } else {
                            tracing::info!("live updates: listening on PostgreSQL");
                            loop {
                                match listener.recv().await {
                                    Ok(n) => {
                                        for c in decode_batch(n.payload()) {
                                            let _ = tx.send(c);
                                        }
                                    }
                                    Err(e) => {
                                        tracing::warn!(error = %e, "live updates: listener lost its connection");
                                        break;
                                    }
                                }
                            }
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "live updates: cannot connect a listener"),
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_round_trip_through_the_notify_payload() {
        for c in [Change::Account { account_id: 42, version: 7 }, Change::Payment { public_id: "pi_abc:def".into() }] {
            assert_eq!(Change::decode(&c.encode()), Some(c));
        }
        assert_eq!(Change::decode("x:1"), None);
        let batch = [Change::Account { account_id: 1, version: 2 }, Change::Payment { public_id: "pi_x".into() }];
        assert_eq!(decode_batch(&encode_batch(&batch)).collect::<Vec<_>>(), batch.to_vec());
        assert_eq!(Change::decode("a:one:2"), None);
    }
}
