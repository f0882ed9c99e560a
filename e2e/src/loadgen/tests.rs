//! The generator against small HTTP servers on loopback whose behaviour is known, so the
//! figures it reports can be checked against what really happened.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::Url;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::*;

#[derive(Clone, Copy)]
enum Behaviour {
    /// Answer each request after this delay, concurrently.
    Delay(Duration),
    /// Answer one request at a time, each taking this long (a server with capacity 1/d).
    Serial(Duration),
    /// Never answer.
    Hang,
}

/// A keep-alive HTTP/1.1 server that records when each request arrived.
async fn server(behaviour: Behaviour) -> (Url, Arc<Mutex<Vec<Instant>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = Url::parse(&format!("http://{}/x", listener.local_addr().unwrap())).unwrap();
    let arrivals = Arc::new(Mutex::new(Vec::new()));
    let serial = Arc::new(tokio::sync::Mutex::new(()));
    let log = Arc::clone(&arrivals);
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let log = Arc::clone(&log);
            let serial = Arc::clone(&serial);
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    // Requests here are GETs without a body: one ends at the blank line.
                    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                        match sock.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let end = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
                    buf.drain(..end);
                    log.lock().unwrap().push(Instant::now());
                    match behaviour {
                        Behaviour::Delay(d) => tokio::time::sleep(d).await,
                        Behaviour::Serial(d) => {
                            let _one = serial.lock().await;
                            tokio::time::sleep(d).await;
                        }
                        Behaviour::Hang => std::future::pending::<()>().await,
                    }
                    let reply = b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n\r\nok";
                    if sock.write_all(reply).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (url, arrivals)
}

fn cfg(rate: f64, duration_ms: u64, warmup_ms: u64, connections: usize, timeout_ms: u64) -> Config {
    Config {
        rate,
        duration: Duration::from_millis(duration_ms),
        warmup: Duration::from_millis(warmup_ms),
        connections,
        timeout: Duration::from_millis(timeout_ms),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paces_requests_on_schedule_and_counts_every_one() {
    let (url, arrivals) = server(Behaviour::Delay(Duration::ZERO)).await;
    let began = Instant::now();
    let r = run(&cfg(200.0, 1_000, 250, 8, 2_000), Arc::new(Rotation::get(vec![url]))).await.unwrap();
    let took = began.elapsed();

    assert_eq!(r.warmup.scheduled, 50);
    assert_eq!(r.measured.scheduled, 200);
    assert_eq!(r.measured.finished, 200);
    assert_eq!(r.measured.ok, 200, "{r:#?}");
    assert_eq!(r.measured.errors.total, 0);
    assert_eq!(r.measured.latency_ms.count, 200);
    assert!((180.0..=220.0).contains(&r.measured.achieved_rate), "achieved {}", r.measured.achieved_rate);
    assert!(r.measured.latency_ms.p50 < 50.0, "p50 {}", r.measured.latency_ms.p50);
    // Open model: the 250 requests were spread over 1.25 s, not fired as fast as possible.
    let arrivals = arrivals.lock().unwrap();
    assert_eq!(arrivals.len(), 250);
    let spread = *arrivals.last().unwrap() - arrivals[0];
    assert!(spread >= Duration::from_millis(1_200), "arrivals spread over {spread:?}");
    assert!(took < Duration::from_secs(4), "run took {took:?}");
}

/// The server can do 20 requests a second; we ask for 40 a second over one connection.
/// Request k is due at 25k ms and finishes at about 50(k+1) ms, so the corrected latency
/// grows to about a second while each request's own service time stays at 50 ms. A
/// closed-model tool would report the 50 ms.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overload_shows_in_corrected_latency_and_nothing_is_dropped() {
    let (url, _) = server(Behaviour::Serial(Duration::from_millis(50))).await;
    let r = run(&cfg(40.0, 1_000, 0, 1, 10_000), Arc::new(Rotation::get(vec![url]))).await.unwrap();
    let m = &r.measured;
    assert_eq!(m.scheduled, 40);
    assert_eq!(m.finished, 40);
    assert_eq!(m.ok, 40, "{r:#?}");
    assert!(m.latency_ms.p99 > 850.0, "corrected p99 {}", m.latency_ms.p99);
    assert!(m.latency_ms.p50 > 400.0, "corrected p50 {}", m.latency_ms.p50);
    assert!(m.service_time_ms.p99 < 150.0, "uncorrected p99 {}", m.service_time_ms.p99);
    assert!(m.service_time_ms.p50 >= 49.0, "uncorrected p50 {}", m.service_time_ms.p50);
    // Nearly every request had to wait for the one connection.
    assert!(m.queued_over_1ms >= 35, "queued {}", m.queued_over_1ms);
    // It kept sending on schedule: the server, not the generator, was the bottleneck.
    assert!((15.0..=25.0).contains(&m.achieved_rate), "achieved {}", m.achieved_rate);
    // The scheduler was not held back by the slow answers: one that waited for them would
    // fall about a second behind. (A few ms of lag on a machine busy with other work is the
    // OS, and still counts in the latency.)
    assert!(r.dispatch.lag_ms.max < 50.0, "{:?}", r.dispatch);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_server_gives_timeouts_and_the_run_still_ends() {
    let (url, _) = server(Behaviour::Hang).await;
    let began = Instant::now();
    let r = run(&cfg(20.0, 500, 0, 4, 300), Arc::new(Rotation::get(vec![url]))).await.unwrap();
    let m = &r.measured;
    assert_eq!(m.scheduled, 10);
    assert_eq!(m.errors.timeout, 10, "{r:#?}");
    assert_eq!(m.ok, 0);
    // Timeouts count in the latency tail at the time they gave up.
    assert_eq!(m.latency_ms.count, 10);
    assert!(m.latency_ms.p50 >= 299.0, "p50 {}", m.latency_ms.p50);
    assert!(began.elapsed() < Duration::from_secs(3), "took {:?}", began.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_refused_is_counted_as_connect_errors() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = Url::parse(&format!("http://127.0.0.1:{port}/")).unwrap();
    let r = run(&cfg(50.0, 200, 0, 4, 1_000), Arc::new(Rotation::get(vec![url]))).await.unwrap();
    assert_eq!(r.measured.scheduled, 10);
    assert_eq!(r.measured.errors.connect, 10, "{r:#?}");
    assert_eq!(r.measured.latency_ms.count, 0);
}

#[tokio::test]
async fn refuses_remote_targets_and_silly_sizes_before_sending() {
    let remote = Arc::new(Rotation::get(vec![Url::parse("http://192.0.2.1/").unwrap()]));
    let err = run(&cfg(10.0, 100, 0, 1, 100), remote).await.unwrap_err();
    assert!(err.to_string().contains("loopback"), "{err}");

    let local = || Arc::new(Rotation::get(vec![Url::parse("http://127.0.0.1:9/").unwrap()]));
    assert!(run(&cfg(100_000.0, 200_000, 0, 1, 100), local()).await.is_err(), "too many requests");
    assert!(run(&cfg(10.0, 100, 0, 0, 100), local()).await.is_err(), "no connections");
    assert!(run(&cfg(1.0, 3_700_000, 0, 1, 100), local()).await.is_err(), "too long");
}
