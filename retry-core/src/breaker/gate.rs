//! The breaker's state machine: one atomic word, changed only by compare-and-swap,
//! so no transition is lost and half-open never admits more than its probes.
//!
//! Generic over the atomic type so the same code is model-checked with `loom`
//! (`tests/loom_breaker.rs`) and runs with `core`'s atomics in production.

use core::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release};

/// An atomic `u64`: `core`'s, or `loom`'s in the model tests.
#[doc(hidden)]
pub trait Word {
    /// A new word.
    fn new(value: u64) -> Self;
    /// Loads.
    fn load(&self, order: core::sync::atomic::Ordering) -> u64;
    /// Stores.
    fn store(&self, value: u64, order: core::sync::atomic::Ordering);
    /// Compare-and-swap.
    fn compare_exchange(&self, current: u64, new: u64) -> Result<u64, u64>;
}

impl Word for core::sync::atomic::AtomicU64 {
    fn new(value: u64) -> Self {
        core::sync::atomic::AtomicU64::new(value)
    }
    #[inline]
    fn load(&self, order: core::sync::atomic::Ordering) -> u64 {
        self.load(order)
    }
    #[inline]
    fn store(&self, value: u64, order: core::sync::atomic::Ordering) {
        self.store(value, order)
    }
    #[inline]
    fn compare_exchange(&self, current: u64, new: u64) -> Result<u64, u64> {
        self.compare_exchange(current, new, AcqRel, Acquire)
    }
}

/// The breaker's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    /// Calls pass; failures are counted.
    Closed,
    /// Calls are rejected until the open duration has passed.
    Open,
    /// A few probe calls pass; their outcome closes or reopens the breaker.
    HalfOpen,
    /// Rejecting every call until [`reset`](super::CircuitBreaker::reset) (`force_open`).
    ForcedOpen,
    /// Passing every call, counting nothing, until `reset` (`force_closed`).
    ForcedClosed,
}

// Layout of the state word: phase (3 bits) | probes in flight (10) | probe
// successes (10) | generation (41). The generation changes on every transition,
// so an outcome or a permit release from an earlier state is recognized and ignored.
const PHASE_BITS: u32 = 3;
const COUNT_BITS: u32 = 10;
const COUNT_MASK: u64 = (1 << COUNT_BITS) - 1;
const IN_FLIGHT_SHIFT: u32 = PHASE_BITS;
const SUCCESS_SHIFT: u32 = PHASE_BITS + COUNT_BITS;
const GEN_SHIFT: u32 = PHASE_BITS + 2 * COUNT_BITS;
/// The most probes half-open can admit (the in-flight field's capacity).
pub const MAX_PROBES: u32 = COUNT_MASK as u32;

#[inline]
const fn phase(word: u64) -> State {
    match word & ((1 << PHASE_BITS) - 1) {
        0 => State::Closed,
        1 => State::Open,
        2 => State::HalfOpen,
        3 => State::ForcedOpen,
        _ => State::ForcedClosed,
    }
}

#[inline]
const fn gen_of(word: u64) -> u64 {
    word >> GEN_SHIFT
}

#[inline]
const fn in_flight(word: u64) -> u32 {
    ((word >> IN_FLIGHT_SHIFT) & COUNT_MASK) as u32
}

#[inline]
const fn successes(word: u64) -> u32 {
    ((word >> SUCCESS_SHIFT) & COUNT_MASK) as u32
}

#[inline]
const fn pack(state: State, generation: u64, in_flight: u32, successes: u32) -> u64 {
    let phase = match state {
        State::Closed => 0,
        State::Open => 1,
        State::HalfOpen => 2,
        State::ForcedOpen => 3,
        State::ForcedClosed => 4,
    };
    (generation << GEN_SHIFT)
        | ((successes as u64 & COUNT_MASK) << SUCCESS_SHIFT)
        | ((in_flight as u64 & COUNT_MASK) << IN_FLIGHT_SHIFT)
        | phase
}

/// Permission to make one call, from [`Gate::acquire`]: the state word it was
/// admitted under (one plain word, so holding it across the call costs one store).
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ticket(u64);

impl Ticket {
    /// The generation the call was admitted in.
    #[inline(always)]
    pub fn generation(self) -> u64 {
        gen_of(self.0)
    }

    /// Whether it is a half-open probe (holding one of the probe slots).
    #[inline(always)]
    pub fn probe(self) -> bool {
        phase(self.0) == State::HalfOpen
    }

    /// Whether outcomes count (false when forced closed).
    #[inline(always)]
    pub fn counted(self) -> bool {
        phase(self.0) != State::ForcedClosed
    }
}

/// A state change, for listeners.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transition {
    /// The state before.
    pub from: State,
    /// The state after.
    pub to: State,
}

/// The state machine.
#[doc(hidden)]
#[derive(Debug)]
pub struct Gate<A> {
    word: A,
    /// When the breaker last opened, in milliseconds since the breaker's origin
    /// (a whole word: any time a `u64` of milliseconds holds).
    opened_at: A,
    /// The generation `opened_at` belongs to, stored after it: a reader that finds
    /// the open state's generation here reads that opening's time (or a later
    /// one's), never an earlier opening's.
    opened_gen: A,
}

impl Gate<core::sync::atomic::AtomicU64> {
    /// A closed gate (const, for `static` breakers).
    pub const fn closed() -> Self {
        use core::sync::atomic::AtomicU64;
        Gate { word: AtomicU64::new(0), opened_at: AtomicU64::new(0), opened_gen: AtomicU64::new(u64::MAX) }
    }
}

impl<A: Word> Gate<A> {
    /// A closed gate over any atomic word (the model tests' constructor).
    pub fn new() -> Self {
        Gate { word: A::new(0), opened_at: A::new(0), opened_gen: A::new(u64::MAX) }
    }

    /// When the open state of `generation` began, if the thread that opened it
    /// has stamped it yet.
    #[inline]
    fn opened_at(&self, generation: u64) -> Option<u64> {
        (self.opened_gen.load(Acquire) == generation).then(|| self.opened_at.load(Acquire))
    }

    /// Stamps the opening of `generation` at `now_ms`.
    fn stamp(&self, generation: u64, now_ms: u64) {
        self.opened_at.store(now_ms, Release);
        self.opened_gen.store(generation, Release);
    }

    /// The generation of the state now (it changes on every transition).
    #[inline]
    pub fn generation(&self) -> u64 {
        gen_of(self.word.load(Acquire))
    }

    /// The current state.
    #[inline]
    pub fn state(&self) -> State {
        phase(self.word.load(Acquire))
    }

    /// Probes in flight (half-open).
    pub fn probes_in_flight(&self) -> u32 {
        in_flight(self.word.load(Acquire))
    }

    /// Admits a call, or `None` (reject). `now_ms` is read only when the breaker is
    /// open (`now` is called lazily); `open_for` gives the open duration in ms.
    #[inline]
    pub fn acquire(
        &self,
        probes: u32,
        now_ms: impl Fn() -> u64,
        open_for_ms: impl Fn() -> u64,
        mut notify: impl FnMut(Transition),
    ) -> Option<Ticket> {
        let mut word = self.word.load(Acquire);
        loop {
            let generation = gen_of(word);
            match phase(word) {
                State::Closed | State::ForcedClosed => return Some(Ticket(word)),
                State::ForcedOpen => return None,
                State::Open => {
                    // Not yet stamped by the thread that opened it: just opened.
                    let opened = self.opened_at(generation)?;
                    if now_ms().saturating_sub(opened) < open_for_ms() {
                        return None;
                    }
                    let half_open = pack(State::HalfOpen, generation + 1, 0, 0);
                    match self.word.compare_exchange(word, half_open) {
                        Ok(_) => {
                            notify(Transition { from: State::Open, to: State::HalfOpen });
                            word = half_open;
                        }
                        Err(current) => word = current,
                    }
                }
                State::HalfOpen => {
                    if in_flight(word) >= probes.min(MAX_PROBES) {
                        return None;
                    }
                    let taken = pack(State::HalfOpen, generation, in_flight(word) + 1, successes(word));
                    match self.word.compare_exchange(word, taken) {
                        Ok(_) => return Some(Ticket(taken)),
                        Err(current) => word = current,
                    }
                }
            }
        }
    }

    /// Whether a call made at `at_ms` could pass, as far as can be told at `now_ms`:
    /// closed and half-open may, forced open never, open only if its time is up
    /// by then. Reads the state only (one load; two when open).
    pub fn may_admit_at(&self, now_ms: u64, at_ms: u64, open_for_ms: impl Fn() -> u64) -> bool {
        let word = self.word.load(Acquire);
        match phase(word) {
            State::ForcedOpen => false,
            State::Open => {
                // Not stamped yet: it opened just now.
                let since = self.opened_at(gen_of(word)).unwrap_or(now_ms);
                at_ms.saturating_sub(since) >= open_for_ms()
            }
            _ => true,
        }
    }

    /// A probe finished without an outcome (cancelled, panicked): frees its slot.
    pub fn release(&self, ticket: Ticket) {
        if !ticket.probe() {
            return;
        }
        let mut word = self.word.load(Acquire);
        while phase(word) == State::HalfOpen && gen_of(word) == ticket.generation() && in_flight(word) > 0 {
            let freed = pack(State::HalfOpen, ticket.generation(), in_flight(word) - 1, successes(word));
            match self.word.compare_exchange(word, freed) {
                Ok(_) => return,
                Err(current) => word = current,
            }
        }
    }

    /// A probe succeeded: closes the breaker once `probes` probes have.
    pub fn probe_succeeded(&self, ticket: Ticket, probes: u32) -> Option<Transition> {
        let mut word = self.word.load(Acquire);
        while phase(word) == State::HalfOpen && gen_of(word) == ticket.generation() {
            let done = successes(word) + 1;
            let next = if done >= probes.min(MAX_PROBES) {
                pack(State::Closed, ticket.generation() + 1, 0, 0)
            } else {
                pack(State::HalfOpen, ticket.generation(), in_flight(word).saturating_sub(1), done)
            };
            match self.word.compare_exchange(word, next) {
                Ok(_) => {
                    return (phase(next) == State::Closed)
                        .then_some(Transition { from: State::HalfOpen, to: State::Closed });
                }
                Err(current) => word = current,
            }
        }
        None
    }

    /// Opens the breaker from `from` (closed on too many failures, half-open on a
    /// failed probe), if it is still in the generation the ticket saw.
    pub fn open(&self, from: State, generation: u64, now_ms: u64) -> Option<Transition> {
        let word = self.word.load(Acquire);
        if phase(word) != from || gen_of(word) != generation {
            return None;
        }
        let open = pack(State::Open, generation + 1, 0, 0);
        self.word.compare_exchange(word, open).ok()?;
        self.stamp(gen_of(open), now_ms);
        Some(Transition { from, to: State::Open })
    }

    /// Closes the breaker from `from` (open or half-open) if it is still in
    /// `generation`: the shared state says the fleet's probes succeeded.
    pub fn close(&self, from: State, generation: u64) -> Option<Transition> {
        let word = self.word.load(Acquire);
        if phase(word) != from || gen_of(word) != generation {
            return None;
        }
        self.word.compare_exchange(word, pack(State::Closed, generation + 1, 0, 0)).ok()?;
        Some(Transition { from, to: State::Closed })
    }

    /// Moves the opening of `generation` to `at_ms` if that is later than its own
    /// (the fleet's open interval ends after this replica's).
    pub fn extend(&self, generation: u64, at_ms: u64) {
        if self.opened_at(generation).is_some_and(|opened| opened < at_ms) {
            self.stamp(generation, at_ms);
        }
    }

    /// Moves to `to` whatever the state (manual control); returns the transition.
    pub fn force(&self, to: State, now_ms: u64) -> Transition {
        let mut word = self.word.load(Relaxed);
        loop {
            let next = pack(to, gen_of(word) + 1, 0, 0);
            match self.word.compare_exchange(word, next) {
                Ok(_) => {
                    if to == State::Open {
                        self.stamp(gen_of(next), now_ms);
                    }
                    return Transition { from: phase(word), to };
                }
                Err(current) => word = current,
            }
        }
    }
}

impl<A: Word> Default for Gate<A> {
    fn default() -> Self {
        Gate::new()
    }
}
