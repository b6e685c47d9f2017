//! Hedged requests: a service that is usually fast and sometimes very slow; with
//! `#[hedge]`, a slow call gets a second copy after the delay and the first answer
//! wins. Runs 200 calls each way and prints the latencies.
//!
//! Run with `cargo run -p examples --example hedging`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use retry::hedge;

static REQUESTS: AtomicU64 = AtomicU64::new(0);

/// 95%: 2 ms; 5%: 200 ms (every 20th request).
async fn lookup(key: u64) -> Result<u64, ()> {
    let n = REQUESTS.fetch_add(1, Ordering::SeqCst);
    let took = if n % 20 == 7 { 200 } else { 2 };
    tokio::time::sleep(Duration::from_millis(took)).await;
    Ok(key * 2)
}

#[hedge(n = 2, delay = 10ms)]
async fn hedged_lookup(key: u64) -> Result<u64, ()> {
    lookup(key).await
}

async fn run<F: Future<Output = Result<u64, ()>>>(label: &str, call: impl Fn(u64) -> F) {
    REQUESTS.store(0, Ordering::SeqCst);
    let mut latencies = Vec::new();
    for key in 0..200 {
        let start = Instant::now();
        call(key).await.unwrap();
        latencies.push(start.elapsed());
    }
    latencies.sort();
    let at = |q: f64| latencies[((q * latencies.len() as f64) as usize).min(latencies.len() - 1)];
    println!(
        "{label:>10}: p50 {:>6.1?}  p99 {:>6.1?}  max {:>6.1?}  requests {}",
        at(0.5),
        at(0.99),
        latencies[latencies.len() - 1],
        REQUESTS.load(Ordering::SeqCst)
    );
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    run("plain", lookup).await;
    run("hedged", hedged_lookup).await;
}
