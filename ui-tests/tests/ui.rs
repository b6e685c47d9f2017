//! Every compile-time error of the macros, as snapshots (`tests/ui/fail/*.stderr`),
//! and the expansions that must compile cleanly (`tests/ui/pass`).
//!
//! To update a snapshot after a deliberate change: `TRYBUILD=overwrite cargo test -p
//! retry-ui-tests`, then read the new `.stderr` as a user would.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/fail/*.rs");
    cases.pass("tests/ui/pass/*.rs");
}
