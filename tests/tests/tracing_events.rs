//! Feature `tracing`: an event per retry and at give-up, at the attribute's level,
//! with the fn's name, the attempt, the delay and the error by `Display`, inside
//! the caller's span; breaker state changes as events too.
#![deny(warnings, clippy::all)]

use std::fmt;

use retry::retry;

use retry_tests::capture;

#[derive(Debug)]
struct Flaky;

impl fmt::Display for Flaky {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("connection flaked")
    }
}

#[retry(stop = attempts(3), wait = fixed(5ms), observe = warn, name = "inventory::reserve")]
fn reserve() -> Result<(), Flaky> {
    Err(Flaky)
}

#[test]
fn retries_and_give_up_are_events_in_the_callers_span() {
    let _sleeps = retry::testing::record_sleeps();
    let lines = capture(tracing::Level::WARN, || {
        let span = tracing::warn_span!("checkout", order = 7);
        let _entered = span.enter();
        assert!(reserve().is_err());
    });
    assert_eq!(lines.len(), 3, "{lines:#?}");
    for (line, attempt) in lines[..2].iter().zip(1..) {
        assert!(line.starts_with(" WARN checkout{order=7}: retry: retrying"), "{line}");
        assert!(line.contains("name=\"inventory::reserve\""), "{line}");
        assert!(line.contains(&format!("attempt={attempt}")), "{line}");
        assert!(line.contains("delay_ms=5.0"), "{line}");
        assert!(line.contains("error=connection flaked"), "{line}");
    }
    assert!(lines[2].contains("giving up") && lines[2].contains("attempt=3"), "{}", lines[2]);
}

#[retry(stop = attempts(2), wait = none())]
fn quiet_by_default() -> Result<(), ()> {
    Err(())
}

#[test]
fn the_default_level_is_debug_and_errors_without_display_are_left_out() {
    assert!(
        capture(tracing::Level::INFO, || {
            let _ = quiet_by_default();
        })
        .is_empty()
    );
    let lines = capture(tracing::Level::DEBUG, || {
        let _ = quiet_by_default();
    });
    assert_eq!(lines.len(), 2, "{lines:#?}");
    assert!(lines[0].contains("DEBUG") && lines[0].contains("retrying") && !lines[0].contains("error="));
    assert!(lines[0].contains("name=\"tracing_events::quiet_by_default\""), "{}", lines[0]);
}

#[retry(stop = attempts(3), wait = none(), observe = off)]
fn silent() -> Result<(), Flaky> {
    Err(Flaky)
}

#[test]
fn log_off_is_silent() {
    assert!(capture(tracing::Level::TRACE, || drop(silent())).is_empty());
}

#[test]
fn breaker_state_changes_are_events() {
    let breaker = retry::CircuitBreaker::new().with_consecutive_failures(1);
    let lines = capture(tracing::Level::WARN, || {
        let _ = breaker.call(|| Err::<(), _>("down"));
        breaker.reset();
    });
    assert_eq!(lines.len(), 2, "{lines:#?}");
    assert!(lines[0].contains("circuit breaker state change") && lines[0].contains("from=Closed to=Open"));
    assert!(lines[1].contains("from=Open to=Closed"), "{}", lines[1]);
}

#[retry(stop = attempts(8), wait = fixed(10ms), observe = off, name = "hot::spin")]
fn spin() -> Result<(), Flaky> {
    Err(Flaky)
}

#[retry(stop = attempts(8), wait = fixed(200ms), observe = off, name = "hot::patient")]
fn patient() -> Result<(), Flaky> {
    Err(Flaky)
}

#[retry(stop = attempts(5), wait = none(), observe = off, name = "hot::short")]
fn short() -> Result<(), Flaky> {
    Err(Flaky)
}

#[test]
fn a_hot_retry_loop_is_one_warning_a_minute_per_name() {
    let _sleeps = retry::testing::record_sleeps();
    let lines = capture(tracing::Level::WARN, || {
        assert!(spin().is_err());
        assert!(spin().is_err());
        assert!(patient().is_err());
        assert!(short().is_err());
    });
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert!(
        lines[0].contains("retrying in a hot loop") && lines[0].contains("name=\"hot::spin\""),
        "{lines:#?}"
    );
    assert!(lines[0].contains("retries=5"), "{lines:#?}");
}

#[derive(Debug)]
#[allow(dead_code, reason = "read through Debug")]
enum Job {
    Pending { done: u8 },
    Done,
}

#[retry(stop = attempts(2), wait = none(), if_result = |job: &Job| matches!(job, Job::Pending { .. }), observe = warn)]
fn poll_job() -> Result<Job, Flaky> {
    Ok(Job::Pending { done: 40 })
}

#[test]
fn a_retried_value_is_in_the_event_by_debug() {
    let _sleeps = retry::testing::record_sleeps();
    let lines = capture(tracing::Level::WARN, || {
        let _ = poll_job();
    });
    assert_eq!(lines.len(), 2, "{lines:#?}");
    assert!(lines[0].contains("retrying") && lines[0].contains("value=Pending { done: 40 }"), "{}", lines[0]);
    assert!(!lines[0].contains("error="), "{}", lines[0]);
    assert!(
        lines[1].contains("giving up") && lines[1].contains("value=Pending { done: 40 }"),
        "{}",
        lines[1]
    );
}
