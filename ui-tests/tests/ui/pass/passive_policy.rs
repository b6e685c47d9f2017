//! Run, not only compiled: a policy that acts on nothing before an attempt is
//! still built once per call, before the first attempt, whether it reads the
//! fn's arguments or not; attempts are numbered from 1. (trybuild builds this
//! crate on its own, where `retry` has only its default features.)
use std::future::Future;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use retry::retry;

static BUILT: AtomicU32 = AtomicU32::new(0);

/// A stop policy whose evaluation is counted.
fn counted(n: u32) -> retry::stop::Attempts {
    BUILT.fetch_add(1, Ordering::SeqCst);
    retry::dsl::attempts(n)
}

/// Fails while `left` is above zero, recording the attempt numbers it runs under.
fn script(left: &AtomicU32, seen: &Mutex<Vec<Option<u32>>>) -> Result<u32, u32> {
    seen.lock().unwrap().push(retry::attempt());
    match left.load(Ordering::SeqCst) {
        0 => Ok(7),
        n => {
            left.store(n - 1, Ordering::SeqCst);
            Err(n)
        }
    }
}

/// Reads no argument.
#[retry(stop = counted(3), wait = none())]
async fn constant(left: &AtomicU32, seen: &Mutex<Vec<Option<u32>>>) -> Result<u32, u32> {
    script(left, seen)
}

/// Reads an argument.
#[retry(stop = attempts(*max), wait = none())]
async fn from_argument(max: &u32, left: &AtomicU32, seen: &Mutex<Vec<Option<u32>>>) -> Result<u32, u32> {
    script(left, seen)
}

/// Polls to completion (the attempts here never wait).
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
    }
}

fn numbers(seen: &Mutex<Vec<Option<u32>>>) -> Vec<Option<u32>> {
    std::mem::take(&mut *seen.lock().unwrap())
}

fn main() {
    let seen = Mutex::new(Vec::new());

    assert_eq!(block_on(constant(&AtomicU32::new(0), &seen)), Ok(7));
    assert_eq!(BUILT.load(Ordering::SeqCst), 1, "built once for a call that succeeds at once");
    assert_eq!(numbers(&seen), [Some(1)]);

    assert_eq!(block_on(constant(&AtomicU32::new(2), &seen)), Ok(7));
    assert_eq!(BUILT.load(Ordering::SeqCst), 2, "built once for a call that retried twice");
    assert_eq!(numbers(&seen), [Some(1), Some(2), Some(3)]);

    assert_eq!(block_on(constant(&AtomicU32::new(9), &seen)), Err(7), "3 attempts, the last error kept");
    assert_eq!(numbers(&seen), [Some(1), Some(2), Some(3)]);

    assert_eq!(block_on(from_argument(&2, &AtomicU32::new(9), &seen)), Err(8));
    assert_eq!(numbers(&seen), [Some(1), Some(2)]);
    assert_eq!(block_on(from_argument(&4, &AtomicU32::new(1), &seen)), Ok(7));
    assert_eq!(numbers(&seen), [Some(1), Some(2)]);
}
