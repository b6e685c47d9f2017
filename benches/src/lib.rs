//! The operations and retry variants the benchmarks compare, shared by the criterion
//! benches (`benches/`) and the instruction counter (`src/bin/instructions.rs`).
//!
//! Every library retries at most twice more (3 attempts) with no delay; each call
//! builds its policy, as a call site does.

use std::hint::black_box;
use std::time::Duration;

use retry::{Retrying, dsl::*, retry};

pub mod matrix;

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

/// The same fn as `op_async_retried` without the attribute.
async fn op_async_unretried(left: &mut u32) -> Result<u64, Failure> {
    op_async(left).await
}

/// A plain `.await` of the fn `ours_macro_async` retries, called the same way:
/// what the attribute adds to a call that succeeds is the difference.
pub async fn plain_await_fn(failures: u32) -> Result<u64, Failure> {
    let mut left = failures;
    op_async_unretried(&mut left).await
}

/// `op` on a shared counter: the operation for a retried fn that borrows
/// nothing mutably.
pub async fn op_async_shared(left: &std::cell::Cell<u32>) -> Result<u64, Failure> {
    let mut count = left.get();
    let outcome = op(&mut count);
    left.set(count);
    outcome
}

#[retry(stop = attempts(3), wait = none())]
async fn op_async_retried_shared(left: &std::cell::Cell<u32>) -> Result<u64, Failure> {
    op_async_shared(left).await
}

/// The attribute on an `async fn` whose arguments are not borrowed mutably: each
/// attempt's future owns its copies, made by a closure the runtime's loop calls.
pub async fn ours_macro_async_shared(failures: u32) -> Result<u64, Failure> {
    let left = std::cell::Cell::new(failures);
    op_async_retried_shared(&left).await
}

/// The same fn as `op_async_retried_shared` without the attribute.
async fn op_async_unretried_shared(left: &std::cell::Cell<u32>) -> Result<u64, Failure> {
    op_async_shared(left).await
}

/// A plain `.await` of the fn `ours_macro_async_shared` retries, called the same way.
pub async fn plain_await_fn_shared(failures: u32) -> Result<u64, Failure> {
    let left = std::cell::Cell::new(failures);
    op_async_unretried_shared(&left).await
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

/// The operation of the hedge overhead benchmark: done on its first poll.
#[retry::hedge(n = 2, delay = 50ms)]
async fn op_hedged_fixed(left: u32) -> Result<u64, Failure> {
    op(&mut { left })
}

/// The same under an adaptive delay (`percentile(0.95)`, the default).
#[retry::hedge(n = 2)]
async fn op_hedged_percentile(left: u32) -> Result<u64, Failure> {
    op(&mut { left })
}

/// A plain `.await` of the operation: the hedge overhead's baseline.
pub async fn plain_await_once() -> Result<u64, Failure> {
    op_async(&mut 0).await
}

/// `#[hedge(n = 2, delay = 50ms)]` on a call that finishes before the delay.
pub async fn hedged_fixed() -> Result<u64, Failure> {
    op_hedged_fixed(0).await
}

/// `#[hedge(n = 2)]` (percentile delay) on a call that finishes before the delay.
pub async fn hedged_percentile() -> Result<u64, Failure> {
    op_hedged_percentile(0).await
}

/// The operation, pending once first (as any real I/O is): the hedge arms its timer.
async fn op_pending_once() -> Result<u64, Failure> {
    PendingOnce(false).await;
    op(&mut 0)
}

/// Pending on its first poll (waking itself at once), ready on the second.
struct PendingOnce(bool);

impl Future for PendingOnce {
    type Output = ();
    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        if self.0 {
            return std::task::Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        std::task::Poll::Pending
    }
}

#[retry::hedge(n = 2, delay = 50ms)]
async fn op_pending_hedged_fixed() -> Result<u64, Failure> {
    op_pending_once().await
}

#[retry::hedge(n = 2)]
async fn op_pending_hedged_percentile() -> Result<u64, Failure> {
    op_pending_once().await
}

/// A plain `.await` of an operation that is pending once.
pub async fn plain_await_pending() -> Result<u64, Failure> {
    op_pending_once().await
}

/// `#[hedge(n = 2, delay = 50ms)]` on an operation pending once (done long before the delay).
pub async fn hedged_fixed_pending() -> Result<u64, Failure> {
    op_pending_hedged_fixed().await
}

/// `#[hedge(n = 2)]` on an operation pending once.
pub async fn hedged_percentile_pending() -> Result<u64, Failure> {
    op_pending_hedged_percentile().await
}

/// The explicit API with tokio's `Sleep` inline (no box), on an operation pending once.
pub async fn hedged_inline_timer_pending() -> Result<u64, Failure> {
    retry::Hedging::new(2)
        .delay(Duration::from_millis(50))
        .sleep(|d| tokio::time::sleep(d))
        .call(op_pending_once)
        .await
}

/// `tokio::time::timeout(50 ms, ..)` on an operation pending once: the least any
/// timer-based scheme pays on tokio (arm a timer, disarm it when the call wins).
pub async fn tokio_timeout_pending() -> Result<u64, Failure> {
    tokio::time::timeout(Duration::from_millis(50), op_pending_once()).await.unwrap_or(Err(Failure))
}

/// The floor of the attribute's success path, part 1: the fn's body as an `async`
/// block awaited in place, which `#[retry]` needs so that `return` and `?` end the
/// attempt rather than the call.
async fn op_floor_block(left: &mut u32) -> Result<u64, Failure> {
    let left = &mut *left;
    async move { op_async(left).await }.await
}

/// A plain `.await` of `op_floor_block`, called as `ours_macro_async` calls its fn.
pub async fn floor_block(failures: u32) -> Result<u64, Failure> {
    let mut left = failures;
    op_floor_block(&mut left).await
}

/// The floor, part 2: the same block marked as attempt 1 for `retry::attempt()`
/// (SPEC §3.3), which every retried attempt pays on each poll. No policy at all.
async fn op_floor_attempt(left: &mut u32) -> Result<u64, Failure> {
    let left = &mut *left;
    let ident = retry::__private::Ident::at(1);
    retry::__private::InAttempt::new(&ident, async move { op_async(left).await }).await
}

/// A plain `.await` of `op_floor_attempt`, called as `ours_macro_async` calls its fn.
pub async fn floor_attempt(failures: u32) -> Result<u64, Failure> {
    let mut left = failures;
    op_floor_attempt(&mut left).await
}

/// The floor, part 3: a hand-written loop of at most 3 attempts around the marked
/// block, as small as a retry loop with `retry::attempt()` can be. No policy.
async fn op_floor_loop(left: &mut u32) -> Result<u64, Failure> {
    let mut number = 1;
    loop {
        let left = &mut *left;
        let ident = retry::__private::Ident::at(number);
        match retry::__private::InAttempt::new(&ident, async move { op_async(left).await }).await {
            Ok(value) => break Ok(value),
            Err(e) if number >= 3 => break Err(e),
            Err(_) => number += 1,
        }
    }
}

/// A plain `.await` of `op_floor_loop`, called as `ours_macro_async` calls its fn.
pub async fn floor_loop(failures: u32) -> Result<u64, Failure> {
    let mut left = failures;
    op_floor_loop(&mut left).await
}
