//! The state of a retried call, as hooks see it, and [`attempt()`](crate::attempt()).

use core::cell::Cell;
use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::sync::atomic::{AtomicU64, Ordering};
use core::task::{Context, Poll};
use core::time::Duration;

/// One attempt of a retried call, as hooks see it.
///
/// `before` hooks see no outcome yet; `after`, `before_sleep`, `on_success` and
/// `on_giveup` see the attempt's result. `next_sleep` is known only in `before_sleep`.
#[derive(Debug)]
pub struct Attempt<'a, T, E> {
    pub(crate) number: u32,
    pub(crate) elapsed: Duration,
    pub(crate) idle_for: Duration,
    pub(crate) next_sleep: Option<Duration>,
    pub(crate) outcome: Option<&'a Result<T, E>>,
    pub(crate) name: &'static str,
}

impl<'a, T, E> Attempt<'a, T, E> {
    /// The attempt's number, 1-based.
    pub const fn attempt(&self) -> u32 {
        self.number
    }

    /// Time since the first attempt started (measured when the hook runs).
    pub const fn elapsed(&self) -> Duration {
        self.elapsed
    }

    /// Total time slept so far in this call.
    pub const fn idle_for(&self) -> Duration {
        self.idle_for
    }

    /// The sleep about to happen (`before_sleep` only).
    pub const fn next_sleep(&self) -> Option<Duration> {
        self.next_sleep
    }

    /// The attempt's result, once it has one.
    pub const fn outcome(&self) -> Option<&'a Result<T, E>> {
        self.outcome
    }

    /// The error, if the attempt failed.
    pub fn error(&self) -> Option<&'a E> {
        self.outcome.and_then(|r| r.as_ref().err())
    }

    /// The value, if the attempt returned `Ok`.
    pub fn value(&self) -> Option<&'a T> {
        self.outcome.and_then(|r| r.as_ref().ok())
    }

    /// The call's label (`name = ".."`, or the fn's path under `#[retry]`).
    pub const fn name(&self) -> &'static str {
        self.name
    }
}

thread_local! {
    /// The attempt running on this thread (0: none), and its call's serial
    /// (0: no id asked for yet).
    static CURRENT: Cell<(u32, u64)> = const { Cell::new((0, 0)) };
}

/// The number (1-based) of the attempt running on this thread, or `None` outside a
/// retried call.
///
/// Works in sync and async code on any runtime: the executor sets it around each
/// call of the operation and each poll of its future, and puts back the previous
/// value afterwards, so nested retried calls and many calls interleaved on one thread
/// each see their own number.
///
/// ```
/// use retry::{Retrying, dsl::*};
///
/// let mut seen = Vec::new();
/// let out: Result<(), ()> = Retrying::new().stop(attempts(3)).wait(none()).call(|| {
///     seen.push(retry::attempt());
///     Err(())
/// });
/// assert!(out.is_err());
/// assert_eq!(seen, [Some(1), Some(2), Some(3)]);
/// assert_eq!(retry::attempt(), None);
/// ```
pub fn attempt() -> Option<u32> {
    match CURRENT.get().0 {
        0 => None,
        n => Some(n),
    }
}

/// What an attempt's code can learn of its call while it runs: its number,
/// and the serial behind [`call_id`]. Kept in the call; each attempt's future
/// holds a reference to it.
#[doc(hidden)]
#[derive(Debug, Default)]
pub struct Ident {
    /// The call's serial once an attempt asked for its id (0: not yet).
    serial: AtomicU64,
    /// The number of the last attempt begun.
    pub(crate) attempt: u32,
    /// When the attempt in flight started, in µs since the first (saturating):
    /// for the attempt-duration metric only. (Here, beside `attempt`, it fills
    /// what would be padding.)
    pub(crate) attempt_started_us: u32,
}

impl Ident {
    pub(crate) const fn new() -> Self {
        Ident::at(0)
    }

    /// Attempt `number` of a call with no id yet (for benchmarks' floors).
    pub const fn at(number: u32) -> Self {
        Ident { serial: AtomicU64::new(0), attempt: number, attempt_started_us: 0 }
    }
}

/// Marks the attempt `ident` describes as current until dropped (panic-safe),
/// and keeps the serial an attempt's code made (by asking [`call_id`]).
pub(crate) struct Current<'a> {
    ident: &'a Ident,
    previous: (u32, u64),
}

impl<'a> Current<'a> {
    #[inline]
    pub(crate) fn enter(ident: &'a Ident) -> Current<'a> {
        let now = (ident.attempt, ident.serial.load(Ordering::Relaxed));
        Current { ident, previous: CURRENT.replace(now) }
    }
}

impl Drop for Current<'_> {
    #[inline]
    fn drop(&mut self) {
        let (_, serial) = CURRENT.replace(self.previous);
        if serial != 0 {
            self.ident.serial.store(serial, Ordering::Relaxed);
        }
    }
}

/// [`Current`] for code that holds the call by value: marks attempt `attempt`
/// of the call with `serial` as current until [`leave`](Self::leave) hands back
/// the serial its code made, or until dropped (a panic). It takes no reference
/// into the call, so a sync call that succeeds at once stays in registers.
pub(crate) struct Marked {
    previous: (u32, u64),
}

impl Marked {
    #[inline]
    pub(crate) fn enter(attempt: u32, serial: u64) -> Marked {
        Marked { previous: CURRENT.replace((attempt, serial)) }
    }

    /// Leaves: the serial the attempt's code made or was given (0: none).
    #[inline]
    pub(crate) fn leave(self) -> u64 {
        let (_, serial) = CURRENT.replace(self.previous);
        core::mem::forget(self);
        serial
    }
}

impl Drop for Marked {
    #[inline]
    fn drop(&mut self) {
        CURRENT.set(self.previous);
    }
}

impl Ident {
    /// The call's serial (0: none yet), for [`Marked::enter`].
    #[inline]
    pub(crate) fn serial(&mut self) -> u64 {
        *self.serial.get_mut()
    }

    /// Keeps the serial [`Marked::leave`] handed back.
    #[inline]
    pub(crate) fn keep(&mut self, serial: u64) {
        if serial != 0 {
            *self.serial.get_mut() = serial;
        }
    }
}

pin_project_lite::pin_project! {
    /// An attempt's future, with [`attempt()`] and [`call_id`] set while it is
    /// polled.
    #[doc(hidden)]
    #[derive(Debug)]
    pub struct InAttempt<'a, F> {
        ident: &'a Ident,
        #[pin]
        inner: F,
    }
}

impl<'a, F> InAttempt<'a, F> {
    /// Marks `inner` as the attempt `ident` describes.
    #[inline]
    pub fn new(ident: &'a Ident, inner: F) -> Self {
        InAttempt { ident, inner }
    }
}

impl<F: Future> Future for InAttempt<'_, F> {
    type Output = F::Output;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let _current = Current::enter(this.ident);
        this.inner.poll(cx)
    }
}

/// The id of one retried call: the same for all its attempts (and the hedges
/// within them), another for every other call. A version 4 UUID (122 bits from a
/// cryptographically secure generator, and the 6 bits that say so), shown as
/// one (`8-4-4-4-12` hex digits): an idempotency key no other client can guess.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallId(u128);

impl CallId {
    /// The id's 128 bits (those of the UUID it shows as).
    pub const fn as_u128(self) -> u128 {
        self.0
    }

    /// The id of the call with `serial`: ChaCha20's keystream under a key drawn
    /// once per process from the operating system's generator (through
    /// `rand`), with the serial as the stream number. Unique per serial, and
    /// unpredictable without the key.
    fn of(serial: u64) -> CallId {
        use chacha20::rand_core::{Rng, SeedableRng};
        static KEY: std::sync::OnceLock<[u8; 32]> = std::sync::OnceLock::new();
        let mut stream = chacha20::ChaCha20Rng::from_seed(*KEY.get_or_init(rand::random));
        stream.set_stream(serial);
        let bits = u128::from(stream.next_u64()) << 64 | u128::from(stream.next_u64());
        // The version (4) and variant (RFC 9562) bits of a random UUID.
        let versioned = (bits & !(0xF << 76)) | (0x4 << 76);
        CallId((versioned & !(0x3 << 62)) | (0x2 << 62))
    }
}

impl fmt::Display for CallId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(
            f,
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            b >> 96,
            (b >> 80) & 0xffff,
            (b >> 64) & 0xffff,
            (b >> 48) & 0xffff,
            b & 0xffff_ffff_ffff
        )
    }
}

impl fmt::Debug for CallId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CallId({self})")
    }
}

/// The id of the retried call running on this thread, or `None` outside one:
/// the same for every attempt of the call, across awaits and the threads a
/// runtime moves it to; a call nested in an attempt has its own, and the outer
/// one is current again when it returns. The call's hooks and its fallback see
/// it too. Like [`attempt()`], it works on any runtime; a task or thread an
/// attempt spawns is not in the call (pass the id along).
///
/// An id is made the first time a call asks for it (a call that never asks
/// pays nothing), from a secure generator: send it as an idempotency key, and
/// a server can tell the attempts of one call from new calls.
///
/// ```
/// use retry::{Retrying, call_id, dsl::*};
///
/// let mut ids = Vec::new();
/// let _ = Retrying::new().stop(attempts(3)).wait(none()).call(|| {
///     ids.push(call_id().unwrap());
///     Err::<(), _>("down")
/// });
/// assert!(ids.iter().all(|id| *id == ids[0]), "one id for every attempt");
/// let other = Retrying::new().call(|| Ok::<_, ()>(call_id().unwrap())).unwrap();
/// assert_ne!(other, ids[0], "another call, another id");
/// assert_eq!(call_id(), None);
/// ```
pub fn call_id() -> Option<CallId> {
    let (attempt, serial) = CURRENT.get();
    if attempt == 0 {
        return None;
    }
    if serial != 0 {
        return Some(CallId::of(serial));
    }
    let serial = next_serial();
    CURRENT.set((attempt, serial));
    Some(CallId::of(serial))
}

/// A serial no call of this process had (from 1).
fn next_serial() -> u64 {
    static SERIALS: AtomicU64 = AtomicU64::new(1);
    SERIALS.fetch_add(1, Ordering::Relaxed)
}

impl CallId {
    /// A fresh id, made as a call's is.
    #[cfg(feature = "reqwest-middleware")]
    pub(crate) fn fresh() -> CallId {
        CallId::of(next_serial())
    }
}
