//! Polling with `#[retry_if_result]`: wait for a job to finish, sleeping between
//! checks, give up after a limit; errors end the poll at once unless named.
//!
//! Run with `cargo run -p examples --example polling`.

use std::sync::atomic::{AtomicU32, Ordering};

use retry::retry_if_result;

#[derive(Debug, PartialEq)]
enum Job {
    Queued,
    Running(u8),
    Done(&'static str),
}

static CHECKS: AtomicU32 = AtomicU32::new(0);

/// A job that is queued, then runs for a while, then is done.
fn job_status(id: u32) -> Job {
    match CHECKS.fetch_add(1, Ordering::SeqCst) {
        0 => Job::Queued,
        n @ 1..=3 => Job::Running(n as u8 * 25),
        _ => Job::Done(if id == 7 { "report.pdf" } else { "other" }),
    }
}

/// Checks every 50 ms (growing to 200 ms) until the job is done, for at most 2 s.
#[retry_if_result(
    |job: &Job| !matches!(job, Job::Done(_)),
    stop = elapsed(2s),
    wait = expo(50ms, max = 200ms),
    after = |a| println!("  check {}: {:?}", a.attempt(), a.value()),
)]
fn wait_for(id: u32) -> Job {
    job_status(id)
}

fn main() {
    println!("waiting for job 7:");
    let job = wait_for(7);
    println!("done: {job:?} after {} checks", CHECKS.load(Ordering::SeqCst));
    assert_eq!(job, Job::Done("report.pdf"));
}
