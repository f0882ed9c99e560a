//! Prometheus text exposition for request counts and latencies. Small on purpose: a handful
//! of counters and one histogram, labelled by route template (never by raw path, so ids
//! don't explode the series).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

const BUCKETS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];

#[derive(Default)]
struct Series {
    count: u64,
    sum_seconds: f64,
    buckets: [u64; BUCKETS.len()],
}

#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    latency: Mutex<BTreeMap<(String, String), Series>>,
    counters: Mutex<BTreeMap<String, u64>>,
    started: Option<Instant>,
}

impl Metrics {
    pub fn new() -> Self {
        Metrics { started: Some(Instant::now()), ..Default::default() }
    }

    pub fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        if let Ok(mut r) = self.requests.lock() {
            *r.entry((method.to_owned(), route.to_owned(), status)).or_default() += 1;
        }
        if let Ok(mut l) = self.latency.lock() {
            let s = l.entry((method.to_owned(), route.to_owned())).or_default();
            s.count += 1;
            s.sum_seconds += seconds;
            for (i, b) in BUCKETS.iter().enumerate() {
                if seconds <= *b {
                    s.buckets[i] += 1;
                }
            }
        }
    }

    /// Adds to a named counter, e.g. `doorstep_ledger_entries_posted_total`.
    pub fn incr(&self, name: &str, by: u64) {
        if let Ok(mut c) = self.counters.lock() {
            *c.entry(name.to_owned()).or_default() += by;
        }
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP doorstep_up Whether the process is serving.\n# TYPE doorstep_up gauge\ndoorstep_up 1"
        );
        if let Some(started) = self.started {
            let _ = writeln!(
                out,
                "# HELP doorstep_uptime_seconds Seconds since the process started.\n# TYPE doorstep_uptime_seconds gauge\ndoorstep_uptime_seconds {:.3}",
                started.elapsed().as_secs_f64()
            );
        }
        let _ = writeln!(
            out,
            "# HELP doorstep_http_requests_total HTTP requests by method, route and status.\n# TYPE doorstep_http_requests_total counter"
        );
        if let Ok(r) = self.requests.lock() {
            for ((method, route, status), n) in r.iter() {
                let _ = writeln!(
                    out,
                    "doorstep_http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {n}",
                    escape(route)
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP doorstep_http_request_duration_seconds Time to answer, by method and route.\n# TYPE doorstep_http_request_duration_seconds histogram"
        );
        if let Ok(l) = self.latency.lock() {
            for ((method, route), s) in l.iter() {
                let route = escape(route);
                for (i, b) in BUCKETS.iter().enumerate() {
                    let _ = writeln!(
                        out,
                        "doorstep_http_request_duration_seconds_bucket{{method=\"{method}\",route=\"{route}\",le=\"{b}\"}} {}",
                        s.buckets[i]
                    );
                }
                let _ = writeln!(
                    out,
                    "doorstep_http_request_duration_seconds_bucket{{method=\"{method}\",route=\"{route}\",le=\"+Inf\"}} {}",
                    s.count
                );
                let _ = writeln!(
                    out,
                    "doorstep_http_request_duration_seconds_sum{{method=\"{method}\",route=\"{route}\"}} {:.6}",
                    s.sum_seconds
                );
                let _ = writeln!(
                    out,
                    "doorstep_http_request_duration_seconds_count{{method=\"{method}\",route=\"{route}\"}} {}",
                    s.count
                );
            }
        }
        if let Ok(c) = self.counters.lock() {
            for (name, n) in c.iter() {
                let _ = writeln!(out, "# TYPE {name} counter\n{name} {n}");
            }
        }
        out
    }
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// Middleware: time every request and count it under its route template.
pub async fn track(State(metrics): State<std::sync::Arc<Metrics>>, request: Request, next: Next) -> Response {
    let method = request.method().as_str().to_owned();
    let route = request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned()).unwrap_or_else(|| {
        if request.uri().path().starts_with("/api/") { "unmatched".into() } else { "static".into() }
    });
    let start = Instant::now();
    let response = next.run(request).await;
    metrics.observe(&method, &route, response.status().as_u16(), start.elapsed().as_secs_f64());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counts_and_cumulative_buckets() {
        let m = Metrics::new();
        m.observe("GET", "/api/v1/organisations/{slug}", 200, 0.003);
        m.observe("GET", "/api/v1/organisations/{slug}", 404, 0.2);
        let text = m.render();
        assert!(text.contains(
            "doorstep_http_requests_total{method=\"GET\",route=\"/api/v1/organisations/{slug}\",status=\"404\"} 1"
        ));
        assert!(text.contains("le=\"0.005\"} 1"), "{text}");
        assert!(text.contains("le=\"0.25\"} 2"), "{text}");
        assert!(text.contains("_count{method=\"GET\",route=\"/api/v1/organisations/{slug}\"} 2"));
    }
}
