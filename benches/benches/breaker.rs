//! Circuit breakers in the closed state (every call succeeds): one thread, and two
//! threads hammering the same breakers; each with one breaker, and with four
//! breakers called in turn (a service has one per dependency, all called from the
//! same worker threads). Side by side: ours with a consecutive-failure rule and with
//! a 100-call failure-rate window, failsafe (consecutive failures, and its default
//! policy), recloser (its default: a 100-call ring buffer, rate 0.5).
//!
//! Run: `cargo bench -p retry-benches --bench breaker`; ratios (to recloser): `python3 benches/ratios.py`.

mod common;

use std::hint::black_box;
use std::sync::Barrier;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use failsafe::CircuitBreaker as _;
use retry::breaker::{CircuitBreaker, Window};

/// The protected call: as cheap as it gets, so the breaker's own cost shows.
#[inline(never)]
fn op(x: u64) -> Result<u64, ()> {
    Ok(black_box(x))
}

/// Every breaker under test, behind one call signature.
trait Breaker: Sync {
    fn pass(&self, x: u64) -> bool;
}

struct Ours(CircuitBreaker);
impl Breaker for Ours {
    #[inline]
    fn pass(&self, x: u64) -> bool {
        self.0.call(|| op(x)).is_ok()
    }
}

struct Failsafe<P: failsafe::FailurePolicy>(failsafe::StateMachine<P, ()>);
impl<P: failsafe::FailurePolicy + Send + Sync> Breaker for Failsafe<P> {
    #[inline]
    fn pass(&self, x: u64) -> bool {
        self.0.call(|| op(x)).is_ok()
    }
}

struct Recloser(recloser::Recloser);
impl Breaker for Recloser {
    #[inline]
    fn pass(&self, x: u64) -> bool {
        self.0.call(|| op(x)).is_ok()
    }
}

/// A fresh instance of every breaker under test.
fn breakers() -> Vec<(&'static str, Box<dyn Breaker>)> {
    let failsafe_consecutive = failsafe::failure_policy::consecutive_failures(
        5,
        failsafe::backoff::constant(Duration::from_secs(30)),
    );
    vec![
        ("retry_consecutive", Box::new(Ours(CircuitBreaker::new().with_consecutive_failures(5)))),
        (
            "retry_rate_window",
            Box::new(Ours(
                CircuitBreaker::new()
                    .with_consecutive_failures(0)
                    .with_failure_rate(0.5, Window::Calls(100))
                    .with_minimum_calls(100),
            )),
        ),
        (
            "failsafe_consecutive",
            Box::new(Failsafe(failsafe::Config::new().failure_policy(failsafe_consecutive).build())),
        ),
        ("failsafe_default", Box::new(Failsafe(failsafe::Config::new().build()))),
        ("recloser_default", Box::new(Recloser(recloser::Recloser::default()))),
    ]
}

/// `threads` threads make `iters` calls each, on the breakers in turn; returns the
/// time per call of the slowest thread divided by the calls of all, i.e. the
/// inverse throughput.
fn hammer(breakers: &[Box<dyn Breaker>], threads: usize, iters: u64) -> Duration {
    let barrier = Barrier::new(threads);
    let elapsed = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    barrier.wait();
                    let start = Instant::now();
                    for (i, breaker) in (0..iters).zip(breakers.iter().cycle()) {
                        black_box(breaker.pass(i));
                    }
                    start.elapsed()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).max().unwrap()
    });
    elapsed / threads as u32
}

/// Every kind of breaker, `n` instances of each.
fn instances(n: usize) -> Vec<(&'static str, Vec<Box<dyn Breaker>>)> {
    let mut kinds: Vec<(&'static str, Vec<Box<dyn Breaker>>)> =
        breakers().into_iter().map(|(name, one)| (name, vec![one])).collect();
    for _ in 1..n {
        for ((_, all), (_, one)) in kinds.iter_mut().zip(breakers()) {
            all.push(one);
        }
    }
    kinds
}

fn closed_state(c: &mut Criterion) {
    for (breakers, label) in [(1, "1_breaker"), (4, "4_breakers")] {
        let mut g = c.benchmark_group(format!("breaker_closed_1_thread_{label}"));
        for (name, all) in instances(breakers) {
            g.bench_function(name, |b| b.iter_custom(|iters| hammer(&all, 1, iters)));
        }
        g.finish();
        let mut g = c.benchmark_group(format!("breaker_closed_2_threads_{label}"));
        for (name, all) in instances(breakers) {
            g.bench_function(name, |b| b.iter_custom(|iters| hammer(&all, 2, iters)));
        }
        g.finish();
    }
}

criterion_group! { name = benches; config = common::config(30); targets = closed_state }
criterion_main!(benches);
