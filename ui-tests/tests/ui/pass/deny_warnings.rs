//! The expansion is warning-free, and the user's own lints behave as without it.
#![deny(warnings)]

use retry::{retry, retry_if_result};
use std::time::Duration;

#[derive(Debug, Clone)]
pub enum Error {
    Timeout,
    Refused { port: u16 },
    Other(String),
}

pub struct Client {
    pub attempts: u32,
}

impl Client {
    /// Documented, `#[must_use]`, with policies reading `self` and the arguments.
    #[retry(stop = attempts(self.attempts), wait = fixed(Duration::from_millis(backoff_ms)), on = [Timeout, Refused { .. }])]
    #[must_use]
    pub fn get(&self, path: &str, backoff_ms: u64) -> Result<String, Error> {
        Ok(path.to_owned())
    }

    #[retry(stop = attempts(2) | elapsed(1s), wait = none(), when = |e: &Error| matches!(e, Error::Other(_)))]
    pub async fn post(&mut self, mut body: Vec<u8>) -> Result<usize, Error> {
        body.push(0);
        self.attempts += 1;
        Ok(body.len())
    }
}

#[retry_if_result(|v: &Option<u32>| v.is_none(), stop = attempts(5), wait = none())]
pub fn poll(value: Option<u32>) -> Option<u32> {
    value
}

#[retry(wait = none(), before = |a| { let _ = a.attempt(); }, on_giveup = |a| { let _ = a.error(); })]
pub fn hooks() -> Result<(), Error> {
    Ok(())
}

#[retry(stop = attempts(2), wait = none())]
pub(crate) unsafe fn unsafe_fn(value: *const u32) -> Result<u32, ()> {
    // SAFETY: the caller passes a valid pointer.
    Ok(unsafe { *value })
}

fn main() {
    let client = Client { attempts: 2 };
    assert_eq!(client.get("/a", 1).unwrap(), "/a");
    assert_eq!(poll(Some(1)), Some(1));
    hooks().unwrap();
    let value = 7;
    // SAFETY: `value` is alive.
    assert_eq!(unsafe { unsafe_fn(&value) }, Ok(7));
    let mut client = client;
    let _ = client.post(Vec::new());
}
