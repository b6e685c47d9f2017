//! The attribute names a breaker and a budget as it always does; sharing them
//! through Redis changes what they decide, not how they are named.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{Redis, wait_for};
use retry::breaker::State;
use retry::redis::RedisStore;
use retry::{CircuitBreaker, RetryBudget, retry};

static PAYMENTS: CircuitBreaker = CircuitBreaker::new().with_consecutive_failures(3);
static BUDGET: RetryBudget = RetryBudget::new().with_min_per_sec(0);

#[derive(Debug, PartialEq)]
enum PayError {
    Declined,
    Unavailable,
}

impl From<retry::CircuitOpen> for PayError {
    fn from(_: retry::CircuitOpen) -> Self {
        PayError::Unavailable
    }
}

#[retry(breaker = PAYMENTS, budget = BUDGET, stop = attempts(1), wait = none())]
fn charge(cents: u64) -> Result<u64, PayError> {
    let _ = cents;
    Err(PayError::Declined)
}

#[test]
fn a_shared_breaker_behind_the_attribute() {
    let Some(redis) = Redis::start() else { return };
    let store = RedisStore::open(&redis.url()).expect("a valid URL");
    let link = store.share_breaker("payments", &PAYMENTS).expect("shared");
    let _budget = store.share_budget("payments", &BUDGET).expect("shared");
    // Another replica of the service, in this test an `Arc`.
    let other = Arc::new(CircuitBreaker::new().with_consecutive_failures(3));
    let other_link = store.share_breaker("payments", other.clone()).expect("shared");
    assert!(wait_for(Duration::from_secs(5), || link.stats().shared && other_link.stats().shared).is_some());
    std::thread::sleep(Duration::from_millis(200));

    for _ in 0..3 {
        assert_eq!(charge(500), Err(PayError::Declined));
    }
    assert_eq!(charge(500), Err(PayError::Unavailable), "open: rejected at once");
    assert!(
        wait_for(Duration::from_secs(2), || other.state() == State::Open).is_some(),
        "the other replica sees it"
    );
}
