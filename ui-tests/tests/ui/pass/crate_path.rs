//! `crate = path` for crates that re-export `retry`.
mod reexport {
    pub use ::retry as inner;
}

#[retry::retry(crate = reexport::inner, stop = attempts(2), wait = none())]
fn fetch() -> Result<u32, ()> {
    Ok(1)
}

fn main() {
    assert_eq!(fetch(), Ok(1));
}
