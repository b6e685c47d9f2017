//! The operations and retry variants the benchmarks compare, shared by the criterion
//! benches (`benches/`) and the instruction counter (`src/bin/instructions.rs`).
//!
//! Every library retries at most twice more (3 attempts) with no delay; each call
//! builds its policy, as a call site does.

use std::hint::black_box;
use std::time::Duration;

use retry::{Retrying, dsl::*, retry};

/// The error every variant fails with.
#[derive(Debug)]
pub struct Failure;

/// The operation under test: an out-of-line call doing a little real work (FNV-1a
/// over 16 bytes, ~30 ns) that fails while `*left > 0`. A few nanoseconds of work
/// would measure store-forwarding and code alignment rather than retry overhead.
#[inline(never)]
pub fn op(left: &mut u32) -> Result<u64, Failure> {
    let bytes = black_box([7u8; 16]);
    let hash =
        bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3));
    if *black_box(&*left) == 0 {
        Ok(hash)
    } else {
        *left -= 1;
        Err(Failure)
    }
}

pub async fn op_async(left: &mut u32) -> Result<u64, Failure> {
    op(left)
}

/// The baseline a careful engineer writes by hand: at most 3 attempts, no sleep.
pub fn hand_loop(failures: u32) -> Result<u64, Failure> {
    let mut left = failures;
    let mut attempt = 0;
    loop {
        attempt += 1;
        match op(&mut left) {
            Ok(v) => return Ok(v),
            Err(e) if attempt >= 3 => return Err(e),
            Err(_) => continue,
        }
    }
}

pub fn ours(failures: u32) -> Result<u64, Failure> {
    let mut left = failures;
    Retrying::new().stop(attempts(3)).wait(none()).call(|| op(&mut left))
}

#[retry(stop = attempts(3), wait = none())]
fn op_retried(left: &mut u32) -> Result<u64, Failure> {
    op(left)
}

/// The same policy through the attribute.
pub fn ours_macro(failures: u32) -> Result<u64, Failure> {
    let mut left = failures;
    op_retried(&mut left)
}

pub fn backon_blocking(failures: u32) -> Result<u64, Failure> {
    use backon::{BlockingRetryable, ConstantBuilder};
    let mut left = failures;
    (|| op(&mut left))
        .retry(ConstantBuilder::default().with_delay(Duration::ZERO).with_max_times(2))
        .sleep(std::thread::sleep)
        .call()
}

pub fn backoff_sync(failures: u32) -> Result<u64, Failure> {
    let mut left = failures;
    let policy = backoff::backoff::Constant::new(Duration::ZERO);
    backoff::retry(policy, || op(&mut left).map_err(backoff::Error::transient)).map_err(|e| match e {
        backoff::Error::Permanent(e) | backoff::Error::Transient { err: e, .. } => e,
    })
}

pub async fn plain_await(failures: u32) -> Result<u64, Failure> {
    let mut left = failures;
    let mut attempt = 0;
    loop {
        attempt += 1;
        match op_async(&mut left).await {
            Ok(v) => return Ok(v),
            Err(e) if attempt >= 3 => return Err(e),
            Err(_) => continue,
        }
    }
}

pub async fn ours_async(failures: u32) -> Result<u64, Failure> {
    let mut left = failures;
    Retrying::new().stop(attempts(3)).wait(none()).call_async(|| op_async_owned(&mut left)).await
}

#[retry(stop = attempts(3), wait = none())]
async fn op_async_retried(left: &mut u32) -> Result<u64, Failure> {
    op_async(left).await
}

/// The same policy through the attribute on an `async fn`.
pub async fn ours_macro_async(failures: u32) -> Result<u64, Failure> {
    let mut left = failures;
    op_async_retried(&mut left).await
}

/// An attempt future that borrows nothing from the closure (for libraries that need `FnMut() -> Fut`).
pub fn op_async_owned(left: &mut u32) -> std::future::Ready<Result<u64, Failure>> {
    std::future::ready(op(left))
}

pub async fn backon_async(failures: u32) -> Result<u64, Failure> {
    use backon::{ConstantBuilder, Retryable};
    let mut left = failures;
    (|| op_async_owned(&mut left))
        .retry(ConstantBuilder::default().with_delay(Duration::ZERO).with_max_times(2))
        .sleep(tokio::time::sleep)
        .await
}

pub async fn tryhard_async(failures: u32) -> Result<u64, Failure> {
    let mut left = failures;
    tryhard::retry_fn(|| op_async_owned(&mut left)).retries(2).await
}

pub async fn tokio_retry2_async(failures: u32) -> Result<u64, Failure> {
    use tokio_retry2::{MapErr, Retry, strategy::FixedInterval};
    let mut left = failures;
    Retry::spawn(FixedInterval::new(Duration::ZERO).take(2), || {
        std::future::ready(op(&mut left).map_transient_err())
    })
    .await
}

#[retry(stop = attempts(3), wait = none(), sleep = |_| std::future::ready(()))]
async fn op_async_retried_inline_sleep(left: &mut u32) -> Result<u64, Failure> {
    op_async(left).await
}

/// Experiment: the attribute with a sleeper whose future has no drop glue.
pub async fn ours_macro_async_inline_sleep(failures: u32) -> Result<u64, Failure> {
    let mut left = failures;
    op_async_retried_inline_sleep(&mut left).await
}
