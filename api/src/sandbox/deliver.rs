//! Delivering notifications to the portal over real HTTP. One worker takes jobs off the
//! queue in order and makes each first attempt before the next, so that notifications
//! queued in a given order (a released `reorder` batch) arrive in that order. A failed
//! attempt is retried later with exponential backoff; waits (retries, `delay` faults) happen
//! off the worker, so one slow notification does not hold the others back for long.

use std::sync::Arc;
use std::time::Duration;

use axum::http::header;
use secrecy::SecretString;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::state::{DeliveryState, Sandbox};
use crate::domain::payments::signature;

/// One attempt to make.
#[derive(Debug, Clone)]
pub struct Job {
    pub event_id: String,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// Not before this moment (a retry's backoff or a `delay` fault).
    pub not_before: Option<Instant>,
}

/// How failed attempts are retried: `base`, `2 × base`, `4 × base`, … up to `cap`, and at
/// most `max_attempts` attempts in all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub base: Duration,
    pub cap: Duration,
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { base: Duration::from_secs(1), cap: Duration::from_secs(60), max_attempts: 20 }
    }
}

impl RetryPolicy {
    /// The wait after attempt `failed` (1-based) failed.
    pub fn backoff(&self, failed: u32) -> Duration {
        let factor = 2u32.saturating_pow(failed.saturating_sub(1));
        self.base.saturating_mul(factor).min(self.cap)
    }
}

/// What the worker needs besides the queue.
pub(crate) struct Deliverer {
    pub sandbox: Arc<Sandbox>,
    pub client: reqwest::Client,
    /// `<portal>/api/v1/webhooks/sandbox`.
    pub url: String,
    pub secret: SecretString,
    pub retry: RetryPolicy,
    pub shutdown: watch::Receiver<bool>,
}

/// Works the queue until shutdown.
pub(crate) async fn run(d: Deliverer, mut queue: mpsc::UnboundedReceiver<Job>) {
    let mut shutdown = d.shutdown.clone();
    loop {
        let job = tokio::select! {
            job = queue.recv() => match job {
                Some(job) => job,
                None => return,
            },
            _ = shutdown.wait_for(|stop| *stop) => return,
        };
        match job.not_before {
            Some(at) if at > Instant::now() => d.later(job, at),
            _ => d.attempt(job).await,
        }
    }
}

impl Deliverer {
    /// Puts the job back on the queue at `at`, unless the sandbox stops first.
    fn later(&self, job: Job, at: Instant) {
        let sandbox = self.sandbox.clone();
        let mut shutdown = self.shutdown.clone();
        tokio::spawn(async move {
            tokio::select! {
                () = tokio::time::sleep_until(at) => sandbox.requeue(Job { not_before: None, ..job }),
                _ = shutdown.wait_for(|stop| *stop) => {}
            }
        });
    }

    async fn attempt(&self, job: Job) {
        let Some(body) = self.sandbox.body(&job.event_id) else { return };
        // Signed at each attempt: a retry an hour later must still be within the receiver's
        // clock tolerance.
        let signed = signature::sign_now(&self.secret, &body);
        let result = self
            .client
            .post(&self.url)
            .header(header::CONTENT_TYPE, "application/json")
            .header(signature::HEADER, signed)
            .body(body)
            .send()
            .await;
        let (outcome, delivered) = match result {
            Ok(response) => (response.status().as_u16().to_string(), response.status().is_success()),
            Err(e) if e.is_timeout() => ("timed out".to_owned(), false),
            Err(e) if e.is_connect() => ("could not connect".to_owned(), false),
            Err(e) => (format!("failed: {e}"), false),
        };
        let retry = !delivered && job.attempt < self.retry.max_attempts;
        if delivered {
            tracing::info!(event_id = %job.event_id, attempt = job.attempt, status = %outcome, "notification delivered");
        } else if retry {
            let wait = self.retry.backoff(job.attempt);
            tracing::warn!(
                event_id = %job.event_id,
                attempt = job.attempt,
                status = %outcome,
                retry_in_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                "notification not accepted; will retry"
            );
        } else {
            tracing::error!(event_id = %job.event_id, attempt = job.attempt, status = %outcome, "notification not accepted; giving up");
        }
        let next = if retry { DeliveryState::Retrying } else { DeliveryState::GaveUp };
        self.sandbox.record_attempt(&job.event_id, &outcome, delivered, next);
        if retry {
            let at = Instant::now() + self.retry.backoff(job.attempt);
            self.later(Job { event_id: job.event_id, attempt: job.attempt + 1, not_before: Some(at) }, at);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_one_second_and_stops_at_a_minute() {
        let p = RetryPolicy::default();
        let secs: Vec<u64> = (1..=9).map(|n| p.backoff(n).as_secs()).collect();
        assert_eq!(secs, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(p.backoff(u32::MAX), Duration::from_secs(60));
    }

    #[test]
    fn a_small_base_shortens_every_step() {
        let p = RetryPolicy { base: Duration::from_millis(10), ..RetryPolicy::default() };
        assert_eq!(p.backoff(1), Duration::from_millis(10));
        assert_eq!(p.backoff(3), Duration::from_millis(40));
    }
}
