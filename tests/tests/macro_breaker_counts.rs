//! `breaker_counts`: which errors count against the breaker, apart from which
//! errors are retried. A serialization conflict is worth retrying but says
//! nothing about the database's health.

use std::cell::Cell;
use std::time::Duration;

use retry::breaker::State;
use retry::{CircuitBreaker, CircuitOpen, retry};

#[derive(Debug, PartialEq)]
enum DbError {
    Conflict,
    Unavailable,
    Rejected,
}

impl From<CircuitOpen> for DbError {
    fn from(_: CircuitOpen) -> Self {
        DbError::Rejected
    }
}

const fn breaker() -> CircuitBreaker {
    CircuitBreaker::new().with_consecutive_failures(3).with_open_for(Duration::from_secs(30))
}

static COUNTING_UNAVAILABLE: CircuitBreaker = breaker();
static COUNTING_EVERYTHING: CircuitBreaker = breaker();
static BY_PREDICATE: CircuitBreaker = breaker();
static ASYNC: CircuitBreaker = breaker();

/// Fails with `Conflict` on the first three attempts, then commits.
fn contended(tries: &Cell<u32>) -> Result<u32, DbError> {
    tries.set(tries.get() + 1);
    if !tries.get().is_multiple_of(4) { Err(DbError::Conflict) } else { Ok(tries.get()) }
}

#[retry(stop = attempts(4), wait = none(), on = [Conflict], breaker = COUNTING_UNAVAILABLE, breaker_counts = [Unavailable])]
fn transfer(tries: &Cell<u32>) -> Result<u32, DbError> {
    contended(tries)
}

#[retry(stop = attempts(4), wait = none(), on = [Conflict], breaker = COUNTING_EVERYTHING)]
fn transfer_blaming_the_database(tries: &Cell<u32>) -> Result<u32, DbError> {
    contended(tries)
}

#[retry(
    stop = attempts(4),
    wait = none(),
    on = [Conflict],
    breaker = BY_PREDICATE,
    breaker_counts = |e: &DbError| *e == DbError::Unavailable,
)]
fn transfer_by_predicate(tries: &Cell<u32>, down: bool) -> Result<u32, DbError> {
    if down {
        return Err(DbError::Unavailable);
    }
    contended(tries)
}

#[retry(stop = attempts(4), wait = none(), on = [Conflict], breaker = ASYNC, breaker_counts = [Unavailable])]
async fn transfer_async(tries: &Cell<u32>) -> Result<u32, DbError> {
    tokio::task::yield_now().await;
    contended(tries)
}

#[test]
fn retried_contention_never_opens_a_breaker_that_counts_only_unavailability() {
    let tries = Cell::new(0);
    for _ in 0..20 {
        assert!(transfer(&tries).is_ok());
    }
    assert_eq!(tries.get(), 80);
    assert_eq!(COUNTING_UNAVAILABLE.state(), State::Closed);
}

#[test]
fn by_default_every_error_counts_and_contention_opens_the_breaker() {
    let tries = Cell::new(0);
    // Three conflicts in a row open it during the first call, which gives up
    // rather than retry into a rejection; the next call is rejected at once.
    assert_eq!(transfer_blaming_the_database(&tries), Err(DbError::Conflict));
    assert_eq!(COUNTING_EVERYTHING.state(), State::Open);
    assert_eq!(transfer_blaming_the_database(&tries), Err(DbError::Rejected));
    assert_eq!(tries.get(), 3, "the database was healthy throughout");
}

#[test]
fn breaker_counts_takes_a_predicate_and_still_counts_what_it_picks() {
    let tries = Cell::new(0);
    for _ in 0..10 {
        assert!(transfer_by_predicate(&tries, false).is_ok());
    }
    assert_eq!(BY_PREDICATE.state(), State::Closed);
    for _ in 0..3 {
        assert_eq!(transfer_by_predicate(&tries, true), Err(DbError::Unavailable));
    }
    assert_eq!(BY_PREDICATE.state(), State::Open);
    assert_eq!(transfer_by_predicate(&tries, false), Err(DbError::Rejected));
}

#[tokio::test]
async fn async_fns_take_breaker_counts_too() {
    let tries = Cell::new(0);
    for _ in 0..20 {
        assert!(transfer_async(&tries).await.is_ok());
    }
    assert_eq!(ASYNC.state(), State::Closed);
}
