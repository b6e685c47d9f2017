//! The body of a `#[retry]` fn is type-checked against the fn's return type, as
//! without the attribute: `Ok(..)`, `Err(..)` and `return` coerce (unsizing,
//! deref) in sync and async attempts, under `#[retry_if_result]` and `#[hedge]` too.

use std::cell::Cell;
use std::error::Error;
use std::fmt::Display;

use retry::{hedge, retry, retry_if_result};

trait Greet {
    fn greet(&self) -> u32;
}

struct Hi;

impl Greet for Hi {
    fn greet(&self) -> u32 {
        7
    }
}

#[derive(Debug)]
struct MyErr;

impl Display for MyErr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("my error")
    }
}

impl Error for MyErr {}

type BoxError = Box<dyn Error + Send + Sync>;

#[retry(stop = attempts(2), wait = none())]
async fn boxed_ok() -> Result<Box<dyn Greet + Send>, ()> {
    Ok(Box::new(Hi))
}

#[retry(stop = attempts(2), wait = none())]
async fn boxed_err(tries: &Cell<u32>) -> Result<u32, BoxError> {
    tries.set(tries.get() + 1);
    if tries.get() == 1 {
        return Err(Box::new(MyErr));
    }
    Err(Box::new(MyErr))
}

struct Named {
    name: String,
    bytes: Vec<u8>,
}

impl Named {
    #[retry(stop = attempts(2), wait = none())]
    async fn name(&self) -> Result<&str, ()> {
        Ok(&self.name)
    }

    #[retry(stop = attempts(2), wait = none())]
    async fn bytes(&self) -> Result<&[u8], ()> {
        let v = &self.bytes;
        Ok(v)
    }

    #[retry_if_result(|s: &&str| s.is_empty(), stop = attempts(2), wait = none())]
    async fn polled(&self) -> &str {
        &self.name
    }

    #[hedge(n = 2, delay = 10ms)]
    async fn hedged(&self) -> Result<&str, ()> {
        Ok(&self.name)
    }
}

#[retry(stop = attempts(2), wait = none())]
fn sync_impl(tries: &Cell<u32>) -> Result<impl Display, Box<dyn Error>> {
    tries.set(tries.get() + 1);
    if tries.get() > 5 {
        return Ok(1);
    }
    Err(Box::new(MyErr))
}

#[retry(stop = attempts(2), wait = none())]
async fn async_impl(tries: &Cell<u32>) -> Result<impl Display, BoxError> {
    tries.set(tries.get() + 1);
    if tries.get() > 5 {
        return Ok(1);
    }
    Err(Box::new(MyErr))
}

#[retry(stop = attempts(2), wait = none())]
async fn async_impl_ok() -> Result<impl Greet, BoxError> {
    Ok(Hi)
}

#[hedge(n = 2, delay = 10ms)]
async fn hedged_boxed() -> Result<Box<dyn Greet + Send>, ()> {
    Ok(Box::new(Hi))
}

#[tokio::test]
async fn coercions_in_attempts_work_as_in_the_plain_fn() {
    assert_eq!(boxed_ok().await.map(|g| g.greet()), Ok(7));
    let tries = Cell::new(0);
    assert_eq!(boxed_err(&tries).await.map_err(|e| e.to_string()), Err("my error".to_owned()));
    assert_eq!(tries.get(), 2);
    let named = Named { name: "n".to_owned(), bytes: vec![1, 2] };
    assert_eq!(named.name().await, Ok("n"));
    assert_eq!(named.bytes().await, Ok(&[1u8, 2][..]));
    assert_eq!(named.polled().await, "n");
    assert_eq!(named.hedged().await, Ok("n"));
    let tries = Cell::new(0);
    assert_eq!(
        sync_impl(&tries).map(|v| v.to_string()).map_err(|e| e.to_string()),
        Err("my error".to_owned())
    );
    assert_eq!(tries.get(), 2);
    let tries = Cell::new(0);
    assert_eq!(
        async_impl(&tries).await.map(|v| v.to_string()).map_err(|e| e.to_string()),
        Err("my error".to_owned())
    );
    assert_eq!(async_impl_ok().await.map(|g| g.greet()).ok(), Some(7));
    assert_eq!(hedged_boxed().await.map(|g| g.greet()), Ok(7));
}

// `&mut` arguments are reborrowed for each async attempt: a body that moves the
// reference (into a generic `W: Write`, or to another binding) runs again.

fn write_to<W: std::io::Write>(mut w: W) -> std::io::Result<()> {
    w.write_all(b"x")
}

#[retry(stop = attempts(3), wait = none())]
async fn moves_mut_arg(buf: &mut Vec<u8>) -> Result<usize, usize> {
    write_to(&mut *buf).map_err(|_| 0usize)?;
    write_to(buf).map_err(|_| 0usize)?;
    tokio::task::yield_now().await;
    Err(0)
}

#[retry(stop = attempts(3), wait = none())]
async fn rebinds_mut_arg(buf: &mut Vec<u8>) -> Result<usize, usize> {
    let b = buf;
    b.push(1);
    tokio::task::yield_now().await;
    if b.len() < 3 { Err(b.len()) } else { Ok(b.len()) }
}

#[tokio::test]
async fn mut_arguments_are_reborrowed_per_async_attempt() {
    let mut buf = Vec::new();
    assert_eq!(moves_mut_arg(&mut buf).await, Err(0));
    assert_eq!(buf.len(), 6);
    let mut buf = Vec::new();
    assert_eq!(rebinds_mut_arg(&mut buf).await, Ok(3));
    let fut = rebinds_mut_arg(&mut buf);
    fn is_send<T: Send>(_: &T) {}
    is_send(&fut);
}
