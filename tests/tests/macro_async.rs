//! `#[retry]` on async fns and every fn shape, under tokio's paused clock.
#![deny(warnings, clippy::all)]

use std::fmt::Display;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use retry::{retry, retry_if_result};
use tokio::time::Instant;

#[derive(Debug, Clone, PartialEq)]
enum NetError {
    Timeout,
    Refused,
    Fatal,
}

/// Fails with `errors` in order (counting in `calls`), then returns the attempt number.
async fn script(calls: &AtomicU32, errors: &[NetError]) -> Result<u32, NetError> {
    tokio::task::yield_now().await;
    let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
    match errors.get(n as usize - 1) {
        Some(e) => Err(e.clone()),
        None => Ok(n),
    }
}

#[retry(stop = attempts(4), wait = expo(1, max = 10), on = [Timeout, Refused])]
async fn fetch(calls: &AtomicU32, errors: &[NetError]) -> Result<u32, NetError> {
    script(calls, errors).await
}

#[tokio::test(start_paused = true)]
async fn async_fn_sleeps_in_virtual_time() {
    let calls = AtomicU32::new(0);
    let start = Instant::now();
    assert_eq!(fetch(&calls, &[NetError::Timeout, NetError::Refused, NetError::Timeout]).await, Ok(4));
    assert_eq!(start.elapsed(), Duration::from_secs(1 + 2 + 4));
    calls.store(0, Ordering::SeqCst);
    assert_eq!(fetch(&calls, &[NetError::Fatal]).await, Err(NetError::Fatal));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[retry(stop = attempts(4), wait = none(), on = [Timeout], when = |e: &NetError| *e == NetError::Refused)]
async fn on_and_when(calls: &AtomicU32, errors: &[NetError]) -> Result<u32, NetError> {
    script(calls, errors).await
}

#[tokio::test(start_paused = true)]
async fn on_and_when_are_alternatives() {
    let calls = AtomicU32::new(0);
    assert_eq!(on_and_when(&calls, &[NetError::Timeout, NetError::Refused]).await, Ok(3));
    calls.store(0, Ordering::SeqCst);
    assert_eq!(on_and_when(&calls, &[NetError::Fatal]).await, Err(NetError::Fatal));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[retry(stop = attempts(2), wait = none(), on = [Timeout], fallback = |last| last.or(Ok(99)))]
async fn degraded(calls: &AtomicU32, errors: &[NetError]) -> Result<u32, NetError> {
    script(calls, errors).await
}

#[retry_if_result(|n: &u32| *n < 5, stop = attempts(2), wait = none(), fallback = |_| 7)]
async fn degraded_value(calls: &AtomicU32) -> u32 {
    script(calls, &[]).await.unwrap_or(0)
}

#[tokio::test(start_paused = true)]
async fn fallback_replaces_the_outcome_of_a_call_that_gave_up() {
    let calls = AtomicU32::new(0);
    assert_eq!(degraded(&calls, &[NetError::Timeout, NetError::Timeout]).await, Ok(99));
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    // A call that succeeds keeps its own outcome.
    calls.store(0, Ordering::SeqCst);
    assert_eq!(degraded(&calls, &[NetError::Timeout]).await, Ok(2));
    calls.store(0, Ordering::SeqCst);
    assert_eq!(degraded_value(&calls).await, 7);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

static SLEEPER_CALLS: AtomicU32 = AtomicU32::new(0);

fn counting_sleeper(_: Duration) -> std::future::Ready<()> {
    SLEEPER_CALLS.fetch_add(1, Ordering::SeqCst);
    std::future::ready(())
}

#[retry(stop = attempts(3), wait = none(), sleep = counting_sleeper)]
async fn no_wait(calls: &AtomicU32) -> Result<u32, NetError> {
    script(calls, &[NetError::Timeout, NetError::Timeout, NetError::Timeout]).await
}

#[retry(stop = attempts(3), wait = fixed(5s), sleep = counting_sleeper)]
async fn fixed_wait(calls: &AtomicU32) -> Result<u32, NetError> {
    script(calls, &[NetError::Timeout, NetError::Timeout, NetError::Timeout]).await
}

/// One test, so the sleeper's count is this test's alone.
#[tokio::test]
async fn the_sleeper_never_sees_a_zero_delay_or_a_recorded_sleep() {
    assert_eq!(no_wait(&AtomicU32::new(0)).await, Err(NetError::Timeout));
    assert_eq!(SLEEPER_CALLS.load(Ordering::SeqCst), 0, "zero delay");
    let sleeps = retry::testing::record_sleeps();
    assert_eq!(fixed_wait(&AtomicU32::new(0)).await, Err(NetError::Timeout));
    assert_eq!(SLEEPER_CALLS.load(Ordering::SeqCst), 0, "recorded");
    assert_eq!(sleeps.sleeps(), [Duration::from_secs(5); 2]);
    drop(sleeps);
    assert_eq!(fixed_wait(&AtomicU32::new(0)).await, Err(NetError::Timeout));
    assert_eq!(SLEEPER_CALLS.load(Ordering::SeqCst), 2, "slept");
}

#[retry(stop = attempts(3), wait = none())]
async fn reborrows(buffer: &mut Vec<u32>, owned: String, label: impl Display) -> Result<usize, usize> {
    buffer.push(owned.len() as u32);
    tokio::task::yield_now().await;
    let _ = label.to_string();
    if buffer.len() < 3 { Err(buffer.len()) } else { Ok(buffer.len()) }
}

#[tokio::test(start_paused = true)]
async fn mut_references_are_reborrowed_and_values_cloned() {
    let mut buffer = Vec::new();
    assert_eq!(reborrows(&mut buffer, "abc".to_owned(), 5).await, Ok(3));
    assert_eq!(buffer, [3, 3, 3]);
}

#[retry(stop = attempts(3), wait = fixed(10ms))]
async fn generic<T, E>(values: &[Result<T, E>], calls: &AtomicU32) -> Result<T, E>
where
    T: Clone,
    E: Clone,
{
    let n = calls.fetch_add(1, Ordering::SeqCst) as usize;
    values[n.min(values.len() - 1)].clone()
}

#[tokio::test(start_paused = true)]
async fn generics_and_where_clauses() {
    let calls = AtomicU32::new(0);
    assert_eq!(generic(&[Err("a"), Ok(5)], &calls).await, Ok(5));
}

#[retry(stop = attempts(2), wait = none())]
fn returns_impl_trait(calls: &AtomicU32) -> Result<impl Display, String> {
    if calls.fetch_add(1, Ordering::SeqCst) == 0 { Err("first".to_owned()) } else { Ok(42) }
}

#[retry(stop = attempts(2), wait = none())]
fn borrows_from_argument<'a>(text: &'a str, calls: &AtomicU32) -> Result<&'a str, ()> {
    if calls.fetch_add(1, Ordering::SeqCst) == 0 { Err(()) } else { Ok(&text[1..]) }
}

/// Docs and attributes stay on the fn; visibility works. (`unsafe fn` is in the
/// UI pass cases: this crate forbids `unsafe`.)
#[retry(stop = attempts(2), wait = none())]
#[inline]
pub(crate) fn with_attributes(calls: &AtomicU32) -> Result<u32, ()> {
    if calls.fetch_add(1, Ordering::SeqCst) == 0 {
        return Err(());
    }
    Ok(9)
}

#[test]
fn sync_shapes() {
    let calls = AtomicU32::new(0);
    assert_eq!(returns_impl_trait(&calls).map(|v| v.to_string()), Ok("42".to_owned()));
    let calls = AtomicU32::new(0);
    assert_eq!(borrows_from_argument("xyz", &calls), Ok("yz"));
    let calls = AtomicU32::new(0);
    assert_eq!(with_attributes(&calls), Ok(9));
}

trait Service {
    async fn call(&self, errors: &[NetError]) -> Result<u32, NetError>;

    /// A default method body may carry the attribute too.
    #[retry(stop = attempts(2), wait = none())]
    async fn twice(&self, calls: &AtomicU32) -> Result<u32, NetError> {
        calls.fetch_add(1, Ordering::SeqCst);
        Err(NetError::Timeout)
    }
}

struct Backend {
    calls: AtomicU32,
}

impl Service for Backend {
    #[retry(stop = attempts(3), wait = fixed(1s), on = [Timeout])]
    async fn call(&self, errors: &[NetError]) -> Result<u32, NetError> {
        script(&self.calls, errors).await
    }
}

#[tokio::test(start_paused = true)]
async fn async_fn_in_traits() {
    let backend = Backend { calls: AtomicU32::new(0) };
    assert_eq!(backend.call(&[NetError::Timeout]).await, Ok(2));
    let calls = AtomicU32::new(0);
    assert_eq!(backend.twice(&calls).await, Err(NetError::Timeout));
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[async_trait::async_trait]
trait DynService {
    async fn get(&self, key: String) -> Result<String, NetError>;
    async fn consume(self: Arc<Self>) -> Result<u32, NetError>;
}

#[async_trait::async_trait]
impl DynService for Backend {
    #[retry(stop = attempts(3), wait = fixed(1s), on = [Timeout])]
    async fn get(&self, key: String) -> Result<String, NetError> {
        script(&self.calls, &[NetError::Timeout]).await.map(|n| format!("{key}{n}"))
    }

    #[retry(stop = attempts(2), wait = none())]
    async fn consume(self: Arc<Self>) -> Result<u32, NetError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Err(NetError::Refused)
    }
}

#[tokio::test(start_paused = true)]
async fn async_trait_methods() {
    let backend = Arc::new(Backend { calls: AtomicU32::new(0) });
    let service: Arc<dyn DynService + Send + Sync> = backend.clone();
    let start = Instant::now();
    assert_eq!(service.get("k".to_owned()).await, Ok("k2".to_owned()));
    assert_eq!(start.elapsed(), Duration::from_secs(1));
    assert_eq!(backend.clone().consume().await, Err(NetError::Refused));
    assert_eq!(backend.calls.load(Ordering::SeqCst), 4);
}

#[retry_if_result(|s: &Status| *s == Status::Pending, stop = never(), wait = fixed(5s))]
async fn job_status(calls: &AtomicU32) -> Status {
    if calls.fetch_add(1, Ordering::SeqCst) < 3 { Status::Pending } else { Status::Done }
}

#[derive(Debug, PartialEq)]
enum Status {
    Pending,
    Done,
}

#[tokio::test(start_paused = true)]
async fn async_polling() {
    let calls = AtomicU32::new(0);
    let start = Instant::now();
    assert_eq!(job_status(&calls).await, Status::Done);
    assert_eq!(start.elapsed(), Duration::from_secs(15));
}

#[retry(stop = elapsed(10s), wait = fixed(3s), on = transient)]
async fn io_op(calls: &AtomicU32) -> std::io::Result<()> {
    calls.fetch_add(1, Ordering::SeqCst);
    Err(std::io::ErrorKind::TimedOut.into())
}

#[tokio::test(start_paused = true)]
async fn on_transient_and_elapsed_stop() {
    let calls = AtomicU32::new(0);
    assert!(io_op(&calls).await.is_err());
    // Attempts at 0, 3, 6, 9 and 12 s: the one ending at 12 s is past 10 s.
    assert_eq!(calls.load(Ordering::SeqCst), 5);
}

#[tokio::test(start_paused = true)]
async fn futures_are_send_and_spawnable() {
    let calls = Arc::new(AtomicU32::new(0));
    let task = {
        let calls = calls.clone();
        tokio::spawn(async move { fetch(&calls, &[NetError::Timeout]).await })
    };
    assert_eq!(task.await.unwrap(), Ok(2));
}

#[derive(Clone)]
struct Counter {
    count: u32,
}

impl Counter {
    #[retry(stop = attempts(3), wait = none())]
    async fn bump(&mut self) -> Result<u32, u32> {
        self.count += 1;
        tokio::task::yield_now().await;
        if self.count < 3 { Err(self.count) } else { Ok(self.count) }
    }

    #[retry(stop = attempts(2), wait = none())]
    async fn into_count(mut self) -> Result<u32, u32> {
        self.count += 1;
        Err(self.count)
    }
}

#[tokio::test(start_paused = true)]
async fn async_methods_by_mut_and_by_value() {
    let mut counter = Counter { count: 0 };
    assert_eq!(counter.bump().await, Ok(3));
    assert_eq!(counter.count, 3);
    assert_eq!(counter.into_count().await, Err(4), "each attempt starts from a fresh copy of self");
}

#[retry(stop = attempts(3), wait = fixed(1s))]
async fn numbered(seen: &std::sync::Mutex<Vec<u32>>) -> Result<(), ()> {
    tokio::task::yield_now().await;
    seen.lock().unwrap().push(retry::attempt().unwrap());
    Err(())
}

#[tokio::test(start_paused = true)]
async fn attempt_number_inside_async_attempts() {
    let seen = std::sync::Mutex::new(Vec::new());
    assert_eq!(numbered(&seen).await, Err(()));
    assert_eq!(*seen.lock().unwrap(), [1, 2, 3]);
    assert_eq!(retry::attempt(), None);
}

struct DropGuard<'a>(&'a AtomicU32);

impl Drop for DropGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[retry(stop = never(), wait = fixed(1h))]
async fn holds_a_guard(dropped: &AtomicU32, calls: &AtomicU32) -> Result<(), ()> {
    let _guard = DropGuard(dropped);
    calls.fetch_add(1, Ordering::SeqCst);
    Err(())
}

#[tokio::test(start_paused = true)]
async fn dropping_the_call_mid_sleep_cancels_it() {
    let (dropped, calls) = (AtomicU32::new(0), AtomicU32::new(0));
    let outcome = tokio::time::timeout(Duration::from_secs(90 * 60), holds_a_guard(&dropped, &calls)).await;
    assert!(outcome.is_err(), "never stops on its own");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert_eq!(dropped.load(Ordering::SeqCst), 2);
}
