//! The main demo: a flaky operation retried with exponential backoff and hooks.
//!
//! Run with `cargo run -p examples --example quickstart`.

use std::io;
use std::time::Duration;

use retry::{Retrying, dsl::*};

/// Fails with a transient error twice, then answers.
fn flaky_fetch(calls: &mut u32) -> io::Result<&'static str> {
    *calls += 1;
    match *calls {
        1 => Err(io::Error::new(io::ErrorKind::ConnectionReset, "connection reset by peer")),
        2 => Err(io::Error::new(io::ErrorKind::TimedOut, "timed out")),
        _ => Ok("hello from the flaky service"),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    // Sync: retry transient I/O errors, 3 attempts, 10 ms · 2^(n-1) between them.
    let mut calls = 0;
    let (body, stats) = Retrying::new()
        .name("quickstart::fetch")
        .stop(attempts(3))
        .wait(expo(Duration::from_millis(10)).max(1))
        .when(transient)
        .before_sleep(|a| {
            let error = a.error().map(ToString::to_string).unwrap_or_default();
            println!(
                "attempt {} failed ({error}); sleeping {:?}",
                a.attempt(),
                a.next_sleep().unwrap_or_default()
            );
        })
        .call_with_stats(|| flaky_fetch(&mut calls));
    println!("got {:?} after {} attempts, {:?} asleep", body.unwrap(), stats.attempts(), stats.idle());

    // Non-transient errors are not retried: the caller gets the error itself at once.
    let mut calls = 0;
    let denied = Retrying::new().when(transient).call(|| -> io::Result<()> {
        calls += 1;
        Err(io::ErrorKind::PermissionDenied.into())
    });
    println!("permission denied after {calls} attempt(s): {}", denied.unwrap_err());

    // Async: the same policies, on tokio's timer; `retry::attempt()` inside the call.
    let answer = Retrying::new()
        .stop(attempts(5) | elapsed(2))
        .wait(fixed(Duration::from_millis(5)))
        .call_async(|| async {
            let n = retry::attempt().unwrap_or(0);
            if n < 3 { Err(format!("attempt {n}: not yet")) } else { Ok(n * 14) }
        })
        .await;
    println!("async answer: {answer:?}");

    // Polling a value (no Result) until it is ready.
    let mut polls = 0;
    let status =
        Retrying::new().stop(attempts(10)).wait(none()).if_result(|s: &&str| *s != "ready").call_value(
            || {
                polls += 1;
                if polls < 4 { "pending" } else { "ready" }
            },
        );
    println!("status {status:?} after {polls} polls");
}
