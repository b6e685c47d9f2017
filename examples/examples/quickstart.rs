//! The main demo: the `#[retry]` attribute on sync and async fns, polling with
//! `#[retry_if_result]`, and the explicit API underneath.
//!
//! Run with `cargo run -p examples --example quickstart`.

use std::io;
use std::sync::atomic::{AtomicU32, Ordering};

use retry::{Retrying, dsl::*, retry, retry_if_result};

#[derive(Debug)]
enum FetchError {
    Timeout,
    Connect(&'static str),
    NotFound,
}

impl std::fmt::Display for FetchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FetchError::Timeout => f.write_str("timed out"),
            FetchError::Connect(why) => write!(f, "cannot connect: {why}"),
            FetchError::NotFound => f.write_str("not found"),
        }
    }
}

/// Fails twice with transient errors, then answers.
#[retry(
    stop = attempts(5),
    wait = expo(10ms, max = 200ms),
    on = [Timeout, Connect(_)],
    before_sleep = |a| {
        let error = a.error().map(ToString::to_string).unwrap_or_default();
        println!("  attempt {} failed ({error}); sleeping {:?}", a.attempt(), a.next_sleep().unwrap_or_default());
    },
)]
fn fetch(calls: &AtomicU32) -> Result<&'static str, FetchError> {
    match calls.fetch_add(1, Ordering::SeqCst) {
        0 => Err(FetchError::Timeout),
        1 => Err(FetchError::Connect("connection reset")),
        _ => Ok("hello from the flaky service"),
    }
}

/// Errors not listed in `on` are returned at once.
#[retry(on = [Timeout])]
fn lookup(calls: &AtomicU32) -> Result<(), FetchError> {
    calls.fetch_add(1, Ordering::SeqCst);
    Err(FetchError::NotFound)
}

/// Async, on tokio's timer; `retry::attempt()` tells the body which attempt it is.
#[retry(stop = attempts(5) | elapsed(2s), wait = fixed(5ms))]
async fn answer() -> Result<u32, String> {
    let n = retry::attempt().unwrap_or(0);
    if n < 3 { Err(format!("attempt {n}: not yet")) } else { Ok(n * 14) }
}

/// `io::Error`s are retried by kind with `on = transient`.
#[retry(stop = attempts(3), wait = none(), on = transient)]
fn read_config(calls: &AtomicU32) -> io::Result<String> {
    if calls.fetch_add(1, Ordering::SeqCst) == 0 {
        return Err(io::ErrorKind::Interrupted.into());
    }
    Ok("retries = 3".to_owned())
}

/// Polling a value until it is ready.
#[retry_if_result(|status: &&str| *status != "ready", stop = attempts(10), wait = fixed(1ms))]
async fn job_status(polls: &AtomicU32) -> &'static str {
    if polls.fetch_add(1, Ordering::SeqCst) < 3 { "pending" } else { "ready" }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    println!("#[retry] on a sync fn:");
    let calls = AtomicU32::new(0);
    println!("  got {:?} after {} attempts", fetch(&calls).unwrap(), calls.load(Ordering::SeqCst));

    let calls = AtomicU32::new(0);
    let error = lookup(&calls).unwrap_err();
    println!("not retried: {error:?} after {} attempt", calls.load(Ordering::SeqCst));

    println!("async answer: {:?}", answer().await);

    let calls = AtomicU32::new(0);
    println!("config: {:?} after {} attempts", read_config(&calls).unwrap(), calls.load(Ordering::SeqCst));

    let polls = AtomicU32::new(0);
    println!("job {:?} after {} polls", job_status(&polls).await, polls.load(Ordering::SeqCst));

    // The explicit API, for code that wants no macro, with call statistics.
    let mut calls = 0;
    let (outcome, stats) = Retrying::new().stop(attempts(4)).wait(none()).call_with_stats(|| {
        calls += 1;
        if calls < 3 { Err("busy") } else { Ok(calls) }
    });
    println!("explicit API: {outcome:?} after {} attempts, {:?} asleep", stats.attempts(), stats.idle());
}
