//! `#[retry]` on sync fns, written as a user would, with the recording sleeper.
#![deny(warnings, clippy::all)]

use std::cell::Cell;
use std::sync::Arc;
use std::time::Duration;

use retry::testing::record_sleeps;
use retry::{retry, retry_if_result};

#[derive(Debug, Clone, PartialEq)]
enum FetchError {
    Timeout,
    Connect(u16),
    Http { status: u16 },
    Fatal,
}

thread_local! {
    static CALLS: Cell<u32> = const { Cell::new(0) };
}

fn calls() -> u32 {
    CALLS.with(Cell::get)
}

fn reset() {
    CALLS.with(|c| c.set(0));
}

/// Fails with `errors` in order, then succeeds with the attempt number.
fn script(errors: &[FetchError]) -> Result<u32, FetchError> {
    let n = CALLS.with(|c| {
        c.set(c.get() + 1);
        c.get()
    });
    match errors.get(n as usize - 1) {
        Some(e) => Err(e.clone()),
        None => Ok(n),
    }
}

#[retry(stop = attempts(3), wait = expo(1, max = 10), on = [Timeout, Connect(_)])]
fn fetch(errors: &[FetchError]) -> Result<u32, FetchError> {
    script(errors)
}

#[test]
fn retries_the_listed_variants_with_the_written_waits() {
    reset();
    let sleeps = record_sleeps();
    assert_eq!(fetch(&[FetchError::Timeout, FetchError::Connect(1)]), Ok(3));
    assert_eq!(sleeps.sleeps(), [Duration::from_secs(1), Duration::from_secs(2)]);
}

#[test]
fn other_errors_end_the_call_at_once() {
    reset();
    let sleeps = record_sleeps();
    assert_eq!(fetch(&[FetchError::Fatal]), Err(FetchError::Fatal));
    assert_eq!(calls(), 1);
    assert!(sleeps.sleeps().is_empty());
}

#[test]
fn gives_up_with_the_last_error() {
    reset();
    let _sleeps = record_sleeps();
    let errors = [FetchError::Timeout, FetchError::Timeout, FetchError::Connect(7), FetchError::Timeout];
    assert_eq!(fetch(&errors), Err(FetchError::Connect(7)));
    assert_eq!(calls(), 3);
}

#[retry(stop = attempts(5), wait = fixed(250ms) + linear(1s, step = 500ms), on = [Http { status: 500..=599 }])]
fn durations_and_struct_patterns(errors: &[FetchError]) -> Result<u32, FetchError> {
    script(errors)
}

#[test]
fn duration_literals_and_named_arguments() {
    reset();
    let sleeps = record_sleeps();
    let errors = [
        FetchError::Http { status: 503 },
        FetchError::Http { status: 500 },
        FetchError::Http { status: 404 },
    ];
    assert_eq!(durations_and_struct_patterns(&errors), Err(FetchError::Http { status: 404 }));
    assert_eq!(sleeps.sleeps(), [Duration::from_millis(1250), Duration::from_millis(1750)]);
}

#[retry(wait = chain(fixed(1), fixed(2), fixed(5)), stop = attempts(5))]
fn chained(errors: &[FetchError]) -> Result<u32, FetchError> {
    script(errors)
}

#[test]
fn chain_takes_its_policies_as_arguments() {
    reset();
    let sleeps = record_sleeps();
    assert_eq!(chained(&vec![FetchError::Fatal; 4]), Ok(5));
    let secs: Vec<u64> = sleeps.sleeps().iter().map(Duration::as_secs).collect();
    assert_eq!(secs, [1, 2, 5, 5]);
}

#[retry(stop = attempts(4), wait = none(), when = |e: &FetchError| matches!(e, FetchError::Connect(port) if *port > 80), unless = [Connect(443)])]
fn when_and_unless(errors: &[FetchError]) -> Result<u32, FetchError> {
    script(errors)
}

#[test]
fn when_and_unless_combine() {
    reset();
    assert_eq!(
        when_and_unless(&[FetchError::Connect(8080), FetchError::Connect(443)]),
        Err(FetchError::Connect(443))
    );
    assert_eq!(calls(), 2);
    reset();
    assert_eq!(when_and_unless(&[FetchError::Connect(22)]), Err(FetchError::Connect(22)));
    assert_eq!(calls(), 1);
}

#[retry(stop = attempts(4), wait = none(), on = [Timeout], when = |e: &FetchError| matches!(e, FetchError::Http { status } if *status >= 500))]
fn on_and_when(errors: &[FetchError]) -> Result<u32, FetchError> {
    script(errors)
}

#[test]
fn on_and_when_are_alternatives() {
    reset();
    assert_eq!(on_and_when(&[FetchError::Timeout, FetchError::Http { status: 503 }]), Ok(3));
    reset();
    assert_eq!(on_and_when(&[FetchError::Http { status: 404 }]), Err(FetchError::Http { status: 404 }));
    assert_eq!(calls(), 1);
    reset();
    assert_eq!(on_and_when(&[FetchError::Connect(1)]), Err(FetchError::Connect(1)));
    assert_eq!(calls(), 1);
}

/// Arguments: by value cloned per attempt, `&mut` reborrowed, `Copy` and references as is.
#[retry(stop = attempts(3), wait = none())]
fn arguments(mut owned: String, log: &mut Vec<String>, n: u32, (a, b): (u8, u8)) -> Result<usize, String> {
    owned.push('!');
    log.push(owned.clone());
    if log.len() < 3 { Err(format!("{n}{a}{b}")) } else { Ok(log.len()) }
}

#[test]
fn by_value_arguments_are_fresh_each_attempt() {
    let mut log = Vec::new();
    assert_eq!(arguments("hi".to_owned(), &mut log, 1, (2, 3)), Ok(3));
    assert_eq!(log, ["hi!", "hi!", "hi!"]);
}

#[retry(stop = attempts(3), wait = none())]
fn early_return_and_question_mark(input: &str) -> Result<u32, std::num::ParseIntError> {
    CALLS.with(|c| c.set(c.get() + 1));
    if input.is_empty() {
        return Ok(0);
    }
    let n: u32 = input.parse()?;
    Ok(n)
}

#[test]
fn return_and_question_mark_end_the_attempt() {
    reset();
    assert_eq!(early_return_and_question_mark(""), Ok(0));
    assert_eq!(calls(), 1);
    reset();
    assert!(early_return_and_question_mark("x").is_err());
    assert_eq!(calls(), 3);
}

struct Client {
    max: u32,
    seen: Cell<u32>,
    count: u32,
}

impl Client {
    /// Values may use `self` and the arguments, evaluated per call.
    #[retry(stop = attempts(self.max), wait = fixed(Duration::from_millis(u64::from(step))))]
    fn by_ref(&self, step: u32) -> Result<u32, ()> {
        self.seen.set(self.seen.get() + 1);
        Err(())
    }

    #[retry(stop = attempts(3), wait = none())]
    fn by_mut(&mut self) -> Result<u32, u32> {
        self.count += 1;
        if self.count < 3 { Err(self.count) } else { Ok(self.count) }
    }

    #[retry(stop = attempts(2), wait = none())]
    fn by_value(self) -> Result<u32, u32> {
        CALLS.with(|c| c.set(c.get() + 1));
        Err(self.max)
    }
}

struct Shared;

impl Shared {
    #[retry(stop = attempts(2), wait = none())]
    fn by_arc(self: Arc<Self>) -> Result<u32, u32> {
        CALLS.with(|c| c.set(c.get() + 1));
        Err(Arc::strong_count(&self) as u32)
    }
}

impl Clone for Client {
    fn clone(&self) -> Self {
        Client { max: self.max, seen: Cell::new(self.seen.get()), count: self.count }
    }
}

#[test]
fn methods_of_every_receiver() {
    let sleeps = record_sleeps();
    let client = Client { max: 4, seen: Cell::new(0), count: 0 };
    assert_eq!(client.by_ref(7), Err(()));
    assert_eq!(client.seen.get(), 4);
    assert_eq!(sleeps.sleeps(), [Duration::from_millis(7); 3]);

    let mut client = client;
    assert_eq!(client.by_mut(), Ok(3));

    reset();
    assert_eq!(client.clone().by_value(), Err(4));
    assert_eq!(calls(), 2);

    reset();
    let shared = Arc::new(Shared);
    assert_eq!(shared.clone().by_arc(), Err(3), "the caller's Arc, ours, and the attempt's copy");
    assert_eq!(calls(), 2);
}

#[retry_if_result(|status: &&str| *status == "pending", stop = attempts(10), wait = fixed(1s))]
fn poll(statuses: &[&'static str]) -> &'static str {
    let n = CALLS.with(|c| {
        c.set(c.get() + 1);
        c.get()
    });
    statuses[n as usize - 1]
}

#[test]
fn polling_a_plain_value() {
    reset();
    let sleeps = record_sleeps();
    assert_eq!(poll(&["pending", "pending", "done"]), "done");
    assert_eq!(sleeps.sleeps().len(), 2);
}

#[retry_if_result(|n: &u32| *n < 2, wait = none())]
fn poll_result(errors: &[FetchError]) -> Result<u32, FetchError> {
    script(errors)
}

#[test]
fn retry_if_result_does_not_retry_errors() {
    reset();
    assert_eq!(poll_result(&[FetchError::Timeout]), Err(FetchError::Timeout));
    assert_eq!(calls(), 1);
    reset();
    assert_eq!(poll_result(&[]), Ok(2));
}

#[retry_if_result(|n: &u32| *n < 3, wait = none(), on = [Timeout])]
fn poll_result_on(errors: &[FetchError]) -> Result<u32, FetchError> {
    script(errors)
}

#[test]
fn retry_if_result_retries_the_errors_on_names() {
    reset();
    // A timeout is retried, and so is the value 2; the value 3 ends the call.
    assert_eq!(poll_result_on(&[FetchError::Timeout]), Ok(3));
    reset();
    assert_eq!(poll_result_on(&[FetchError::Fatal]), Err(FetchError::Fatal));
    assert_eq!(calls(), 1);
}

#[retry(stop = attempts(2), wait = none(), fallback = |_| Ok(99))]
fn degraded() -> Result<u32, FetchError> {
    Err(FetchError::Fatal)
}

#[retry_if_result(|n: &u32| *n == 0, stop = attempts(2), wait = none(), fallback = |_| 7)]
fn degraded_value() -> u32 {
    0
}

#[test]
fn fallback_replaces_the_final_outcome() {
    assert_eq!(degraded(), Ok(99));
    assert_eq!(degraded_value(), 7);
}

#[retry(
    stop = attempts(3),
    wait = fixed(1),
    before = |a| log(format!("before {}", a.attempt())),
    after = |a| log(format!("after {} {:?}", a.attempt(), a.error())),
    before_sleep = |a| log(format!("sleep {:?}", a.next_sleep())),
    on_success = |a| log(format!("success {}", a.name())),
    on_giveup = |a| log(format!("giveup {}", a.attempt())),
    name = "hooked",
)]
fn hooked(errors: &[FetchError]) -> Result<u32, FetchError> {
    script(errors)
}

thread_local! {
    static LOG: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn log(line: String) {
    LOG.with(|l| l.borrow_mut().push(line));
}

#[test]
fn hooks_run_in_order_with_the_name() {
    reset();
    let _sleeps = record_sleeps();
    assert_eq!(hooked(&[FetchError::Timeout]), Ok(2));
    let lines = LOG.with(|l| l.take());
    assert_eq!(
        lines,
        ["before 1", "after 1 Some(Timeout)", "sleep Some(1s)", "before 2", "after 2 None", "success hooked",]
    );
}

#[retry(wait = none())]
fn default_name() -> Result<(), String> {
    Err(retry::attempt().map(|n| n.to_string()).unwrap_or_default())
}

#[test]
fn default_policy_is_three_attempts_and_attempt_is_visible() {
    assert_eq!(default_name(), Err("3".to_owned()));
}

#[test]
fn custom_sleeper() {
    let slept = Cell::new(Duration::ZERO);
    #[retry(wait = fixed(2s), sleep = |d: Duration| slept.set(slept.get() + d))]
    fn with_sleeper(slept: &Cell<Duration>) -> Result<(), ()> {
        let _ = slept;
        Err(())
    }
    assert_eq!(with_sleeper(&slept), Err(()));
    assert_eq!(slept.get(), Duration::from_secs(4));
}
