//! What every link has: a background thread with its own runtime, a connection
//! whose every command is bounded by the timeout, a pub/sub listener, and the
//! health flag that says whether there is shared state now.

use core::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed};
use core::sync::atomic::{AtomicBool, AtomicU8, AtomicU64};
use core::time::Duration;
use std::sync::Arc;

use futures_util::StreamExt;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{FromRedisValue, Script, ToRedisArgs};
use tokio::sync::{Notify, mpsc};

/// Counters of a link, for tests, benchmarks and dashboards.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LinkStats {
    /// Whether the link has shared state now (Redis answered its last command).
    pub shared: bool,
    /// Commands sent to Redis (scripts, connection attempts excluded).
    pub commands: u64,
    /// Commands that failed or timed out.
    pub failed: u64,
    /// Times the link fell back to local behaviour.
    pub fallbacks: u64,
    /// Pushes received over pub/sub.
    pub pushes: u64,
}

const CONNECTING: u8 = 0;
const SHARED: u8 = 1;
const LOCAL: u8 = 2;

/// Whether there is shared state now, and the counters.
#[derive(Debug)]
pub(crate) struct Health {
    state: AtomicU8,
    commands: AtomicU64,
    failed: AtomicU64,
    fallbacks: AtomicU64,
    pushes: AtomicU64,
    kind: &'static str,
    name: String,
    /// Set when the link is dropped: the thread ends, the hook acts locally.
    pub(crate) stopped: AtomicBool,
    /// Wakes the background thread (events, a wanted lease, shutdown).
    pub(crate) wake: Notify,
}

impl Health {
    pub(crate) fn new(kind: &'static str, name: &str) -> Self {
        Health {
            state: AtomicU8::new(CONNECTING),
            commands: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            fallbacks: AtomicU64::new(0),
            pushes: AtomicU64::new(0),
            kind,
            name: name.to_owned(),
            stopped: AtomicBool::new(false),
            wake: Notify::new(),
        }
    }

    /// Whether the shared state is in use now.
    #[inline]
    pub(crate) fn is_shared(&self) -> bool {
        self.state.load(Relaxed) == SHARED
    }

    fn up(&self) {
        if self.state.swap(SHARED, AcqRel) != SHARED {
            tracing::info!(target: "retry::redis", kind = self.kind, name = %self.name, "shared state in use");
        }
    }

    /// Falls back to local behaviour; says so once per fall.
    pub(crate) fn down(&self, why: &dyn std::fmt::Display) {
        if self.state.swap(LOCAL, AcqRel) != LOCAL {
            self.fallbacks.fetch_add(1, Relaxed);
            tracing::warn!(
                target: "retry::redis",
                kind = self.kind,
                name = %self.name,
                error = %why,
                "Redis unreachable or slow: local behaviour until it answers"
            );
            metrics::counter!("retry_redis_fallbacks_total", "kind" => self.kind, "name" => self.name.clone())
                .increment(1);
        }
    }

    pub(crate) fn stats(&self) -> LinkStats {
        LinkStats {
            shared: self.is_shared(),
            commands: self.commands.load(Relaxed),
            failed: self.failed.load(Relaxed),
            fallbacks: self.fallbacks.load(Relaxed),
            pushes: self.pushes.load(Relaxed),
        }
    }
}

/// The connection of a link's thread.
pub(crate) struct Conn {
    client: redis::Client,
    timeout: Duration,
    manager: Option<ConnectionManager>,
    pub(crate) health: Arc<Health>,
}

impl Conn {
    pub(crate) fn new(client: redis::Client, timeout: Duration, health: Arc<Health>) -> Self {
        Conn { client, timeout, manager: None, health }
    }

    async fn manager(&mut self) -> Option<&mut ConnectionManager> {
        if self.manager.is_none() {
            let config = ConnectionManagerConfig::new()
                .set_connection_timeout(Some(self.timeout))
                .set_response_timeout(Some(self.timeout))
                .set_number_of_retries(1)
                .set_max_delay(self.timeout);
            let connect = self.client.get_connection_manager_with_config(config);
            match tokio::time::timeout(self.timeout.saturating_mul(2), connect).await {
                Ok(Ok(manager)) => self.manager = Some(manager),
                Ok(Err(error)) => {
                    self.health.down(&error);
                    return None;
                }
                Err(_) => {
                    self.health.down(&"connection timed out");
                    return None;
                }
            }
        }
        self.manager.as_mut()
    }

    /// Runs `script`; `None` (and local behaviour) when it fails or is late.
    pub(crate) async fn eval<T: FromRedisValue>(
        &mut self,
        script: &Script,
        args: &[&dyn ToArg],
    ) -> Option<T> {
        let timeout = self.timeout;
        let health = Arc::clone(&self.health);
        let manager = self.manager().await?;
        let mut invocation = script.prepare_invoke();
        for arg in args {
            arg.push(&mut invocation);
        }
        health.commands.fetch_add(1, Relaxed);
        match tokio::time::timeout(timeout, invocation.invoke_async::<T>(manager)).await {
            Ok(Ok(value)) => {
                health.up();
                Some(value)
            }
            Ok(Err(error)) => {
                health.failed.fetch_add(1, Relaxed);
                // A script error is a corrupt state, not a connection problem:
                // the connection is kept, the shared state is not used.
                if !matches!(error.kind(), redis::ErrorKind::Server(_)) {
                    self.manager = None;
                }
                health.down(&error);
                None
            }
            Err(_) => {
                health.failed.fetch_add(1, Relaxed);
                // A stalled server: a fresh connection next time, so a reply that
                // arrives late is never read as another command's.
                self.manager = None;
                health.down(&"command timed out");
                None
            }
        }
    }
}

/// An argument of a script (`dyn`, so one call takes strings and numbers).
pub(crate) trait ToArg: Sync {
    fn push(&self, invocation: &mut redis::ScriptInvocation<'_>);
}

impl<T: ToRedisArgs + Sync> ToArg for T {
    fn push(&self, invocation: &mut redis::ScriptInvocation<'_>) {
        invocation.arg(self);
    }
}

/// Listens on `channel`, forwarding each message (at most 64 bytes of it, as
/// text) until the link stops; reconnects after any error.
pub(crate) async fn listen(
    client: redis::Client,
    channel: String,
    timeout: Duration,
    health: Arc<Health>,
    out: mpsc::UnboundedSender<String>,
) {
    while !health.stopped.load(Acquire) {
        if let Ok(Ok(mut pubsub)) = tokio::time::timeout(timeout, client.get_async_pubsub()).await
            && let Ok(Ok(())) = tokio::time::timeout(timeout, pubsub.subscribe(&channel)).await
        {
            let mut messages = pubsub.into_on_message();
            while let Some(message) = messages.next().await {
                let payload = message.get_payload_bytes();
                let payload = &payload[..payload.len().min(64)];
                health.pushes.fetch_add(1, Relaxed);
                if out.send(String::from_utf8_lossy(payload).into_owned()).is_err() {
                    return;
                }
            }
        }
        tokio::time::sleep(timeout.max(Duration::from_millis(50))).await;
    }
}

/// Starts a link's thread running `body` on a runtime of its own (so sharing
/// works from sync code and under any async runtime).
pub(crate) fn spawn<F>(name: &str, body: F) -> Result<(), std::io::Error>
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    std::thread::Builder::new().name(format!("retry-redis {name}")).spawn(move || runtime.block_on(body))?;
    Ok(())
}
