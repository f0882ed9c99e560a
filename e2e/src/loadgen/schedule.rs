//! When each request is due. Integer arithmetic only, so that request `i` of a long run is
//! due at exactly `i / rate` seconds after the start, with no drift from adding up rounded
//! intervals.

use std::time::Duration;

use anyhow::{Result, bail};

/// Rates are held in thousandths of a request per second, so 0.5 req/s and 2,000 req/s are
/// both exact.
const MILLI: u128 = 1_000;
const NANOS_PER_SEC: u128 = 1_000_000_000;

/// A fixed-rate open-model schedule: request `i` is due at `offset(i)` after the start,
/// whatever happened to earlier requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    rate_milli: u128,
    len: u64,
}

impl Schedule {
    /// The schedule for `rate` requests per second over `span`.
    pub fn new(rate: f64, span: Duration) -> Result<Self> {
        if !rate.is_finite() || rate < 0.001 {
            bail!("rate must be at least 0.001 requests per second, got {rate}");
        }
        let rate_milli = (rate * MILLI as f64).round() as u128;
        // Number of `i` with offset(i) < span: i * 1e12 / rate_milli < span_ns.
        let len = (span.as_nanos() * rate_milli).div_ceil(NANOS_PER_SEC * MILLI);
        let len = u64::try_from(len).map_err(|_| anyhow::anyhow!("schedule too long"))?;
        Ok(Self { rate_milli, len })
    }

    /// How many requests the schedule holds.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The rate actually used, in requests per second (after rounding to 0.001).
    pub fn rate(&self) -> f64 {
        self.rate_milli as f64 / MILLI as f64
    }

    /// When request `i` is due, counted from the start of the schedule.
    pub fn offset(&self, i: u64) -> Duration {
        let nanos = u128::from(i) * NANOS_PER_SEC * MILLI / self.rate_milli;
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }

    /// How many of the first requests fall before `at` (the warm-up split).
    pub fn count_before(&self, at: Duration) -> u64 {
        let n = (at.as_nanos() * self.rate_milli).div_ceil(NANOS_PER_SEC * MILLI);
        u64::try_from(n).unwrap_or(u64::MAX).min(self.len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_are_exact_and_do_not_drift() {
        let s = Schedule::new(3.0, Duration::from_secs(1)).unwrap();
        assert_eq!(s.len(), 3);
        assert_eq!(s.offset(0), Duration::ZERO);
        assert_eq!(s.offset(1), Duration::from_nanos(333_333_333));
        assert_eq!(s.offset(2), Duration::from_nanos(666_666_666));
        // Summing the rounded 333_333_333 ns interval would give 999_999_999 here.
        assert_eq!(s.offset(3), Duration::from_secs(1));

        let s = Schedule::new(2_000.0, Duration::from_secs(20)).unwrap();
        assert_eq!(s.len(), 40_000);
        assert_eq!(s.offset(1), Duration::from_micros(500));
        assert_eq!(s.offset(39_999), Duration::from_micros(19_999_500));
        assert_eq!(s.offset(40_000), Duration::from_secs(20));
    }

    #[test]
    fn length_counts_every_request_due_inside_the_span() {
        // 7 req/s for 1 s: due at 0, 1/7, ... 6/7, all before 1 s.
        assert_eq!(Schedule::new(7.0, Duration::from_secs(1)).unwrap().len(), 7);
        // 2.5 req/s for 1 s: due at 0 and 0.4 and 0.8.
        assert_eq!(Schedule::new(2.5, Duration::from_secs(1)).unwrap().len(), 3);
        // A fraction of a second still gets the request due at 0.
        assert_eq!(Schedule::new(1.0, Duration::from_millis(1)).unwrap().len(), 1);
        assert_eq!(Schedule::new(1.0, Duration::ZERO).unwrap().len(), 0);
        for i in 0..3 {
            let s = Schedule::new(2.5, Duration::from_secs(1)).unwrap();
            assert!(s.offset(i) < Duration::from_secs(1));
        }
    }

    #[test]
    fn warmup_split() {
        let s = Schedule::new(10.0, Duration::from_secs(3)).unwrap();
        assert_eq!(s.len(), 30);
        // Requests 0..10 are due before 1 s; request 10 is due at exactly 1 s.
        assert_eq!(s.count_before(Duration::from_secs(1)), 10);
        assert_eq!(s.count_before(Duration::from_millis(1_050)), 11);
        assert_eq!(s.count_before(Duration::from_secs(99)), 30);
        assert_eq!(s.count_before(Duration::ZERO), 0);
    }

    #[test]
    fn refuses_nonsense_rates() {
        assert!(Schedule::new(0.0, Duration::from_secs(1)).is_err());
        assert!(Schedule::new(-5.0, Duration::from_secs(1)).is_err());
        assert!(Schedule::new(f64::NAN, Duration::from_secs(1)).is_err());
    }
}
