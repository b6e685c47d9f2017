//! `stop::signal`: a call gives up when an outside signal fires, and a call
//! sleeping for a retry wakes to give up (with its last outcome, through
//! `on_giveup` and `fallback`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering::SeqCst};
use std::time::Duration;

use retry::{Attempt, Retrying, dsl::*, retry};

#[tokio::test(start_paused = true)]
async fn a_sleeping_async_call_wakes_and_gives_up_when_the_signal_fires() {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(3_500)).await;
        flag.store(true, SeqCst);
    });
    let start = tokio::time::Instant::now();
    let gave_up = AtomicU32::new(0);
    let (out, stats) = Retrying::new()
        .stop(attempts(100) | signal(|| stop.load(SeqCst)))
        .wait(fixed(60))
        .on_giveup(|a: &Attempt<'_, (), &str>| {
            gave_up.store(a.attempt(), SeqCst);
        })
        .call_async_with_stats(|| async { Err::<(), _>("down") })
        .await;
    assert_eq!(out, Err("down"), "the last error");
    assert_eq!(stats.attempts(), 1);
    assert_eq!(gave_up.load(SeqCst), 1, "on_giveup ran");
    let waited = start.elapsed();
    assert!(waited >= Duration::from_millis(3_500) && waited <= Duration::from_millis(3_600), "{waited:?}");
    assert_eq!(stats.idle(), waited, "the unslept part of the wait is not idle time");
}

static SHUTDOWN: AtomicBool = AtomicBool::new(false);
static RUNS: AtomicU32 = AtomicU32::new(0);

#[retry(stop = attempts(100) | signal(|| SHUTDOWN.load(SeqCst)), wait = fixed(60s), fallback = |_| Ok(0))]
async fn poll_until_shutdown() -> Result<u32, &'static str> {
    RUNS.fetch_add(1, SeqCst);
    Err("not yet")
}

#[tokio::test(start_paused = true)]
async fn the_attribute_wakes_too_and_the_fallback_answers() {
    tokio::spawn(async {
        tokio::time::sleep(Duration::from_secs(90)).await;
        SHUTDOWN.store(true, SeqCst);
    });
    let start = tokio::time::Instant::now();
    assert_eq!(poll_until_shutdown().await, Ok(0));
    assert_eq!(RUNS.load(SeqCst), 2, "attempts at 0 s and 60 s");
    let waited = start.elapsed();
    assert!(waited >= Duration::from_secs(90) && waited <= Duration::from_millis(90_100), "{waited:?}");
}

#[test]
fn a_sleeping_sync_call_wakes_too() {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let setter = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        flag.store(true, SeqCst);
    });
    let start = std::time::Instant::now();
    let out = Retrying::new()
        .stop(attempts(100) | signal(|| stop.load(SeqCst)))
        .wait(fixed(60))
        .call(|| Err::<(), _>("down"));
    assert_eq!(out, Err("down"));
    assert!(start.elapsed() < Duration::from_secs(5), "woke long before the 60 s sleep ended");
    setter.join().unwrap();
}

#[test]
fn a_signal_already_set_stops_after_the_first_attempt_without_sleeping() {
    let sleeps = retry::testing::record_sleeps();
    let mut calls = 0;
    let out = Retrying::new().stop(signal(|| true)).wait(fixed(1)).call(|| {
        calls += 1;
        Err::<(), _>("down")
    });
    assert_eq!((out, calls), (Err("down"), 1));
    assert!(sleeps.sleeps().is_empty());
}

#[test]
fn without_a_signal_a_sleep_is_one_slice() {
    let sleeps = retry::testing::record_sleeps();
    let _ = Retrying::new().stop(attempts(2)).wait(fixed(1)).call(|| Err::<(), _>("down"));
    assert_eq!(sleeps.sleeps(), [Duration::from_secs(1)]);
}

#[test]
fn a_signal_by_reference_and_a_stop_of_ones_own_wake_a_sleep_too() {
    struct Shutdown(Arc<AtomicBool>);
    impl retry::stop::Stop for Shutdown {
        fn should_stop(&self, _: &retry::stop::StopState) -> bool {
            self.0.load(SeqCst)
        }
        fn signalled(&self) -> Option<bool> {
            Some(self.0.load(SeqCst))
        }
    }
    let flag = Arc::new(AtomicBool::new(false));
    let set_soon = |flag: Arc<AtomicBool>| {
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            flag.store(true, SeqCst);
        })
    };

    let f = flag.clone();
    let stop = attempts(100) | signal(move || f.load(SeqCst));
    let setter = set_soon(flag.clone());
    let start = std::time::Instant::now();
    let _ = Retrying::new().stop(&stop).wait(fixed(60)).call(|| Err::<(), _>("down"));
    assert!(start.elapsed() < Duration::from_secs(5), "by reference");
    setter.join().unwrap();

    flag.store(false, SeqCst);
    let setter = set_soon(flag.clone());
    let start = std::time::Instant::now();
    let _ = Retrying::new().stop(Shutdown(flag.clone())).wait(fixed(60)).call(|| Err::<(), _>("down"));
    assert!(start.elapsed() < Duration::from_secs(5), "a stop of one's own");
    setter.join().unwrap();
}

#[test]
fn recorded_sleeps_are_whole_with_a_signal_and_zero_delays_are_recorded() {
    let sleeps = retry::testing::record_sleeps();
    let _ =
        Retrying::new().stop(attempts(3) | signal(|| false)).wait(fixed(0.25)).call(|| Err::<(), _>("down"));
    assert_eq!(sleeps.sleeps(), [Duration::from_millis(250); 2]);
    let sleeps = retry::testing::record_sleeps();
    let _ = Retrying::new().stop(attempts(3)).wait(none()).call(|| Err::<(), _>("down"));
    assert_eq!(sleeps.sleeps(), [Duration::ZERO; 2]);
}

#[test]
fn a_silent_signal_with_a_sleeper_that_does_not_sleep_asks_it_once_per_100_ms() {
    let calls = AtomicU32::new(0);
    let _ = Retrying::new()
        .stop(attempts(2) | signal(|| false))
        .wait(fixed(3600))
        .sleep(|_: Duration| {
            calls.fetch_add(1, SeqCst);
        })
        .call(|| Err::<(), _>("down"));
    assert_eq!(calls.load(SeqCst), 36_000);
}

#[test]
fn a_retry_a_signal_cancels_gives_its_budget_token_back() {
    static BUDGET: retry::RetryBudget = retry::RetryBudget::new();
    let before = BUDGET.available();
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let setter = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(30));
        flag.store(true, SeqCst);
    });
    let out = Retrying::new()
        .stop(attempts(5) | signal(|| stop.load(SeqCst)))
        .wait(fixed(5))
        .budget(&BUDGET)
        .call(|| Err::<(), _>("down"));
    setter.join().unwrap();
    assert_eq!(out, Err("down"));
    assert!(BUDGET.available() >= before, "{} < {before}", BUDGET.available());
}

#[test]
fn a_signal_that_answers_true_once_is_not_lost() {
    let (cancel, cancelled) = std::sync::mpsc::channel::<()>();
    let sender = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(150));
        cancel.send(()).unwrap();
    });
    let start = std::time::Instant::now();
    let mut calls = 0;
    let (out, stats) = Retrying::new()
        .stop(attempts(3) | signal(|| cancelled.try_recv().is_ok()))
        .wait(fixed(1))
        .call_with_stats(|| {
            calls += 1;
            Err::<(), _>("down")
        });
    assert_eq!((out, calls), (Err("down"), 1), "the one answer ended the call");
    assert!(start.elapsed() < Duration::from_millis(900), "{:?}", start.elapsed());
    assert!(stats.idle() < Duration::from_millis(900), "{:?}", stats.idle());
    sender.join().unwrap();
}
