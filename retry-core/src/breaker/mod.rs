//! A circuit breaker: stop calling a dependency that keeps failing, let a few
//! probes through after a pause, and close again when they succeed.
//!
//! ```
//! use retry::breaker::CircuitBreaker;
//! use std::time::Duration;
//!
//! static PAYMENTS: CircuitBreaker = CircuitBreaker::new()
//!     .with_consecutive_failures(3)
//!     .with_open_for(Duration::from_secs(30));
//!
//! for _ in 0..3 {
//!     let _ = PAYMENTS.call(|| Err::<(), _>("declined by the bank"));
//! }
//! // Open: rejected at once, without calling.
//! assert!(PAYMENTS.call(|| Ok::<_, &str>(())).unwrap_err().is_open());
//! ```
//!
//! # How it decides
//! * **Closed**: calls pass. It opens after `consecutive_failures` failures in a row,
//!   or when the failure rate (or the slow-call rate) over the sliding window reaches
//!   its threshold once the window holds `minimum_calls` calls.
//! * **Open**: calls are rejected with [`CircuitOpen`] for the open duration: fixed,
//!   or doubling on each consecutive opening up to a maximum.
//! * **Half-open**: exactly `half_open_probes` calls may be in flight; when that many
//!   have succeeded it closes, and the first failure reopens it. A probe that is
//!   cancelled (its future dropped) or panics gives its slot back.
//!
//! An outcome is counted only in the period its call was admitted in: a call
//! admitted while closed that fails after the breaker has opened (or been reset)
//! counts nothing, in whatever state it finds the breaker.
//!
//! # Concurrency
//! The state is one atomic word changed only by compare-and-swap (so no transition
//! is lost, and no probe beyond the limit is admitted under any interleaving; see
//! the `loom` model tests). A call on a closed breaker is one atomic load to enter;
//! a success writes shared memory only if there were failures to forget. A
//! count window is claimed in blocks of one cache line each through lanes that
//! threads are spread over, so its slots are not contended, and a success
//! replacing a success writes only its lane; a time window adds to the current
//! bucket's counters on every call. All of a breaker's state lives in the breaker:
//! any number of breakers can be used from one thread, and a breaker assigned
//! over another (a configuration reload) starts afresh.
//!
//! # Time
//! A breaker measures time from its first use, in whole words: opening times,
//! open durations and time windows are right after any gap, from nanoseconds to
//! centuries.
//!
//! # Shared state
//! A breaker can share its state with the other replicas of a service through a
//! [`SharedBreaker`] hook ([`set_shared`](CircuitBreaker::set_shared); the
//! `retry-redis` crate provides one). It stays a local breaker that also hears
//! from the fleet: the hook reads its counters ([`stats`](CircuitBreaker::stats))
//! in the background, so a closed-state call costs what it costs alone; a half-open
//! probe needs the hook's consent (a fleet-wide lease); and the hook opens and
//! closes it as the fleet decides ([`open_shared`](CircuitBreaker::open_shared),
//! [`close_shared`](CircuitBreaker::close_shared)). Manual control
//! (`force_open`, `force_closed`, `reset`) stays local, and wins.

mod gate;
mod window;

use core::fmt;
use core::time::Duration;
use std::sync::{OnceLock, RwLock};
use std::time::Instant;

use crate::clock::{Clock, DefaultClock};
use crate::shared::{BreakerSettings, SharedBreaker};
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

#[doc(hidden)]
pub use gate::{Gate, Ticket, Word};
pub use gate::{State, Transition};
use window::{CountWindow, TimeWindow};

/// Where the state machine's millisecond clock starts (some 35 years): an
/// opening can be stamped before the breaker's first use, as one shared by a
/// fleet that opened before this replica joined it is
/// ([`CircuitBreaker::open_shared`]).
const MS_BEFORE_ORIGIN: u64 = 1 << 40;

/// The error of a call the breaker rejected; the fn's error type must convert from
/// it to use `#[retry(breaker = ..)]` (`impl From<CircuitOpen> for MyError`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct CircuitOpen;

impl fmt::Display for CircuitOpen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the circuit breaker is open")
    }
}

impl std::error::Error for CircuitOpen {}

/// An error type that can stand for a rejected call.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot represent a call the circuit breaker rejected",
    label = "the fn's error type must implement `From<retry::CircuitOpen>`",
    note = "add `impl From<retry::CircuitOpen> for {Self}`, e.g. mapping it to an `Unavailable` variant"
)]
#[doc(hidden)]
pub trait FromCircuitOpen {
    /// The error for a rejected call.
    fn circuit_open() -> Self;
}

impl<E: From<CircuitOpen>> FromCircuitOpen for E {
    #[inline]
    fn circuit_open() -> Self {
        E::from(CircuitOpen)
    }
}

/// The outcome of [`CircuitBreaker::call`]: the operation's error, or a rejection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BreakerError<E> {
    /// The breaker was open; the operation was not called.
    Open(CircuitOpen),
    /// The operation failed.
    Inner(E),
}

impl<E> BreakerError<E> {
    /// Whether the call was rejected.
    pub fn is_open(&self) -> bool {
        matches!(self, BreakerError::Open(_))
    }
}

/// The sliding window the failure and slow-call rates are measured over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Window {
    /// The last `n` calls (1 to 65,536; clamped).
    Calls(u32),
    /// The calls of the last `d` (in ten buckets, so it slides in tenths of `d`;
    /// at least ten nanoseconds).
    Time(Duration),
}

/// A live snapshot of a breaker's counters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BreakerStats {
    /// The state now.
    pub state: State,
    /// Failures in a row (closed state).
    pub consecutive_failures: u32,
    /// Calls in the window.
    pub window_calls: u32,
    /// Failed share of the window's calls (0 when empty).
    pub failure_rate: f64,
    /// Slow share of the window's calls (0 when empty).
    pub slow_call_rate: f64,
    /// Calls rejected since the breaker was made.
    pub rejected: u64,
    /// Times it opened since the breaker was made.
    pub opened: u64,
}

type Listener = std::sync::Arc<dyn Fn(Transition) + Send + Sync>;

/// A circuit breaker; see the [module docs](self). Share it by reference (it is
/// `Sync`), in a `static` (`new` is `const`) or an `Arc`.
///
/// # Default
/// Opens after 5 consecutive failures; no rate window; open for 30 s (fixed); one
/// half-open probe; the [`DefaultClock`].
pub struct CircuitBreaker<K = DefaultClock> {
    consecutive_threshold: u32,
    failure_rate: f64,
    slow_call: Option<(Duration, f64)>,
    window: Option<Window>,
    minimum_calls: u32,
    open_for: Duration,
    open_max: Duration,
    probes: u32,
    clock: K,
    name: &'static str,

    gate: Gate<AtomicU64>,
    origin: OnceLock<Instant>,
    consecutive: AtomicU32,
    trips: AtomicU32,
    rejected: AtomicU64,
    opened_count: AtomicU64,
    calls: OnceLock<CountWindow>,
    time: TimeWindow,
    listeners: RwLock<Vec<Listener>>,
    shared: OnceLock<std::sync::Arc<dyn SharedBreaker>>,
}

impl<K> fmt::Debug for CircuitBreaker<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CircuitBreaker").field("state", &self.gate.state()).finish_non_exhaustive()
    }
}

impl CircuitBreaker {
    /// A breaker with the defaults (see the type's `# Default`).
    pub const fn new() -> Self {
        CircuitBreaker::with_clock(DefaultClock)
    }
}

impl Default for CircuitBreaker {
    fn default() -> Self {
        CircuitBreaker::new()
    }
}

impl<K> CircuitBreaker<K> {
    /// A breaker reading time from `clock` (a [`testing::ManualClock`](crate::testing::ManualClock)
    /// in tests).
    pub const fn with_clock(clock: K) -> Self {
        CircuitBreaker {
            consecutive_threshold: 5,
            failure_rate: 0.0,
            slow_call: None,
            window: None,
            minimum_calls: 10,
            open_for: Duration::from_secs(30),
            open_max: Duration::from_secs(30),
            probes: 1,
            clock,
            name: "breaker",
            gate: Gate::closed(),
            origin: OnceLock::new(),
            consecutive: AtomicU32::new(0),
            trips: AtomicU32::new(0),
            rejected: AtomicU64::new(0),
            opened_count: AtomicU64::new(0),
            calls: OnceLock::new(),
            time: TimeWindow::new(),
            listeners: RwLock::new(Vec::new()),
            shared: OnceLock::new(),
        }
    }

    /// A label for events and metrics (`breaker`).
    ///
    /// # Default
    /// `"breaker"`.
    pub const fn with_name(mut self, name: &'static str) -> Self {
        self.name = name;
        self
    }

    /// Opens after `n` failures in a row; 0 turns this rule off.
    ///
    /// # Default
    /// 5.
    pub const fn with_consecutive_failures(mut self, n: u32) -> Self {
        self.consecutive_threshold = n;
        self
    }

    /// Opens when at least `rate` (0 < rate ≤ 1) of the window's calls failed.
    /// A rate outside (0, 1] turns the rule off.
    ///
    /// # Default
    /// Off.
    pub const fn with_failure_rate(mut self, rate: f64, window: Window) -> Self {
        self.failure_rate = if rate > 0.0 && rate <= 1.0 { rate } else { 0.0 };
        self.window = Some(window);
        self
    }

    /// Also opens when at least `rate` of the window's calls took `threshold` or
    /// longer (successful or not). Needs a window (`with_failure_rate`).
    ///
    /// # Default
    /// Off.
    pub const fn with_slow_calls(mut self, threshold: Duration, rate: f64) -> Self {
        self.slow_call = if rate > 0.0 && rate <= 1.0 { Some((threshold, rate)) } else { None };
        self
    }

    /// The rates are judged only once the window holds this many calls (a count
    /// window of fewer calls is judged once it is full).
    ///
    /// # Default
    /// 10.
    pub const fn with_minimum_calls(mut self, n: u32) -> Self {
        self.minimum_calls = n;
        self
    }

    /// How long it stays open (a fixed duration).
    ///
    /// # Default
    /// 30 s.
    pub const fn with_open_for(mut self, duration: Duration) -> Self {
        self.open_for = duration;
        self.open_max = duration;
        self
    }

    /// Stays open `initial`, doubling on each consecutive opening, up to `max`.
    pub const fn with_open_backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.open_for = initial;
        self.open_max = if max.as_nanos() > initial.as_nanos() { max } else { initial };
        self
    }

    /// Probes admitted at once in half-open, and successes needed to close
    /// (1 to 1023; clamped).
    ///
    /// # Default
    /// 1.
    pub const fn with_half_open_probes(mut self, n: u32) -> Self {
        self.probes = if n == 0 {
            1
        } else if n > gate::MAX_PROBES {
            gate::MAX_PROBES
        } else {
            n
        };
        self
    }
}

impl<K: Clock> CircuitBreaker<K> {
    /// The state now (an open breaker whose time is up reports `Open` until a call
    /// moves it to half-open).
    pub fn state(&self) -> State {
        self.gate.state()
    }

    /// Shares this breaker's state through `hook` (see the module's `# Shared
    /// state`). Once per breaker: a second hook is handed back.
    pub fn set_shared(
        &self,
        hook: std::sync::Arc<dyn SharedBreaker>,
    ) -> Result<(), std::sync::Arc<dyn SharedBreaker>> {
        self.shared.set(hook)
    }

    /// The settings, as a shared store needs them.
    pub fn settings(&self) -> BreakerSettings {
        BreakerSettings {
            consecutive_failures: self.consecutive_threshold,
            failure_rate: self.failure_rate,
            slow_call: self.slow_call,
            window: self.window,
            minimum_calls: self.minimum_calls,
            open_for: self.open_for,
            open_max: self.open_max,
            half_open_probes: self.probes,
        }
    }

    /// The label given with [`with_name`](Self::with_name).
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Opens the breaker because the fleet did, until `remaining` from now (the
    /// fleet's open interval, not a timer of its own). Closed or half-open, it
    /// opens; open until earlier, its opening is moved later; forced, nothing
    /// changes. The shared hook is not told (the fleet already knows).
    pub fn open_shared(&self, remaining: Duration) {
        let now = self.now_ms();
        let until = now.saturating_add(u64::try_from(remaining.as_millis()).unwrap_or(u64::MAX));
        for _ in 0..8 {
            let generation = self.gate.generation();
            let state = self.state();
            match state {
                State::Closed | State::HalfOpen => {
                    // The stamp the gate reads against this opening's duration.
                    let trips = self.trips.load(Ordering::Relaxed).saturating_add(1);
                    let stamp = until.saturating_sub(self.open_duration_ms_for(trips));
                    if let Some(transition) = self.gate.open(state, generation, stamp) {
                        self.trips.fetch_add(1, Ordering::Relaxed);
                        self.clear_counts();
                        self.notify(transition);
                        return;
                    }
                }
                State::Open => {
                    self.gate.extend(generation, until.saturating_sub(self.open_duration_ms()));
                    return;
                }
                State::ForcedOpen | State::ForcedClosed => return,
            }
        }
    }

    /// Closes an open or half-open breaker because the fleet's probes succeeded.
    /// Forced, nothing changes. The shared hook is not told.
    pub fn close_shared(&self) {
        for _ in 0..8 {
            let generation = self.gate.generation();
            let state = self.state();
            if !matches!(state, State::Open | State::HalfOpen) {
                return;
            }
            if let Some(transition) = self.gate.close(state, generation) {
                self.trips.store(0, Ordering::Relaxed);
                self.clear_counts();
                self.notify(transition);
                return;
            }
        }
    }

    /// Calls `listener` on every state change (from the thread that made it). A
    /// listener may use the breaker, and add listeners: it is called with no lock held.
    pub fn on_transition(&self, listener: impl Fn(Transition) + Send + Sync + 'static) {
        self.listeners.write().unwrap_or_else(|e| e.into_inner()).push(std::sync::Arc::new(listener));
    }

    /// Live counters.
    pub fn stats(&self) -> BreakerStats {
        let (window_calls, failures, slow) = self.window_counts();
        let rate = |n: u32| if window_calls == 0 { 0.0 } else { f64::from(n) / f64::from(window_calls) };
        BreakerStats {
            state: self.state(),
            consecutive_failures: self.consecutive.load(Ordering::Relaxed),
            window_calls,
            failure_rate: rate(failures),
            slow_call_rate: rate(slow),
            rejected: self.rejected.load(Ordering::Relaxed),
            opened: self.opened_count.load(Ordering::Relaxed),
        }
    }

    /// Opens the breaker until [`reset`](Self::reset), whatever happens.
    pub fn force_open(&self) {
        let transition = self.gate.force(State::ForcedOpen, self.now_ms());
        self.notify(transition);
    }

    /// Lets every call through, counting nothing, until [`reset`](Self::reset).
    pub fn force_closed(&self) {
        let transition = self.gate.force(State::ForcedClosed, self.now_ms());
        self.notify(transition);
    }

    /// Closed, with every counter cleared.
    pub fn reset(&self) {
        // The generation first: an outcome reported from now on by a call admitted
        // before is ignored, so none lands in the counters cleared next.
        let transition = self.gate.force(State::Closed, self.now_ms());
        self.clear_counts();
        self.trips.store(0, Ordering::Relaxed);
        self.notify(transition);
    }

    /// Asks to make a call: a [`Permit`] to report its outcome on, or
    /// [`CircuitOpen`]. Dropping the permit without an outcome (a cancelled or
    /// panicking call) counts nothing and frees a half-open probe slot.
    #[inline(always)]
    pub fn try_acquire(&self) -> Result<Permit<'_, K>, CircuitOpen> {
        let ticket =
            self.gate.acquire(self.probes, || self.now_ms(), || self.open_duration_ms(), |t| self.notify(t));
        match ticket {
            // A half-open probe needs the fleet's consent too, when shared.
            Some(ticket) if ticket.probe() && self.shared.get().is_some_and(|shared| !shared.try_probe()) => {
                self.gate.release(ticket);
                self.rejected.fetch_add(1, Ordering::Relaxed);
                #[cfg(feature = "metrics")]
                metrics::counter!("retry_breaker_rejections_total", "breaker" => self.name).increment(1);
                Err(CircuitOpen)
            }
            Some(ticket) => {
                // A plain word, not an `Option<Instant>`, which the compiler wrote
                // in parts and read whole, stalling store forwarding.
                let started = if self.slow_call.is_some() && ticket.counted() { self.stamp_ns() } else { 0 };
                Ok(Permit { breaker: self, ticket: Some(ticket), started })
            }
            None => {
                self.rejected.fetch_add(1, Ordering::Relaxed);
                #[cfg(feature = "metrics")]
                metrics::counter!("retry_breaker_rejections_total", "breaker" => self.name).increment(1);
                Err(CircuitOpen)
            }
        }
    }

    /// Whether a call made `delay` from now could be admitted, as far as can be told
    /// now: false when it is forced open, or open until after then. The executor
    /// asks this before sleeping for a retry, so a call does not sleep only to be
    /// rejected. (Half-open answers true: a probe slot may be free by then.)
    pub fn may_admit_after(&self, delay: Duration) -> bool {
        if matches!(self.state(), State::Closed | State::ForcedClosed | State::HalfOpen) {
            return true;
        }
        let now = self.now_ms();
        let at = now.saturating_add(u64::try_from(delay.as_millis()).unwrap_or(u64::MAX));
        self.gate.may_admit_at(now, at, || self.open_duration_ms())
    }

    /// Runs `op` through the breaker: every `Err` counts as a failure.
    pub fn call<T, E>(&self, op: impl FnOnce() -> Result<T, E>) -> Result<T, BreakerError<E>> {
        self.call_counting(op, |_| true)
    }

    /// Runs `op` through the breaker; only errors for which `is_failure` holds
    /// count as failures (a `404` is the caller's fault, not the dependency's).
    pub fn call_counting<T, E>(
        &self,
        op: impl FnOnce() -> Result<T, E>,
        is_failure: impl FnOnce(&E) -> bool,
    ) -> Result<T, BreakerError<E>> {
        let mut permit = self.try_acquire().map_err(BreakerError::Open)?;
        let outcome = op();
        permit.settle(matches!(&outcome, Err(error) if is_failure(error)));
        outcome.map_err(BreakerError::Inner)
    }

    /// Time since the breaker's first use, read from [`Clock::now_async`]: a
    /// breaker serves async calls, and the default clock's async reading follows
    /// tokio's clock (`tokio::time::pause()`) when the `tokio` feature is on, and
    /// the system's otherwise.
    fn since_origin(&self) -> Duration {
        let now = self.clock.now_async();
        now.saturating_duration_since(*self.origin.get_or_init(|| now))
    }

    /// A call's start for the slow-call rule: nanoseconds since the origin plus one,
    /// so that zero means "not timed" (saturating, some 584 years on).
    fn stamp_ns(&self) -> u64 {
        self.now_ns().saturating_add(1)
    }

    fn now_ns(&self) -> u64 {
        u64::try_from(self.since_origin().as_nanos()).unwrap_or(u64::MAX)
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.since_origin().as_millis()).unwrap_or(u64::MAX).saturating_add(MS_BEFORE_ORIGIN)
    }

    fn open_duration_ms(&self) -> u64 {
        self.open_duration_ms_for(self.trips.load(Ordering::Relaxed))
    }

    /// The open duration of the `trips`-th consecutive opening.
    fn open_duration_ms_for(&self, trips: u32) -> u64 {
        // Doubled once per opening after the first, up to the maximum (which a
        // `Duration` reaches within 128 doublings of anything above zero).
        let doublings = trips.saturating_sub(1).min(128);
        let mut duration = self.open_for;
        for _ in 0..doublings {
            if duration >= self.open_max {
                break;
            }
            duration = duration.saturating_mul(2);
        }
        u64::try_from(duration.min(self.open_max).as_millis()).unwrap_or(u64::MAX)
    }

    fn notify(&self, transition: Transition) {
        if transition.from == transition.to {
            return;
        }
        #[cfg(feature = "tracing")]
        tracing::warn!(
            target: "retry::breaker",
            breaker = self.name,
            from = ?transition.from,
            to = ?transition.to,
            "circuit breaker state change"
        );
        #[cfg(feature = "metrics")]
        {
            let state = match transition.to {
                State::Closed => 0.0,
                State::Open => 1.0,
                State::HalfOpen => 2.0,
                State::ForcedOpen => 3.0,
                State::ForcedClosed => 4.0,
            };
            metrics::gauge!("retry_breaker_state", "breaker" => self.name).set(state);
            metrics::counter!("retry_breaker_transitions_total", "breaker" => self.name).increment(1);
        }
        if transition.to == State::Open || transition.to == State::ForcedOpen {
            self.opened_count.fetch_add(1, Ordering::Relaxed);
        }
        // A snapshot: a listener may add listeners (which needs the write lock).
        let listeners = self.listeners.read().unwrap_or_else(|e| e.into_inner()).clone();
        for listener in listeners {
            listener(transition);
        }
    }

    fn count_window(&self) -> Option<&CountWindow> {
        match self.window {
            Some(Window::Calls(n)) => Some(self.calls.get_or_init(|| CountWindow::new(n))),
            _ => None,
        }
    }

    fn window_counts(&self) -> (u32, u32, u32) {
        match self.window {
            Some(Window::Calls(_)) => self.count_window().map_or((0, 0, 0), CountWindow::counts),
            Some(Window::Time(span)) => self.time.counts(span, self.now_ns()),
            None => (0, 0, 0),
        }
    }

    fn clear_counts(&self) {
        self.consecutive.store(0, Ordering::Relaxed);
        if let Some(window) = self.calls.get() {
            window.clear();
        }
        self.time.clear();
    }

    fn open_from(&self, from: State, generation: u64) {
        if let Some(transition) = self.gate.open(from, generation, self.now_ms()) {
            self.trips.fetch_add(1, Ordering::Relaxed);
            self.clear_counts();
            self.notify(transition);
            if let Some(shared) = self.shared.get() {
                shared.opened(Duration::from_millis(self.open_duration_ms()));
            }
        }
    }

    /// Records a closed-state outcome and opens if a threshold is reached. An
    /// outcome of a call admitted in an earlier period (before an opening or a
    /// reset) counts nothing. (One reported at the very moment the breaker opens
    /// or is reset, from another thread, may still count in the new period: the
    /// check and the counting are not one atomic step.)
    fn record(&self, ticket: Ticket, failed: bool, slow: bool) {
        // The clock first: nothing between the generation check and the counting.
        let now_ns = match self.window {
            Some(Window::Time(_)) => self.now_ns(),
            _ => 0,
        };
        if self.gate.generation() != ticket.generation() {
            return;
        }
        if failed {
            let in_a_row = self.consecutive.fetch_add(1, Ordering::Relaxed).saturating_add(1);
            if self.consecutive_threshold > 0 && in_a_row >= self.consecutive_threshold {
                return self.open_from(State::Closed, ticket.generation());
            }
        } else if self.consecutive.load(Ordering::Relaxed) != 0 {
            // Only a breaker that saw failures pays a shared write on success.
            self.consecutive.store(0, Ordering::Relaxed);
        }
        let (calls, failures, slows) = match self.window {
            None => return,
            Some(Window::Calls(_)) => match self.count_window() {
                Some(window) => window.record(failed, slow),
                None => return,
            },
            Some(Window::Time(span)) => self.time.record(span, now_ns, failed, slow),
        };
        if calls < self.minimum_calls() {
            return;
        }
        let reached = |count: u32, rate: f64| rate > 0.0 && f64::from(count) >= rate * f64::from(calls);
        let slow_rate = self.slow_call.map_or(0.0, |(_, rate)| rate);
        if reached(failures, self.failure_rate) || reached(slows, slow_rate) {
            self.open_from(State::Closed, ticket.generation());
        }
    }

    /// The calls the window must hold before its rates are judged: at least one,
    /// and at most a count window's size (which could never hold more).
    fn minimum_calls(&self) -> u32 {
        let most = match self.window {
            Some(Window::Calls(n)) => n.clamp(1, 65_536),
            _ => u32::MAX,
        };
        self.minimum_calls.clamp(1, most)
    }
}

/// Permission for one call; report its outcome with [`success`](Self::success) or
/// [`failure`](Self::failure). Dropped without one, it counts nothing.
#[must_use = "report the call's outcome, or drop the permit to count nothing"]
pub struct Permit<'a, K: Clock = DefaultClock> {
    breaker: &'a CircuitBreaker<K>,
    ticket: Option<Ticket>,
    started: u64,
}

impl<K: Clock> fmt::Debug for Permit<'_, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit").field("ticket", &self.ticket).finish_non_exhaustive()
    }
}

impl<K: Clock> Permit<'_, K> {
    fn slow(&self) -> bool {
        match (self.started, self.breaker.slow_call) {
            (1.., Some((threshold, _))) => {
                Duration::from_nanos(self.breaker.stamp_ns().saturating_sub(self.started)) >= threshold
            }
            _ => false,
        }
    }

    /// The call succeeded.
    #[inline]
    pub fn success(mut self) {
        self.settle(false);
    }

    /// The call failed.
    pub fn failure(mut self) {
        self.settle(true);
    }

    /// Records the outcome (in place: moving a permit costs more than the call).
    #[inline(always)]
    fn settle(&mut self, failed: bool) {
        let Some(ticket) = self.ticket.take() else { return };
        if !ticket.counted() {
            return;
        }
        if ticket.probe()
            && let Some(shared) = self.breaker.shared.get()
        {
            shared.probe_done(Some(!failed));
        }
        match (ticket.probe(), failed) {
            (true, false) => {
                if let Some(transition) = self.breaker.gate.probe_succeeded(ticket, self.breaker.probes) {
                    self.breaker.trips.store(0, Ordering::Relaxed);
                    self.breaker.clear_counts();
                    self.breaker.notify(transition);
                    if let Some(shared) = self.breaker.shared.get() {
                        shared.closed();
                    }
                }
            }
            (true, true) => self.breaker.open_from(State::HalfOpen, ticket.generation()),
            (false, failed) => self.breaker.record(ticket, failed, self.slow()),
        }
    }
}

impl<K: Clock> Drop for Permit<'_, K> {
    fn drop(&mut self) {
        if let Some(ticket) = self.ticket.take() {
            if ticket.probe()
                && let Some(shared) = self.breaker.shared.get()
            {
                shared.probe_done(None);
            }
            self.breaker.gate.release(ticket);
        }
    }
}
