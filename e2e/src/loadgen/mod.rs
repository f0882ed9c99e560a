//! Open-model HTTP load generation with coordinated-omission-corrected latency.
//!
//! Request `i` is due at `start + i / rate`, whatever happened to the requests before it
//! (open model: users keep arriving while the server is slow). A scheduler thread sleeps
//! until each due time (`std::thread::sleep`, about 50–100 µs precise on Linux; tokio's timer
//! wheel has 1 ms ticks) and hands the request to the async runtime. Latency is measured from
//! the due time to the end of the answer, so time spent waiting because the server (or the
//! generator's own connection limit) fell behind is counted, not hidden, as wrk2 and
//! `oha --latency-correction` do. The uncorrected time from the actual send is reported beside
//! it, so the size of the correction is visible.
//!
//! At most `connections` requests are in flight (one HTTP/1.1 connection each); a request
//! that finds them all busy waits for one, and that wait counts in its latency. Every
//! request has a deadline of its due time plus `timeout`; after it, it counts as a timeout
//! at the time it gave up. So a run ends at most `timeout` after its last due time, and every
//! scheduled request is accounted for exactly once.

mod schedule;
mod stats;
mod target;
#[cfg(test)]
mod tests;

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use hdrhistogram::Histogram;
use serde::Serialize;
use tokio::sync::{Semaphore, mpsc};

pub use schedule::Schedule;
pub use stats::{Errors, Kind, Outcome, Percentiles, PhaseReport, Stats};
pub use target::{RequestSource, Rotation, ensure_loopback, parse_url_list};

/// Hard limits so that a typo cannot turn a benchmark into a day-long flood.
pub const MAX_REQUESTS: u64 = 10_000_000;
pub const MAX_SPAN: Duration = Duration::from_secs(3_600);
pub const MAX_CONNECTIONS: usize = 10_000;

/// The first request is due this long after the run starts, so that setting up does not
/// make it late.
const LEAD_IN: Duration = Duration::from_millis(20);

#[derive(Debug, Clone)]
pub struct Config {
    /// Requests per second.
    pub rate: f64,
    /// Measured span.
    pub duration: Duration,
    /// Span before it at the same rate whose results are reported apart and not in the figures.
    pub warmup: Duration,
    /// Most requests in flight at once (and most open connections).
    pub connections: usize,
    /// Per request, from its due time.
    pub timeout: Duration,
}

impl Config {
    fn schedule(&self) -> Result<Schedule> {
        if self.connections == 0 || self.connections > MAX_CONNECTIONS {
            bail!("connections must be between 1 and {MAX_CONNECTIONS}");
        }
        if self.duration.is_zero() {
            bail!("duration must be more than zero");
        }
        if self.timeout.is_zero() {
            bail!("timeout must be more than zero");
        }
        let span = self.warmup + self.duration;
        if span > MAX_SPAN {
            bail!("warm-up plus duration is {span:?}, more than the {MAX_SPAN:?} limit");
        }
        let schedule = Schedule::new(self.rate, span)?;
        if schedule.len() > MAX_REQUESTS {
            bail!("{} requests scheduled, more than the {MAX_REQUESTS} limit", schedule.len());
        }
        Ok(schedule)
    }
}

/// How closely the scheduler thread kept to the due times.
#[derive(Debug, Clone, Serialize)]
pub struct DispatchReport {
    /// Requests handed to the runtime more than 1 ms after they were due.
    pub late_over_1ms: u64,
    pub lag_ms: Percentiles,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub target: String,
    pub urls: usize,
    pub rate: f64,
    pub duration_s: f64,
    pub warmup_s: f64,
    pub connections: usize,
    pub timeout_s: f64,
    /// The figures: only requests due after the warm-up.
    pub measured: PhaseReport,
    pub warmup: PhaseReport,
    pub dispatch: DispatchReport,
}

impl Report {
    /// A few lines for a person.
    pub fn render(&self) -> String {
        let m = &self.measured;
        let p = |x: &Percentiles| {
            format!(
                "p50 {:>8.3}  p90 {:>8.3}  p99 {:>8.3}  p99.9 {:>8.3}  max {:>8.3} ms",
                x.p50, x.p90, x.p99, x.p99_9, x.max
            )
        };
        let by_status = if m.errors.by_status.is_empty() {
            String::new()
        } else {
            let parts: Vec<_> = m.errors.by_status.iter().map(|(k, v)| format!("{k}: {v}")).collect();
            format!(" ({})", parts.join(", "))
        };
        format!(
            "loadgen: {}\n\
             \x20 open model: {} req/s for {:.1} s after {:.1} s warm-up; at most {} in flight; timeout {:.1} s\n\
             \x20 requests : {} scheduled, {} finished, {} answered, {} 2xx; achieved {:.1} req/s ({:.1} 2xx/s)\n\
             \x20 latency  : {}   (from scheduled send: corrected)\n\
             \x20 service  : {}   (from actual send: uncorrected)\n\
             \x20 errors   : {} total: non-2xx {}{}, timeout {}, connect {}, other {}\n\
             \x20 lateness : {} sent > 1 ms after due (max {:.1} ms; waiting for a connection or for CPU); scheduler {} > 1 ms late (max {:.3} ms)\n\
             \x20 warm-up  : {} scheduled, {} 2xx, {} errors, p99 {:.3} ms",
            self.target,
            self.rate,
            self.duration_s,
            self.warmup_s,
            self.connections,
            self.timeout_s,
            m.scheduled,
            m.finished,
            m.answered,
            m.ok,
            m.achieved_rate,
            m.ok_rate,
            p(&m.latency_ms),
            p(&m.service_time_ms),
            m.errors.total,
            m.errors.non_2xx,
            by_status,
            m.errors.timeout,
            m.errors.connect,
            m.errors.other,
            m.queued_over_1ms,
            m.max_queued_ms,
            self.dispatch.late_over_1ms,
            self.dispatch.lag_ms.max,
            self.warmup.scheduled,
            self.warmup.ok,
            self.warmup.errors.total,
            self.warmup.latency_ms.p99,
        )
    }
}

/// Runs the load and returns the figures. Refuses targets that are not loopback addresses.
pub async fn run(cfg: &Config, source: Arc<dyn RequestSource>) -> Result<Report> {
    let schedule = cfg.schedule()?;
    let urls = source.urls();
    if urls.is_empty() {
        bail!("no URLs to send to");
    }
    for url in &urls {
        ensure_loopback(url).await?;
    }
    let client = reqwest::Client::builder()
        .no_proxy()
        // A redirect could lead off this machine; a 3xx is counted as a non-2xx instead.
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(cfg.connections)
        .tcp_nodelay(true)
        .connect_timeout(cfg.timeout)
        .build()
        .context("building the HTTP client")?;

    let warm_n = schedule.count_before(cfg.warmup);
    let total = schedule.len();
    let in_flight = Arc::new(Semaphore::new(cfg.connections));
    let (tx, mut rx) = mpsc::unbounded_channel::<(usize, Outcome)>();
    let start = Instant::now() + LEAD_IN;
    let timeout = cfg.timeout;
    let runtime = tokio::runtime::Handle::current();

    let scheduler = tokio::task::spawn_blocking(move || {
        let mut lag = Histogram::<u64>::new_with_bounds(1, 600_000_000, 3).expect("constant bounds are valid");
        let mut late = 0u64;
        for seq in 0..total {
            let due = start + schedule.offset(seq);
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
            let behind = Instant::now().saturating_duration_since(due);
            lag.saturating_record(u64::try_from(behind.as_micros()).unwrap_or(u64::MAX).max(1));
            if behind > Duration::from_millis(1) {
                late += 1;
            }
            let phase = usize::from(seq >= warm_n);
            runtime.spawn(one_request(
                seq,
                due,
                due + timeout,
                phase,
                client.clone(),
                Arc::clone(&source),
                Arc::clone(&in_flight),
                tx.clone(),
            ));
        }
        // `tx` drops here; the channel closes when the last request reports.
        DispatchReport { late_over_1ms: late, lag_ms: Percentiles::of(&lag) }
    });

    let mut stats = [Stats::new(), Stats::new()];
    let mut last_done = [start, start];
    // Every request reports by its deadline; this one only guards against a bug here.
    let hard_stop = start + schedule.offset(total) + timeout + Duration::from_secs(10);
    loop {
        match tokio::time::timeout_at(hard_stop.into(), rx.recv()).await {
            Ok(Some((phase, outcome))) => {
                stats[phase].record(&outcome);
                last_done[phase] = Instant::now();
            }
            Ok(None) => break,
            Err(_) => {
                eprintln!("loadgen: gave up waiting; unfinished requests are missing from the counts");
                break;
            }
        }
    }
    let dispatch = scheduler.await.context("scheduler thread")?;

    let warm_start = start;
    let measure_start = start + schedule.offset(warm_n);
    let measured = stats[1].summary(total - warm_n, last_done[1].saturating_duration_since(measure_start));
    let warmup = stats[0].summary(warm_n, last_done[0].saturating_duration_since(warm_start));
    Ok(Report {
        target: urls_description(&urls),
        urls: urls.len(),
        rate: schedule.rate(),
        duration_s: cfg.duration.as_secs_f64(),
        warmup_s: cfg.warmup.as_secs_f64(),
        connections: cfg.connections,
        timeout_s: cfg.timeout.as_secs_f64(),
        measured,
        warmup,
        dispatch,
    })
}

fn urls_description(urls: &[reqwest::Url]) -> String {
    match urls {
        [one] => one.to_string(),
        [first, ..] => format!("{} URLs in rotation, first {first}", urls.len()),
        [] => String::new(),
    }
}

#[expect(clippy::too_many_arguments, reason = "one spawned task's captured state, in one place")]
async fn one_request(
    seq: u64,
    due: Instant,
    deadline: Instant,
    phase: usize,
    client: reqwest::Client,
    source: Arc<dyn RequestSource>,
    in_flight: Arc<Semaphore>,
    tx: mpsc::UnboundedSender<(usize, Outcome)>,
) {
    let sent_at = OnceLock::new();
    let attempt = async {
        // The semaphore is never closed, so this only waits.
        let _slot = in_flight.acquire().await;
        let _ = sent_at.set(Instant::now());
        match source.request(&client, seq).send().await {
            Ok(resp) => {
                let status = resp.status().as_u16();
                // Read the whole body: the answer is not finished until it has arrived.
                match resp.bytes().await {
                    Ok(_) => Kind::Status(status),
                    Err(e) => classify(&e),
                }
            }
            Err(e) => classify(&e),
        }
    };
    let result = tokio::time::timeout_at(deadline.into(), attempt).await;
    let done = Instant::now();
    let sent = sent_at.get().copied();
    let outcome = Outcome {
        kind: *result.as_ref().unwrap_or(&Kind::Timeout),
        latency: done.saturating_duration_since(due),
        service: if result.is_ok() { sent.map(|s| done.saturating_duration_since(s)) } else { None },
        queued: sent.unwrap_or(done).saturating_duration_since(due),
    };
    // The receiver only goes away after a bug already reported above.
    let _ = tx.send((phase, outcome));
}

fn classify(e: &reqwest::Error) -> Kind {
    if e.is_timeout() {
        Kind::Timeout
    } else if e.is_connect() {
        Kind::Connect
    } else {
        Kind::Other
    }
}
