//! Three replicas of a service share one circuit breaker through Redis, against
//! a dependency that fails for a while and then recovers. The timeline shows who
//! opened it, when the others saw it open, the probes admitted across the fleet,
//! and the fleet closing together.
//!
//! `cargo run -p examples --example fleet` starts a `redis-server` on a free
//! loopback port if one is on the PATH (or uses `REDIS_URL`).

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use retry::breaker::{CircuitBreaker, State};
use retry::redis::RedisStore;

/// A `redis-server` of our own, stopped on drop.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A Redis URL: `REDIS_URL`, or a server started here.
fn redis() -> Option<(String, Option<Server>)> {
    if let Ok(url) = std::env::var("REDIS_URL") {
        return Some((url, None));
    }
    let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).ok()?.port();
    let child = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
        .stdout(Stdio::null())
        .spawn()
        .ok()?;
    let server = Server(child);
    // Ready when it accepts a connection.
    for _ in 0..500 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Some((format!("redis://127.0.0.1:{port}/"), Some(server)));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    None
}

fn main() {
    let Some((url, _server)) = redis() else {
        println!("No redis-server on the PATH and no REDIS_URL: install Redis to run this example.");
        return;
    };
    let start = Instant::now();
    let stamp = move || format!("{:>5} ms", start.elapsed().as_millis());
    // The dependency fails for its first 1.2 s, then recovers.
    let healthy_at = start + Duration::from_millis(1200);
    let dependency =
        move || if Instant::now() < healthy_at { Err("503 from the dependency") } else { Ok("200") };

    let store = RedisStore::open(&url).expect("a valid URL").with_namespace("fleet-example");
    let replicas: Vec<_> = ["A", "B", "C"]
        .into_iter()
        .map(|name| {
            let breaker = Arc::new(
                CircuitBreaker::new()
                    .with_consecutive_failures(3)
                    .with_open_for(Duration::from_millis(500))
                    .with_half_open_probes(1),
            );
            breaker
                .on_transition(move |t| println!("{} replica {name}: {:?} -> {:?}", stamp(), t.from, t.to));
            let link = store.share_breaker("payments", breaker.clone()).expect("shared");
            (name, breaker, link)
        })
        .collect();
    while !replicas.iter().all(|(_, _, link)| link.stats().shared) {
        std::thread::sleep(Duration::from_millis(10));
    }
    println!("{} three replicas share the breaker `payments` through {url}", stamp());

    std::thread::scope(|scope| {
        for (i, (name, breaker, _)) in replicas.iter().enumerate() {
            scope.spawn(move || {
                // Replica A is the busiest: it meets the failures first.
                let every = Duration::from_millis(5 + 20 * i as u64);
                let mut rejected = 0u32;
                while start.elapsed() < Duration::from_millis(2500) {
                    let probing = breaker.state() != State::Closed;
                    match breaker.call(dependency) {
                        Ok(_) if probing => println!("{} replica {name}: probe admitted, succeeded", stamp()),
                        Err(e) if probing && !e.is_open() => {
                            println!("{} replica {name}: probe admitted, failed", stamp())
                        }
                        Err(e) if e.is_open() => rejected += 1,
                        _ => {}
                    }
                    std::thread::sleep(every);
                }
                println!(
                    "{} replica {name}: {rejected} calls rejected without reaching the dependency",
                    stamp()
                );
            });
        }
    });
    for (name, _, link) in &replicas {
        println!("replica {name}: {:?}", link.stats());
    }
}
