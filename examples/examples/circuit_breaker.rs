//! A circuit breaker shared by every call to a dependency: failures open it, calls
//! are rejected at once while it is open, a probe after the pause closes it again.
//!
//! Run with `cargo run -p examples --example circuit_breaker`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use retry::{CircuitBreaker, CircuitOpen, retry};

#[derive(Debug)]
enum PayError {
    Declined,
    Unavailable,
}

impl From<CircuitOpen> for PayError {
    fn from(_: CircuitOpen) -> Self {
        PayError::Unavailable
    }
}

static PAYMENTS: CircuitBreaker =
    CircuitBreaker::new().with_consecutive_failures(3).with_open_for(Duration::from_millis(300));

/// Whether the bank is up.
static BANK_UP: AtomicBool = AtomicBool::new(false);

#[retry(stop = attempts(2), wait = fixed(20ms), breaker = PAYMENTS, observe = off)]
fn charge(cents: u64) -> Result<u64, PayError> {
    if BANK_UP.load(Ordering::SeqCst) { Ok(cents) } else { Err(PayError::Declined) }
}

fn main() {
    PAYMENTS.on_transition(|t| println!("  breaker: {:?} -> {:?}", t.from, t.to));
    println!("the bank is down:");
    for i in 1..=4 {
        println!("  charge #{i}: {:?}", charge(500));
    }
    println!("stats: {:?}", PAYMENTS.stats());
    println!("the bank comes back; after the pause a probe closes the breaker:");
    BANK_UP.store(true, Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(350));
    println!("  charge #5: {:?}", charge(500));
    println!("  charge #6: {:?}", charge(700));
    assert_eq!(PAYMENTS.state(), retry::breaker::State::Closed);
}
