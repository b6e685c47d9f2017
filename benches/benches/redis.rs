//! The shared (Redis) breaker against the local one: the closed state's cost
//! per call (criterion), how long an opening takes to reach the other replicas
//! (p50/p99 over repeated openings of four replicas), and the Redis commands a
//! healthy breaker sends per 1,000 calls.
//!
//! Run: `cargo bench -p retry-benches --bench redis` (starts `redis-server` on a
//! free loopback port; without one on the PATH, only the local figures).

use std::hint::black_box;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group};
use retry::breaker::{CircuitBreaker, State, Window};
use retry::redis::{BreakerLink, RedisStore};

/// The protected call: as cheap as it gets, so the breaker's own cost shows.
#[inline(never)]
fn op(x: u64) -> Result<u64, ()> {
    Ok(black_box(x))
}

/// A `redis-server` on a free loopback port, stopped on drop.
struct Server(Child, u16);

impl Server {
    fn start() -> Option<Server> {
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).ok()?.port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
            .ok()?;
        let server = Server(child, port);
        let client = redis::Client::open(server.url()).ok()?;
        for _ in 0..500 {
            if client.get_connection().is_ok() {
                return Some(server);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.1)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn shared(store: &RedisStore, name: &str, breaker: CircuitBreaker) -> (Arc<CircuitBreaker>, BreakerLink) {
    let breaker = Arc::new(breaker);
    let link = store.share_breaker(name, breaker.clone()).expect("shared");
    let start = Instant::now();
    while !link.stats().shared && start.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(link.stats().shared, "Redis answers");
    (breaker, link)
}

fn closed_state(c: &mut Criterion) {
    let server = Server::start();
    let mut group = c.benchmark_group("redis_closed");
    let window = || CircuitBreaker::new().with_failure_rate(0.5, Window::Calls(100));
    let local = CircuitBreaker::new();
    group.bench_function("local", |b| b.iter(|| local.call(|| op(black_box(7))).is_ok()));
    let local_window = window();
    group.bench_function("local, rate window", |b| b.iter(|| local_window.call(|| op(black_box(7))).is_ok()));
    match &server {
        Some(server) => {
            let store = RedisStore::open(&server.url()).expect("a URL");
            let (breaker, _link) = shared(&store, "bench-closed", CircuitBreaker::new());
            group.bench_function("shared", |b| b.iter(|| breaker.call(|| op(black_box(7))).is_ok()));
            let (windowed, _link) = shared(&store, "bench-closed-window", window());
            group.bench_function("shared, rate window", |b| {
                b.iter(|| windowed.call(|| op(black_box(7))).is_ok())
            });
        }
        None => eprintln!("redis-server not on the PATH: no shared figure"),
    }
    group.finish();
}

/// Opens replica 0 of four, `trials` times; the delay until each other replica
/// is open (its transition listener's time).
fn propagation(server: &Server, trials: usize) -> Vec<Duration> {
    let store = RedisStore::open(&server.url()).expect("a URL");
    let base = Instant::now();
    let replicas: Vec<_> = (0..4)
        .map(|_| {
            let (breaker, link) = shared(
                &store,
                "bench-propagation",
                CircuitBreaker::new().with_consecutive_failures(1).with_open_for(Duration::from_secs(60)),
            );
            let seen = Arc::new(AtomicU64::new(0));
            let stamp = seen.clone();
            breaker.on_transition(move |t| {
                if t.to == State::Open {
                    stamp.store(base.elapsed().as_nanos() as u64, Ordering::SeqCst);
                }
            });
            (breaker, link, seen)
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let mut conn = redis::Client::open(server.url()).expect("a URL").get_connection().expect("a connection");
    let mut delays = Vec::new();
    for _ in 0..trials {
        // A fresh start: no state in Redis, every replica closed, and no poll
        // of the last trial still in flight to reopen one.
        redis::cmd("FLUSHALL").query::<()>(&mut conn).expect("FLUSHALL");
        std::thread::sleep(Duration::from_millis(50));
        for (breaker, _, _) in &replicas {
            breaker.reset();
        }
        std::thread::sleep(Duration::from_millis(20));
        assert!(replicas.iter().all(|(breaker, _, _)| breaker.state() == State::Closed));
        for (_, _, seen) in &replicas {
            seen.store(0, Ordering::SeqCst);
        }
        let opened = base.elapsed().as_nanos() as u64;
        let _ = replicas[0].0.call(|| Err::<(), _>(()));
        let start = Instant::now();
        while replicas[1..].iter().any(|(_, _, seen)| seen.load(Ordering::SeqCst) == 0)
            && start.elapsed() < Duration::from_secs(2)
        {
            std::thread::sleep(Duration::from_micros(100));
        }
        for (_, _, seen) in &replicas[1..] {
            let at = seen.load(Ordering::SeqCst);
            delays.push(if at == 0 {
                Duration::from_secs(2)
            } else {
                Duration::from_nanos(at.saturating_sub(opened))
            });
        }
    }
    delays.sort();
    delays
}

/// Commands a healthy shared breaker sends per 1,000 calls, at `rate` calls a second.
fn commands_per_1000(server: &Server, rate: u64) -> f64 {
    let store = RedisStore::open(&server.url()).expect("a URL");
    let (breaker, link) = shared(&store, &format!("bench-commands-{rate}"), CircuitBreaker::new());
    let calls = rate * 3;
    let before = link.stats().commands;
    let start = Instant::now();
    for i in 0..calls {
        let _ = breaker.call(|| op(i));
        let due = Duration::from_nanos(i * 1_000_000_000 / rate);
        if let Some(wait) = due.checked_sub(start.elapsed()) {
            std::thread::sleep(wait);
        }
    }
    (link.stats().commands - before) as f64 * 1000.0 / calls as f64
}

fn fleet_figures() {
    let Some(server) = Server::start() else {
        eprintln!("redis-server not on the PATH: no propagation or command figures");
        return;
    };
    let delays = propagation(&server, 100);
    let at = |q: f64| delays[((delays.len() - 1) as f64 * q) as usize];
    println!(
        "redis propagation, open -> seen open (4 replicas, {} samples): p50 {:?}, p99 {:?}, max {:?}",
        delays.len(),
        at(0.5),
        at(0.99),
        delays[delays.len() - 1]
    );
    for rate in [1_000, 10_000] {
        println!(
            "redis commands per 1,000 healthy calls at {rate} calls/s: {:.2}",
            commands_per_1000(&server, rate)
        );
    }
}

criterion_group!(benches, closed_state);

fn main() {
    benches();
    fleet_figures();
    Criterion::default().configure_from_args().final_summary();
}
