//! # retry
//!
//! Retries, backoff, hooks and testing helpers for sync and async Rust.
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
//! [`condition`], [`attempt`](mod@attempt), [`hook`], [`sleep`], [`clock`],
//! [`testing`]; [`dsl`] gathers the policy constructors.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub use retry_core::*;

/// Paths the macros expand to. Not public API: may change in any release.
#[doc(hidden)]
pub mod __private {
    pub use core;
    pub use retry_core::macro_support::*;
    pub use retry_core::*;
}

pub use retry_macros::{retry, retry_if_result};
