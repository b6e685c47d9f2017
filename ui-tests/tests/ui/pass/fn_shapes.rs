//! Fn shapes a plain fn accepts, under `#[retry]`: they compile, warning-free.
#![deny(warnings)]

use std::fmt::Debug;
use std::future::Future;
use std::rc::Rc;
use std::sync::Arc;

use retry::retry;

#[derive(Debug, Clone, PartialEq)]
pub enum E {
    Timeout,
    Code(u16),
}

#[retry(stop = attempts(2), wait = none(), on = [Timeout, Code(500..=599)])]
pub fn generic<T: Clone + Debug, const N: usize>(items: [T; N], label: &str) -> Result<usize, E>
where
    T: PartialEq,
{
    let _ = label;
    Ok(items.len())
}

#[retry(stop = attempts(2), wait = none())]
pub fn lifetimes<'a, 'b: 'a>(x: &'a str, _y: &'b str) -> Result<&'a str, E> {
    Ok(x)
}

#[retry(stop = attempts(2), wait = none())]
pub fn patterns((a, b): (u32, u32), [c, d]: [u32; 2], &e: &u32) -> Result<u32, E> {
    Ok(a + b + c + d + e)
}

#[retry(stop = attempts(2), wait = none())]
pub fn returns_impl(x: u32) -> Result<impl Debug, E> {
    Ok(x)
}

#[retry(stop = attempts(2), wait = none())]
pub fn closure_with_return(x: u32) -> Result<u32, E> {
    let f = |y: u32| -> u32 {
        if y > 3 {
            return 3;
        }
        y
    };
    Ok(f(x))
}

/// # Safety
/// None needed: an `unsafe fn` under the attribute.
#[retry(stop = attempts(2), wait = none())]
pub unsafe fn unsafe_fn(x: u32) -> Result<u32, E> {
    Ok(x)
}

#[retry(stop = attempts(2), wait = none())]
pub(crate) async fn async_generic<F, Fut>(f: F) -> Result<u32, E>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<u32, E>>,
{
    f().await
}

impl From<retry::TimedOut> for E {
    fn from(_: retry::TimedOut) -> Self {
        E::Timeout
    }
}

pub type Fallible<T> = Result<T, E>;

#[retry(stop = attempts(2), wait = none(), on = [E::Timeout], fallback = |r| r)]
pub fn alias(x: u32) -> Fallible<u32> {
    Ok(x)
}

#[retry(stop = attempts(2), wait = none(), on = [E::Timeout], deadline = 1s)]
pub async fn alias_async(x: u32) -> Fallible<u32> {
    Ok(x)
}

pub struct S {
    pub n: u32,
}

impl Clone for S {
    fn clone(&self) -> Self {
        S { n: self.n }
    }
}

impl S {
    #[retry(stop = attempts(2), wait = none())]
    pub fn by_box(self: Box<Self>) -> Result<u32, E> {
        Ok(self.n)
    }

    #[retry(stop = attempts(2), wait = none())]
    pub fn by_rc(self: Rc<Self>) -> Result<u32, E> {
        Ok(self.n)
    }

    #[retry(stop = attempts(2), wait = none())]
    pub fn by_arc(self: Arc<Self>) -> Result<u32, E> {
        Ok(self.n)
    }

    #[retry(stop = attempts(2), wait = none())]
    pub fn by_mut_value(mut self) -> Result<u32, E> {
        self.n += 1;
        Ok(self.n)
    }

    #[retry(stop = attempts(2), wait = none())]
    pub async fn async_by_value(self) -> Result<u32, E> {
        let S { n } = self;
        Ok(n)
    }

    #[retry(stop = attempts(self.n), wait = none())]
    pub fn reads_self(&self) -> Result<u32, E> {
        Ok(self.n)
    }

    #[retry::retry_if_result(|n: &u32| *n == 0, stop = attempts(2), wait = none())]
    pub fn poll_by_value(self) -> u32 {
        self.n
    }

    #[retry::retry_if_result(|n: &u32| *n == 0, stop = attempts(2), wait = none(), fallback = |n| n + 1)]
    pub async fn poll_async_by_value(mut self) -> u32 {
        self.n += 1;
        self.n
    }

    #[retry(stop = attempts(2), wait = none())]
    pub fn by_value_alias(self) -> Fallible<u32> {
        Ok(self.n)
    }

    #[retry(stop = attempts(2), wait = none())]
    pub fn assoc() -> Result<Self, E> {
        Ok(S { n: 0 })
    }
}

pub trait Service {
    fn call(&mut self) -> impl Future<Output = Result<u32, E>>;
}

impl Service for S {
    #[retry(stop = attempts(2), wait = none())]
    async fn call(&mut self) -> Result<u32, E> {
        self.n += 1;
        Ok(self.n)
    }
}

fn main() {
    let _ = generic([1, 2], "x");
    let _ = lifetimes("a", "b");
    let _ = patterns((1, 2), [3, 4], &5);
    let _ = returns_impl(1);
    let _ = closure_with_return(5);
    let _ = unsafe { unsafe_fn(1) };
    let _ = async_generic(|| async { Ok(1) });
    let s = S { n: 1 };
    let _ = Box::new(s.clone()).by_box();
    let _ = Rc::new(s.clone()).by_rc();
    let _ = Arc::new(s.clone()).by_arc();
    let _ = s.clone().by_mut_value();
    let _ = s.clone().async_by_value();
    let _ = s.reads_self();
    let _ = S::assoc();
    let _ = alias(1);
    let _ = alias_async(1);
    let _ = s.clone().by_value_alias();
    let _ = s.clone().poll_by_value();
    let _ = s.clone().poll_async_by_value();
    let mut s = s;
    let _ = s.call();
}
