//! Attribute macros of the `retry` framework. Use them through the `retry` crate.
//!
//! The `#[retry]` attribute lands with its own issue; until then this crate only
//! reserves its place in the workspace.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
