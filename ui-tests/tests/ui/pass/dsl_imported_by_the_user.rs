//! A module that imports the DSL itself (for the explicit API) keeps using the
//! attribute: the names are the same items, so nothing is ambiguous.
#![deny(warnings)]

use retry::dsl::*;
use retry::{Retrying, retry};

#[retry(stop = attempts(2), wait = expo(1ms, max = 2ms))]
fn fetch() -> Result<u32, ()> {
    Ok(1)
}

fn main() {
    let _ = fetch();
    let _ = Retrying::new().stop(attempts(2)).wait(fixed(0)).call(|| Ok::<_, ()>(1));
}
