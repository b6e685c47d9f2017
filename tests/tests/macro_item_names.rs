//! Items in scope named like the expansion's own bindings (`delay`, `outcome`,
//! `failed`, `matcher`) leave `#[retry]` and `#[hedge]` fns working: a binding
//! the expansion makes never turns into a pattern that matches a user's
//! constant or unit struct.
#![allow(non_upper_case_globals, non_camel_case_types, dead_code)]

use std::cell::Cell;

use retry::{hedge, retry};

const delay: u32 = 0;
const outcome: u32 = 1;
const failed: bool = false;
const matcher: u32 = 2;
const result: u32 = 3;
struct error;

#[derive(Clone, Debug, PartialEq)]
enum E {
    Busy,
    Fatal,
}

#[retry(stop = attempts(3), wait = none(), on = [Busy])]
fn sync_on(tries: &Cell<u32>) -> Result<u32, E> {
    tries.set(tries.get() + 1);
    Err(E::Busy)
}

#[retry(stop = attempts(3), wait = none(), fallback = |_| Ok(9))]
fn sync_fallback(tries: &Cell<u32>) -> Result<u32, E> {
    tries.set(tries.get() + 1);
    Err(E::Fatal)
}

#[derive(Clone)]
struct Owned;

impl Owned {
    #[retry(stop = attempts(3), wait = none(), on = [Busy], fallback = |r| r)]
    fn consume(self, tries: &Cell<u32>) -> Result<u32, E> {
        tries.set(tries.get() + 1);
        Err(E::Busy)
    }
}

#[retry(stop = attempts(3), wait = none(), on = [Busy])]
async fn async_on(tries: &Cell<u32>) -> Result<u32, E> {
    tries.set(tries.get() + 1);
    Err(E::Busy)
}

#[retry(stop = attempts(3), wait = none(), fallback = |_| Ok(9))]
async fn async_fallback(tries: &Cell<u32>) -> Result<u32, E> {
    tries.set(tries.get() + 1);
    Err(E::Fatal)
}

#[hedge(n = 2, delay = 10ms, on = [Busy], when = |e: &E| *e == E::Fatal)]
async fn hedged() -> Result<u32, E> {
    Ok(4)
}

#[test]
fn sync_fns_run_with_items_named_like_the_expansions_bindings() {
    let tries = Cell::new(0);
    assert_eq!(sync_on(&tries), Err(E::Busy));
    assert_eq!(tries.get(), 3);
    let tries = Cell::new(0);
    assert_eq!(sync_fallback(&tries), Ok(9));
    let tries = Cell::new(0);
    assert_eq!(Owned.consume(&tries), Err(E::Busy));
    assert_eq!(tries.get(), 3);
    assert_eq!((delay, outcome, failed, matcher, result), (0, 1, false, 2, 3));
}

#[tokio::test]
async fn async_fns_run_with_items_named_like_the_expansions_bindings() {
    let tries = Cell::new(0);
    assert_eq!(async_on(&tries).await, Err(E::Busy));
    assert_eq!(tries.get(), 3);
    let tries = Cell::new(0);
    assert_eq!(async_fallback(&tries).await, Ok(9));
    assert_eq!(hedged().await, Ok(4));
}
