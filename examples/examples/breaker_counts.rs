//! A retried error is not always the dependency's fault. Serializable
//! transactions that lose a write conflict are worth retrying, but a conflict
//! says the rows are contended, not that the database is down. Counted against
//! the breaker, contention alone would open it and reject transfers while the
//! database is healthy; `breaker_counts` says which errors mean "unhealthy".
//!
//! Run with `cargo run -p examples --example breaker_counts`.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use retry::{CircuitBreaker, CircuitOpen, retry};

#[derive(Debug)]
enum TxError {
    /// SQLSTATE 40001: another transaction won; run this one again.
    SerializationFailure,
    /// The database is unreachable.
    Unavailable,
}

impl From<CircuitOpen> for TxError {
    fn from(_: CircuitOpen) -> Self {
        TxError::Unavailable
    }
}

fn breaker() -> CircuitBreaker {
    CircuitBreaker::new().with_consecutive_failures(3).with_open_for(Duration::from_secs(30))
}

static TRIES: AtomicU32 = AtomicU32::new(0);

/// Three of every four attempts lose a conflict (a busy table).
fn run_transaction() -> Result<u64, TxError> {
    if TRIES.fetch_add(1, Ordering::Relaxed) % 4 != 3 { Err(TxError::SerializationFailure) } else { Ok(100) }
}

/// Every error counts against the breaker: contention opens it.
#[retry(stop = attempts(5), wait = none(), on = [SerializationFailure], breaker = naive, observe = off)]
fn transfer_naive(naive: &CircuitBreaker) -> Result<u64, TxError> {
    run_transaction()
}

/// Conflicts are retried, and only unavailability counts against the breaker.
#[retry(
    stop = attempts(5),
    wait = none(),
    on = [SerializationFailure],
    breaker = careful,
    breaker_counts = [Unavailable],
    observe = off,
)]
fn transfer(careful: &CircuitBreaker) -> Result<u64, TxError> {
    run_transaction()
}

fn main() {
    let (naive, careful) = (breaker(), breaker());
    let naive_ok = (0..120).filter(|_| transfer_naive(&naive).is_ok()).count();
    TRIES.store(0, Ordering::Relaxed);
    let careful_ok = (0..120).filter(|_| transfer(&careful).is_ok()).count();
    println!(
        "every error counted:      {naive_ok:>3} of 120 transfers went through (breaker {:?})",
        naive.state()
    );
    println!(
        "breaker_counts = [Unavailable]: {careful_ok:>3} of 120 went through (breaker {:?})",
        careful.state()
    );
    assert!(careful_ok == 120 && naive_ok < 120);
}
