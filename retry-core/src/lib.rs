//! The runtime of the `retry` framework: policies, the executor, hooks and testing
//! helpers. Users depend on the facade, the `retrykit` package (library `retry`),
//! which re-exports all of this together with the `#[retry]` attribute.
//!
//! ```
//! use retry::{Retrying, dsl::*};
//!
//! let mut calls = 0;
//! let out = Retrying::new()
//!     .stop(attempts(3))
//!     .wait(expo(0.001).max(0.01))
//!     .call(|| {
//!         calls += 1;
//!         if calls < 3 { Err("flaky") } else { Ok(calls) }
//!     });
//! assert_eq!(out, Ok(3));
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod attempt;
mod duration;
mod error;
mod jitter;
mod retrying;
mod stats;
mod switch;

#[doc(hidden)]
pub mod macro_support;

pub mod breaker;
pub mod budget;
pub mod clock;
pub mod condition;
pub mod guard;
pub mod hedging;
pub mod hook;
#[cfg(feature = "reqwest")]
#[cfg_attr(docsrs, doc(cfg(feature = "reqwest")))]
pub mod http;
pub mod observe;
pub mod shared;
pub mod sleep;
pub mod stop;
pub mod testing;
pub mod timeout;
#[cfg(feature = "tower")]
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
pub mod tower;
pub mod transient;
pub mod wait;

pub use attempt::{Attempt, CallId, attempt, call_id};
pub use breaker::{CircuitBreaker, CircuitOpen};
pub use budget::RetryBudget;
pub use duration::IntoDuration;
pub use error::InvalidPolicy;
pub use hedging::{Hedging, Latencies};
pub use retrying::{Call, CallStats, Fallback, Next, NoFallback, Retrying};
pub use stats::{WithStats, with_stats, with_stats_async};
pub use switch::{disable, enable, is_enabled};
pub use timeout::TimedOut;
pub use transient::Transient;

/// The names the attribute DSL evaluates in: every stop and wait policy constructor,
/// and the `transient` condition. `use retry::dsl::*;` brings them into scope for
/// the explicit API too.
pub mod dsl {
    pub use crate::condition::transient;
    pub use crate::hedging::percentile;
    pub use crate::stop::{attempts, before_elapsed, elapsed, never, signal};
    pub use crate::wait::{
        chain, decorrelated, equal_jitter, expo, expo_jitter, fibonacci, fixed, from_state, linear, none,
        random, random_expo,
    };
}
