//! `#[track_caller]` on an `async fn` is a no-op, with or without `#[retry]`
//! (rustc warns either way): the attribute keeps it on the fn.
#![allow(ungated_async_fn_track_caller)]

use retry::retry;

#[retry(stop = attempts(2), wait = none())]
#[track_caller]
async fn fetch() -> Result<u32, ()> {
    Ok(std::panic::Location::caller().line())
}

fn main() {
    let _ = fetch();
}
