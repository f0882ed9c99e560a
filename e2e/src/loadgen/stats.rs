//! Outcomes of requests and the figures made from them.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

/// Histograms hold microseconds from 1 µs to 10 minutes at 3 significant figures
/// (values are exact to 0.1%).
const HIST_MAX_US: u64 = 600_000_000;

/// How one request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An HTTP answer arrived in full; the status code.
    Status(u16),
    /// No answer within the timeout, counted from the request's scheduled send time.
    Timeout,
    /// The TCP connection could not be made.
    Connect,
    /// Anything else: reset connection, malformed answer, body cut short.
    Other,
}

/// One finished request.
#[derive(Debug, Clone, Copy)]
pub struct Outcome {
    pub kind: Kind,
    /// From the scheduled send time to the end of the answer (coordinated-omission corrected).
    pub latency: Duration,
    /// From the moment the request was actually handed to the connection to the end of the
    /// answer; `None` if it never got that far (timed out while waiting for a connection).
    pub service: Option<Duration>,
    /// From the scheduled send time to when the request got a connection slot.
    pub queued: Duration,
}

/// Running totals for one phase (warm-up or measurement).
#[derive(Debug, Clone)]
pub struct Stats {
    latency: Histogram<u64>,
    service: Histogram<u64>,
    ok: u64,
    status: BTreeMap<u16, u64>,
    timeout: u64,
    connect: u64,
    other: u64,
    queued_over_1ms: u64,
    max_queued: Duration,
}

impl Default for Stats {
    fn default() -> Self {
        Self::new()
    }
}

impl Stats {
    pub fn new() -> Self {
        let hist = || Histogram::new_with_bounds(1, HIST_MAX_US, 3).expect("constant bounds are valid");
        Self {
            latency: hist(),
            service: hist(),
            ok: 0,
            status: BTreeMap::new(),
            timeout: 0,
            connect: 0,
            other: 0,
            queued_over_1ms: 0,
            max_queued: Duration::ZERO,
        }
    }

    /// Adds one outcome.
    ///
    /// The latency histogram takes every request that got an HTTP answer (any status) or
    /// timed out (at the time it gave up, so timeouts push the tail up instead of vanishing),
    /// like wrk2. Connect and other transport errors have no meaningful latency and are only
    /// counted.
    pub fn record(&mut self, o: &Outcome) {
        let us = |d: Duration| u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1);
        match o.kind {
            Kind::Status(code) => {
                if (200..300).contains(&code) {
                    self.ok += 1;
                } else {
                    *self.status.entry(code).or_default() += 1;
                }
                self.latency.saturating_record(us(o.latency));
                if let Some(s) = o.service {
                    self.service.saturating_record(us(s));
                }
            }
            Kind::Timeout => {
                self.timeout += 1;
                self.latency.saturating_record(us(o.latency));
            }
            Kind::Connect => self.connect += 1,
            Kind::Other => self.other += 1,
        }
        if o.queued > Duration::from_millis(1) {
            self.queued_over_1ms += 1;
        }
        self.max_queued = self.max_queued.max(o.queued);
    }

    /// Requests accounted for so far, whatever their outcome.
    pub fn finished(&self) -> u64 {
        self.ok + self.non_2xx() + self.timeout + self.connect + self.other
    }

    fn non_2xx(&self) -> u64 {
        self.status.values().sum()
    }

    /// The figures for this phase; `window` is from the phase's first scheduled send to its
    /// last answer, used for the achieved rate.
    pub fn summary(&self, scheduled: u64, window: Duration) -> PhaseReport {
        let answered = self.ok + self.non_2xx();
        let secs = window.as_secs_f64();
        let per_sec = |n: u64| if secs > 0.0 { n as f64 / secs } else { 0.0 };
        PhaseReport {
            scheduled,
            finished: self.finished(),
            ok: self.ok,
            answered,
            window_s: secs,
            achieved_rate: per_sec(answered),
            ok_rate: per_sec(self.ok),
            latency_ms: Percentiles::of(&self.latency),
            service_time_ms: Percentiles::of(&self.service),
            errors: Errors {
                total: self.non_2xx() + self.timeout + self.connect + self.other,
                non_2xx: self.non_2xx(),
                by_status: self.status.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
                timeout: self.timeout,
                connect: self.connect,
                other: self.other,
            },
            queued_over_1ms: self.queued_over_1ms,
            max_queued_ms: self.max_queued.as_secs_f64() * 1e3,
        }
    }
}

/// Latency figures in milliseconds.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Percentiles {
    pub count: u64,
    pub min: f64,
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p99_9: f64,
    pub max: f64,
}

impl Percentiles {
    pub fn of(h: &Histogram<u64>) -> Self {
        let ms = |us: u64| us as f64 / 1e3;
        if h.is_empty() {
            return Self { count: 0, min: 0.0, mean: 0.0, p50: 0.0, p90: 0.0, p99: 0.0, p99_9: 0.0, max: 0.0 };
        }
        Self {
            count: h.len(),
            min: ms(h.min()),
            mean: h.mean() / 1e3,
            p50: ms(h.value_at_quantile(0.50)),
            p90: ms(h.value_at_quantile(0.90)),
            p99: ms(h.value_at_quantile(0.99)),
            p99_9: ms(h.value_at_quantile(0.999)),
            max: ms(h.max()),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Errors {
    pub total: u64,
    pub non_2xx: u64,
    pub by_status: BTreeMap<String, u64>,
    pub timeout: u64,
    pub connect: u64,
    pub other: u64,
}

/// What one phase of a run measured.
#[derive(Debug, Clone, Serialize)]
pub struct PhaseReport {
    /// Requests the schedule held for this phase; every one of them was sent or accounted for.
    pub scheduled: u64,
    /// Requests with a known outcome; equals `scheduled` at the end of a run.
    pub finished: u64,
    pub ok: u64,
    /// Requests that got an HTTP answer of any status.
    pub answered: u64,
    pub window_s: f64,
    /// Answers per second over the window (first scheduled send to last answer).
    pub achieved_rate: f64,
    pub ok_rate: f64,
    /// From each request's scheduled send time (coordinated-omission corrected).
    pub latency_ms: Percentiles,
    /// From each request's actual send (what a closed-model tool would report).
    pub service_time_ms: Percentiles,
    pub errors: Errors,
    /// Requests sent more than 1 ms after their scheduled time: waiting for a connection slot
    /// (the generator's own concurrency limit) or for CPU (the scheduler thread or the
    /// runtime not being run in time). Their wait counts in `latency_ms`.
    pub queued_over_1ms: u64,
    pub max_queued_ms: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(code: u16, latency_ms: u64) -> Outcome {
        Outcome {
            kind: Kind::Status(code),
            latency: Duration::from_millis(latency_ms),
            service: Some(Duration::from_millis(latency_ms)),
            queued: Duration::ZERO,
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= b.abs() * 0.002
    }

    #[test]
    fn percentiles_of_a_known_distribution() {
        let mut s = Stats::new();
        for ms in 1..=1_000 {
            s.record(&answer(200, ms));
        }
        let r = s.summary(1_000, Duration::from_secs(10));
        let l = r.latency_ms;
        assert_eq!(l.count, 1_000);
        assert!(close(l.p50, 500.0), "p50 {}", l.p50);
        assert!(close(l.p90, 900.0), "p90 {}", l.p90);
        assert!(close(l.p99, 990.0), "p99 {}", l.p99);
        assert!(close(l.p99_9, 999.0), "p99.9 {}", l.p99_9);
        assert!(close(l.max, 1_000.0), "max {}", l.max);
        assert!(close(l.mean, 500.5), "mean {}", l.mean);
        assert!(close(r.achieved_rate, 100.0));
    }

    /// A server that answers in 1 ms but stalls for 2 s in the middle of a 10 s run at
    /// 100 req/s. Measured from the scheduled send time, the 200 requests due during the stall
    /// waited between 0 and 2 s; measured from the actual send (what a closed-loop client sees
    /// once its connection frees up), only one slow request shows. This is the difference the
    /// generator exists to get right.
    #[test]
    fn a_stall_shows_in_corrected_latency() {
        let mut s = Stats::new();
        let (stall_start, stall_end) = (5_000u64, 7_000u64);
        let mut first_in_stall = true;
        for i in 0..1_000u64 {
            let due = i * 10; // ms
            let done = if (stall_start..stall_end).contains(&due) { stall_end + 1 } else { due + 1 };
            let service = if (stall_start..stall_end).contains(&due) && first_in_stall {
                first_in_stall = false;
                done - due
            } else {
                1
            };
            s.record(&Outcome {
                kind: Kind::Status(200),
                latency: Duration::from_millis(done - due),
                service: Some(Duration::from_millis(service)),
                queued: Duration::ZERO,
            });
        }
        let r = s.summary(1_000, Duration::from_secs(10));
        assert!(close(r.latency_ms.p50, 1.0), "p50 {}", r.latency_ms.p50);
        // 20% of requests were due in the stall: p90 is in its middle, p99 near its start.
        assert!((900.0..=1_100.0).contains(&r.latency_ms.p90), "p90 {}", r.latency_ms.p90);
        assert!((1_850.0..=2_010.0).contains(&r.latency_ms.p99), "p99 {}", r.latency_ms.p99);
        assert!(close(r.service_time_ms.p99, 1.0), "uncorrected p99 {}", r.service_time_ms.p99);
    }

    #[test]
    fn errors_are_counted_by_kind_and_timeouts_weigh_on_the_tail() {
        let mut s = Stats::new();
        for _ in 0..90 {
            s.record(&answer(200, 1));
        }
        for _ in 0..5 {
            s.record(&answer(503, 1));
        }
        s.record(&answer(404, 1));
        for _ in 0..2 {
            s.record(&Outcome {
                kind: Kind::Timeout,
                latency: Duration::from_secs(5),
                service: None,
                queued: Duration::from_secs(5),
            });
        }
        s.record(&Outcome { kind: Kind::Connect, latency: Duration::ZERO, service: None, queued: Duration::ZERO });
        s.record(&Outcome { kind: Kind::Other, latency: Duration::ZERO, service: None, queued: Duration::ZERO });
        let r = s.summary(100, Duration::from_secs(1));
        assert_eq!(r.finished, 100);
        assert_eq!(r.ok, 90);
        assert_eq!(r.answered, 96);
        assert_eq!(r.errors.total, 10);
        assert_eq!(r.errors.non_2xx, 6);
        assert_eq!(r.errors.by_status.get("503"), Some(&5));
        assert_eq!(r.errors.by_status.get("404"), Some(&1));
        assert_eq!((r.errors.timeout, r.errors.connect, r.errors.other), (2, 1, 1));
        // 96 answers + 2 timeouts in the latency histogram; the timeouts are its tail.
        assert_eq!(r.latency_ms.count, 98);
        assert!(close(r.latency_ms.max, 5_000.0));
        assert!(close(r.latency_ms.p99, 5_000.0));
        assert_eq!(r.service_time_ms.count, 96);
        assert_eq!(r.queued_over_1ms, 2);
    }
}
