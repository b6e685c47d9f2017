//! `on` and `unless` patterns in every form the expansion treats apart: a `fn`
//! item where the error type can be named in one, a closure otherwise (generic
//! arguments, `Self`, patterns that would match a type parameter).
#![deny(warnings)]

use retry::retry;

#[derive(Debug, Clone, PartialEq)]
enum NetError {
    Busy(u32),
    Timeout,
    Fatal,
}

/// A `fn` item for each of `on` and `unless`.
#[retry(on = [Busy(_) | Timeout], unless = [Busy(0)], wait = none(), stop = attempts(5))]
fn both(n: &mut u32, errors: &[NetError]) -> Result<u32, NetError> {
    *n += 1;
    match errors.get(*n as usize - 1) {
        Some(error) => Err(error.clone()),
        None => Ok(*n),
    }
}

#[derive(Debug, PartialEq)]
enum Wrapped<T> {
    Busy(T),
    Fatal,
}

/// The error type has generic arguments: a closure.
#[retry(on = [Busy(_)], wait = none())]
fn generic_arguments(n: &mut u32) -> Result<u32, Wrapped<u32>> {
    *n += 1;
    if *n < 3 { Err(Wrapped::Busy(*n)) } else { Ok(*n) }
}

/// A wildcard on a type parameter: a closure.
#[retry(on = [_], wait = none(), stop = attempts(2))]
fn type_parameter<E: Clone>(error: &E, n: &mut u32) -> Result<(), E> {
    *n += 1;
    Err(error.clone())
}

impl NetError {
    /// A pattern naming `Self`: a closure.
    #[retry(on = [Self::Timeout], wait = none())]
    fn probe(&self, n: &mut u32) -> Result<(), NetError> {
        *n += 1;
        if *n < 3 { Err(self.clone()) } else { Err(NetError::Fatal) }
    }
}

fn main() {
    let mut n = 0;
    assert_eq!(both(&mut n, &[NetError::Busy(1), NetError::Timeout]), Ok(3));
    n = 0;
    assert_eq!(both(&mut n, &[NetError::Busy(0)]), Err(NetError::Busy(0)), "unless wins");
    n = 0;
    assert_eq!(both(&mut n, &[NetError::Fatal]), Err(NetError::Fatal));
    assert_eq!(n, 1);

    n = 0;
    assert_eq!(generic_arguments(&mut n), Ok(3));
    let _ = Wrapped::<u32>::Fatal;

    n = 0;
    assert_eq!(type_parameter(&"down", &mut n), Err("down"));
    assert_eq!(n, 2);

    n = 0;
    assert_eq!(NetError::Timeout.probe(&mut n), Err(NetError::Fatal));
    assert_eq!(n, 3);
}
