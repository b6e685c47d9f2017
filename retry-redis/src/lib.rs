//! Circuit breakers and retry budgets shared by the replicas of a service,
//! through Redis: the fleet opens together, admits exactly `half_open_probes`
//! probes across all replicas, and keeps retries within the ratio of the
//! **fleet's** traffic.
//!
//! ```no_run
//! use retry::{CircuitBreaker, RetryBudget, retry};
//! use retry::redis::RedisStore;
//! use std::sync::LazyLock;
//!
//! static PAYMENTS: CircuitBreaker = CircuitBreaker::new().with_consecutive_failures(5);
//! static BUDGET: RetryBudget = RetryBudget::new();
//!
//! #[derive(Debug)]
//! enum PayError { Declined, Unavailable }
//! impl From<retry::CircuitOpen> for PayError {
//!     fn from(_: retry::CircuitOpen) -> Self { PayError::Unavailable }
//! }
//!
//! #[retry(breaker = PAYMENTS, budget = BUDGET, stop = attempts(3), wait = none())]
//! fn charge(cents: u64) -> Result<u64, PayError> {
//!     Err(PayError::Declined)
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Once, at start-up: the breaker and budget the attribute names now share
//! // their state with every replica that shares them under the same names.
//! let store = RedisStore::open("redis://app:secret@127.0.0.1:6379")?.with_namespace("checkout");
//! let _breaker = store.share_breaker("payments", &PAYMENTS)?;
//! let _budget = store.share_budget("payments", &BUDGET)?;
//! let _ = charge(500);
//! # Ok(()) }
//! ```
//!
//! # How it fits the attribute
//! `#[retry(breaker = X)]` takes a [`CircuitBreaker`]; sharing does not change
//! that. [`RedisStore::share_breaker`] attaches a hook to the breaker (the
//! [`SharedBreaker`](retry_core::shared::SharedBreaker) trait of retry-core) and
//! starts a background thread that talks to Redis; the breaker stays a local
//! breaker that also hears from the fleet. The same goes for budgets. The
//! breaker or budget must outlive the link: a `static` (or `LazyLock`), or an
//! `Arc`. Drop the returned [`BreakerLink`] / [`BudgetLink`] to stop sharing:
//! the hook detaches (quietly: no fallback is reported), the thread ends, the
//! breaker acts alone, and it can be shared again later.
//!
//! Each link costs a thread (with a single-threaded runtime) and two
//! connections (commands, and pub/sub for breakers): share the few breakers and
//! budgets that guard a dependency the whole fleet calls, not one per request
//! kind.
//!
//! # The breaker
//! * **Closed**: a call makes no network call, and costs what it costs on a
//!   breaker alone: the hook is not called at all. The background thread reads
//!   the breaker's own counters ([`CircuitBreaker::stats`]: its window's calls,
//!   failures and slow calls, and its failure streak) and sends them when
//!   failures change (every `flush_every`, 50 ms), when only the call count
//!   changed (five times less often), and at least every `poll_every` (250 ms),
//!   as this replica's entry (a hash with a TTL of three polls) in the fleet's
//!   counters. One Lua script stores the entry and judges the fleet by the
//!   breaker's own rules over the sums of the live replicas' entries: the
//!   fleet's failure (and slow-call) rate once it holds `minimum_calls`, and its
//!   failure streak (approximate: the sum of the replicas' streaks). A replica
//!   that stops drops out of the sums when its entry expires. When one replica's
//!   local rule opens its breaker, it tells the fleet too.
//! * **Open**: the open-until time lives in Redis (Redis's clock, so replicas'
//!   clocks do not matter), and an opening is pushed over pub/sub; a replica
//!   that misses the push (or whose user may not use channels) sees it on its
//!   next flush or poll (every 250 ms at most). A push is only a hint to poll
//!   now: its content is not read, and pushes that come faster than one per
//!   10 ms are one poll, so a flood of forged pushes costs neither memory nor
//!   more than a hundred polls a second. Every replica is open until the same
//!   moment; the fleet's open duration doubles once per consecutive opening of
//!   the fleet (as a breaker's does alone), up to its longest. Manual control
//!   (`force_open`, `force_closed`, `reset`) stays local.
//! * **Half-open**: a probe needs one of exactly `half_open_probes` leases
//!   (`SET NX PX` in Lua, renewed while the probe runs, expiring if its replica
//!   dies). A caller never waits for one: when this replica holds no free lease,
//!   the call is rejected and the background thread asks for one (a lease no
//!   caller takes within its lifetime goes back to the fleet). Probe
//!   successes are counted fleet-wide; when `half_open_probes` have succeeded the
//!   fleet closes (pushed to every replica). A failed probe reopens the fleet.
//!   A replica that finds the fleet half-open (it joined late, or was idle)
//!   goes half-open too and takes leases like the others. A probe that has not
//!   reported within the longest open duration plus two lease lifetimes is
//!   taken as hung: its lease is no longer renewed and expires, so one stuck
//!   call never holds the fleet half-open (its report, if it ever comes,
//!   releases nothing). A lease key no replica could have written (no expiry,
//!   one longer than a lease, a value that is no owner id) is discarded.
//! * **Closing**: a replica closes on the fleet's close of the opening it
//!   follows (the close is kept in Redis for three polls, naming that
//!   opening), or on its own probes. No shared state (a key deleted, expired
//!   or garbled) closes nothing: the breaker goes on by its own timer and
//!   probes.
//!
//! # The budget
//! One bucket for the fleet, in time slots with a TTL (Lua). A replica keeps a
//! small local lease of tokens (`lease` tokens, 10 by default): its own deposits
//! go into the lease first, what exceeds it goes to the fleet's bucket, and the
//! background thread tops the lease up from the bucket when it runs low. A retry
//! takes a token from the lease, never waiting on a round trip; the fleet's
//! retries stay within the ratio of its traffic, give or take the leases held.
//! A burst of retries larger than the lease gets the lease's tokens, then one
//! lease per round trip: size the lease ([`RedisStore::with_budget_lease`]) for
//! the bursts expected, at the cost of a wider margin around the ratio. The
//! budget also keeps its own bucket, for when Redis is away; a retry the fleet's
//! bucket allowed is taken from it too (as a debt if need be), so a replica that
//! falls back spends only what its own deposits have left.
//!
//! # Redis is never a new single point of failure
//! Every Redis command runs on the background thread, with a short timeout
//! (100 ms by default). A call never waits on Redis. When Redis is unreachable
//! or slow, each breaker and budget falls back to its **local** behaviour (its
//! own thresholds, timer, probes and bucket — not "closed"), says so once
//! (a `tracing` warning with the error, and the `retry_redis_fallbacks_total`
//! counter), and rejoins the shared state when Redis answers again (a `tracing`
//! info event).
//!
//! One exception keeps the fleet's probe limit when Redis is only slow (a
//! stall, or a CPU-starved background thread whose commands time out): a probe
//! lease that cannot be confirmed is no permission to probe as a breaker alone
//! would. For two lease lifetimes after Redis stopped answering, a half-open
//! replica admits only its fair share of the probes without a lease
//! (`half_open_probes` divided by the replicas polling, rounded down: with more
//! replicas than probes, none), so the fleet never admits more than
//! `half_open_probes` at once. The price: when Redis really is down, a breaker
//! that goes half-open within that time waits up to two lease lifetimes (4 s
//! by default) longer before it probes alone.
//!
//! # Keys
//! `<namespace>:{<name>}:<kind>:<version>:…`: the name is the hash tag (Redis
//! Cluster keeps a breaker's keys in one slot); the version is a digest of the
//! settings (and of the probe lease's lifetime), so two breakers with different
//! settings never share state. Names and namespaces are escaped (any byte
//! outside `[A-Za-z0-9_.-]` becomes `%XX`; a name over 100 bytes becomes its
//! SHA-1; the empty name is `%`, so a hash tag is never empty), so no name
//! reaches outside its namespace. Every key has a TTL. Each script is called
//! with the keys it touches that can be named beforehand (`KEYS`, all in the
//! name's slot); a replica's counters and the budget's time slots are named
//! inside the script, in the same slot. On a Redis Cluster
//! ([`RedisStore::open_cluster`]) each script runs on the master of that slot.
//!
//! # Security
//! The URL carries an ACL user and password (`redis://user:pass@host/`), and
//! `rediss://` connects over TLS with the `tls` feature. Everything read back
//! is validated: a corrupt or hostile value (wrong type, garbage, absurd
//! numbers) is "no shared state" — the Lua scripts discard it, the Rust side
//! clamps durations to the breaker's own settings — never a panic or an
//! unbounded wait.
//!
//! # Why the `redis` crate
//! `redis` (redis-rs) is the most used Redis client for Rust and is actively
//! maintained; its tokio [`ConnectionManager`](redis::aio::ConnectionManager)
//! reconnects by itself, it caches Lua scripts (`EVALSHA`, reloading them after a
//! restart), supports ACL users and TLS, and has a plain pub/sub connection. `fred`
//! does as much, with more machinery (its own pools and reconnect policies) than
//! one background connection per link needs.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod breaker;
mod budget;
mod keys;
mod link;
mod scripts;

use core::fmt;
use core::time::Duration;
use std::sync::Arc;

pub use breaker::BreakerLink;
pub use budget::BudgetLink;
pub use link::LinkStats;

use retry_core::clock::Clock;
use retry_core::{CircuitBreaker, RetryBudget};

/// A breaker or budget the background thread can reach for as long as it runs:
/// a `&'static` one, or an `Arc`.
#[derive(Debug)]
pub enum Held<T: 'static> {
    /// A `static` (or leaked, or `LazyLock`) one.
    Static(&'static T),
    /// A shared one.
    Shared(Arc<T>),
}

impl<T> core::ops::Deref for Held<T> {
    type Target = T;
    fn deref(&self) -> &T {
        match self {
            Held::Static(value) => value,
            Held::Shared(value) => value,
        }
    }
}

impl<T> From<&'static T> for Held<T> {
    fn from(value: &'static T) -> Self {
        Held::Static(value)
    }
}

impl<T> From<Arc<T>> for Held<T> {
    fn from(value: Arc<T>) -> Self {
        Held::Shared(value)
    }
}

/// Where shared state lives: a Redis server, a key namespace, and the timings
/// of the links made from it. Cheap to clone.
#[derive(Clone)]
pub struct RedisStore {
    client: redis::Client,
    /// A Redis Cluster's nodes (empty: one server).
    cluster: Vec<redis::ConnectionInfo>,
    namespace: String,
    timeout: Duration,
    flush_every: Duration,
    poll_every: Duration,
    lease_ttl: Duration,
    budget_lease: u32,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not the client: its connection info holds the password.
        f.debug_struct("RedisStore")
            .field("namespace", &self.namespace)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// Why a breaker or budget could not be shared.
#[derive(Debug)]
#[non_exhaustive]
pub enum ShareError {
    /// The URL could not be parsed (or asks for TLS without the `tls` feature).
    Url(redis::RedisError),
    /// The breaker or budget already has a shared hook.
    AlreadyShared,
    /// The background thread could not be started.
    Thread(std::io::Error),
    /// A timing of the store is out of range (each is at most an hour).
    Settings(&'static str),
}

impl fmt::Display for ShareError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ShareError::Url(error) => write!(f, "invalid Redis URL: {error}"),
            ShareError::AlreadyShared => f.write_str("already shared through another store"),
            ShareError::Thread(error) => write!(f, "cannot start the Redis thread: {error}"),
            ShareError::Settings(what) => write!(f, "{what} is longer than an hour"),
        }
    }
}

impl std::error::Error for ShareError {}

impl RedisStore {
    /// A store on the server at `url`: `redis://[user[:password]@]host[:port][/db]`,
    /// or `rediss://…` (TLS, with the `tls` feature). Nothing connects yet.
    pub fn open(url: &str) -> Result<Self, ShareError> {
        redis::Client::open(url).map(Self::new).map_err(ShareError::Url)
    }

    /// A store on a Redis Cluster, reached through any of `urls` (its nodes,
    /// as [`open`](Self::open) takes them). Scripts are routed by their keys
    /// (all of a breaker's or budget's keys are in its name's slot), and
    /// pushes are heard on the first node (a cluster forwards them to every
    /// node).
    pub fn open_cluster(urls: &[&str]) -> Result<Self, ShareError> {
        let nodes = urls
            .iter()
            .map(|url| redis::IntoConnectionInfo::into_connection_info(*url))
            .collect::<Result<Vec<_>, _>>()
            .map_err(ShareError::Url)?;
        let first = nodes.first().cloned().ok_or_else(|| {
            ShareError::Url(redis::RedisError::from((redis::ErrorKind::InvalidClientConfig, "no node")))
        })?;
        let client = redis::Client::open(first).map_err(ShareError::Url)?;
        Ok(RedisStore { cluster: nodes, ..Self::new(client) })
    }

    /// A store on `client`'s server.
    ///
    /// # Default
    /// Namespace `retry`; command timeout 100 ms; outcomes flushed every 50 ms;
    /// state polled every 250 ms when nothing was flushed; probe leases of 2 s;
    /// budget leases of 10 tokens.
    pub fn new(client: redis::Client) -> Self {
        RedisStore {
            client,
            cluster: Vec::new(),
            namespace: "retry".to_owned(),
            timeout: Duration::from_millis(100),
            flush_every: Duration::from_millis(50),
            poll_every: Duration::from_millis(250),
            lease_ttl: Duration::from_secs(2),
            budget_lease: 10,
        }
    }

    /// The first part of every key (escaped as names are).
    pub fn with_namespace(mut self, namespace: &str) -> Self {
        self.namespace = namespace.to_owned();
        self
    }

    /// How long a connection attempt or a command may take before Redis counts
    /// as unreachable (and each link falls back to local behaviour). At least 1 ms;
    /// over an hour, sharing fails with [`ShareError::Settings`] (as for the
    /// other timings).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// How often a breaker's counters are sent when its failures changed (when
    /// only its call count changed, five times less often). At least 1 ms.
    pub fn with_flush_every(mut self, every: Duration) -> Self {
        self.flush_every = every.max(Duration::from_millis(1));
        self
    }

    /// How often the fleet's state is read when nothing was flushed and no push
    /// came (the fallback of pub/sub). At least 1 ms.
    pub fn with_poll_every(mut self, every: Duration) -> Self {
        self.poll_every = every.max(Duration::from_millis(1));
        self
    }

    /// How long a probe lease outlives the replica holding it (renewed every
    /// third of it while its probe runs). At least 10 ms.
    pub fn with_lease_ttl(mut self, ttl: Duration) -> Self {
        self.lease_ttl = ttl.max(Duration::from_millis(10));
        self
    }

    /// Tokens a replica holds of the fleet's retry budget at most (1 to 10,000).
    pub fn with_budget_lease(mut self, tokens: u32) -> Self {
        self.budget_lease = tokens.clamp(1, 10_000);
        self
    }

    /// Checks the timings before anything is installed: each at most an hour,
    /// so no sum or product of them overflows.
    fn check(&self) -> Result<(), ShareError> {
        const HOUR: Duration = Duration::from_secs(3600);
        for (what, value) in [
            ("the timeout", self.timeout),
            ("flush_every", self.flush_every),
            ("poll_every", self.poll_every),
            ("the lease ttl", self.lease_ttl),
        ] {
            if value > HOUR {
                return Err(ShareError::Settings(what));
            }
        }
        Ok(())
    }

    /// Shares `breaker`'s state under `name` (see the [crate docs](crate)).
    pub fn share_breaker<K>(
        &self,
        name: &str,
        breaker: impl Into<Held<CircuitBreaker<K>>>,
    ) -> Result<BreakerLink, ShareError>
    where
        K: Clock + Send + Sync + 'static,
    {
        breaker::share(self, name, breaker.into())
    }

    /// Shares `budget`'s bucket under `name` (see the [crate docs](crate)).
    pub fn share_budget<K>(
        &self,
        name: &str,
        budget: impl Into<Held<RetryBudget<K>>>,
    ) -> Result<BudgetLink, ShareError>
    where
        K: Clock + Send + Sync + 'static,
    {
        budget::share(self, name, budget.into())
    }
}
