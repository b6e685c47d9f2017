//! What every link has: a background thread with its own runtime, a connection
//! whose every command is bounded by the timeout, a pub/sub listener, and the
//! health flag that says whether there is shared state now.

use core::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release};
use core::sync::atomic::{AtomicBool, AtomicU8, AtomicU64};
use core::time::Duration;
use std::sync::{Arc, Mutex, RwLock, Weak};

use futures_util::StreamExt;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{FromRedisValue, Script, ToRedisArgs};
use tokio::sync::Notify;

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
    /// A push arrived: poll soon. One permit at most, so a flood of pushes
    /// costs no memory and one poll.
    pub(crate) pushed: Notify,
    /// Since when the shared state has been out of use, in ms since `born`.
    down_since: AtomicU64,
    born: std::time::Instant,
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
            pushed: Notify::new(),
            down_since: AtomicU64::new(0),
            born: std::time::Instant::now(),
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.born.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// How long the shared state has been out of use (zero while in use).
    pub(crate) fn down_for(&self) -> Duration {
        if self.is_shared() {
            return Duration::ZERO;
        }
        Duration::from_millis(self.now_ms().saturating_sub(self.down_since.load(Acquire)))
    }

    /// The link is dropped: the thread ends and the hook is detached, quietly
    /// (no outage to report).
    pub(crate) fn stop(&self) {
        self.stopped.store(true, Release);
        self.state.store(LOCAL, Release);
        self.wake.notify_one();
        self.pushed.notify_one();
    }

    /// Whether the shared state is in use now.
    #[inline]
    pub(crate) fn is_shared(&self) -> bool {
        self.state.load(Relaxed) == SHARED
    }

    fn up(&self) {
        // A dropped link's last commands (leases given back) rejoin nothing.
        if self.stopped.load(Acquire) {
            return;
        }
        if self.state.swap(SHARED, AcqRel) != SHARED {
            tracing::info!(target: "retry::redis", kind = self.kind, name = %self.name, "shared state in use");
        }
    }

    /// Falls back to local behaviour; says so once per fall.
    pub(crate) fn down(&self, why: &dyn std::fmt::Display) {
        if self.stopped.load(Acquire) {
            return;
        }
        let was = self.state.swap(LOCAL, AcqRel);
        if was == SHARED {
            self.down_since.store(self.now_ms(), Release);
        }
        if was != LOCAL {
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

/// A connection to one server (reconnecting by itself), or to a Redis Cluster
/// (routing each script by its first key, following redirections).
enum Backend {
    Single(ConnectionManager),
    Cluster(redis::cluster_async::ClusterConnection),
}

/// The connection of a link's thread.
pub(crate) struct Conn {
    client: redis::Client,
    cluster: Vec<redis::ConnectionInfo>,
    timeout: Duration,
    manager: Option<Backend>,
    pub(crate) health: Arc<Health>,
}

impl Conn {
    pub(crate) fn new(store: &crate::RedisStore, health: Arc<Health>) -> Self {
        Conn {
            client: store.client.clone(),
            cluster: store.cluster.clone(),
            timeout: store.timeout,
            manager: None,
            health,
        }
    }

    /// Whether a connection is open (the last command did not fail on it).
    pub(crate) fn connected(&self) -> bool {
        self.manager.is_some()
    }

    async fn connect(&self) -> redis::RedisResult<Backend> {
        if self.cluster.is_empty() {
            let config = ConnectionManagerConfig::new()
                .set_connection_timeout(Some(self.timeout))
                .set_response_timeout(Some(self.timeout))
                .set_number_of_retries(1)
                .set_max_delay(self.timeout);
            return self.client.get_connection_manager_with_config(config).await.map(Backend::Single);
        }
        let client = redis::cluster::ClusterClient::builder(self.cluster.clone())
            .connection_timeout(self.timeout)
            .response_timeout(self.timeout)
            .retries(1)
            .build()?;
        client.get_async_connection().await.map(Backend::Cluster)
    }

    async fn manager(&mut self) -> Option<&mut Backend> {
        if self.manager.is_none() {
            // A cluster's first connection also reads its slots: a round trip more.
            let limit = self.timeout.saturating_mul(if self.cluster.is_empty() { 2 } else { 3 });
            match tokio::time::timeout(limit, self.connect()).await {
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
    /// `keys` are the keys the script touches that can be named beforehand, all
    /// in the one slot of the `{name}` hash tag: a cluster routes the call by them.
    pub(crate) async fn eval<T: FromRedisValue>(
        &mut self,
        script: &Script,
        keys: &[String],
        args: &[&dyn ToArg],
    ) -> Option<T> {
        let timeout = self.timeout;
        let health = Arc::clone(&self.health);
        let manager = self.manager().await?;
        let mut invocation = script.prepare_invoke();
        for key in keys {
            invocation.key(key);
        }
        for arg in args {
            arg.push(&mut invocation);
        }
        health.commands.fetch_add(1, Relaxed);
        let reply = match manager {
            Backend::Single(manager) => {
                tokio::time::timeout(timeout, invocation.invoke_async::<T>(manager)).await
            }
            Backend::Cluster(manager) => {
                tokio::time::timeout(timeout, invocation.invoke_async::<T>(manager)).await
            }
        };
        match reply {
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

/// Listens on `channel` until the link stops; reconnects after any error. A
/// message is only a hint to poll soon: its content is not read, and pushes
/// that arrive before the poll are one poll (no queue to grow).
pub(crate) async fn listen(client: redis::Client, channel: String, timeout: Duration, health: Arc<Health>) {
    while !health.stopped.load(Acquire) {
        if let Ok(Ok(mut pubsub)) = tokio::time::timeout(timeout, client.get_async_pubsub()).await
            && let Ok(Ok(())) = tokio::time::timeout(timeout, pubsub.subscribe(&channel)).await
        {
            let mut messages = pubsub.into_on_message();
            while messages.next().await.is_some() {
                if health.stopped.load(Acquire) {
                    return;
                }
                health.pushes.fetch_add(1, Relaxed);
                health.pushed.notify_one();
            }
        }
        tokio::time::sleep(timeout.max(Duration::from_millis(50))).await;
    }
}

/// The instant `duration` ago, or now if the clock does not reach back that far
/// (a machine up for less than that).
pub(crate) fn ago(duration: Duration) -> tokio::time::Instant {
    let now = tokio::time::Instant::now();
    now.checked_sub(duration).unwrap_or(now)
}

/// Starts a link's thread running `body` on a runtime of its own (so sharing
/// works from sync code and under any async runtime).
pub(crate) fn spawn<F>(name: &str, body: F) -> Result<(), std::io::Error>
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    // The escaped name: a thread name cannot hold a NUL byte.
    let thread = format!("retry-redis {}", crate::keys::escape(name));
    std::thread::Builder::new().name(thread).spawn(move || runtime.block_on(body))?;
    Ok(())
}

/// What a breaker or budget holds as its hook, for as long as it lives: the
/// hook of the link attached now, if any. A dropped link detaches; a later link
/// attaches to the same slot, so a breaker or budget can be shared again.
pub(crate) struct Slot<H> {
    current: RwLock<Option<Arc<H>>>,
}

impl<H> Slot<H> {
    /// `f` of the hook attached now, if any.
    #[inline]
    pub(crate) fn with<R>(&self, f: impl FnOnce(&H) -> R) -> Option<R> {
        self.current.read().unwrap_or_else(|e| e.into_inner()).as_deref().map(f)
    }

    /// Detaches the link's hook.
    pub(crate) fn detach(&self) {
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

/// The slots installed, by the address of their breaker or budget. A slot is
/// owned by its breaker or budget: while it can be upgraded, that one is alive
/// at the address, so the address names it.
pub(crate) type Slots<H> = Mutex<Vec<(usize, Weak<Slot<H>>)>>;

/// Attaches `hook` to the breaker or budget at `address`: through the slot
/// installed there before, or a new one given to `install`. `None` when a link
/// is attached already (or another store's hook is installed).
pub(crate) fn attach<H>(
    slots: &Slots<H>,
    address: usize,
    hook: Arc<H>,
    install: impl FnOnce(Arc<Slot<H>>) -> bool,
) -> Option<Arc<Slot<H>>> {
    let mut slots = slots.lock().unwrap_or_else(|e| e.into_inner());
    slots.retain(|(_, slot)| slot.strong_count() > 0);
    if let Some(slot) = slots.iter().find(|(at, _)| *at == address).and_then(|(_, slot)| slot.upgrade()) {
        let mut current = slot.current.write().unwrap_or_else(|e| e.into_inner());
        if current.is_some() {
            return None;
        }
        *current = Some(hook);
        drop(current);
        return Some(slot);
    }
    let slot = Arc::new(Slot { current: RwLock::new(Some(hook)) });
    if !install(Arc::clone(&slot)) {
        return None;
    }
    slots.push((address, Arc::downgrade(&slot)));
    Some(slot)
}
