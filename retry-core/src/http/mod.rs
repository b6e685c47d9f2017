//! Calls through [`reqwest`] (feature `reqwest`): which failures are transient,
//! the server's `Retry-After`, and an error type that carries both.
//!
//! ```no_run
//! # async fn run() -> Result<(), retry::http::HttpError> {
//! use retry::{http::{HttpError, check_status}, retry};
//!
//! #[retry(on = transient, stop = attempts(4), timeout = 2s)]
//! async fn fetch(client: &reqwest::Client, url: &str) -> Result<String, HttpError> {
//!     let response = check_status(client.get(url).send().await?).await?;
//!     Ok(response.text().await?)
//! }
//!
//! let body = fetch(&reqwest::Client::new(), "http://127.0.0.1:8080/").await?;
//! # Ok(()) }
//! ```
//!
//! With `on = transient`, a 503 carrying `Retry-After: 2` is retried after 2 s
//! (capped at [`RETRY_AFTER_CAP`](crate::transient::RETRY_AFTER_CAP)); a 400 is
//! returned at once.

use core::fmt;
use core::time::Duration;

#[cfg(feature = "reqwest-middleware")]
#[cfg_attr(docsrs, doc(cfg(feature = "reqwest-middleware")))]
mod middleware;
#[cfg(feature = "reqwest-middleware")]
pub(crate) use middleware::Boxed;
#[cfg(feature = "reqwest-middleware")]
pub use middleware::{Failed, NotReplayable, RetryMiddleware, is_retried_status};

use crate::breaker::CircuitOpen;
use crate::timeout::TimedOut;
use crate::transient::{Transient, is_transient_status, retry_after_header};

/// Timeouts, connection failures and failures while sending are transient; an
/// error status is by [`is_transient_status`]; building, redirect, body and
/// decoding errors are not. A `reqwest::Error` carries no headers, so no
/// `retry_after` (use [`HttpError`] for that).
impl Transient for reqwest::Error {
    fn is_transient(&self) -> bool {
        if let Some(status) = self.status() {
            return is_transient_status(status.as_u16());
        }
        self.is_timeout() || self.is_connect() || self.is_request()
    }
}

/// The response's `Retry-After`, parsed and capped (see
/// [`retry_after_header`]).
pub fn response_retry_after(response: &reqwest::Response) -> Option<Duration> {
    let value = response.headers().get(reqwest::header::RETRY_AFTER)?;
    retry_after_header(value.to_str().ok()?)
}

/// A failed HTTP call: the transport failed, the server answered with an error
/// status (and maybe a `Retry-After`), the attempt timed out, or a circuit breaker
/// rejected it. Converts from each, so `?`, `timeout` and `breaker` all work on
/// fns returning it.
#[derive(Debug)]
#[non_exhaustive]
pub enum HttpError {
    /// reqwest failed (connect, timeout, reset, body...).
    Transport(reqwest::Error),
    /// The server answered with an error status.
    Status {
        /// The status code.
        status: u16,
        /// The delay its `Retry-After` header asked for, if any.
        retry_after: Option<Duration>,
        /// The start of the response's body (at most [`BODY_EXCERPT`] bytes, as
        /// text): what the server said was wrong.
        body: String,
    },
    /// The attempt was cut by `timeout` or `deadline`.
    TimedOut,
    /// A circuit breaker rejected the call.
    CircuitOpen,
}

impl HttpError {
    /// The status the server answered with, if it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            HttpError::Status { status, .. } => Some(*status),
            HttpError::Transport(error) => error.status().map(|s| s.as_u16()),
            _ => None,
        }
    }
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpError::Transport(error) => write!(f, "{error}"),
            HttpError::Status { status, retry_after, body } => {
                write!(f, "HTTP status {status}")?;
                if let Some(after) = retry_after {
                    write!(f, " (retry after {after:?})")?;
                }
                if !body.is_empty() {
                    write!(f, ": {body}")?;
                }
                Ok(())
            }
            HttpError::TimedOut => f.write_str("the attempt timed out"),
            HttpError::CircuitOpen => f.write_str("the circuit breaker is open"),
        }
    }
}

impl std::error::Error for HttpError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            HttpError::Transport(error) => Some(error),
            _ => None,
        }
    }
}

/// Transport errors as `reqwest::Error`'s impl says; statuses by
/// [`is_transient_status`]; timeouts are transient; a breaker's rejection is not
/// (retrying it at once would be rejected again).
impl Transient for HttpError {
    fn is_transient(&self) -> bool {
        match self {
            HttpError::Transport(error) => error.is_transient(),
            HttpError::Status { status, .. } => is_transient_status(*status),
            HttpError::TimedOut => true,
            HttpError::CircuitOpen => false,
        }
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            HttpError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

impl From<reqwest::Error> for HttpError {
    fn from(error: reqwest::Error) -> Self {
        HttpError::Transport(error)
    }
}

impl From<TimedOut> for HttpError {
    fn from(_: TimedOut) -> Self {
        HttpError::TimedOut
    }
}

impl From<CircuitOpen> for HttpError {
    fn from(_: CircuitOpen) -> Self {
        HttpError::CircuitOpen
    }
}

/// The most of an error response's body [`check_status`] keeps.
pub const BODY_EXCERPT: usize = 1024;

/// The response if its status is a success; otherwise [`HttpError::Status`] with
/// the status, its `Retry-After` and the start of its body (read as it arrives,
/// at most [`BODY_EXCERPT`] bytes; the rest is not waited for).
pub async fn check_status(mut response: reqwest::Response) -> Result<reqwest::Response, HttpError> {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return Ok(response);
    }
    let retry_after = response_retry_after(&response);
    let mut excerpt = Vec::new();
    // A body that fails midway still says what arrived.
    while excerpt.len() < BODY_EXCERPT {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                excerpt.extend_from_slice(&chunk[..chunk.len().min(BODY_EXCERPT - excerpt.len())])
            }
            Ok(None) | Err(_) => break,
        }
    }
    let body = String::from_utf8_lossy(&excerpt).into_owned();
    Err(HttpError::Status { status: status.as_u16(), retry_after, body })
}
