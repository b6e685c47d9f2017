//! The user's own lints fire on their fn as without the attribute.
#![deny(dead_code, unused_must_use)]

use retry::retry;

#[retry]
fn never_called() -> Result<(), ()> {
    Ok(())
}

#[retry]
#[must_use = "the count matters"]
fn count() -> Result<u32, ()> {
    Ok(1)
}

fn main() {
    count();
}
