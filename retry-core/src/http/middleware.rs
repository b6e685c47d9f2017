//! reqwest-middleware's retry: [`RetryMiddleware`].

use core::fmt;
use core::time::Duration;
use std::time::SystemTime;

use http::Extensions;
use reqwest::header::{HeaderName, HeaderValue};
use reqwest::{Method, Request, Response};
use reqwest_middleware::{Middleware, Next};

use crate::breaker::CircuitOpen;
use crate::clock::Clock;
use crate::condition::Conditions;
use crate::guard::Guard;
use crate::hook::HookSet;
use crate::retrying::{Fallback, Retrying, Step};
use crate::sleep::AsyncSleeper;
use crate::stop::Stop;
use crate::timeout::TimedOut;
use crate::transient::{RETRY_AFTER_CAP, Transient, parse_retry_after};
use crate::wait::Delay;

/// Why an attempt through [`RetryMiddleware`] did not succeed: the error its
/// policy sees (in hooks, `when`, `fallback`).
#[derive(Debug)]
#[non_exhaustive]
pub enum Failed {
    /// The server answered with an error status.
    Status(Response),
    /// The request did not get a response (or a breaker or time limit cut it).
    Transport(reqwest_middleware::Error),
}

impl Failed {
    /// The status the server answered with, if it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Failed::Status(response) => Some(response.status().as_u16()),
            Failed::Transport(error) => error.status().map(|s| s.as_u16()),
        }
    }

    /// The delay the response's `Retry-After` asks for, at most `cap`.
    pub fn retry_after(&self, cap: Duration) -> Option<Duration> {
        let Failed::Status(response) = self else { return None };
        let value = response.headers().get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
        parse_retry_after(value, SystemTime::now(), cap)
    }
}

impl fmt::Display for Failed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failed::Status(response) => write!(f, "HTTP status {}", response.status()),
            Failed::Transport(error) => write!(f, "{error}"),
        }
    }
}

impl std::error::Error for Failed {}

/// Whether a status is worth another attempt: 408, 425, 429 and every 5xx.
pub const fn is_retried_status(status: u16) -> bool {
    matches!(status, 408 | 425 | 429 | 500..=599)
}

/// Connect errors, timeouts and sending failures, and the statuses of
/// [`is_retried_status`]; a breaker's rejection or anything else from another
/// middleware is not.
impl Transient for Failed {
    fn is_transient(&self) -> bool {
        match self {
            Failed::Status(response) => is_retried_status(response.status().as_u16()),
            Failed::Transport(error) => retried(error),
        }
    }

    fn retry_after(&self) -> Option<Duration> {
        Failed::retry_after(self, RETRY_AFTER_CAP)
    }
}

impl From<CircuitOpen> for Failed {
    fn from(open: CircuitOpen) -> Self {
        Failed::Transport(reqwest_middleware::Error::middleware(open))
    }
}

impl From<TimedOut> for Failed {
    fn from(timed_out: TimedOut) -> Self {
        Failed::Transport(reqwest_middleware::Error::middleware(timed_out))
    }
}

/// The error of a transport failure that was not retried because the request's
/// body cannot be cloned (it is a stream).
#[derive(Debug)]
pub struct NotReplayable(reqwest_middleware::Error);

impl fmt::Display for NotReplayable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}; not retried: the request's body is a stream, which cannot be sent twice", self.0)
    }
}

impl std::error::Error for NotReplayable {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

/// A [`reqwest_middleware::Middleware`] that retries requests by this crate's
/// policies (feature `reqwest-middleware`): the drop-in for reqwest-retry's
/// `RetryTransientMiddleware`, with idempotency keys and attempt headers.
///
/// ```no_run
/// # async fn run() -> Result<(), reqwest_middleware::Error> {
/// use retry::{Retrying, dsl::*, http::RetryMiddleware};
/// use std::time::Duration;
///
/// let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
///     .with(RetryMiddleware::new(|| {
///         Retrying::new().stop(attempts(4)).wait(expo(Duration::from_millis(100)).max(Duration::from_secs(5)))
///     }))
///     .build();
/// // One `Idempotency-Key` for every attempt of this POST; `Retry-Attempt: 2`, `3`, ... on retries.
/// let response = client.post("http://127.0.0.1:8080/charges").body("{\"cents\": 500}").send().await?;
/// # Ok(()) }
/// ```
///
/// # What is retried
/// Connect errors and timeouts, and the statuses 408, 425, 429 and every 5xx
/// (not other 4xx). A response asking for a delay with `Retry-After` (seconds or
/// an HTTP-date) is retried after that delay instead of the policy's, at most
/// [`max_retry_after`](RetryMiddleware::max_retry_after). When the policy gives
/// up on an error status, the last response is returned as it is (as with
/// reqwest-retry); on a transport error, the last error.
///
/// # Idempotency
/// A retried POST is only safe when the server can tell the attempts of one call
/// apart from new calls. Each call of a method that is not idempotent (anything
/// but GET, HEAD, OPTIONS, TRACE, PUT and DELETE) without the header gets
/// `Idempotency-Key: <uuid>` — one key per request, from a cryptographically
/// secure generator, sent with every attempt of it — so a server that
/// deduplicates by it executes the call once. A `#[retry]` fn that sends the
/// same request again on its own retries can keep one key for all of them by
/// setting the header itself from [`crate::call_id`] (the middleware keeps a
/// key it finds). Retries also carry `Retry-Attempt: <n>` (2 on the first
/// retry). Both names can be changed or turned off.
///
/// # Bodies that cannot be cloned
/// A request whose body is a stream cannot be sent twice: it is sent once. If
/// that attempt fails with a transport error a retry would have followed, the
/// error says why it was not retried.
///
/// # Default
/// Idempotency header `Idempotency-Key`, attempt header `Retry-Attempt`,
/// `Retry-After` honoured up to 60 s.
#[derive(Clone, Debug)]
pub struct RetryMiddleware<P> {
    policy: P,
    idempotency_header: Option<HeaderName>,
    attempt_header: Option<HeaderName>,
    max_retry_after: Duration,
}

impl<P> RetryMiddleware<P> {
    /// A middleware building each request's policy with `policy`
    /// (`|| Retrying::new()...`: stop, wait, hooks, breaker, budget, time limits;
    /// which failures are retried is the middleware's).
    pub const fn new(policy: P) -> Self {
        RetryMiddleware {
            policy,
            idempotency_header: Some(HeaderName::from_static("idempotency-key")),
            attempt_header: Some(HeaderName::from_static("retry-attempt")),
            max_retry_after: RETRY_AFTER_CAP,
        }
    }

    /// The header that carries the call's idempotency key, or `None` for no key.
    ///
    /// # Default
    /// `Idempotency-Key`.
    pub fn idempotency_header(mut self, name: Option<HeaderName>) -> Self {
        self.idempotency_header = name;
        self
    }

    /// The header that carries a retry's attempt number, or `None` for none.
    ///
    /// # Default
    /// `Retry-Attempt`.
    pub fn attempt_header(mut self, name: Option<HeaderName>) -> Self {
        self.attempt_header = name;
        self
    }

    /// The longest delay a `Retry-After` can ask for (longer asks are cut to it).
    ///
    /// # Default
    /// 60 s.
    pub const fn max_retry_after(mut self, max: Duration) -> Self {
        self.max_retry_after = max;
        self
    }
}

/// The request's idempotency key: a fresh call id (made as
/// [`crate::call_id`]'s are), the one for all the middleware's attempts of
/// this request. Not the id of a retried call the request is made in: that call
/// may send several different requests, and each needs its own key.
fn idempotency_key() -> HeaderValue {
    let id = crate::attempt::CallId::fresh();
    HeaderValue::try_from(id.to_string()).expect("hex digits and dashes are a header value")
}

fn idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE | Method::PUT | Method::DELETE
    )
}

/// An attempt's future, boxed: one allocation per attempt (a request makes many),
/// so that the handler's future is `Send` whatever the policy's guards are.
type Sending<'a> = Boxed<'a, Response, Failed>;

#[async_trait::async_trait]
impl<P, S, W, H, F, Sl, K, G> Middleware for RetryMiddleware<P>
where
    P: Fn() -> Retrying<Response, Failed, S, W, Conditions, H, F, Sl, K, G> + Send + Sync + 'static,
    S: Stop + Send,
    W: Delay<Response, Failed> + Send,
    H: HookSet<Response, Failed> + Send,
    F: Fallback<Response, Failed> + Send,
    Sl: AsyncSleeper + Send,
    Sl::Sleep: Send,
    K: Clock + Send,
    G: Guard<Response, Failed> + Send,
    G::Slot: Send,
{
    async fn handle(
        &self,
        mut request: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        if let Some(name) = &self.idempotency_header
            && !idempotent(request.method())
            && !request.headers().contains_key(name)
        {
            request.headers_mut().insert(name.clone(), idempotency_key());
        }
        let cap = self.max_retry_after;
        let policy = (self.policy)()
            .when(|failed: &Failed| failed.is_transient())
            .retry_after(move |failed: &Failed| failed.retry_after(cap));
        let header = &self.attempt_header;
        let Some(template) = request.try_clone() else {
            // A body that cannot be sent twice: one attempt, through the same
            // hooks and guards; a failure a retry would have followed says why.
            let mut call = policy.stop(crate::stop::attempts(1)).start();
            let attempt: Sending<'_> = Box::pin(send(request, extensions, next, header));
            let outcome = match call.attempt_boxed(attempt).await {
                Err(Failed::Transport(error)) if retried(&error) => {
                    Err(Failed::Transport(reqwest_middleware::Error::middleware(NotReplayable(error))))
                }
                outcome => outcome,
            };
            return match call.next(outcome) {
                crate::Next::Done(result) => respond(result),
                crate::Next::Retry(_) => unreachable!("one attempt at most"),
            };
        };
        let mut first = Some(request);
        let mut call = policy.start();
        loop {
            let request = first.take().unwrap_or_else(|| template.try_clone().expect("a clone clones again"));
            let attempt: Sending<'_> = Box::pin(send(request, &mut *extensions, next.clone(), header));
            let outcome = call.attempt_boxed(attempt).await;
            let (mut left, last) = match call.step(outcome) {
                Step::Done(result) => return respond(result),
                Step::Retry(left, last) => (left, last),
            };
            while let Some(slice) = call.slice(&mut left) {
                call.sleep(slice).await;
            }
            if let Some(result) = call.interrupted(last, left) {
                return respond(result);
            }
        }
    }
}

/// An attempt's future, boxed: its type says it is `Send`.
pub(crate) type Boxed<'a, T, E> =
    core::pin::Pin<Box<dyn core::future::Future<Output = Result<T, E>> + Send + 'a>>;

/// Whether a transport error is one the middleware retries.
fn retried(error: &reqwest_middleware::Error) -> bool {
    match error {
        reqwest_middleware::Error::Reqwest(error) => {
            error.is_connect() || error.is_timeout() || error.is_request()
        }
        reqwest_middleware::Error::Middleware(error) => error.is::<TimedOut>(),
    }
}

/// The call's result as reqwest-middleware hands it out: a status the policy gave
/// up on is the last response itself.
fn respond(outcome: Result<Response, Failed>) -> reqwest_middleware::Result<Response> {
    match outcome {
        Ok(response) | Err(Failed::Status(response)) => Ok(response),
        Err(Failed::Transport(error)) => Err(error),
    }
}

/// One attempt: the request (with its attempt header on a retry) down the chain.
async fn send(
    mut request: Request,
    extensions: &mut Extensions,
    next: Next<'_>,
    header: &Option<HeaderName>,
) -> Result<Response, Failed> {
    let number = crate::attempt().unwrap_or(1);
    if let (Some(name), 2..) = (header, number) {
        request.headers_mut().insert(name.clone(), HeaderValue::from(number));
    }
    match next.run(request, extensions).await {
        Ok(response) if is_retried_status(response.status().as_u16()) => Err(Failed::Status(response)),
        Ok(response) => Ok(response),
        Err(error) => Err(Failed::Transport(error)),
    }
}
