//! Fault injection: what happens to the next notifications. Faults count notifications (an
//! event, however many attempts its delivery takes), are decided when the event is made, and
//! combine in a fixed order: drop first (a dropped notification counts towards nothing
//! else), then duplicate and delay, then reorder.

use serde::{Deserialize, Serialize};

/// The most notifications one fault may cover.
pub const MAX_NEXT: u32 = 10_000;
/// The longest delay a fault may add (ten minutes).
pub const MAX_DELAY_MS: u64 = 600_000;

/// `POST /api/faults`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRequest {
    pub fault: String,
    pub next: Option<u32>,
    pub percent: Option<u32>,
    pub delay_ms: Option<u64>,
    /// Makes `percent` drops repeatable.
    pub seed: Option<u64>,
}

/// One armed fault, as `GET /api/faults` shows it: the same shape as the request that armed
/// it, with `next` counting down.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ArmedFault {
    pub fault: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub percent: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// For `reorder`: notifications held so far.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held: Option<usize>,
}

/// A bad fault request, naming the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultError {
    pub field: &'static str,
    pub message: String,
}

fn bad(field: &'static str, message: impl Into<String>) -> FaultError {
    FaultError { field, message: message.into() }
}

/// How one notification is to be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dispatch {
    pub event_id: String,
    /// 1, or 2 under `duplicate`.
    pub copies: u8,
    /// Extra wait before the first attempt, under `delay`.
    pub delay_ms: u64,
}

/// What to do with a new notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Never send it.
    Drop,
    /// Hold it for a reorder batch that is not full yet.
    Hold,
    /// Send these, in this order (one notification, or a released reorder batch).
    Send(Vec<Dispatch>),
}

#[derive(Debug)]
struct Countdown {
    remaining: u32,
}

#[derive(Debug)]
struct Delay {
    remaining: u32,
    ms: u64,
}

#[derive(Debug)]
struct Reorder {
    size: u32,
    held: Vec<Dispatch>,
}

#[derive(Debug)]
struct PercentDrop {
    percent: u32,
    seed: Option<u64>,
    rng: SplitMix64,
}

/// Everything armed.
#[derive(Debug, Default)]
pub struct Faults {
    drop: Option<Countdown>,
    duplicate: Option<Countdown>,
    delay: Option<Delay>,
    reorder: Option<Reorder>,
    percent: Option<PercentDrop>,
}

impl Faults {
    /// Arms a fault (replacing one of the same kind). Re-arming `reorder` first releases what
    /// the old one held, so nothing is lost; those come back to be sent.
    pub fn arm(&mut self, req: &FaultRequest) -> Result<Vec<Dispatch>, FaultError> {
        let next = match req.next {
            Some(0) => return Err(bad("next", "must be at least 1")),
            Some(n) if n > MAX_NEXT => return Err(bad("next", format!("must be at most {MAX_NEXT}"))),
            n => n,
        };
        let only = |allowed: &[&str]| -> Result<(), FaultError> {
            for (name, given) in [
                ("next", req.next.is_some()),
                ("percent", req.percent.is_some()),
                ("delay_ms", req.delay_ms.is_some()),
                ("seed", req.seed.is_some()),
            ] {
                if given && !allowed.contains(&name) {
                    return Err(bad(name, format!("does not apply to the {} fault", req.fault)));
                }
            }
            Ok(())
        };
        let need_next = || next.ok_or_else(|| bad("next", "is required: how many of the next notifications"));
        let mut released = Vec::new();
        match req.fault.as_str() {
            "drop" => match (next, req.percent) {
                (Some(_), Some(_)) => return Err(bad("percent", "give either next or percent, not both")),
                (Some(n), None) => {
                    only(&["next"])?;
                    self.drop = Some(Countdown { remaining: n });
                }
                (None, Some(p)) => {
                    only(&["percent", "seed"])?;
                    if !(1..=100).contains(&p) {
                        return Err(bad("percent", "must be a whole number from 1 to 100"));
                    }
                    let seed = req.seed;
                    let rng = SplitMix64::new(seed.unwrap_or_else(|| uuid::Uuid::new_v4().as_u64_pair().0));
                    self.percent = Some(PercentDrop { percent: p, seed, rng });
                }
                (None, None) => return Err(bad("next", "is required (or percent, for a share of all notifications)")),
            },
            "duplicate" => {
                only(&["next"])?;
                self.duplicate = Some(Countdown { remaining: need_next()? });
            }
            "delay" => {
                only(&["next", "delay_ms"])?;
                let n = need_next()?;
                let ms = match req.delay_ms {
                    None => return Err(bad("delay_ms", "is required for the delay fault")),
                    Some(0) => return Err(bad("delay_ms", "must be at least 1")),
                    Some(ms) if ms > MAX_DELAY_MS => {
                        return Err(bad("delay_ms", format!("must be at most {MAX_DELAY_MS}")));
                    }
                    Some(ms) => ms,
                };
                self.delay = Some(Delay { remaining: n, ms });
            }
            "reorder" => {
                only(&["next"])?;
                let n = need_next()?;
                if n < 2 {
                    return Err(bad("next", "must be at least 2 to reorder anything"));
                }
                if let Some(old) = self.reorder.take() {
                    released = reversed(old.held);
                }
                self.reorder = Some(Reorder { size: n, held: Vec::new() });
            }
            other => {
                return Err(bad("fault", format!("`{other}` is not a fault: use drop, duplicate, delay or reorder")));
            }
        }
        Ok(released)
    }

    /// Disarms everything and hands back what a reorder was holding, in reverse order as it
    /// would have been sent.
    pub fn clear(&mut self) -> Vec<Dispatch> {
        let held = self.reorder.take().map(|r| r.held).unwrap_or_default();
        *self = Faults::default();
        reversed(held)
    }

    /// Decides the fate of a new notification and counts it against what is armed.
    pub fn decide(&mut self, event_id: &str) -> Decision {
        if take_one(&mut self.drop) {
            return Decision::Drop;
        }
        if let Some(p) = &mut self.percent
            && p.rng.below(100) < u64::from(p.percent)
        {
            return Decision::Drop;
        }
        let copies = if take_one(&mut self.duplicate) { 2 } else { 1 };
        let delay_ms = match &mut self.delay {
            Some(d) if d.remaining > 0 => {
                d.remaining -= 1;
                let ms = d.ms;
                if d.remaining == 0 {
                    self.delay = None;
                }
                ms
            }
            _ => 0,
        };
        let dispatch = Dispatch { event_id: event_id.to_owned(), copies, delay_ms };
        let Some(reorder) = &mut self.reorder else {
            return Decision::Send(vec![dispatch]);
        };
        reorder.held.push(dispatch);
        if reorder.held.len() < reorder.size as usize {
            return Decision::Hold;
        }
        let held = std::mem::take(&mut reorder.held);
        self.reorder = None;
        Decision::Send(reversed(held))
    }

    /// What is armed, in a fixed order.
    pub fn armed(&self) -> Vec<ArmedFault> {
        let base = |fault| ArmedFault { fault, next: None, percent: None, delay_ms: None, seed: None, held: None };
        let mut out = Vec::new();
        if let Some(d) = &self.drop {
            out.push(ArmedFault { next: Some(d.remaining), ..base("drop") });
        }
        if let Some(p) = &self.percent {
            out.push(ArmedFault { percent: Some(p.percent), seed: p.seed, ..base("drop") });
        }
        if let Some(d) = &self.duplicate {
            out.push(ArmedFault { next: Some(d.remaining), ..base("duplicate") });
        }
        if let Some(d) = &self.delay {
            out.push(ArmedFault { next: Some(d.remaining), delay_ms: Some(d.ms), ..base("delay") });
        }
        if let Some(r) = &self.reorder {
            out.push(ArmedFault { next: Some(r.size), held: Some(r.held.len()), ..base("reorder") });
        }
        out
    }

    /// Event ids a reorder is holding.
    pub fn held(&self) -> impl Iterator<Item = &str> {
        self.reorder.iter().flat_map(|r| r.held.iter().map(|d| d.event_id.as_str()))
    }
}

fn take_one(slot: &mut Option<Countdown>) -> bool {
    let Some(c) = slot else { return false };
    c.remaining = c.remaining.saturating_sub(1);
    if c.remaining == 0 {
        *slot = None;
    }
    true
}

fn reversed(mut v: Vec<Dispatch>) -> Vec<Dispatch> {
    v.reverse();
    v
}

/// A small seedable generator (SplitMix64): enough to decide drops repeatably, and no
/// dependency for it.
#[derive(Debug)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (the modulo bias is far below anything a test could see).
    fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(fault: &str, next: Option<u32>) -> FaultRequest {
        FaultRequest { fault: fault.into(), next, percent: None, delay_ms: None, seed: None }
    }

    fn sent(d: Decision) -> Vec<String> {
        match d {
            Decision::Send(v) => v.into_iter().map(|d| d.event_id).collect(),
            other => panic!("expected Send, got {other:?}"),
        }
    }

    #[test]
    fn drop_next_two_then_normal() {
        let mut f = Faults::default();
        f.arm(&req("drop", Some(2))).unwrap();
        assert_eq!(f.decide("a"), Decision::Drop);
        assert_eq!(f.decide("b"), Decision::Drop);
        assert_eq!(sent(f.decide("c")), ["c"]);
        assert!(f.armed().is_empty());
    }

    #[test]
    fn reorder_holds_then_releases_reversed() {
        let mut f = Faults::default();
        f.arm(&req("reorder", Some(3))).unwrap();
        assert_eq!(f.decide("a"), Decision::Hold);
        assert_eq!(f.decide("b"), Decision::Hold);
        assert_eq!(f.armed()[0].held, Some(2));
        assert_eq!(sent(f.decide("c")), ["c", "b", "a"]);
        assert_eq!(sent(f.decide("d")), ["d"]);
    }

    #[test]
    fn clearing_releases_what_a_reorder_holds() {
        let mut f = Faults::default();
        f.arm(&req("reorder", Some(5))).unwrap();
        assert_eq!(f.decide("a"), Decision::Hold);
        assert_eq!(f.decide("b"), Decision::Hold);
        let released: Vec<_> = f.clear().into_iter().map(|d| d.event_id).collect();
        assert_eq!(released, ["b", "a"]);
        assert!(f.armed().is_empty());
    }

    #[test]
    fn a_dropped_notification_does_not_use_up_a_duplicate() {
        let mut f = Faults::default();
        f.arm(&req("drop", Some(1))).unwrap();
        f.arm(&req("duplicate", Some(1))).unwrap();
        assert_eq!(f.decide("a"), Decision::Drop);
        assert_eq!(f.decide("b"), Decision::Send(vec![Dispatch { event_id: "b".into(), copies: 2, delay_ms: 0 }]));
    }

    #[test]
    fn seeded_percent_drops_repeat_exactly() {
        let arm = || {
            let mut f = Faults::default();
            f.arm(&FaultRequest { percent: Some(50), seed: Some(7), ..req("drop", None) }).unwrap();
            (0..200).map(|i| f.decide(&i.to_string()) == Decision::Drop).collect::<Vec<_>>()
        };
        let first = arm();
        assert_eq!(first, arm());
        let dropped = first.iter().filter(|d| **d).count();
        assert!((70..=130).contains(&dropped), "{dropped} of 200 dropped at 50%");
    }

    #[test]
    fn bad_requests_name_the_field() {
        let mut f = Faults::default();
        assert_eq!(f.arm(&req("explode", Some(1))).unwrap_err().field, "fault");
        assert_eq!(f.arm(&req("drop", Some(0))).unwrap_err().field, "next");
        assert_eq!(f.arm(&req("duplicate", None)).unwrap_err().field, "next");
        assert_eq!(f.arm(&req("delay", Some(1))).unwrap_err().field, "delay_ms");
        let over = FaultRequest { percent: Some(101), ..req("drop", None) };
        assert_eq!(f.arm(&over).unwrap_err().field, "percent");
        let mixed = FaultRequest { delay_ms: Some(5), ..req("duplicate", Some(1)) };
        assert_eq!(f.arm(&mixed).unwrap_err().field, "delay_ms");
        assert!(f.armed().is_empty());
    }
}
