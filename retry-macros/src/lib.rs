//! Attribute macros of the `retry` framework: `#[retry]`, `#[retry_if_result]` and
//! `#[hedge]`.
//! Use them through the `retry` crate, which documents them.
//!
//! Layout, as in tokio-macros and thiserror: these shims call `expand::expand` and
//! `hedge::expand`, which run three passes. Parse: the arguments in `attr` (all
//! three attributes'), the fn in `item`. Validate: `check`, one pass over the fn
//! and the attribute(s) that reports every error at once (the DSL values through
//! `dsl::validate`). Generate, only when nothing was reported, in code that
//! cannot fail: `expand` (`#[retry]`, `#[retry_if_result]`), `hedge`, and what they
//! share in `shared` (the DSL rewrites in `dsl`). The modules import in one
//! direction: `item` ← `dsl` ← `attr` ← `shared` ← `check` ← `hedge` ← `expand`.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod attr;
mod check;
mod dsl;
mod expand;
mod hedge;
mod item;
mod shared;

use proc_macro::TokenStream;

use attr::Kind;
use expand::expand;

/// Retries the fn's body by the policy in the arguments:
/// `#[retry(stop = attempts(3), wait = expo(1, max = 10), on = [Timeout])]`.
/// The grammar is documented in the `retry` crate, which re-exports this.
#[proc_macro_attribute]
pub fn retry(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(Kind::Retry, args.into(), item.into()).into()
}

/// Retries the fn's body while the predicate holds on its value (polling):
/// `#[retry_if_result(|s| s.is_pending(), wait = fixed(1s))]`. Documented in the
/// `retry` crate, which re-exports this.
#[proc_macro_attribute]
pub fn retry_if_result(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(Kind::RetryIfResult, args.into(), item.into()).into()
}

/// Hedges an `async fn`: starts another copy of the call when it is slow and
/// returns the first success: `#[hedge(n = 2, delay = percentile(0.95))]`.
/// Documented in the `retry` crate, which re-exports this.
#[proc_macro_attribute]
pub fn hedge(args: TokenStream, item: TokenStream) -> TokenStream {
    hedge::expand(args.into(), item.into()).into()
}

#[cfg(test)]
mod fuzz;
