//! Observing retried calls: events (feature `tracing`) and metrics (feature
//! `metrics`).
//!
//! # Events
//!
//! With the feature on, every `#[retry]` fn emits, through `tracing`:
//! * `retrying` before each sleep, with the fn's name, the attempt that failed, the
//!   delay and the error (by `Display`, when the error type has it);
//! * `giving up` when the call ends in failure, with the same fields;
//! * `rejected by the circuit breaker` when the call ends because its breaker
//!   refused an attempt: not a failure of the call's own (the breaker's opening
//!   is one `WARN` event), so never more severe than `DEBUG`;
//!
//! at `DEBUG` by default, or at the level of the attribute's `observe = warn` key
//! (`off` for none; [`Retrying::observe`](crate::Retrying::observe) in the explicit API).
//! Events are emitted where the call runs, so they carry the caller's span.
//! A circuit breaker's state changes are `WARN` events (target `retry::breaker`).
//! A call that retries in a hot loop (five retries or more, having slept less
//! than 100 ms a retry on average: a `wait` that was probably meant in seconds)
//! is one `WARN` event, `retrying in a hot loop`, at most once a minute per name,
//! whatever the level.
//! Without the feature all of this compiles to nothing.
//!
//! # Metrics
//!
//! With the feature `metrics`, the same places record through the `metrics`
//! facade, labelled `name` (the fn's name): the counters `retry_attempts_total`,
//! `retry_retries_total`, `retry_successes_total`, `retry_giveups_total`,
//! `retry_rejections_total` (calls that ended in a breaker's rejection; not
//! counted as give-ups), `retry_fallbacks_total` (calls a `fallback` answered
//! for; each also a `DEBUG` event, `falling back`) and the histogram `retry_attempt_duration_seconds`; breakers add
//! `retry_breaker_state` (gauge: 0 closed, 1 open, 2 half-open, 3 forced open, 4
//! forced closed), `retry_breaker_transitions_total` and
//! `retry_breaker_rejections_total` (label `breaker`), budgets
//! `retry_budget_exhausted_total` (label `budget`), hedges
//! `retry_hedges_launched_total` and `retry_hedges_won_total`. Any exporter
//! (Prometheus, OpenTelemetry) installed as the global recorder receives them.

use core::fmt;
use core::marker::PhantomData;
use core::time::Duration;

use crate::attempt::Attempt;

/// The level of the retry and give-up events (metrics have none).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventLevel {
    /// No events.
    Off,
    /// `TRACE`.
    Trace,
    /// `DEBUG` (the default).
    Debug,
    /// `INFO`.
    Info,
    /// `WARN`.
    Warn,
    /// `ERROR`.
    Error,
}

impl EventLevel {
    const fn from_u8(level: u8) -> EventLevel {
        match level {
            1 => EventLevel::Trace,
            2 => EventLevel::Debug,
            3 => EventLevel::Info,
            4 => EventLevel::Warn,
            5 => EventLevel::Error,
            _ => EventLevel::Off,
        }
    }
}

/// Formats an error for the events.
#[doc(hidden)]
pub type Describe<E> = fn(&E, &mut fmt::Formatter<'_>) -> fmt::Result;

/// Where the events' level comes from: an [`EventLevel`] value, or [`At`] (fixed in
/// the type, so it takes no space in the call's future).
#[doc(hidden)]
pub trait Level: Copy {
    /// The level.
    fn level(&self) -> EventLevel;
}

impl Level for EventLevel {
    #[inline]
    fn level(&self) -> EventLevel {
        *self
    }
}

/// A level fixed in the type: 0 off, 1 trace, 2 debug, 3 info, 4 warn, 5 error.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, Default)]
pub struct At<const LEVEL: u8>;

impl<const LEVEL: u8> Level for At<LEVEL> {
    #[inline]
    fn level(&self) -> EventLevel {
        EventLevel::from_u8(LEVEL)
    }
}

/// How the events show the error: [`ByDisplay`] or [`Unshown`].
#[doc(hidden)]
pub trait ShowError<E>: Copy {
    /// The formatter, if the error is shown.
    fn describe(&self) -> Option<Describe<E>>;
}

/// The error is shown by `Display`.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, Default)]
pub struct ByDisplay;

impl<E: fmt::Display> ShowError<E> for ByDisplay {
    #[inline]
    fn describe(&self) -> Option<Describe<E>> {
        Some(|error, f| fmt::Display::fmt(error, f))
    }
}

/// The error is not shown (its type has no `Display`).
#[doc(hidden)]
#[derive(Clone, Copy, Debug, Default)]
pub struct Unshown;

impl<E> ShowError<E> for Unshown {
    #[inline]
    fn describe(&self) -> Option<Describe<E>> {
        None
    }
}

/// Neither events nor metrics.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, Default)]
pub struct NoObserver;

/// Events at a level, showing the error (or not), and metrics.
#[doc(hidden)]
#[derive(Clone, Copy, Debug)]
pub struct Observer<Lv = EventLevel, Sh = ByDisplay, Sv = Unshown> {
    level: Lv,
    show: Sh,
    values: Sv,
}

impl<Lv: Level, Sh> Observer<Lv, Sh> {
    /// Events at `level`, showing errors as `show` says (and no values).
    pub const fn new(level: Lv, show: Sh) -> Self {
        Observer { level, show, values: Unshown }
    }
}

impl<Lv: Level, Sh, Sv> Observer<Lv, Sh, Sv> {
    /// The events also show the value a retry or give-up follows (one
    /// `if_result` matched) as `values` says: [`ByDebug`] or [`Unshown`].
    pub fn values<Sv2>(self, values: Sv2) -> Observer<Lv, Sh, Sv2> {
        Observer { level: self.level, show: self.show, values }
    }
}

/// How the events show a retried value: [`ByDebug`] or [`Unshown`].
pub trait ShowValue<T>: Copy {
    /// The formatter, if the value is shown.
    fn describe_value(&self) -> Option<Describe<T>>;
}

/// The value is shown by `Debug`.
#[derive(Clone, Copy, Debug, Default)]
pub struct ByDebug;

impl<T: fmt::Debug> ShowValue<T> for ByDebug {
    #[inline]
    fn describe_value(&self) -> Option<Describe<T>> {
        Some(|value, f| fmt::Debug::fmt(value, f))
    }
}

impl<T> ShowValue<T> for Unshown {
    #[inline]
    fn describe_value(&self) -> Option<Describe<T>> {
        None
    }
}

/// The observing side of a call's guards.
#[doc(hidden)]
pub trait ObserverSide<T, E> {
    /// Whether attempts are timed (for the attempt-duration histogram).
    fn timed(&self) -> bool {
        false
    }
    /// An attempt starts (its number).
    fn attempt(&self, _name: &'static str) {}
    /// An attempt ended after `took` (zero if untimed).
    fn attempt_took(&self, _name: &'static str, _took: core::time::Duration) {}
    /// The call succeeded.
    fn succeeded(&self, _name: &'static str) {}
    /// Whether anything is emitted at retries and give-ups.
    fn is_on(&self) -> bool;
    /// Before a sleep.
    fn retrying(&self, attempt: &Attempt<'_, T, E>);
    /// When the call gives up.
    fn giving_up(&self, attempt: &Attempt<'_, T, E>);
    /// When the call ends because a circuit breaker rejected an attempt.
    fn rejected(&self, attempt: &Attempt<'_, T, E>);
}

impl<T, E> ObserverSide<T, E> for NoObserver {
    #[inline(always)]
    fn is_on(&self) -> bool {
        false
    }
    #[inline(always)]
    fn retrying(&self, _: &Attempt<'_, T, E>) {}
    #[inline(always)]
    fn giving_up(&self, _: &Attempt<'_, T, E>) {}
    #[inline(always)]
    fn rejected(&self, _: &Attempt<'_, T, E>) {}
}

impl<T, E, Lv: Level, Sh: ShowError<E>, Sv: ShowValue<T>> ObserverSide<T, E> for Observer<Lv, Sh, Sv> {
    #[inline]
    fn timed(&self) -> bool {
        cfg!(feature = "metrics")
    }
    #[inline]
    fn attempt(&self, _name: &'static str) {
        #[cfg(feature = "metrics")]
        metrics::counter!("retry_attempts_total", "name" => _name).increment(1);
    }
    #[inline]
    fn attempt_took(&self, _name: &'static str, _took: core::time::Duration) {
        #[cfg(feature = "metrics")]
        metrics::histogram!("retry_attempt_duration_seconds", "name" => _name).record(_took.as_secs_f64());
    }
    #[inline]
    fn succeeded(&self, _name: &'static str) {
        #[cfg(feature = "metrics")]
        metrics::counter!("retry_successes_total", "name" => _name).increment(1);
    }
    #[inline]
    fn is_on(&self) -> bool {
        (cfg!(feature = "tracing") && self.level.level() != EventLevel::Off) || cfg!(feature = "metrics")
    }
    #[cold]
    fn retrying(&self, attempt: &Attempt<'_, T, E>) {
        #[cfg(feature = "metrics")]
        metrics::counter!("retry_retries_total", "name" => attempt.name()).increment(1);
        emit(self.level.level(), (self.show.describe(), self.values.describe_value()), attempt, "retrying");
    }
    #[cold]
    fn giving_up(&self, attempt: &Attempt<'_, T, E>) {
        #[cfg(feature = "metrics")]
        metrics::counter!("retry_giveups_total", "name" => attempt.name()).increment(1);
        emit(self.level.level(), (self.show.describe(), self.values.describe_value()), attempt, "giving up");
    }
    #[cold]
    fn rejected(&self, attempt: &Attempt<'_, T, E>) {
        #[cfg(feature = "metrics")]
        metrics::counter!("retry_rejections_total", "name" => attempt.name()).increment(1);
        let level = match self.level.level() {
            EventLevel::Off => EventLevel::Off,
            EventLevel::Trace => EventLevel::Trace,
            _ => EventLevel::Debug,
        };
        emit(level, (self.show.describe(), None), attempt, "rejected by the circuit breaker");
    }
}

/// The events of the attribute: with the `tracing` or `metrics` feature, a
/// [`Observer`]; without, [`NoObserver`] (so a retried fn's future carries nothing for it).
#[doc(hidden)]
#[cfg(any(feature = "tracing", feature = "metrics"))]
pub fn events<Lv: Level, Sh, Sv>(level: Lv, show: Sh, values: Sv) -> Observer<Lv, Sh, Sv> {
    Observer::new(level, show).values(values)
}

/// The events of the attribute: without the `tracing` and `metrics` features, none.
#[doc(hidden)]
#[cfg(not(any(feature = "tracing", feature = "metrics")))]
pub fn events<Lv: Level, Sh, Sv>(_: Lv, _: Sh, _: Sv) -> NoObserver {
    NoObserver
}

/// An error or a value shown through its `describe` fn.
struct Shown<'a, E>(&'a E, Describe<E>);

impl<E> fmt::Display for Shown<'_, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (self.1)(self.0, f)
    }
}

#[cfg(feature = "tracing")]
fn emit<T, E>(
    level: EventLevel,
    (describe, describe_value): (Option<Describe<E>>, Option<Describe<T>>),
    attempt: &Attempt<'_, T, E>,
    message: &'static str,
) {
    use tracing::Level;
    let error = match (attempt.error(), describe) {
        (Some(error), Some(describe)) => Some(Shown(error, describe)),
        _ => None,
    };
    let error = error.as_ref().map(tracing::field::display);
    let value = match (attempt.value(), describe_value) {
        (Some(value), Some(describe)) => Some(Shown(value, describe)),
        _ => None,
    };
    let value = value.as_ref().map(tracing::field::display);
    let delay_ms = attempt.next_sleep().map(|d| d.as_secs_f64() * 1e3);
    macro_rules! at {
        ($level:expr) => {
            tracing::event!(
                target: "retry",
                $level,
                name = attempt.name(),
                attempt = attempt.attempt(),
                delay_ms,
                error,
                value,
                "{message}"
            )
        };
    }
    match level {
        EventLevel::Off => {}
        EventLevel::Trace => at!(Level::TRACE),
        EventLevel::Debug => at!(Level::DEBUG),
        EventLevel::Info => at!(Level::INFO),
        EventLevel::Warn => at!(Level::WARN),
        EventLevel::Error => at!(Level::ERROR),
    }
}

#[cfg(not(feature = "tracing"))]
fn emit<T, E>(
    _: EventLevel,
    _: (Option<Describe<E>>, Option<Describe<T>>),
    _: &Attempt<'_, T, E>,
    _: &'static str,
) {
    let _ = Shown::<E>;
}

/// Picks `Display` for the events when the error type has it (autoref
/// specialization, resolved where `#[retry]` expands).
#[doc(hidden)]
#[derive(Debug)]
pub struct Describer<E>(PhantomData<fn(&E)>);

impl<E> Describer<E> {
    /// A describer for `E`.
    pub const fn new() -> Self {
        Describer(PhantomData)
    }
}

impl<E> Default for Describer<E> {
    fn default() -> Self {
        Describer::new()
    }
}

/// `E: Display`: show it.
#[doc(hidden)]
pub trait ViaDisplay {
    /// [`ByDisplay`].
    fn show(&self) -> ByDisplay;
}

impl<E: fmt::Display> ViaDisplay for &Describer<E> {
    fn show(&self) -> ByDisplay {
        ByDisplay
    }
}

/// `T: Debug`: show a retried value.
#[doc(hidden)]
pub trait ViaDebug {
    /// [`ByDebug`].
    fn show_value(&self) -> ByDebug;
}

impl<T: fmt::Debug> ViaDebug for &Describer<T> {
    fn show_value(&self) -> ByDebug {
        ByDebug
    }
}

/// Otherwise: no value field.
#[doc(hidden)]
pub trait ViaNoValue {
    /// [`Unshown`].
    fn show_value(&self) -> Unshown;
}

impl<T> ViaNoValue for Describer<T> {
    fn show_value(&self) -> Unshown {
        Unshown
    }
}

/// Otherwise: no error field.
#[doc(hidden)]
pub trait ViaNothing {
    /// [`Unshown`].
    fn show(&self) -> Unshown;
}

impl<E> ViaNothing for Describer<E> {
    fn show(&self) -> Unshown {
        Unshown
    }
}

/// Retries from which a call can be in a hot loop.
const HOT_RETRIES: u32 = 5;
/// The average sleep a retry below which the loop is hot.
const HOT_SLEEP: Duration = Duration::from_millis(100);

/// Warns (at most once a minute per name) when a call has made [`HOT_RETRIES`]
/// retries or more, sleeping less than [`HOT_SLEEP`] a retry: `retries` is the
/// number of the attempt that just failed, `slept` the sleeps so far with the
/// one about to start.
#[inline]
pub(crate) fn hot_loop(name: &'static str, retries: u32, slept: Duration) {
    if retries >= HOT_RETRIES && slept < HOT_SLEEP.saturating_mul(retries) {
        warn_hot_loop(name, retries, slept);
    }
}

#[cold]
#[cfg(feature = "tracing")]
fn warn_hot_loop(name: &'static str, retries: u32, slept: Duration) {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    use std::time::Instant;
    static WARNED: OnceLock<Mutex<HashMap<&'static str, Instant>>> = OnceLock::new();
    let now = Instant::now();
    let mut warned = WARNED.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
    if warned.get(name).is_some_and(|at| now.saturating_duration_since(*at) < Duration::from_secs(60)) {
        return;
    }
    warned.insert(name, now);
    drop(warned);
    tracing::warn!(
        target: "retry",
        name,
        retries,
        slept_ms = slept.as_secs_f64() * 1e3,
        "retrying in a hot loop: {retries} retries slept {slept:?} in all; is `wait` in the unit you meant?"
    );
}

#[cfg(not(feature = "tracing"))]
fn warn_hot_loop(_: &'static str, _: u32, _: Duration) {}

/// A call gave up and its `fallback` answered instead, with a value: a `DEBUG` event (`falling
/// back`, target `retry`; one per call, so an outage does not flood the logs),
/// the counter `retry_fallbacks_total{name}`, and a mark for the tower layer's
/// report of the request being served.
#[cold]
pub(crate) fn fell_back(_name: &'static str) {
    crate::stats::fell_back();
    #[cfg(feature = "metrics")]
    metrics::counter!("retry_fallbacks_total", "name" => _name).increment(1);
    #[cfg(feature = "tracing")]
    tracing::debug!(target: "retry", name = _name, "falling back");
}
