//! The expansion names nothing through the prelude: this crate shadows it.
#![allow(dead_code, unused_macros, non_camel_case_types, clippy::all)]

struct Result<T>(T);
struct Option;
struct Some;
struct None;
struct Ok;
struct Err;
struct Box;
struct Vec;
struct String;
trait Clone {}
trait Default {}
trait Future {}
trait Iterator {}
trait Fn {}
trait FnMut {}
trait Drop {}
mod core {}
mod std {}
mod retry {}
macro_rules! matches {
    ($($t:tt)*) => {
        compile_error!("the prelude's `matches!` was used")
    };
}
macro_rules! concat {
    ($($t:tt)*) => {
        compile_error!("the prelude's `concat!` was used")
    };
}

#[derive(::core::clone::Clone, ::core::fmt::Debug, ::core::cmp::PartialEq)]
enum Error {
    Timeout,
    Fatal(u32),
}

#[::retry::retry(stop = attempts(3), wait = expo(10ms, max = 1s), on = [Timeout, Fatal(1..=3)], unless = [Fatal(2)])]
fn sync_call(arg: ::std::string::String, n: &mut u32) -> ::core::result::Result<u32, Error> {
    *n += 1;
    let _ = arg;
    ::core::result::Result::Ok(*n)
}

#[::retry::retry(stop = attempts(3), wait = none(), fallback = |r| r)]
async fn async_call(arg: ::std::string::String) -> ::core::result::Result<usize, Error> {
    ::core::result::Result::Ok(arg.len())
}

#[::retry::retry_if_result(|v: &u32| *v == 0, wait = none(), fallback = |v| v)]
async fn async_poll(values: &[u32]) -> u32 {
    values[0]
}

fn main() {
    let mut n = 0;
    ::core::assert_eq!(sync_call(::std::string::String::new(), &mut n), ::core::result::Result::Ok(1));
    let _ = async_call(::std::string::String::new());
    let _ = async_poll(&[1]);
}
