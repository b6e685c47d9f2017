//! The breaker under concurrency: `loom` model tests of the state machine (every
//! interleaving of a few threads), and a multi-thread stress test with invariant
//! checks. The model tests run in the ordinary `cargo test`: the state machine is
//! generic over its atomic word, so `loom`'s atomics plug in without `--cfg loom`.

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use retry::breaker::{Gate, State, Ticket, Word};

/// `loom`'s atomic as the gate's word.
#[derive(Debug)]
struct LoomWord(loom::sync::atomic::AtomicU64);

impl Word for LoomWord {
    fn new(value: u64) -> Self {
        LoomWord(loom::sync::atomic::AtomicU64::new(value))
    }
    fn load(&self, order: Ordering) -> u64 {
        self.0.load(order)
    }
    fn store(&self, value: u64, order: Ordering) {
        self.0.store(value, order)
    }
    fn compare_exchange(&self, current: u64, new: u64) -> Result<u64, u64> {
        self.0.compare_exchange(current, new, Ordering::AcqRel, Ordering::Acquire)
    }
}

/// Counts probes in flight per half-open generation, asserting the limit.
#[derive(Default)]
struct Probes(HashMap<u64, u32>);

impl Probes {
    fn enter(&mut self, ticket: Ticket, limit: u32) {
        if ticket.probe() {
            let n = self.0.entry(ticket.generation()).or_default();
            *n += 1;
            assert!(*n <= limit, "{n} probes in flight in generation {}, limit {limit}", ticket.generation());
        }
    }
    fn leave(&mut self, ticket: Ticket) {
        if ticket.probe() {
            *self.0.get_mut(&ticket.generation()).unwrap() -= 1;
        }
    }
}

/// Explores interleavings with at most two preemptions (loom's docs advise a bound
/// for three threads): enough to catch a lost update in any of the gate's CAS loops
/// (checked by replacing one with a plain store), and it keeps the suite fast.
fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(2);
    builder.check(f);
}

/// From half-open, three threads race for probes (limit 2) and finish them three
/// ways: success, failure (reopens), cancel. In-flight probes are counted per
/// generation with atomics and checked at every admission.
#[test]
fn loom_half_open_never_admits_more_than_its_probes() {
    const LIMIT: u32 = 2;
    model(|| {
        use loom::sync::Arc;
        use loom::sync::atomic::AtomicU32;
        let gate = Arc::new(Gate::<LoomWord>::new());
        gate.force(State::HalfOpen, 0);
        let in_flight: Arc<[AtomicU32; 8]> = Arc::new(std::array::from_fn(|_| AtomicU32::new(0)));
        let handles: Vec<_> = (0..3)
            .map(|thread| {
                let (gate, in_flight) = (gate.clone(), in_flight.clone());
                loom::thread::spawn(move || {
                    // A reopened breaker stays open: its time never comes.
                    let Some(ticket) = gate.acquire(LIMIT, || 0, || u64::MAX, |_| {}) else { return };
                    if !ticket.probe() {
                        return;
                    }
                    let slot = &in_flight[ticket.generation() as usize % 8];
                    let now = slot.fetch_add(1, Ordering::SeqCst) + 1;
                    assert!(now <= LIMIT, "{now} probes in flight, limit {LIMIT}");
                    slot.fetch_sub(1, Ordering::SeqCst);
                    match thread {
                        0 => drop(gate.probe_succeeded(ticket, LIMIT)),
                        1 => drop(gate.open(State::HalfOpen, ticket.generation(), 0)),
                        _ => gate.release(ticket),
                    }
                })
            })
            .collect();
        for handle in handles {
            handle.join().unwrap();
        }
        assert!(gate.probes_in_flight() <= LIMIT);
    });
}

/// Open with its time over: two threads race to move it to half-open; one wins,
/// both may then take one of the two probes, and no transition is lost.
#[test]
fn loom_open_to_half_open_race() {
    model(|| {
        use loom::sync::Arc;
        let gate = Arc::new(Gate::<LoomWord>::new());
        gate.force(State::Open, 0);
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let gate = gate.clone();
                loom::thread::spawn(move || {
                    let mut moved = 0;
                    let ticket = gate.acquire(2, || 0, || 0, |_| moved += 1);
                    (ticket.map(|t| t.probe()), moved)
                })
            })
            .collect();
        let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        assert_eq!(
            results.iter().map(|(_, moved)| moved).sum::<i32>(),
            1,
            "exactly one thread half-opens it"
        );
        assert!(results.iter().all(|(probe, _)| *probe == Some(true)), "both get a probe");
        assert_eq!(gate.probes_in_flight(), 2);
    });
}

/// Two failures racing to open a closed breaker: exactly one transition happens,
/// and a success from the older generation cannot close the new state.
#[test]
fn loom_concurrent_transitions_are_not_lost() {
    model(|| {
        use loom::sync::Arc;
        let gate = Arc::new(Gate::<LoomWord>::new());
        let opened = Arc::new(loom::sync::atomic::AtomicU32::new(0));
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let (gate, opened) = (gate.clone(), opened.clone());
                loom::thread::spawn(move || {
                    // Once the other thread has opened it (for ever), this one is rejected.
                    let Some(ticket) = gate.acquire(1, || 0, || u64::MAX, |_| {}) else { return };
                    if gate.open(State::Closed, ticket.generation(), 0).is_some() {
                        opened.fetch_add(1, Ordering::Relaxed);
                    }
                    // A stale probe outcome must change nothing.
                    assert!(gate.probe_succeeded(ticket, 1).is_none());
                })
            })
            .collect();
        for handle in handles {
            handle.join().unwrap();
        }
        assert_eq!(opened.load(Ordering::Relaxed), 1);
        assert_eq!(gate.state(), State::Open);
    });
}

/// Real threads hammering one gate: half-open probe counts checked on every admission.
#[test]
fn stress_probes_stay_within_the_limit() {
    use std::sync::atomic::AtomicU64;
    use std::sync::{Arc, Mutex};
    const LIMIT: u32 = 3;
    let gate = Arc::new(Gate::<AtomicU64>::new());
    let probes = Arc::new(Mutex::new(Probes::default()));
    let handles: Vec<_> = (0..8u64)
        .map(|thread| {
            let (gate, probes) = (gate.clone(), probes.clone());
            std::thread::spawn(move || {
                let mut seed = thread.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
                for i in 0..20_000u64 {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    // Open periods of 0 ms: every rejection races to half-open.
                    let Some(ticket) = gate.acquire(LIMIT, || i, || 0, |_| {}) else { continue };
                    probes.lock().unwrap().enter(ticket, LIMIT);
                    assert!(gate.probes_in_flight() <= LIMIT);
                    probes.lock().unwrap().leave(ticket);
                    match seed % 4 {
                        0 if ticket.probe() => drop(gate.open(State::HalfOpen, ticket.generation(), i)),
                        0 => drop(gate.open(State::Closed, ticket.generation(), i)),
                        1 if ticket.probe() => drop(gate.probe_succeeded(ticket, LIMIT)),
                        _ => gate.release(ticket),
                    }
                }
            })
        })
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }
    assert!(gate.probes_in_flight() <= LIMIT);
}

/// The whole breaker under 4 threads of random outcomes: nothing panics, no probe
/// slot leaks (it can still close), and the counters add up.
#[test]
fn stress_breaker_stays_consistent() {
    use retry::breaker::{CircuitBreaker, Window};
    use std::sync::Arc;
    let breaker = Arc::new(
        CircuitBreaker::new()
            .with_consecutive_failures(5)
            .with_failure_rate(0.5, Window::Calls(50))
            .with_open_for(std::time::Duration::ZERO)
            .with_half_open_probes(2),
    );
    let handles: Vec<_> = (0..4u64)
        .map(|thread| {
            let breaker = breaker.clone();
            std::thread::spawn(move || {
                let mut rejected = 0u64;
                for i in 0..20_000u64 {
                    let fail = (i * 7 + thread * 13) % 10 < 4;
                    match breaker.call(|| if fail { Err(i) } else { Ok(i) }) {
                        Err(e) if e.is_open() => rejected += 1,
                        _ => {}
                    }
                }
                rejected
            })
        })
        .collect();
    let rejected: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(breaker.stats().rejected, rejected);
    // Whatever state it ended in, successful probes close it: no slot was lost.
    for _ in 0..10 {
        let _ = breaker.call(|| Ok::<_, ()>(()));
    }
    assert_eq!(breaker.state(), State::Closed);
}

/// 8 threads calling 8 breakers in turn (a service's worker threads and its
/// dependencies): breakers whose every call fails open once and stay open,
/// healthy ones never open and fill their windows, and mixed ones stay
/// consistent (rejections add up; no probe slot is lost, so successes close them).
#[test]
fn stress_eight_threads_on_eight_breakers() {
    use retry::breaker::{CircuitBreaker, Window};
    use std::time::Duration;
    const HOUR: Duration = Duration::from_secs(3600);
    let breakers = [
        CircuitBreaker::new().with_consecutive_failures(5).with_open_for(HOUR),
        CircuitBreaker::new()
            .with_consecutive_failures(0)
            .with_failure_rate(0.5, Window::Calls(100))
            .with_minimum_calls(20)
            .with_open_for(HOUR),
        CircuitBreaker::new().with_failure_rate(0.5, Window::Calls(100)),
        CircuitBreaker::new().with_failure_rate(0.5, Window::Time(HOUR)),
        CircuitBreaker::new()
            .with_failure_rate(0.3, Window::Calls(64))
            .with_open_for(Duration::ZERO)
            .with_half_open_probes(2),
        CircuitBreaker::new()
            .with_failure_rate(0.3, Window::Time(Duration::from_millis(50)))
            .with_open_for(Duration::ZERO)
            .with_half_open_probes(3),
        CircuitBreaker::new().with_consecutive_failures(3).with_open_for(Duration::ZERO),
        CircuitBreaker::new()
            .with_consecutive_failures(0)
            .with_failure_rate(0.5, Window::Calls(10))
            .with_slow_calls(Duration::ZERO, 0.9)
            .with_open_for(Duration::ZERO),
    ];
    let fails = |breaker: usize, i: u64, thread: u64| match breaker {
        0 | 1 => true,
        2 | 3 => false,
        _ => (i * 7 + thread * 13 + breaker as u64) % 10 < 4,
    };
    let rejected: Vec<[u64; 8]> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8u64)
            .map(|thread| {
                let breakers = &breakers;
                scope.spawn(move || {
                    let mut rejected = [0u64; 8];
                    for i in 0..16_000u64 {
                        let b = (i as usize + thread as usize) % 8;
                        let fail = fails(b, i, thread);
                        match breakers[b].call(|| if fail { Err(i) } else { Ok(i) }) {
                            Err(e) if e.is_open() => rejected[b] += 1,
                            _ => {}
                        }
                    }
                    rejected
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (b, breaker) in breakers.iter().enumerate() {
        let stats = breaker.stats();
        assert_eq!(stats.rejected, rejected.iter().map(|r| r[b]).sum::<u64>(), "breaker {b}");
        let most = if matches!(b, 3 | 5) { u32::MAX } else { 100 };
        assert!(
            stats.window_calls <= most && (0.0..=1.0).contains(&stats.failure_rate),
            "breaker {b}: {stats:?}"
        );
        match b {
            0 | 1 => assert_eq!((stats.state, stats.opened), (State::Open, 1), "breaker {b}"),
            2 | 3 => assert_eq!(stats.opened, 0, "breaker {b}"),
            _ => {
                for _ in 0..10 {
                    let _ = breaker.call(|| Ok::<_, ()>(()));
                }
                // (Breaker 7 finds every call slow: its probes reopen it.)
                let closes = breaker.state() == State::Closed || b == 7;
                assert!(closes, "breaker {b}: {stats:?}");
            }
        }
    }
    assert_eq!(breakers[2].stats().window_calls, 100);
}
