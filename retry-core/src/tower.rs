//! A tower [`Layer`](tower_layer::Layer) (feature `tower`): the same policies,
//! breaker and budget around any `Service`, so an axum or tonic stack shares one
//! configuration with the attribute.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! use retry::{CircuitBreaker, Retrying, dsl::*, tower::RetryLayer};
//! use std::sync::atomic::{AtomicU32, Ordering};
//! use tower::{Service, ServiceBuilder, ServiceExt};
//!
//! static BACKEND: CircuitBreaker = CircuitBreaker::new();
//! static CALLS: AtomicU32 = AtomicU32::new(0);
//!
//! let mut service = ServiceBuilder::new()
//!     .layer(RetryLayer::new(|| {
//!         Retrying::new().stop(attempts(3)).wait(none()).breaker(&BACKEND)
//!     }))
//!     .service_fn(|name: &'static str| async move {
//!         if CALLS.fetch_add(1, Ordering::SeqCst) < 2 { Err(Unavailable) } else { Ok(format!("hello {name}")) }
//!     });
//! let reply = service.ready().await.unwrap().call("world").await;
//! assert_eq!(reply.unwrap(), "hello world");
//! assert_eq!(CALLS.load(Ordering::SeqCst), 3);
//! # }
//! # #[derive(Debug)] struct Unavailable;
//! # impl From<retry::CircuitOpen> for Unavailable { fn from(_: retry::CircuitOpen) -> Self { Unavailable } }
//! ```
//!
//! Each request gets a fresh policy from the closure (hooks and stateful waits are
//! per call, as under the attribute) and is cloned for every attempt. The first
//! attempt uses the service `poll_ready` readied; later ones wait for a clone of
//! it to be ready, then call it. The returned
//! future is boxed (one allocation per request): the executor's future cannot be
//! named in an associated type.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use crate::clock::Clock;
use crate::condition::Classify;
use crate::guard::Guard;
use crate::hook::HookSet;
use crate::retrying::{Fallback, Retrying};
use crate::sleep::AsyncSleeper;
use crate::stop::Stop;
use crate::wait::Delay;

/// Retries requests to the service it wraps by the policy its closure builds.
///
/// # Default
/// Requests are copied for each attempt with `Clone` ([`CloneRequest`]); see
/// [`replay`](Self::replay) for requests that are not `Clone`.
#[derive(Clone, Debug)]
pub struct RetryLayer<P, R = CloneRequest> {
    policy: P,
    replay: R,
}

impl<P> RetryLayer<P> {
    /// A layer building each request's policy with `policy` (`|| Retrying::new()...`).
    pub const fn new(policy: P) -> Self {
        RetryLayer { policy, replay: CloneRequest }
    }
}

impl<P, R> RetryLayer<P, R> {
    /// How each attempt gets its copy of the request: `replay(&request)`, or
    /// `None` when this request cannot be sent twice — it is then sent once (its
    /// one attempt through the same hooks and guards), as tower's
    /// `Policy::clone_request` returning `None`. A `replay` that gives a copy of a
    /// request once must give one every time.
    ///
    /// For `http::Request`s whose body is `Clone` (a buffered body, such as
    /// `Full<Bytes>` or `String`), [`clone_http_request`] is one; a streaming body
    /// (axum's `Body`) cannot be replayed: buffer it first (with a size limit) in
    /// a layer below this one, or its requests are sent once.
    pub fn replay<R2>(self, replay: R2) -> RetryLayer<P, R2> {
        RetryLayer { policy: self.policy, replay }
    }
}

impl<S, P: Clone, R: Clone> tower_layer::Layer<S> for RetryLayer<P, R> {
    type Service = RetryService<S, P, R>;

    fn layer(&self, inner: S) -> Self::Service {
        RetryService { inner, policy: self.policy.clone(), replay: self.replay.clone() }
    }
}

/// How [`RetryLayer`] copies a request for an attempt: `None` when it cannot.
pub trait Replay<Req> {
    /// A copy of `request` for another attempt.
    fn replay(&self, request: &Req) -> Option<Req>;

    /// Whether `request` can be copied, if that is known without copying it
    /// (then no copy is made for an attempt a breaker rejects).
    ///
    /// # Default
    /// `None`: the layer copies the request once up front to find out.
    fn can_replay(&self, _request: &Req) -> Option<bool> {
        None
    }
}

/// Copies requests with `Clone` (the default of [`RetryLayer`]).
#[derive(Clone, Copy, Debug, Default)]
pub struct CloneRequest;

impl<Req: Clone> Replay<Req> for CloneRequest {
    #[inline]
    fn replay(&self, request: &Req) -> Option<Req> {
        Some(request.clone())
    }

    #[inline]
    fn can_replay(&self, _: &Req) -> Option<bool> {
        Some(true)
    }
}

impl<Req, F: Fn(&Req) -> Option<Req>> Replay<Req> for F {
    #[inline]
    fn replay(&self, request: &Req) -> Option<Req> {
        self(request)
    }
}

/// Whether `request` can be replayed, and the copy made to find out if one was
/// (it serves the first attempt).
fn replayable<Req>(replay: &impl Replay<Req>, request: &Req) -> (bool, Option<Req>) {
    match replay.can_replay(request) {
        Some(known) => (known, None),
        None => {
            let copy = replay.replay(request);
            (copy.is_some(), copy)
        }
    }
}

/// A copy of an `http::Request` whose body is `Clone`: method, URI, version,
/// headers and body (its extensions, which are not `Clone`, are left out). For
/// [`RetryLayer::replay`].
pub fn clone_http_request<B: Clone>(request: &http::Request<B>) -> Option<http::Request<B>> {
    let mut copy = http::Request::new(request.body().clone());
    *copy.method_mut() = request.method().clone();
    *copy.uri_mut() = request.uri().clone();
    *copy.version_mut() = request.version();
    *copy.headers_mut() = request.headers().clone();
    Some(copy)
}

/// The service [`RetryLayer`] makes.
#[derive(Clone, Debug)]
pub struct RetryService<S, P, R = CloneRequest> {
    inner: S,
    policy: P,
    replay: R,
}

/// A boxed response future.
pub type ResponseFuture<R, E> = Pin<Box<dyn Future<Output = Result<R, E>> + Send>>;

pin_project_lite::pin_project! {
    /// One attempt: wait for the service to be ready (unless it already is), then
    /// call it.
    #[doc(hidden)]
    #[project = AttemptProj]
    pub enum ServiceAttempt<S: tower_service::Service<Req>, Req> {
        /// Waiting for readiness.
        Ready { service: S, request: Option<Req> },
        /// The call in flight.
        Calling { #[pin] call: S::Future },
    }
}

impl<S: tower_service::Service<Req>, Req> Future for ServiceAttempt<S, Req> {
    type Output = Result<S::Response, S::Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        loop {
            match self.as_mut().project() {
                AttemptProj::Ready { service, request } => {
                    if let Err(error) = core::task::ready!(service.poll_ready(cx)) {
                        return Poll::Ready(Err(error));
                    }
                    let Some(request) = request.take() else { return Poll::Pending };
                    let call = service.call(request);
                    self.set(ServiceAttempt::Calling { call });
                }
                AttemptProj::Calling { call } => return call.poll(cx),
            }
        }
    }
}

impl<Req, S, P, R, St, W, C, H, F, Sl, K, G> tower_service::Service<Req> for RetryService<S, P, R>
where
    Req: Send + 'static,
    S: tower_service::Service<Req> + Clone + Send + 'static,
    S::Future: Send,
    S::Response: Send + 'static,
    S::Error: Send + 'static,
    P: Fn() -> Retrying<S::Response, S::Error, St, W, C, H, F, Sl, K, G>,
    R: Replay<Req> + Clone + Send + 'static,
    St: Stop + Send + 'static,
    W: Delay<S::Response, S::Error> + Send + 'static,
    C: Classify<S::Response, S::Error> + Send + 'static,
    H: HookSet<S::Response, S::Error> + Send + 'static,
    F: Fallback<S::Response, S::Error> + Send + 'static,
    Sl: AsyncSleeper + Send + 'static,
    Sl::Sleep: Send,
    K: Clock + Send + 'static,
    G: Guard<S::Response, S::Error> + Send + 'static,
    G::Slot: Send,
    G::Gated<G::Cut<ServiceAttempt<S, Req>, Sl::Sleep>>: Send,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = ResponseFuture<S::Response, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Req) -> Self::Future {
        // The ready service answers the first attempt; clones wait for the next.
        let clone = self.inner.clone();
        let mut first = Some(core::mem::replace(&mut self.inner, clone));
        let services = first.clone();
        let next_service = move || first.take().or_else(|| services.clone()).expect("a service to call");
        // Each attempt owns its service and request (so the future needs them
        // `Send`, not `Sync`); one the breaker rejects copies neither. Each starts
        // by polling readiness, which the already-ready first service answers at once.
        let (replayable, copy) = replayable(&self.replay, &request);
        if !replayable {
            // Not replayable: its one attempt.
            let mut once = Some((next_service, request));
            let attempt = move || {
                let (mut next_service, request) = once.take().expect("one attempt");
                ServiceAttempt::Ready { service: next_service(), request: Some(request) }
            };
            return Box::pin((self.policy)().stop(crate::stop::attempts(1)).call_async(attempt));
        }
        let (replay, mut next_service, mut copy) = (self.replay.clone(), next_service, copy);
        let attempt = move || {
            let request = copy.take().unwrap_or_else(|| {
                replay.replay(&request).expect("a replay that gave a copy gives one every time")
            });
            ServiceAttempt::Ready { service: next_service(), request: Some(request) }
        };
        Box::pin((self.policy)().call_async(attempt))
    }
}

/// Hedges requests to the service it wraps by the [`Hedging`](crate::Hedging)
/// its closure builds: when the first call is slow, a copy of the request goes to
/// a clone of the service, up to `n` in flight; the first `Ok` wins and the
/// others are dropped (tower's hedge, with this crate's delays — fixed or a
/// percentile of recent latencies —, non-fatal errors and retry budget).
///
/// ```
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// use retry::{Hedging, tower::HedgeLayer};
/// use std::sync::atomic::{AtomicU32, Ordering};
/// use std::time::Duration;
/// use tower::{Service, ServiceBuilder, ServiceExt};
///
/// static CALLS: AtomicU32 = AtomicU32::new(0);
/// let mut service = ServiceBuilder::new()
///     .layer(HedgeLayer::new(|| Hedging::new(2).delay(Duration::from_millis(50))))
///     .service_fn(|id: u32| async move {
///         // The first call is stuck behind a slow disk; its hedge is not.
///         let slow = CALLS.fetch_add(1, Ordering::SeqCst) == 0;
///         tokio::time::sleep(Duration::from_millis(if slow { 5_000 } else { 10 })).await;
///         Ok::<_, std::io::Error>(format!("order {id}"))
///     });
/// let start = tokio::time::Instant::now();
/// assert_eq!(service.ready().await.unwrap().call(7).await.unwrap(), "order 7");
/// assert_eq!(start.elapsed(), Duration::from_millis(60), "the hedge, sent at 50 ms, won");
/// # }
/// ```
///
/// # Default
/// Requests are copied with `Clone`; see [`HedgeLayer::replay`].
#[derive(Clone, Debug)]
pub struct HedgeLayer<P, R = CloneRequest> {
    policy: P,
    replay: R,
}

impl<P> HedgeLayer<P> {
    /// A layer building each request's hedging with `policy` (`|| Hedging::new(2)...`).
    pub const fn new(policy: P) -> Self {
        HedgeLayer { policy, replay: CloneRequest }
    }
}

impl<P, R> HedgeLayer<P, R> {
    /// How a hedge gets its copy of the request (as [`RetryLayer::replay`]): a
    /// request that cannot be copied is sent once, unhedged.
    pub fn replay<R2>(self, replay: R2) -> HedgeLayer<P, R2> {
        HedgeLayer { policy: self.policy, replay }
    }
}

impl<S, P: Clone, R: Clone> tower_layer::Layer<S> for HedgeLayer<P, R> {
    type Service = HedgeService<S, P, R>;

    fn layer(&self, inner: S) -> Self::Service {
        HedgeService { inner, policy: self.policy.clone(), replay: self.replay.clone() }
    }
}

/// The service [`HedgeLayer`] makes.
#[derive(Clone, Debug)]
pub struct HedgeService<S, P, R = CloneRequest> {
    inner: S,
    policy: P,
    replay: R,
}

impl<Req, S, P, R, D, N, Bu, Sl, K> tower_service::Service<Req> for HedgeService<S, P, R>
where
    Req: Send + 'static,
    S: tower_service::Service<Req> + Clone + Send + 'static,
    S::Future: Send,
    S::Response: Send + 'static,
    S::Error: Send + 'static,
    P: Fn() -> crate::Hedging<D, N, Bu, Sl, K>,
    R: Replay<Req> + Clone + Send + 'static,
    D: crate::hedging::HedgeDelay + Send + 'static,
    N: crate::condition::ErrorFilter<S::Error> + Send + 'static,
    Bu: crate::guard::BudgetSide + Send + 'static,
    Sl: AsyncSleeper + Send + 'static,
    Sl::Sleep: Send,
    K: Clock + Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = ResponseFuture<S::Response, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Req) -> Self::Future {
        let clone = self.inner.clone();
        let ready = core::mem::replace(&mut self.inner, clone);
        let (replayable, copy) = replayable(&self.replay, &request);
        if !replayable {
            // Not replayable: the one call, unhedged.
            let mut ready = ready;
            return Box::pin(ready.call(request));
        }
        let (services, replay) = (ready.clone(), self.replay.clone());
        let (mut first, mut copy) = (Some(ready), copy);
        let make = move || {
            let service = first.take().unwrap_or_else(|| services.clone());
            let request = copy.take().unwrap_or_else(|| {
                replay.replay(&request).expect("a replay that gave a copy gives one every time")
            });
            ServiceAttempt::Ready { service, request: Some(request) }
        };
        Box::pin((self.policy)().call(make))
    }
}

/// On the server side: reports, on each response of the service it wraps, what
/// the retried calls made while serving the request did, so a caller can see that
/// the service degraded: `X-Retry-Count: <retries>` when there were any, and
/// `X-Fallback: true` when a `fallback` answered for one of them, and with the
/// `tracing` feature `X-Trace-Id: <id>` when the response is made inside a
/// `tracing` span (the id of the span current then, as `tracing` numbers spans;
/// names configurable). Works with axum (`Router::layer`).
///
/// The calls counted are those that run inside the request's future, across
/// every `#[retry]` fn and `Retrying` call the handler makes; a task the handler
/// spawns is not. Retries and fallbacks are also counted by the `metrics`
/// feature (`retry_retries_total`, `retry_fallbacks_total`).
///
/// # Default
/// Headers `X-Retry-Count`, `X-Fallback` and `X-Trace-Id`.
#[derive(Clone, Debug)]
pub struct ReportLayer {
    retry_count: Option<http::HeaderName>,
    fallback: Option<http::HeaderName>,
    trace_id: Option<http::HeaderName>,
}

impl ReportLayer {
    /// A layer with the default header names.
    pub fn new() -> Self {
        ReportLayer {
            retry_count: Some(http::HeaderName::from_static("x-retry-count")),
            fallback: Some(http::HeaderName::from_static("x-fallback")),
            trace_id: Some(http::HeaderName::from_static("x-trace-id")),
        }
    }

    /// The header that carries the current span's id, or `None` for none.
    pub fn trace_id_header(mut self, name: Option<http::HeaderName>) -> Self {
        self.trace_id = name;
        self
    }

    /// The header that carries the retries, or `None` for none.
    pub fn retry_count_header(mut self, name: Option<http::HeaderName>) -> Self {
        self.retry_count = name;
        self
    }

    /// The header that says a fallback answered, or `None` for none.
    pub fn fallback_header(mut self, name: Option<http::HeaderName>) -> Self {
        self.fallback = name;
        self
    }
}

impl Default for ReportLayer {
    fn default() -> Self {
        ReportLayer::new()
    }
}

impl<S> tower_layer::Layer<S> for ReportLayer {
    type Service = ReportService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ReportService { inner, layer: self.clone() }
    }
}

/// The service [`ReportLayer`] makes.
#[derive(Clone, Debug)]
pub struct ReportService<S> {
    inner: S,
    layer: ReportLayer,
}

impl<S, ReqBody, ResBody> tower_service::Service<http::Request<ReqBody>> for ReportService<S>
where
    S: tower_service::Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
{
    type Response = http::Response<ResBody>;
    type Error = S::Error;
    type Future = Reported<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        Reported { future: crate::stats::Collected::new(self.inner.call(request)), layer: self.layer.clone() }
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`ReportService`].
    #[derive(Debug)]
    pub struct Reported<F> {
        #[pin]
        future: crate::stats::Collected<F>,
        layer: ReportLayer,
    }
}

impl<F, B, E> Future for Reported<F>
where
    F: Future<Output = Result<http::Response<B>, E>>,
{
    type Output = Result<http::Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let (outcome, seen) = core::task::ready!(this.future.poll(cx));
        Poll::Ready(outcome.map(|mut response| {
            let headers = response.headers_mut();
            if let (Some(name), 1..) = (&this.layer.retry_count, seen.retries) {
                headers.insert(name.clone(), http::HeaderValue::from(seen.retries));
            }
            if let (Some(name), 1..) = (&this.layer.fallback, seen.fallbacks) {
                headers.insert(name.clone(), http::HeaderValue::from_static("true"));
            }
            #[cfg(feature = "tracing")]
            if let (Some(name), Some(id)) = (&this.layer.trace_id, tracing::Span::current().id()) {
                headers.insert(name.clone(), http::HeaderValue::from(id.into_u64()));
            }
            response
        }))
    }
}
