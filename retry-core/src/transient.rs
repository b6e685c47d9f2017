//! Errors that know whether they are worth retrying.

use core::time::Duration;
use std::io;

/// An error that can tell whether retrying may help, and how long to wait.
///
/// `#[retry(on = transient)]` retries exactly the errors whose [`is_transient`] is
/// true, and uses [`retry_after`] (when `Some`) instead of the wait policy's delay.
///
/// [`is_transient`]: Transient::is_transient
/// [`retry_after`]: Transient::retry_after
///
/// ```
/// use retry::Transient;
/// use std::io::{Error, ErrorKind};
///
/// assert!(Error::from(ErrorKind::ConnectionReset).is_transient());
/// assert!(!Error::from(ErrorKind::NotFound).is_transient());
/// ```
pub trait Transient {
    /// Whether a later attempt may succeed where this one failed.
    fn is_transient(&self) -> bool;

    /// A delay the error asks for (e.g. from an HTTP `Retry-After` header).
    ///
    /// # Default
    /// `None`: the wait policy decides.
    fn retry_after(&self) -> Option<Duration> {
        None
    }
}

/// By [`io::ErrorKind`]: interruptions, timeouts, would-block, and the network kinds
/// that describe a peer or path that may come back (reset, aborted, refused, not
/// connected, broken pipe, unreachable, network down, busy) are transient; everything
/// else (not found, permission denied, invalid input or data, ...) is not.
impl Transient for io::Error {
    fn is_transient(&self) -> bool {
        use io::ErrorKind::*;
        matches!(
            self.kind(),
            Interrupted
                | WouldBlock
                | TimedOut
                | ConnectionReset
                | ConnectionAborted
                | ConnectionRefused
                | NotConnected
                | BrokenPipe
                | HostUnreachable
                | NetworkUnreachable
                | NetworkDown
                | ResourceBusy
        )
    }
}

impl<T: Transient + ?Sized> Transient for &T {
    fn is_transient(&self) -> bool {
        (**self).is_transient()
    }
    fn retry_after(&self) -> Option<Duration> {
        (**self).retry_after()
    }
}

impl<T: Transient + ?Sized> Transient for Box<T> {
    fn is_transient(&self) -> bool {
        (**self).is_transient()
    }
    fn retry_after(&self) -> Option<Duration> {
        (**self).retry_after()
    }
}

impl<T: Transient + ?Sized> Transient for std::sync::Arc<T> {
    fn is_transient(&self) -> bool {
        (**self).is_transient()
    }
    fn retry_after(&self) -> Option<Duration> {
        (**self).retry_after()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use io::ErrorKind;

    #[test]
    fn io_kinds() {
        for kind in [ErrorKind::TimedOut, ErrorKind::ConnectionRefused, ErrorKind::Interrupted] {
            assert!(io::Error::from(kind).is_transient(), "{kind:?}");
        }
        for kind in [ErrorKind::NotFound, ErrorKind::PermissionDenied, ErrorKind::InvalidData] {
            assert!(!io::Error::from(kind).is_transient(), "{kind:?}");
        }
        assert_eq!(io::Error::from(ErrorKind::TimedOut).retry_after(), None);
    }
}
