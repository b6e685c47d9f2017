//! # retry
//!
//! Retries, backoff, hooks and testing helpers for sync and async Rust, behind one
//! attribute. Published as the `retrykit` package (`retrykit = "0.1"`), whose
//! library is `retry`.
//!
//! ```
//! use retry::retry;
//!
//! #[derive(Debug, PartialEq)]
//! enum FetchError { Timeout, Connect(u16), NotFound }
//!
//! #[retry(stop = attempts(3), wait = expo(10ms, max = 1s), on = [Timeout, Connect(_)])]
//! fn fetch(tries: &mut u32) -> Result<u32, FetchError> {
//!     *tries += 1;
//!     if *tries < 3 { Err(FetchError::Timeout) } else { Ok(*tries) }
//! }
//!
//! let _sleeps = retry::testing::record_sleeps(); // no real sleeping in this example
//! assert_eq!(fetch(&mut 0), Ok(3));
//! ```
//!
//! # The attribute
//!
//! `#[retry(key = value, ...)]` goes on any fn returning a `Result` (sync or
//! `async`, free, method, trait method, `#[async_trait]`). Values are Rust
//! expressions evaluated on each call, inside the fn (they may use `self` and the
//! arguments), where the names of [`dsl`] (`attempts`, `expo`, ...) call the DSL's
//! fns, after two rewrites:
//!
//! * duration literals: `250ms`, `2s`, `1.5s`, `3m`, `1h`, `500us`, `10ns`; a bare
//!   number where a duration is expected is seconds (`expo(1, max = 10)`);
//! * named arguments: `f(a, k = v)` is `f(a).k(v)`, and `chain(a, b)` is
//!   `chain((a, b))`.
//!
//! | key | value |
//! |---|---|
//! | `stop` | a stop policy ([`stop`]); default `attempts(3)` |
//! | `wait` | a wait policy ([`wait`]); default `random_expo(100ms, max = 10s)` |
//! | `on` | `[Pattern, ...]` over the error type (a bare `Timeout` is `E::Timeout` of any shape), or `transient` ([`Transient`], with its retry-after hint) |
//! | `when` | `Fn(&E) -> bool`; either it or `on` retries |
//! | `unless` | `[Pattern, ...]` or `Fn(&E) -> bool`: never retried |
//! | `if_result` | `Fn(&T) -> bool`: also retry this `Ok` value |
//! | `retry_after` | `Fn(&E) -> Option<Duration>`: a delay the error asks for |
//! | `timeout` | a duration: each attempt of an `async fn` is cut after it, failing with `E::from(`[`TimedOut`]`)` |
//! | `deadline` | a duration from the call's start: no sleep that would end past it; an `async` attempt running at it is cut (as `timeout`) |
//! | `breaker` | a [`CircuitBreaker`] (a `static`, a field, an `Arc`, a reference): every attempt passes through it; open, the call returns `E::from(`[`CircuitOpen`]`)` at once, and no retry is slept for that it would refuse ([`guard`]) |
//! | `breaker_counts` | `[Pattern, ...]` or `Fn(&E) -> bool`: which errors count as failures against `breaker` (default: every error); see below |
//! | `budget` | a [`RetryBudget`] shared by the fns that name it: first attempts deposit, retries withdraw; empty, the call gives up with its last error |
//! | `observe` | the level of the retry and give-up events with the `tracing` feature ([`Retrying::observe`] in the explicit API): `off`, `trace`, `debug` (default), `info`, `warn`, `error`; the events carry the error (by `Display`) or the value `if_result` retried (by `Debug`), so turn them off (`off`) where those hold secrets; with the `metrics` feature the call's metrics are recorded too ([`observe`]) |
//! | `before`, `after`, `before_sleep`, `on_success`, `on_giveup` | `FnMut(&Attempt<T, E>)` hooks, in tenacity's order ([`hook`]) |
//! | `fallback` | `FnOnce(R) -> R`, called with the final outcome when the call gives up |
//! | `sleep` | a sleeper ([`sleep`]): `FnMut(Duration)` sync, `Fn(Duration) -> impl Future` async |
//! | `clock` | a [`clock::Clock`] for elapsed time (e.g. [`testing::ManualClock`]), for deterministic tests |
//! | `name` | a string literal; default the fn's path (a method's includes its type: see below) |
//! | `crate` | the path of this crate, for crates that re-export it |
//!
//! **Which errors blame the dependency.** Retrying an error and counting it against
//! the breaker are separate questions. A serialization conflict (SQLSTATE 40001),
//! a lock timeout or a `409 Conflict` is worth retrying, but it says the data is
//! contended, not that the dependency is down: counted against the breaker,
//! contention alone opens it and rejects calls while the dependency is healthy.
//! Say which errors mean "unhealthy" with `breaker_counts`:
//!
//! ```
//! use retry::{CircuitBreaker, CircuitOpen, retry};
//!
//! #[derive(Debug, PartialEq)]
//! enum TxError { Conflict, Unavailable }
//! impl From<CircuitOpen> for TxError {
//!     fn from(_: CircuitOpen) -> Self { TxError::Unavailable }
//! }
//!
//! static DB: CircuitBreaker = CircuitBreaker::new().with_consecutive_failures(3);
//!
//! #[retry(stop = attempts(5), wait = none(), on = [Conflict], breaker = DB, breaker_counts = [Unavailable])]
//! fn transfer(tries: &mut u32) -> Result<(), TxError> {
//!     *tries += 1;
//!     if *tries % 4 != 0 { Err(TxError::Conflict) } else { Ok(()) }
//! }
//!
//! let mut tries = 0;
//! for _ in 0..10 {
//!     assert_eq!(transfer(&mut tries), Ok(())); // three conflicts each, never blamed on DB
//! }
//! assert_eq!(DB.state(), retry::breaker::State::Closed);
//! ```
//!
//! **The default `name`** is the fn's path: `module::fn` for a free fn, and for a
//! method (a fn with `self`, or whose signature names `Self`) the path of its type,
//! `module::Type::method` (`core::any::type_name::<Self>()`, generic arguments
//! included: `module::Pool<u32>::get`). An associated fn that names neither
//! `self` nor `Self` cannot be told from a free fn: it gets `module::fn`, or give
//! it `name = "..."`.
//!
//! `#[retry_if_result(pred, ...)]` polls: `pred` is `if_result`, and errors are not
//! retried unless `on`/`when` says so. It works on fns returning any type.
//!
//! `#[hedge(n = .., delay = .., on = [..], when = .., budget = ..)]` goes on an
//! `async fn` returning a `Result`: when a call is slow it starts another copy,
//! up to `n` in flight, and returns the first `Ok`, dropping the others
//! ([`hedging`]). `delay` is a duration or `percentile(q)` (the default,
//! `percentile(0.95)`: a percentile of this fn's recent latencies, kept in a
//! `static` of the fn; `percentile(0.95, fallback = 50ms, min_samples = 20, period
//! = 10s)`); errors matching `on`/`when` start the next copy at once (default:
//! every error), others end the call. Arguments are shared by reference or cloned
//! per copy; a `&mut` argument or a by-value `self` (which each copy would need
//! for itself) is a compile error, since copies run at once.
//! `#[retry(..)]` and `#[hedge(..)]` stack in either order, and the retry then
//! wraps the hedged call. Under another name (`use retry::hedge as hedged;`),
//! `#[hedged(..)]` goes above `#[retry]`: below it, `#[retry]` cannot tell it is
//! a hedge, and the attribute says so.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! use retry::{hedge, retry};
//! use std::time::Duration;
//!
//! #[retry(stop = attempts(2), wait = none())]
//! #[hedge(n = 2, delay = 50ms)]
//! async fn lookup(slow: bool) -> Result<&'static str, ()> {
//!     let took = if slow { 1000 } else { 10 };
//!     tokio::time::sleep(Duration::from_millis(took)).await;
//!     Ok("found")
//! }
//!
//! let start = tokio::time::Instant::now();
//! assert_eq!(lookup(false).await, Ok("found"));
//! assert_eq!(start.elapsed(), Duration::from_millis(10)); // no hedge needed
//! # }
//! ```
//!
//! **The user's names win.** A bare DSL name is the DSL's fn only where it is
//! called (`stop = attempts(attempts)` calls the DSL's `attempts` with the fn's
//! argument `attempts`); everywhere else a name means what it means in the fn. An
//! item of yours named like a DSL fn (`fn fixed(..)` in scope) is never silently
//! swapped for the DSL's: the attribute does not compile ("`fixed` is ambiguous",
//! at the name); write `self::fixed` for yours, or `retry::dsl::fixed` for the
//! DSL's (rustc's own help names only the first).
//!
//! **How arguments reach each attempt.** References as they are; `&mut` (and
//! `Pin<&mut T>` arguments, and `self: Pin<&mut Self>`, which the body reborrows
//! with `self.as_mut()`) lent to each attempt in turn; values taken by value
//! cloned (so they must be `Clone`; the compile error says so and names the
//! argument), `impl Trait + Clone` too, unless the body never names them (then
//! they are left as they are). An `impl Trait` value that is not `Clone` is lent,
//! and so is a boxed closure (`Box<dyn Fn(..)>`, never `Clone`) and a value of a
//! type parameter of the fn whose bounds there say neither `Clone` nor `Copy`; one the body uses up (`impl Into<String>`, `T:
//! Into<String>`, an `impl Future` it awaits) is a compile error that says what to
//! take instead. The attribute sees only the fn's tokens, not whether a trait has
//! `Clone` as a supertrait (`M: Msg` where `trait Msg: Clone`): such a value is
//! lent while the body only borrows it, and cloned when the body moves it by
//! name (`let m = msg;`, `send(msg)`), which compiles exactly when it is `Clone`
//! (otherwise the error says to add `+ Clone`); `#[hedge]` clones it. A type
//! parameter of the `impl` is not known to be one (it is cloned). A
//! by-value `self` (`self`, `Box<Self>`, `Arc<Self>`) is cloned for each attempt and
//! assigned to `self` itself: every `self` of the body, format strings
//! (`"{self}"`) included, is the attempt's copy, and the body may move out of it.
//! The body runs unchanged in each attempt: `return` and `?` end the attempt, and
//! its values are typed by the fn's return type, so `Ok(Box::new(x))`,
//! `Err(e.into())` and `Ok(&self.name)` coerce as in the plain fn. A `&mut`
//! argument is reborrowed for each attempt, so the body may move it (`write_to(buf)`);
//! `&mut self` cannot be rebound (`self` is a keyword), so a body that moves it
//! (`let me = self;`) reborrows it there instead (`&mut *self`, and
//! `Pin::as_mut(&mut self)` for `self: Pin<&mut Self>`): the same type and
//! referent, and the next attempt still has it. A move the attribute cannot see,
//! such as passing `self` to a generic `W: Write`, is rustc's "value moved here,
//! in previous iteration of loop": reborrow it there (`&mut *self`).
//!
//! **Reserved names.** The bindings the expansion makes are hygienic: no argument
//! or local of yours can collide with them. Hygiene does not cover items, so each
//! starts with `__retry`: an item of yours in scope named so (a `const
//! __retry_delay`) is the one name that can break the expansion.
//!
//! **Nothing else changes.** The signature, doc comments and other attributes stay
//! on the fn; an `async fn`'s future is `Send` exactly when the plain fn's is
//! (`Send + !Sync` arguments and `&mut self` included). `#[tracing::instrument]`
//! and `#[async_trait]` stack in either order. Where the meaning cannot be kept,
//! the attribute does not compile and says why: `#[retry]` (or `#[hedge]`) twice
//! on a fn, also when one is renamed (`use retry::retry as again;`);
//! `#[track_caller]` on a sync fn (each attempt runs in a closure, which would
//! report the body's line; on an `async fn` it is a no-op with or without the
//! attribute, as rustc warns); a result that borrows from a `&mut` argument lent to
//! each attempt (return an owned value); `const`, C-variadic and `extern "C"` fns
//! (`extern "Rust"` is a Rust fn, and fine).
//!
//! **The return type** is a `Result` when it is one, whatever it is named: a path
//! named `Result` (`io::Result<T>`, `anyhow::Result<T>`) is; so is an alias
//! (`type Fallible<T> = Result<T, E>`), checked by its type; a `struct
//! SearchResult` is a value, for `if_result` (without it, the error says so). With
//! `if_result` (and under `#[retry_if_result]`), a return type not named `Result`
//! is taken for a value: the predicate sees all of it. Bare
//! variant names in `on` need the error type in the return type
//! (`Result<T, MyError>`); through an alias or a type parameter, write the full
//! path (`MyError::Timeout`). They name variants, so they need an enum: on a
//! struct error type the name is rustc's "ambiguous associated type" (the
//! tokens do not say whether `MyError` is an enum, and no trait does either);
//! write `when = |e| ..` there (`Box<dyn Error>`, `io::Error` and `anyhow::Error`
//! get that error from the attribute).
//!
//! **When values are evaluated.** On every call, once, inside the fn, before the
//! first attempt, so they can read the arguments and `self`, names bound by a
//! pattern argument (`(max, label): (u32, String)`) included, but for a pattern
//! over a `&mut` (`(a, b): &mut (u32, u32)`, renamed in the signature: bind it to
//! a name instead). A constant policy costs a few constants: nothing is stored
//! or read that the call does not use.
//!
//! **Mistakes are compile errors** on the offending tokens, all at once: an unknown
//! key (with "did you mean", or what a key of another library is here:
//! `max_attempts = 5` is `stop = attempts(5)`), a duplicate, `key: value`,
//! `attempts(0)`, `min > max`, a first delay above `max`, `elapsed(0)`, a negative
//! or malformed duration, a misspelled DSL fn, an empty `on = []`, a non-`Result`
//! return without `if_result`, `const` and `extern "C"` fns, a sync fn returning a
//! future.
//!
//! ```compile_fail
//! #[retry::retry(wiat = fixed(1))] // error: unknown key `wiat`; did you mean `wait`?
//! fn f() -> Result<(), ()> { Ok(()) }
//! ```
//!
//! **Costs.** No allocation per call or per retry, except one small box per actual
//! sleep with the default tokio sleeper (see [`sleep::DefaultSleeper`]). The future
//! of a retried `async fn` is at most 128 bytes larger than the plain fn's.
//!
//! # The explicit API
//!
//! ```
//! use retry::{Retrying, dsl::*};
//!
//! let mut calls = 0;
//! let out = Retrying::new()
//!     .stop(attempts(3))
//!     .wait(none())
//!     .call(|| {
//!         calls += 1;
//!         if calls < 3 { Err("flaky") } else { Ok(calls) }
//!     });
//! assert_eq!(out, Ok(3));
//! ```
//!
//! The pieces live in modules named after the concepts: [`stop`], [`wait`],
//! [`condition`], [`hook`] (which see an [`Attempt`]), [`sleep`], [`clock`],
//! [`breaker`], [`budget`], [`guard`], [`timeout`], [`hedging`], [`observe`], [`testing`];
//! [`dsl`] gathers the policy constructors.
//!
//! ```
//! use retry::{CircuitBreaker, CircuitOpen, RetryBudget, retry};
//! use std::time::Duration;
//!
//! #[derive(Debug, PartialEq)]
//! enum PayError { Declined, Unavailable }
//! impl From<CircuitOpen> for PayError {
//!     fn from(_: CircuitOpen) -> Self { PayError::Unavailable }
//! }
//!
//! static PAYMENTS: CircuitBreaker = CircuitBreaker::new()
//!     .with_consecutive_failures(3)
//!     .with_open_for(Duration::from_secs(30));
//! static RETRIES: RetryBudget = RetryBudget::new();
//!
//! #[retry(stop = attempts(3), wait = none(), breaker = PAYMENTS, budget = RETRIES)]
//! fn charge(cents: u64) -> Result<u64, PayError> {
//!     Err(PayError::Declined)
//! }
//!
//! assert_eq!(charge(500), Err(PayError::Declined)); // three failures open it
//! assert_eq!(charge(500), Err(PayError::Unavailable)); // rejected at once
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub use retry_core::*;

/// Breakers and budgets shared by the replicas of a service through Redis: the
/// [`retry-redis`](retry_redis) crate.
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use retry_redis as redis;

/// Paths the macros expand to. Not public API: may change in any release.
#[doc(hidden)]
pub use retry_core::macro_support as __private;

/// Retries the fn by the policy in its arguments: see [the crate docs](crate#the-attribute).
pub use retry_macros::retry;
/// Retries the fn while a predicate holds on its value (polling): see [the crate docs](crate#the-attribute).
pub use retry_macros::retry_if_result;

pub use retry_macros::hedge;
