//! `Retrying::start`: the call driven by the caller's own loop, with the hooks,
//! guards, fallback and statistics of `call` and `call_async`.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use retry::{Attempt, CircuitBreaker, CircuitOpen, Next, Retrying, TimedOut, dsl::*, testing};

#[derive(Debug, PartialEq)]
enum Error {
    Reset,
    Open,
    TimedOut,
}

impl From<CircuitOpen> for Error {
    fn from(_: CircuitOpen) -> Self {
        Error::Open
    }
}

impl From<TimedOut> for Error {
    fn from(_: TimedOut) -> Self {
        Error::TimedOut
    }
}

/// State the attempts borrow mutably across awaits: what a closure cannot lend.
struct Conn {
    sent: u32,
    fail_first: u32,
}

impl Conn {
    async fn send(&mut self) -> Result<u32, Error> {
        self.sent += 1;
        tokio::task::yield_now().await;
        if self.sent <= self.fail_first { Err(Error::Reset) } else { Ok(self.sent) }
    }
}

#[tokio::test(start_paused = true)]
async fn an_async_loop_borrows_its_state_mutably_and_sleeps_by_the_policy() {
    let start = tokio::time::Instant::now();
    let mut conn = Conn { sent: 0, fail_first: 2 };
    let mut call = Retrying::new().stop(attempts(5)).wait(expo(1)).start();
    let mut numbers = Vec::new();
    let out = loop {
        let outcome = call
            .attempt(async {
                numbers.push(retry::attempt());
                conn.send().await
            })
            .await;
        match call.next(outcome) {
            Next::Retry(delay) => call.sleep(delay).await,
            Next::Done(out) => break out,
        }
    };
    assert_eq!(out, Ok(3));
    assert_eq!(numbers, [Some(1), Some(2), Some(3)]);
    assert_eq!(start.elapsed(), Duration::from_secs(1 + 2));
    let stats = call.stats();
    assert_eq!((stats.attempts(), stats.idle(), stats.retried()), (3, Duration::from_secs(3), true));
    assert_eq!(retry::attempt(), None);
}

#[test]
fn a_sync_loop_runs_hooks_and_the_fallback() {
    let seen = RefCell::new(Vec::new());
    let mut sent = 0;
    let mut call = Retrying::new()
        .stop(attempts(3))
        .wait(none())
        .before(|a: &Attempt<'_, u32, Error>| seen.borrow_mut().push(("before", a.attempt())))
        .before_sleep(|a: &Attempt<'_, u32, Error>| seen.borrow_mut().push(("before_sleep", a.attempt())))
        .on_giveup(|a: &Attempt<'_, u32, Error>| seen.borrow_mut().push(("on_giveup", a.attempt())))
        .fallback(|_| Ok(0))
        .start();
    let out = loop {
        let outcome = call.attempt_sync(|| {
            sent += 1;
            Err(Error::Reset)
        });
        match call.next(outcome) {
            Next::Retry(delay) => call.sleep_sync(delay),
            Next::Done(out) => break out,
        }
    };
    assert_eq!(out, Ok(0), "the fallback answers");
    assert_eq!(sent, 3);
    assert_eq!(
        *seen.borrow(),
        [
            ("before", 1),
            ("before_sleep", 1),
            ("before", 2),
            ("before_sleep", 2),
            ("before", 3),
            ("on_giveup", 3)
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn an_open_breaker_rejects_an_attempt_without_polling_it() {
    static BREAKER: CircuitBreaker = CircuitBreaker::new().with_consecutive_failures(1);
    let polled = AtomicU32::new(0);
    for expected in [Err(Error::Reset), Err(Error::Open)] {
        let mut call = Retrying::new().stop(attempts(1)).breaker(&BREAKER).start();
        let outcome = call
            .attempt(async {
                polled.fetch_add(1, Ordering::SeqCst);
                Err::<(), _>(Error::Reset)
            })
            .await;
        assert_eq!(call.next(outcome), Next::Done(expected));
    }
    assert_eq!(polled.load(Ordering::SeqCst), 1, "the rejected attempt never ran");
}

#[tokio::test(start_paused = true)]
async fn the_policys_timeout_cuts_each_attempt() {
    let mut call = Retrying::new().stop(attempts(2)).wait(none()).timeout(Duration::from_secs(1)).start();
    let mut hung = true;
    let out = loop {
        let attempt = async {
            if std::mem::take(&mut hung) {
                std::future::pending::<()>().await;
            }
            Ok::<_, Error>(7)
        };
        let outcome = call.attempt(attempt).await;
        match call.next(outcome) {
            Next::Retry(delay) => call.sleep(delay).await,
            Next::Done(out) => break out,
        }
    };
    assert_eq!(out, Ok(7));
    assert_eq!(call.stats().attempts(), 2);
}

#[test]
fn a_loop_sees_the_testing_scopes() {
    let _no_retries = testing::disable_retries();
    let mut call = Retrying::new().wait(none()).start();
    let outcome = call.attempt_sync(|| Err::<(), _>(Error::Reset));
    assert_eq!(call.next(outcome), Next::Done(Err(Error::Reset)), "one attempt under disable_retries");
}

#[tokio::test]
async fn a_loop_with_a_borrowed_error_type_can_be_spawned() {
    let handle = tokio::spawn(async {
        let mut call = Retrying::<u32, &'static str>::new().wait(none()).start();
        loop {
            let outcome = call.attempt(async { Err("down") }).await;
            match call.next(outcome) {
                Next::Retry(delay) => call.sleep(delay).await,
                Next::Done(out) => break out,
            }
        }
    });
    assert_eq!(handle.await.unwrap(), Err("down"));
}
