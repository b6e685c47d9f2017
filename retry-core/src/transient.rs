//! Errors that know whether they are worth retrying.

use core::time::Duration;
use std::io;
use std::time::SystemTime;

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
#[diagnostic::on_unimplemented(
    message = "`on = transient` asks the error type whether an error is transient, but `{Self}` is not `retry::Transient`",
    label = "`{Self}` is not `retry::Transient`",
    note = "implement `retry::Transient` for `{Self}`; or, for a type of another crate (which the orphan rule keeps you from implementing it for), say which errors to retry with `when = |e| ..`"
)]
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

/// Whether an HTTP status is worth retrying: 408 (request timeout), 425 (too
/// early), 429 (too many requests), 500, 502, 503 and 504. Other 4xx are the
/// request's fault and are not; neither are 501 (not implemented) and 505+.
pub const fn is_transient_status(status: u16) -> bool {
    matches!(status, 408 | 425 | 429 | 500 | 502 | 503 | 504)
}

/// The cap [`retry_after_header`] applies unless told otherwise: a server cannot
/// park a caller longer than this.
pub const RETRY_AFTER_CAP: Duration = Duration::from_secs(60);

/// Parses an HTTP `Retry-After` header value into a delay, at most `cap`:
/// delta-seconds (`"120"`) or an HTTP-date (`"Wed, 21 Oct 2015 07:28:00 GMT"`,
/// and the obsolete RFC 850 and asctime forms), counted from `now`. A date in the
/// past is a zero delay; anything else (negative, fractional, garbage) is `None`.
///
/// ```
/// use retry::transient::parse_retry_after;
/// use std::time::{Duration, SystemTime, UNIX_EPOCH};
///
/// let cap = Duration::from_secs(60);
/// let now = UNIX_EPOCH + Duration::from_secs(1_445_412_450); // 07:27:30 GMT
/// assert_eq!(parse_retry_after("5", now, cap), Some(Duration::from_secs(5)));
/// assert_eq!(parse_retry_after("86400", now, cap), Some(cap));
/// assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now, cap), Some(Duration::from_secs(30)));
/// assert_eq!(parse_retry_after("soon", now, cap), None);
/// ```
pub fn parse_retry_after(value: &str, now: SystemTime, cap: Duration) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // All digits: only an overflow can fail, and that is "very long".
        let secs = value.parse::<u64>().unwrap_or(u64::MAX);
        return Some(Duration::from_secs(secs).min(cap));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO).min(cap))
}

/// [`parse_retry_after`] against the system clock, capped at [`RETRY_AFTER_CAP`].
pub fn retry_after_header(value: &str) -> Option<Duration> {
    parse_retry_after(value, SystemTime::now(), RETRY_AFTER_CAP)
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

    #[test]
    fn statuses() {
        let transient: Vec<u16> = (100..600).filter(|s| is_transient_status(*s)).collect();
        assert_eq!(transient, [408, 425, 429, 500, 502, 503, 504]);
    }

    #[test]
    fn retry_after_forms() {
        use std::time::UNIX_EPOCH;
        let cap = Duration::from_secs(60);
        // Sun, 06 Nov 1994 08:49:37 GMT, the RFC's example date, minus 7 s.
        let now = UNIX_EPOCH + Duration::from_secs(784_111_777 - 7);
        for form in
            ["Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994"]
        {
            assert_eq!(parse_retry_after(form, now, cap), Some(Duration::from_secs(7)), "{form}");
        }
        let later = now + Duration::from_secs(3600);
        assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", later, cap), Some(Duration::ZERO));
        assert_eq!(parse_retry_after(" 0 ", now, cap), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("99999999999999999999999", now, cap), Some(cap));
        for bad in ["", "-1", "1.5", "5s", "tomorrow", "Sun, 32 Nov 1994 08:49:37 GMT"] {
            assert_eq!(parse_retry_after(bad, now, cap), None, "{bad:?}");
        }
    }
}
