//! Metrics through the `metrics` facade, served in Prometheus text format by
//! `metrics-exporter-prometheus` on loopback, then scraped and printed.
//!
//! Run with `cargo run -p examples --example metrics`.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};

use metrics_exporter_prometheus::PrometheusBuilder;
use retry::{CircuitBreaker, CircuitOpen, retry};

#[derive(Debug)]
enum Error {
    Flaky,
    Open,
}

impl From<CircuitOpen> for Error {
    fn from(_: CircuitOpen) -> Self {
        Error::Open
    }
}

static INVENTORY: CircuitBreaker = CircuitBreaker::new().with_consecutive_failures(5).with_name("inventory");
static CALLS: AtomicU32 = AtomicU32::new(0);

/// Fails every other attempt.
#[retry(stop = attempts(3), wait = fixed(1ms), breaker = INVENTORY, name = "inventory::reserve")]
async fn reserve(item: u32) -> Result<u32, Error> {
    if CALLS.fetch_add(1, Ordering::SeqCst).is_multiple_of(2) { Err(Error::Flaky) } else { Ok(item) }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Port 0 is not accepted by the exporter: bind one first to get a free port.
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    PrometheusBuilder::new().with_http_listener(address).install()?;

    for item in 0..20 {
        let _ = reserve(item).await;
    }

    let scrape = reqwest::get(format!("http://{address}/metrics")).await?.text().await?;
    println!("GET http://{address}/metrics\n");
    for line in scrape.lines().filter(|l| l.starts_with("retry_") && !l.contains("quantile")) {
        println!("{line}");
    }
    assert!(scrape.contains("retry_attempts_total{name=\"inventory::reserve\"}"));
    let _ = Error::Open;
    Ok(())
}
