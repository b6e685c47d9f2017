//! The success path over the policies users write, on two operations: one that
//! returns at once (`now`) and one that hashes 16 bytes first (`hash`, ~25 ns).
//! Every variant builds its policy on each call, as a call site does.
//!
//! Policies, each through the attribute and through the explicit API:
//! * `mission`: `stop = attempts(3), wait = expo(100ms, max = 10s)`;
//! * `defaults`: `#[retry]` (3 attempts, `random_expo(100ms, max = 10s)`);
//! * `on`: the mission's policy, retrying only `on = [Timeout, Connect(_)]`;
//! * `jitter_hook`: `wait = random_expo(100ms, max = 10s)` with a `before_sleep` hook;
//! * `breaker`: the mission's policy through a closed circuit breaker.
//!
//! Peers, with the closest policy each has: tokio-retry2
//! (`ExponentialBackoff::from_millis(100).take(3)`), tryhard
//! (`retries(3).exponential_backoff(100ms)`), backon (`ExponentialBuilder`: 100 ms,
//! at most 10 s, 2 retries), backoff (`ExponentialBackoff`, sync).

use std::hint::black_box;
use std::time::Duration;

use retry::{Attempt, CircuitBreaker, Retrying, dsl::*, retry};

/// The error of the matrix's operations.
#[derive(Debug)]
pub enum NetError {
    /// Timed out.
    Timeout,
    /// Connection refused (a port).
    Connect(u16),
    /// Not found: not retried.
    NotFound,
}

impl From<retry::CircuitOpen> for NetError {
    fn from(_: retry::CircuitOpen) -> Self {
        NetError::NotFound
    }
}

/// Returns at once.
#[inline(never)]
pub fn now(x: u64) -> Result<u64, NetError> {
    if black_box(x) == u64::MAX { Err(NetError::Timeout) } else { Ok(x) }
}

/// Hashes 16 bytes first (FNV-1a, ~25 ns).
#[inline(never)]
pub fn hash(x: u64) -> Result<u64, NetError> {
    let bytes = black_box([7u8; 16]);
    let h = bytes
        .iter()
        .fold(0xcbf2_9ce4_8422_2325u64 ^ x, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3));
    if black_box(x) == u64::MAX { Err(NetError::Connect(80)) } else { Ok(h) }
}

/// The `before_sleep` hook of the `jitter_hook` policy.
pub fn note(attempt: &Attempt<'_, u64, NetError>) {
    black_box(attempt.attempt());
}

/// The `breaker` policy's breaker (closed: every call succeeds).
pub static BREAKER: CircuitBreaker = CircuitBreaker::new();

/// One operation's rows: `$op` is `now` or `hash`.
macro_rules! rows {
    ($module:ident, $op:ident) => {
        /// The rows of one operation.
        pub mod $module {
            use super::*;

            /// The operation as an `async fn`.
            pub async fn op_async(x: u64) -> Result<u64, NetError> {
                $op(x)
            }

            /// The plain `.await`: the async baseline.
            pub async fn plain_await(x: u64) -> Result<u64, NetError> {
                op_async(x).await
            }

            /// The hand-written loop: the sync baseline.
            pub fn hand_loop(x: u64) -> Result<u64, NetError> {
                let mut attempt = 0;
                loop {
                    attempt += 1;
                    match $op(x) {
                        Ok(v) => return Ok(v),
                        Err(e) if attempt >= 3 => return Err(e),
                        Err(_) => std::thread::sleep(Duration::from_millis(100 << attempt)),
                    }
                }
            }

            #[retry(stop = attempts(3), wait = expo(100ms, max = 10s))]
            pub async fn macro_mission(x: u64) -> Result<u64, NetError> {
                $op(x)
            }

            #[retry]
            pub async fn macro_defaults(x: u64) -> Result<u64, NetError> {
                $op(x)
            }

            #[retry(stop = attempts(3), wait = expo(100ms, max = 10s), on = [Timeout, Connect(_)])]
            pub async fn macro_on(x: u64) -> Result<u64, NetError> {
                $op(x)
            }

            #[retry(wait = random_expo(100ms, max = 10s), before_sleep = note)]
            pub async fn macro_jitter_hook(x: u64) -> Result<u64, NetError> {
                $op(x)
            }

            #[retry(stop = attempts(3), wait = expo(100ms, max = 10s), breaker = &BREAKER)]
            pub async fn macro_breaker(x: u64) -> Result<u64, NetError> {
                $op(x)
            }

            #[retry(stop = attempts(3), wait = expo(100ms, max = 10s))]
            pub fn macro_mission_sync(x: u64) -> Result<u64, NetError> {
                $op(x)
            }

            #[retry]
            pub fn macro_defaults_sync(x: u64) -> Result<u64, NetError> {
                $op(x)
            }

            #[retry(stop = attempts(3), wait = expo(100ms, max = 10s), on = [Timeout, Connect(_)])]
            pub fn macro_on_sync(x: u64) -> Result<u64, NetError> {
                $op(x)
            }

            #[retry(wait = random_expo(100ms, max = 10s), before_sleep = note)]
            pub fn macro_jitter_hook_sync(x: u64) -> Result<u64, NetError> {
                $op(x)
            }

            #[retry(stop = attempts(3), wait = expo(100ms, max = 10s), breaker = &BREAKER)]
            pub fn macro_breaker_sync(x: u64) -> Result<u64, NetError> {
                $op(x)
            }

            fn mission() -> Retrying<u64, NetError, retry::stop::Attempts, retry::wait::Expo> {
                Retrying::new()
                    .stop(attempts(3))
                    .wait(expo(Duration::from_millis(100)).max(Duration::from_secs(10)))
            }

            /// The mission's policy, explicit.
            pub async fn explicit_mission(x: u64) -> Result<u64, NetError> {
                mission().call_async(|| op_async(x)).await
            }

            /// The defaults, explicit.
            pub async fn explicit_defaults(x: u64) -> Result<u64, NetError> {
                Retrying::new().call_async(|| op_async(x)).await
            }

            /// `on = [Timeout, Connect(_)]`, explicit.
            pub async fn explicit_on(x: u64) -> Result<u64, NetError> {
                mission()
                    .when(|e: &NetError| matches!(e, NetError::Timeout | NetError::Connect(_)))
                    .call_async(|| op_async(x))
                    .await
            }

            /// Jitter and a hook, explicit.
            pub async fn explicit_jitter_hook(x: u64) -> Result<u64, NetError> {
                Retrying::new()
                    .wait(random_expo(Duration::from_millis(100)).max(Duration::from_secs(10)))
                    .before_sleep(note)
                    .call_async(|| op_async(x))
                    .await
            }

            /// A closed breaker, explicit.
            pub async fn explicit_breaker(x: u64) -> Result<u64, NetError> {
                mission().breaker(&BREAKER).call_async(|| op_async(x)).await
            }

            /// The mission's policy, explicit, sync.
            pub fn explicit_mission_sync(x: u64) -> Result<u64, NetError> {
                mission().call(|| $op(x))
            }

            /// The defaults, explicit, sync.
            pub fn explicit_defaults_sync(x: u64) -> Result<u64, NetError> {
                Retrying::new().call(|| $op(x))
            }

            /// `on = [Timeout, Connect(_)]`, explicit, sync.
            pub fn explicit_on_sync(x: u64) -> Result<u64, NetError> {
                mission()
                    .when(|e: &NetError| matches!(e, NetError::Timeout | NetError::Connect(_)))
                    .call(|| $op(x))
            }

            /// Jitter and a hook, explicit, sync.
            pub fn explicit_jitter_hook_sync(x: u64) -> Result<u64, NetError> {
                Retrying::new()
                    .wait(random_expo(Duration::from_millis(100)).max(Duration::from_secs(10)))
                    .before_sleep(note)
                    .call(|| $op(x))
            }

            /// A closed breaker, explicit, sync.
            pub fn explicit_breaker_sync(x: u64) -> Result<u64, NetError> {
                mission().breaker(&BREAKER).call(|| $op(x))
            }

            /// tokio-retry2: exponential from 100 ms, 3 attempts.
            pub async fn tokio_retry2(x: u64) -> Result<u64, NetError> {
                use tokio_retry2::{MapErr, Retry, strategy::ExponentialBackoff};
                Retry::spawn(ExponentialBackoff::from_millis(100).take(3), || async move {
                    op_async(x).await.map_transient_err()
                })
                .await
            }

            /// tryhard: 3 retries, exponential from 100 ms.
            pub async fn tryhard(x: u64) -> Result<u64, NetError> {
                tryhard::retry_fn(|| op_async(x))
                    .retries(3)
                    .exponential_backoff(Duration::from_millis(100))
                    .await
            }

            fn backon_policy() -> backon::ExponentialBuilder {
                backon::ExponentialBuilder::default()
                    .with_min_delay(Duration::from_millis(100))
                    .with_max_delay(Duration::from_secs(10))
                    .with_max_times(2)
            }

            /// backon: exponential from 100 ms, at most 10 s, 2 retries.
            pub async fn backon(x: u64) -> Result<u64, NetError> {
                use backon::Retryable;
                (|| op_async(x)).retry(backon_policy()).sleep(tokio::time::sleep).await
            }

            /// backon's blocking retry, with the same policy.
            pub fn backon_sync(x: u64) -> Result<u64, NetError> {
                use backon::BlockingRetryable;
                (|| $op(x)).retry(backon_policy()).sleep(std::thread::sleep).call()
            }

            /// backoff: its exponential policy (sync).
            pub fn backoff_sync(x: u64) -> Result<u64, NetError> {
                let policy = backoff::ExponentialBackoff {
                    initial_interval: Duration::from_millis(100),
                    max_interval: Duration::from_secs(10),
                    ..backoff::ExponentialBackoff::default()
                };
                backoff::retry(policy, || $op(x).map_err(backoff::Error::transient)).map_err(|e| match e {
                    backoff::Error::Permanent(e) | backoff::Error::Transient { err: e, .. } => e,
                })
            }
        }
    };
}

rows!(at_once, now);
rows!(hashing, hash);
