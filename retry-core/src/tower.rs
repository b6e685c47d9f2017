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
use crate::wait::Wait;

/// Retries requests to the service it wraps by the policy its closure builds.
#[derive(Clone, Debug)]
pub struct RetryLayer<P> {
    policy: P,
}

impl<P> RetryLayer<P> {
    /// A layer building each request's policy with `policy` (`|| Retrying::new()...`).
    pub const fn new(policy: P) -> Self {
        RetryLayer { policy }
    }
}

impl<S, P: Clone> tower_layer::Layer<S> for RetryLayer<P> {
    type Service = RetryService<S, P>;

    fn layer(&self, inner: S) -> Self::Service {
        RetryService { inner, policy: self.policy.clone() }
    }
}

/// The service [`RetryLayer`] makes.
#[derive(Clone, Debug)]
pub struct RetryService<S, P> {
    inner: S,
    policy: P,
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

impl<Req, S, P, St, W, C, H, F, Sl, K, G> tower_service::Service<Req> for RetryService<S, P>
where
    Req: Clone + Send + 'static,
    S: tower_service::Service<Req> + Clone + Send + 'static,
    S::Future: Send,
    S::Response: Send + 'static,
    S::Error: Send + 'static,
    P: Fn() -> Retrying<S::Response, S::Error, St, W, C, H, F, Sl, K, G>,
    St: Stop + Send + 'static,
    W: Wait + Send + 'static,
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
        let template = first.clone();
        // Each attempt owns its service and request (so the future needs them
        // `Send`, not `Sync`); one the breaker rejects clones neither. Each starts
        // by polling readiness, which the already-ready first service answers at once.
        let attempt = move || {
            let service = first.take().or_else(|| template.clone()).expect("a service to call");
            ServiceAttempt::Ready { service, request: Some(request.clone()) }
        };
        Box::pin((self.policy)().call_async(attempt))
    }
}
