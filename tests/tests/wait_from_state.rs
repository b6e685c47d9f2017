//! `wait::from_state`: a wait policy reading the attempt (its number, the time
//! elapsed and slept, its error or the value `if_result` retries), summed with
//! any policy, in the explicit API and in the attribute.

use std::time::Duration;

use retry::testing::record_sleeps;
use retry::{Attempt, Retrying, dsl::*, retry};

#[derive(Debug, PartialEq)]
enum Error {
    Busy { retry_in_ms: u64 },
    Down,
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn a_wait_reads_the_error_and_sums_with_a_policy_either_way() {
    let sleeps = record_sleeps();
    let mut calls = 0;
    let delay = |a: &Attempt<'_, (), Error>| match a.error() {
        Some(Error::Busy { retry_in_ms }) => ms(*retry_in_ms),
        _ => ms(100 * u64::from(a.attempt())),
    };
    let out = Retrying::new().stop(attempts(3)).wait(fixed(0.001) + from_state(delay)).call(|| {
        calls += 1;
        Err(if calls == 1 { Error::Busy { retry_in_ms: 40 } } else { Error::Down })
    });
    assert_eq!(out, Err(Error::Down));
    assert_eq!(sleeps.sleeps(), [ms(41), ms(201)]);

    let sleeps = record_sleeps();
    let _ = Retrying::new()
        .stop(attempts(3))
        .wait(from_state(|a: &Attempt<'_, (), Error>| ms(u64::from(a.attempt()))) + expo(0.01) + fixed(0.001))
        .call(|| Err(Error::Down));
    assert_eq!(sleeps.sleeps(), [ms(1 + 10 + 1), ms(2 + 20 + 1)]);
}

#[test]
fn a_wait_reads_the_value_if_result_retries_and_the_time_slept() {
    let sleeps = record_sleeps();
    let mut polls = 0;
    let out = Retrying::new()
        .stop(attempts(4))
        .if_result(|left: &u32| *left > 0)
        .wait(from_state(|a: &Attempt<'_, u32, ()>| {
            ms(u64::from(*a.value().unwrap()) * 10 + a.idle_for().as_millis() as u64)
        }))
        .call(|| {
            polls += 1;
            Ok(3 - polls)
        });
    assert_eq!(out, Ok(0));
    // Values 2 then 1; idle 0 then 20 ms.
    assert_eq!(sleeps.sleeps(), [ms(20), ms(10 + 20)]);
}

#[retry(
    stop = attempts(3),
    wait = from_state(|a: &Attempt<'_, u32, Error>| match a.error() {
        Some(Error::Busy { retry_in_ms }) => Duration::from_millis(*retry_in_ms),
        _ => Duration::from_millis(5),
    }) + fixed(1ms)
)]
async fn busy_then_down(calls: &std::sync::atomic::AtomicU32) -> Result<u32, Error> {
    let n = calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    Err(if n == 0 { Error::Busy { retry_in_ms: 30 } } else { Error::Down })
}

#[tokio::test(start_paused = true)]
async fn the_attribute_takes_a_wait_from_state() {
    let sleeps = record_sleeps();
    let calls = std::sync::atomic::AtomicU32::new(0);
    assert_eq!(busy_then_down(&calls).await, Err(Error::Down));
    assert_eq!(sleeps.sleeps(), [ms(31), ms(6)]);
}

#[test]
fn a_wait_from_state_reads_the_time_elapsed_whatever_else_the_policy_reads() {
    let clock = retry::testing::ManualClock::new();
    let mut seen = Vec::new();
    let _ = Retrying::new()
        .stop(attempts(3))
        .clock(clock.clone())
        .sleep(|d: Duration| clock.advance(d))
        .wait(from_state(|a: &Attempt<'_, (), ()>| {
            seen.push(a.elapsed());
            ms(20)
        }))
        .call(|| {
            clock.advance(ms(30));
            Err(())
        });
    // The delay is asked after every failure, the last too: the stop policy sees it.
    assert_eq!(seen, [ms(30), ms(30 + 20 + 30), ms(30 + 20 + 30 + 20 + 30)]);
}
