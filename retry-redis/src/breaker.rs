//! The shared breaker: the hook a [`CircuitBreaker`] calls, and the background
//! thread that keeps it and the fleet in step.

use core::fmt;
use core::sync::atomic::Ordering::{AcqRel, Acquire, Release};
use core::sync::atomic::{AtomicBool, AtomicU32};
use core::time::Duration;
use std::sync::{Arc, Mutex};

use retry_core::CircuitBreaker;
use retry_core::breaker::{State, Window};
use retry_core::clock::Clock;
use retry_core::shared::{BreakerSettings, SharedBreaker};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::link::{self, Conn, Health, LinkStats};
use crate::scripts::{ACQUIRE_SCRIPT, CLOSE_SCRIPT, FLUSH_SCRIPT, OPEN_SCRIPT, RELEASE_SCRIPT, RENEW_SCRIPT};
use crate::{Held, RedisStore, ShareError, keys};

#[derive(Debug)]
enum Event {
    /// A leased probe ended: give the lease back (and count its success).
    Release(bool),
    Opened(Duration),
    Closed,
}

/// The hook: what the call path touches (atomics only, but for rare events).
#[derive(Debug)]
struct Hook {
    /// Probe leases held and not in use.
    free: AtomicU32,
    /// Probe leases in use by running probes.
    in_use: AtomicU32,
    want_probe: AtomicBool,
    events: Mutex<Vec<Event>>,
    health: Arc<Health>,
}

impl Hook {
    fn push(&self, event: Event) {
        self.events.lock().unwrap_or_else(|e| e.into_inner()).push(event);
        self.health.wake.notify_one();
    }
}

impl SharedBreaker for Hook {
    fn try_probe(&self) -> bool {
        if !self.health.is_shared() {
            return true;
        }
        if self.free.fetch_update(AcqRel, Acquire, |free| free.checked_sub(1)).is_ok() {
            self.in_use.fetch_add(1, AcqRel);
            return true;
        }
        if !self.want_probe.swap(true, AcqRel) {
            self.health.wake.notify_one();
        }
        false
    }

    fn probe_done(&self, outcome: Option<bool>) {
        if self.in_use.fetch_update(AcqRel, Acquire, |used| used.checked_sub(1)).is_ok() {
            self.push(Event::Release(outcome == Some(true)));
        }
    }

    fn opened(&self, open_for: Duration) {
        self.push(Event::Opened(open_for));
    }

    fn closed(&self) {
        self.push(Event::Closed);
    }
}

/// A breaker's link to the fleet: keep it alive for as long as the breaker is
/// shared. Dropped, the breaker acts alone (its probe leases expire).
pub struct BreakerLink {
    hook: Arc<Hook>,
    prefix: String,
}

impl fmt::Debug for BreakerLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BreakerLink").field("prefix", &self.prefix).field("stats", &self.stats()).finish()
    }
}

impl BreakerLink {
    /// The link's counters (commands sent, fallbacks, whether shared now).
    pub fn stats(&self) -> LinkStats {
        self.hook.health.stats()
    }

    /// The prefix of this breaker's keys (`<namespace>:{<name>}:b:<version>:`).
    pub fn key_prefix(&self) -> &str {
        &self.prefix
    }
}

impl Drop for BreakerLink {
    fn drop(&mut self) {
        self.hook.health.stopped.store(true, Release);
        self.hook.health.down(&"link dropped");
        self.hook.health.wake.notify_one();
    }
}

/// How the fleet's counters are judged, and how long a replica's counters live.
#[derive(Debug, Clone, Copy)]
struct Rules {
    counts_ttl_ms: u64,
    minimum_calls: u64,
    rate_ppm: u64,
    slow_rate_ppm: u64,
    consecutive: u64,
    open_for_ms: u64,
    open_max_ms: u64,
    probes: u64,
}

fn ms(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX).clamp(1, 1 << 40)
}

impl Rules {
    fn new(settings: &BreakerSettings, store: &RedisStore) -> Self {
        let minimum_calls = match settings.window {
            Some(Window::Calls(n)) => settings.minimum_calls.min(n),
            _ => settings.minimum_calls,
        };
        let ppm = |rate: f64| if rate > 0.0 { (rate * 1e6).clamp(1.0, 1e6) as u64 } else { 0 };
        Rules {
            // A replica's counters outlive three polls: a replica that stops
            // (or dies) drops out of the fleet's sums soon after.
            counts_ttl_ms: ms(store.poll_every * 3 + store.timeout),
            minimum_calls: u64::from(minimum_calls.max(1)),
            rate_ppm: ppm(settings.failure_rate),
            slow_rate_ppm: settings.slow_call.map_or(0, |(_, rate)| ppm(rate)),
            consecutive: u64::from(settings.consecutive_failures),
            open_for_ms: ms(settings.open_for),
            open_max_ms: ms(settings.open_max),
            probes: u64::from(settings.half_open_probes.max(1)),
        }
    }
}

pub(crate) fn share<K>(
    store: &RedisStore,
    name: &str,
    breaker: Held<CircuitBreaker<K>>,
) -> Result<BreakerLink, ShareError>
where
    K: Clock + Send + Sync + 'static,
{
    let settings = breaker.settings();
    let version = keys::version(&format!("{settings:?}"));
    let prefix = keys::prefix(&store.namespace, name, "b", &version);
    let health = Arc::new(Health::new("breaker", name));
    let hook = Arc::new(Hook {
        free: AtomicU32::new(0),
        in_use: AtomicU32::new(0),
        want_probe: AtomicBool::new(false),
        events: Mutex::new(Vec::new()),
        health: Arc::clone(&health),
    });
    breaker.set_shared(hook.clone()).map_err(|_| ShareError::AlreadyShared)?;
    let worker = Worker {
        conn: Conn::new(store.client.clone(), store.timeout, Arc::clone(&health)),
        hook: Arc::clone(&hook),
        breaker,
        rules: Rules::new(&settings, store),
        prefix: prefix.clone(),
        owner: keys::owner(),
        held: Vec::new(),
        leased_at: Instant::now(),
        sent: Counts::default(),
        flush_every: store.flush_every,
        poll_every: store.poll_every,
        lease_ms: ms(store.lease_ttl),
    };
    let (tx, rx) = mpsc::unbounded_channel();
    let listener = link::listen(store.client.clone(), format!("{prefix}ch"), store.timeout, health, tx);
    link::spawn(name, async move {
        tokio::spawn(listener);
        worker.run(rx).await;
    })
    .map_err(ShareError::Thread)?;
    Ok(BreakerLink { hook, prefix })
}

struct Worker<K: 'static> {
    conn: Conn,
    hook: Arc<Hook>,
    breaker: Held<CircuitBreaker<K>>,
    rules: Rules,
    prefix: String,
    owner: String,
    /// Probe lease slots this replica holds (free and in use).
    held: Vec<u64>,
    /// When the last lease was taken.
    leased_at: Instant,
    /// The counters last sent.
    sent: Counts,
    flush_every: Duration,
    poll_every: Duration,
    lease_ms: u64,
}

impl<K: Clock + Send + Sync + 'static> Worker<K> {
    async fn run(mut self, mut pushes: mpsc::UnboundedReceiver<String>) {
        let health = Arc::clone(&self.hook.health);
        let mut last_flush = Instant::now();
        let mut last_command = Instant::now() - self.poll_every;
        let mut last_renew = Instant::now();
        let mut tick = tokio::time::interval(self.flush_every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        while !health.stopped.load(Acquire) {
            tokio::select! {
                _ = tick.tick() => {}
                () = health.wake.notified() => {}
                Some(push) = pushes.recv() => {
                    // A push is only a hint: the state is read back (and checked)
                    // before anything changes, so a forged message changes nothing.
                    self.apply_push(&push).await;
                    continue;
                }
            }
            if health.stopped.load(Acquire) {
                break;
            }
            // While Redis is away, try again only as often as the poll.
            if !health.is_shared() && last_command.elapsed() < self.poll_every {
                self.forget_leases();
                self.hook.events.lock().unwrap_or_else(|e| e.into_inner()).clear();
                continue;
            }
            let before = health.stats().commands;
            self.events().await;
            self.probes().await;
            if !self.held.is_empty() && last_renew.elapsed() >= Duration::from_millis(self.lease_ms / 3) {
                self.renew().await;
                last_renew = Instant::now();
            }
            // New failures go out every flush; more calls alone five times less
            // often (they only dilute the rate); otherwise the counters are
            // refreshed (and the fleet's phase read) every poll.
            let counts = Counts::of(&self.breaker);
            let since = last_flush.elapsed();
            if counts.news(&self.sent) && since >= self.flush_every
                || counts != self.sent && since >= self.flush_every * 5
                || last_command.elapsed() >= self.poll_every
            {
                self.flush(counts).await;
                last_flush = Instant::now();
            }
            if health.stats().commands != before || !health.is_shared() {
                last_command = Instant::now();
            }
            if !health.is_shared() {
                self.forget_leases();
            }
        }
        self.forget_leases();
    }

    /// Leases are Redis's to expire once Redis is away: none is held here.
    fn forget_leases(&mut self) {
        self.held.clear();
        self.hook.free.store(0, Release);
        self.hook.in_use.store(0, Release);
    }

    fn remaining(&self, left_ms: i64) -> Duration {
        // A hostile open-until never keeps a replica open past its own longest.
        Duration::from_millis(u64::try_from(left_ms).unwrap_or(0).min(self.rules.open_max_ms))
    }

    async fn apply_push(&mut self, push: &str) {
        let closing = push == "c";
        if !closing && !push.starts_with("o:") {
            return;
        }
        if let Some(reply) = self.poll().await {
            match reply.as_slice() {
                [0, ..] if closing => self.breaker.close_shared(),
                reply => self.apply_phase(reply),
            }
        }
    }

    fn apply_phase(&self, reply: &[i64]) {
        if let [1, left, ..] = reply
            && *left > 0
        {
            self.breaker.open_shared(self.remaining(*left));
        }
    }

    /// The fleet's phase (`{phase, ms left}`), sending this replica's counters.
    async fn poll(&mut self) -> Option<Vec<i64>> {
        self.send(Counts::of(&self.breaker)).await
    }

    async fn events(&mut self) {
        let events = std::mem::take(&mut *self.hook.events.lock().unwrap_or_else(|e| e.into_inner()));
        let rules = self.rules;
        for event in events {
            match event {
                Event::Release(succeeded) => {
                    let Some(slot) = self.held.pop() else { continue };
                    let args: [&dyn link::ToArg; 7] = [
                        &self.prefix,
                        &slot,
                        &self.owner,
                        &u64::from(succeeded),
                        &rules.probes,
                        &self.lease_ms,
                        &rules.open_max_ms,
                    ];
                    if self.conn.eval::<i64>(&RELEASE_SCRIPT, &args).await == Some(1) {
                        self.breaker.close_shared();
                    }
                }
                Event::Opened(open_for) => {
                    let args: [&dyn link::ToArg; 4] = [
                        &self.prefix,
                        &ms(open_for).min(rules.open_max_ms),
                        &rules.open_max_ms,
                        &rules.probes,
                    ];
                    if let Some(reply) = self.conn.eval::<Vec<i64>>(&OPEN_SCRIPT, &args).await {
                        self.apply_phase(&reply);
                    }
                }
                Event::Closed => {
                    let args: [&dyn link::ToArg; 3] = [&self.prefix, &rules.probes, &rules.open_max_ms];
                    let _ = self.conn.eval::<i64>(&CLOSE_SCRIPT, &args).await;
                }
            }
        }
    }

    /// Takes a lease when a caller wants one; gives back those unused once the
    /// breaker has left half-open.
    async fn probes(&mut self) {
        if self.breaker.state() != State::HalfOpen {
            self.hook.want_probe.store(false, Release);
            return self.release_unused().await;
        }
        // A lease no caller took within its lifetime goes back: a quiet replica
        // does not hold the fleet's probes.
        if self.leased_at.elapsed() >= Duration::from_millis(self.lease_ms) {
            self.release_unused().await;
        }
        if !self.hook.want_probe.swap(false, AcqRel) {
            return;
        }
        let args: [&dyn link::ToArg; 5] =
            [&self.prefix, &self.rules.probes, &self.owner, &self.lease_ms, &self.rules.open_max_ms];
        if let Some(reply) = self.conn.eval::<Vec<i64>>(&ACQUIRE_SCRIPT, &args).await {
            match reply.as_slice() {
                [slot, ..] if *slot > 0 && (*slot as u64) <= self.rules.probes => {
                    self.held.push(*slot as u64);
                    self.hook.free.fetch_add(1, AcqRel);
                    self.leased_at = Instant::now();
                }
                [-1, left, ..] if *left > 0 => self.breaker.open_shared(self.remaining(*left)),
                _ => {}
            }
        }
    }

    /// Gives back the leases held and not in use.
    async fn release_unused(&mut self) {
        let unused = self.hook.free.swap(0, AcqRel);
        for _ in 0..unused {
            let Some(slot) = self.held.pop() else { break };
            let args: [&dyn link::ToArg; 7] = [
                &self.prefix,
                &slot,
                &self.owner,
                &0u64,
                &self.rules.probes,
                &self.lease_ms,
                &self.rules.open_max_ms,
            ];
            let _ = self.conn.eval::<i64>(&RELEASE_SCRIPT, &args).await;
        }
    }

    async fn renew(&mut self) {
        let mut args: Vec<&dyn link::ToArg> = vec![&self.prefix, &self.owner, &self.lease_ms];
        for slot in &self.held {
            args.push(slot);
        }
        let _ = self.conn.eval::<i64>(&RENEW_SCRIPT, &args).await;
    }

    async fn flush(&mut self, counts: Counts) {
        if let Some(reply) = self.send(counts).await {
            self.apply_phase(&reply);
        }
    }

    async fn send(&mut self, counts: Counts) -> Option<Vec<i64>> {
        self.sent = counts;
        let rules = self.rules;
        let args: [&dyn link::ToArg; 14] = [
            &self.prefix,
            &self.owner,
            &counts.calls,
            &counts.failures,
            &counts.slow,
            &counts.streak,
            &rules.counts_ttl_ms,
            &rules.minimum_calls,
            &rules.rate_ppm,
            &rules.slow_rate_ppm,
            &rules.consecutive,
            &rules.open_for_ms,
            &rules.open_max_ms,
            &rules.probes,
        ];
        self.conn.eval::<Vec<i64>>(&FLUSH_SCRIPT, &args).await
    }
}

/// A replica's counters: its breaker's window and failure streak, as they are.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Counts {
    calls: u64,
    failures: u64,
    slow: u64,
    streak: u64,
}

impl Counts {
    fn of<K: Clock>(breaker: &CircuitBreaker<K>) -> Self {
        let stats = breaker.stats();
        let calls = u64::from(stats.window_calls);
        let part = |rate: f64| (rate * calls as f64).round() as u64;
        Counts {
            calls,
            failures: part(stats.failure_rate),
            slow: part(stats.slow_call_rate),
            streak: u64::from(stats.consecutive_failures),
        }
    }

    /// Whether anything that can open the fleet changed.
    fn news(&self, sent: &Counts) -> bool {
        (self.failures, self.slow, self.streak) != (sent.failures, sent.slow, sent.streak)
    }
}
