//! Tail latency under hedging, simulated in virtual time (tokio's paused clock):
//! a service whose requests take ~10 ms 98% of the time and ~1 s otherwise (seeded,
//! so every run prints the same table), called 20,000 times in a row by each
//! strategy: no hedging, `tower::hedge` (one hedge at its latency percentile), and
//! ours with `n = 2` and `n = 3`, fixed and percentile delays.
//!
//! Run: `cargo run --release -p retry-benches --bin hedge_sim`. Prints a Markdown table.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use retry::{Hedging, Latencies};
use tokio::time::{Instant, sleep};
use tower::{Service, ServiceExt};

const CALLS: usize = 20_000;
const SEED: u64 = 0x5EED_1234_ABCD_0001;

/// The simulated service: every request (first copy or hedge) draws its own latency.
#[derive(Default)]
struct Sim {
    draws: AtomicU64,
}

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

impl Sim {
    /// 98%: 8–12 ms; 2%: 0.9–1.1 s.
    fn latency(&self) -> Duration {
        let i = self.draws.fetch_add(1, Ordering::Relaxed);
        let r = splitmix(SEED ^ i);
        let unit = (r >> 11) as f64 / (1u64 << 53) as f64;
        let jitter = ((r & 0x3FF) as f64) / 1024.0; // independent low bits
        if unit < 0.02 {
            Duration::from_micros(900_000 + (jitter * 200_000.0) as u64)
        } else {
            Duration::from_micros(8_000 + (jitter * 4_000.0) as u64)
        }
    }

    async fn request(&self) -> Result<u32, std::io::Error> {
        sleep(self.latency()).await;
        Ok(0)
    }
}

struct Report {
    name: String,
    p50: Duration,
    p99: Duration,
    p999: Duration,
    p9999: Duration,
    max: Duration,
    extra: f64,
}

fn report(name: &str, mut latencies: Vec<Duration>, requests: u64) -> Report {
    latencies.sort();
    let at = |q: f64| latencies[((q * latencies.len() as f64).ceil() as usize).clamp(1, latencies.len()) - 1];
    Report {
        name: name.to_string(),
        p50: at(0.50),
        p99: at(0.99),
        p999: at(0.999),
        p9999: at(0.9999),
        max: *latencies.last().unwrap(),
        extra: (requests as f64 - CALLS as f64) / CALLS as f64,
    }
}

/// Calls `call` `CALLS` times in a row; returns the latencies and the requests made.
async fn drive<F, Fut>(sim: &Sim, mut call: F) -> (Vec<Duration>, u64)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    let mut latencies = Vec::with_capacity(CALLS);
    for _ in 0..CALLS {
        let start = Instant::now();
        call().await;
        latencies.push(start.elapsed());
    }
    (latencies, sim.draws.load(Ordering::Relaxed))
}

#[derive(Clone)]
struct AlwaysHedge;

impl tower::hedge::Policy<()> for AlwaysHedge {
    fn clone_request(&self, _: &()) -> Option<()> {
        Some(())
    }
    fn can_retry(&self, _: &()) -> bool {
        true
    }
}

async fn ours(name: &str, n: u32, delay: Option<Duration>) -> Report {
    let sim = Sim::default();
    // One tracker per strategy, as `#[hedge]` keeps one per fn.
    let latencies = Latencies::new();
    let (lat, requests) = drive(&sim, || async {
        let hedging = Hedging::new(n);
        let out = match delay {
            Some(delay) => hedging.delay(delay).call(|| sim.request()).await,
            None => hedging.delay_percentile(&latencies).call(|| sim.request()).await,
        };
        out.unwrap();
    })
    .await;
    report(name, lat, requests)
}

async fn run() -> Vec<Report> {
    let mut reports = Vec::new();

    let sim = Sim::default();
    let (lat, requests) = drive(&sim, || async {
        sim.request().await.unwrap();
    })
    .await;
    reports.push(report("no hedging", lat, requests));

    let sim = Arc::new(Sim::default());
    let inner = {
        let sim = sim.clone();
        tower::service_fn(move |()| {
            let sim = sim.clone();
            async move { sim.request().await }
        })
    };
    // tower's own defaults for the comparison: p95, 20 data points, 10 s period.
    let mut hedged = tower::hedge::Hedge::new(inner, AlwaysHedge, 20, 0.95, Duration::from_secs(10));
    let mut lat = Vec::with_capacity(CALLS);
    for _ in 0..CALLS {
        let start = Instant::now();
        hedged.ready().await.unwrap().call(()).await.unwrap();
        lat.push(start.elapsed());
    }
    let requests = sim.draws.load(Ordering::Relaxed);
    reports.push(report("tower::hedge, p95", lat, requests));

    reports.push(ours("retry, n = 2, percentile(0.95)", 2, None).await);
    reports.push(ours("retry, n = 3, percentile(0.95)", 3, None).await);
    reports.push(ours("retry, n = 2, fixed 15 ms", 2, Some(Duration::from_millis(15))).await);
    reports.push(ours("retry, n = 3, fixed 15 ms", 3, Some(Duration::from_millis(15))).await);
    reports
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap();
    let reports = rt.block_on(run());
    let base = reports[0].p999;
    println!("| strategy | p50 | p99 | p99.9 | p99.99 | max | p99.9 vs none | extra requests |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for r in &reports {
        println!(
            "| {} | {:.0} ms | {:.0} ms | {:.0} ms | {:.0} ms | {:.0} ms | {:.1}× lower | {:.2}% |",
            r.name,
            r.p50.as_secs_f64() * 1e3,
            r.p99.as_secs_f64() * 1e3,
            r.p999.as_secs_f64() * 1e3,
            r.p9999.as_secs_f64() * 1e3,
            r.max.as_secs_f64() * 1e3,
            base.as_secs_f64() / r.p999.as_secs_f64(),
            r.extra * 100.0,
        );
    }
}
