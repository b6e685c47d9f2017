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
use tokio::time::Instant;

use crate::link::{self, Conn, Health, LinkStats, Slot, Slots};
use crate::scripts::{ACQUIRE_SCRIPT, CLOSE_SCRIPT, FLUSH_SCRIPT, OPEN_SCRIPT, RELEASE_SCRIPT, RENEW_SCRIPT};
use crate::{Held, RedisStore, ShareError, keys};

/// The slots installed in breakers, so a breaker can be shared again.
static SLOTS: Slots<Hook> = Mutex::new(Vec::new());

/// The most events a link keeps for its thread: they are rare (an opening, a
/// close, a probe's end), and a thread that cannot keep up drops the oldest.
const MOST_EVENTS: usize = 1024;

#[derive(Debug)]
enum Event {
    /// A leased probe ended: give the lease back (and count its success).
    Release(bool),
    Opened,
    Closed,
}

/// The hook: what the call path touches (atomics only, but for rare events).
#[derive(Debug)]
struct Hook {
    /// Probe leases held and not in use.
    free: AtomicU32,
    /// Probe leases in use by running probes.
    in_use: AtomicU32,
    /// Probes admitted without a lease (no shared state) and still running.
    local: AtomicU32,
    /// Replicas polling the fleet's state, as last seen (0: not known).
    fleet: AtomicU32,
    /// Probes the fleet admits at once.
    probes: u32,
    /// How long Redis must have been away before a replica probes alone as a
    /// local breaker does.
    alone_after: Duration,
    want_probe: AtomicBool,
    events: Mutex<Vec<Event>>,
    health: Arc<Health>,
}

impl Hook {
    fn push(&self, event: Event) {
        if self.health.stopped.load(Acquire) {
            return;
        }
        let mut events = self.events.lock().unwrap_or_else(|e| e.into_inner());
        if events.len() >= MOST_EVENTS {
            events.remove(0);
        }
        events.push(event);
        drop(events);
        self.health.wake.notify_one();
    }

    /// A probe without a lease: while Redis has been away only briefly (a stall,
    /// a load spike), this replica's fair share of the fleet's probes (rounded
    /// down: possibly none), so the fleet's limit holds; after that, or when the
    /// fleet's size is not known, the breaker's own limit.
    fn probe_alone(&self) -> bool {
        let fleet = self.fleet.load(Acquire);
        let share = if fleet == 0 || self.health.down_for() >= self.alone_after {
            u32::MAX
        } else {
            self.probes / fleet
        };
        self.local.fetch_update(AcqRel, Acquire, |n| (n < share).then_some(n + 1)).is_ok()
    }
}

impl SharedBreaker for Hook {
    fn try_probe(&self) -> bool {
        if !self.health.is_shared() {
            return self.probe_alone();
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
        if self.local.fetch_update(AcqRel, Acquire, |n| n.checked_sub(1)).is_ok() {
            return;
        }
        if self.in_use.fetch_update(AcqRel, Acquire, |used| used.checked_sub(1)).is_ok() {
            self.push(Event::Release(outcome == Some(true)));
        }
    }

    fn opened(&self, _open_for: Duration) {
        // The fleet doubles its own open duration by its own openings; the
        // local one (already doubled by the local openings) is not sent.
        self.push(Event::Opened);
    }

    fn closed(&self) {
        self.push(Event::Closed);
    }
}

impl SharedBreaker for Slot<Hook> {
    fn try_probe(&self) -> bool {
        self.with(Hook::try_probe).unwrap_or(true)
    }

    fn probe_done(&self, outcome: Option<bool>) {
        self.with(|hook| hook.probe_done(outcome));
    }

    fn opened(&self, open_for: Duration) {
        self.with(|hook| hook.opened(open_for));
    }

    fn closed(&self) {
        self.with(Hook::closed);
    }
}

/// A breaker's link to the fleet: keep it alive for as long as the breaker is
/// shared. Dropped, the breaker acts alone (its probe leases expire) and can be
/// shared again.
pub struct BreakerLink {
    hook: Arc<Hook>,
    slot: Arc<Slot<Hook>>,
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
        self.slot.detach();
        self.hook.health.stop();
        self.hook.events.lock().unwrap_or_else(|e| e.into_inner()).clear();
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
    /// How long the fleet's close is kept for the replicas to read.
    closed_ttl_ms: u64,
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
        // A replica's counters outlive three polls: a replica that stops
        // (or dies) drops out of the fleet's sums soon after.
        let counts_ttl_ms = ms(store.poll_every.saturating_mul(3).saturating_add(store.timeout));
        Rules {
            counts_ttl_ms,
            minimum_calls: u64::from(minimum_calls.max(1)),
            rate_ppm: ppm(settings.failure_rate),
            slow_rate_ppm: settings.slow_call.map_or(0, |(_, rate)| ppm(rate)),
            consecutive: u64::from(settings.consecutive_failures),
            open_for_ms: ms(settings.open_for),
            open_max_ms: ms(settings.open_max),
            probes: u64::from(settings.half_open_probes.max(1)),
            closed_ttl_ms: counts_ttl_ms.min(60_000),
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
    store.check()?;
    let settings = breaker.settings();
    let lease_ms = ms(store.lease_ttl);
    // The lease's lifetime is part of the version: a replica discards leases
    // that outlive its own, so replicas sharing leases agree on it.
    let version = keys::version(&format!("{settings:?} lease {lease_ms}"));
    let prefix = keys::prefix(&store.namespace, name, "b", &version);
    let health = Arc::new(Health::new("breaker", name));
    let rules = Rules::new(&settings, store);
    let hook = Arc::new(Hook {
        free: AtomicU32::new(0),
        in_use: AtomicU32::new(0),
        local: AtomicU32::new(0),
        fleet: AtomicU32::new(0),
        probes: settings.half_open_probes.max(1),
        alone_after: store.lease_ttl.saturating_mul(2),
        want_probe: AtomicBool::new(false),
        events: Mutex::new(Vec::new()),
        health: Arc::clone(&health),
    });
    let address = &*breaker as *const CircuitBreaker<K> as usize;
    let slot = link::attach(&SLOTS, address, Arc::clone(&hook), |slot| breaker.set_shared(slot).is_ok())
        .ok_or(ShareError::AlreadyShared)?;
    let worker = Worker {
        conn: Conn::new(store, Arc::clone(&health)),
        hook: Arc::clone(&hook),
        breaker,
        rules,
        keys: breaker_keys(&prefix, rules.probes),
        prefix: prefix.clone(),
        owner: keys::owner(),
        held: Vec::new(),
        abandoned: 0,
        opening: None,
        leased_at: Instant::now(),
        sent: Counts::default(),
        flush_every: store.flush_every,
        poll_every: store.poll_every,
        lease_ms,
        hang_after: Duration::from_millis(rules.open_max_ms.saturating_add(lease_ms.saturating_mul(2))),
    };
    let listener = link::listen(store.client.clone(), format!("{prefix}ch"), store.timeout, health);
    let started = link::spawn(name, async move {
        tokio::spawn(listener);
        worker.run().await;
    });
    if let Err(error) = started {
        slot.detach();
        hook.health.stop();
        return Err(ShareError::Thread(error));
    }
    Ok(BreakerLink { hook, slot, prefix })
}

/// The keys of a breaker its scripts can name beforehand (one hash slot).
fn breaker_keys(prefix: &str, probes: u64) -> Vec<String> {
    let mut keys: Vec<String> =
        ["state", "ok", "trips", "rs", "m"].iter().map(|k| format!("{prefix}{k}")).collect();
    keys.extend((1..=probes.min(64)).map(|slot| format!("{prefix}p:{slot}")));
    keys
}

struct Worker<K: 'static> {
    conn: Conn,
    hook: Arc<Hook>,
    breaker: Held<CircuitBreaker<K>>,
    rules: Rules,
    keys: Vec<String>,
    prefix: String,
    owner: String,
    /// Probe lease slots this replica holds (free and in use), and when each
    /// was taken.
    held: Vec<(u64, Instant)>,
    /// Leases given up because their probe hung: the next reports are theirs.
    abandoned: u32,
    /// The fleet's opening this replica's breaker follows (its id).
    opening: Option<i64>,
    /// When the last lease was taken.
    leased_at: Instant,
    /// The counters last sent.
    sent: Counts,
    flush_every: Duration,
    poll_every: Duration,
    lease_ms: u64,
    /// A probe that has not reported for this long gives its lease up.
    hang_after: Duration,
}

/// The least time between two polls asked for by pushes.
const PUSH_POLL_GAP: Duration = Duration::from_millis(10);

impl<K: Clock + Send + Sync + 'static> Worker<K> {
    async fn run(mut self) {
        let health = Arc::clone(&self.hook.health);
        let mut last_flush = Instant::now();
        let mut last_command = link::ago(self.poll_every);
        let mut last_renew = Instant::now();
        let mut last_push = link::ago(PUSH_POLL_GAP);
        let mut tick = tokio::time::interval(self.flush_every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        while !health.stopped.load(Acquire) {
            tokio::select! {
                _ = tick.tick() => {}
                () = health.wake.notified() => {}
                () = health.pushed.notified() => {
                    if health.stopped.load(Acquire) {
                        break;
                    }
                    // A push is only a hint to poll now: the state read back decides,
                    // so a forged message changes nothing. Pushes that come in a
                    // burst are one poll.
                    tokio::time::sleep_until(last_push + PUSH_POLL_GAP).await;
                    last_push = Instant::now();
                    if health.is_shared() {
                        self.poll().await;
                    }
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
                || counts != self.sent && since >= self.flush_every.saturating_mul(5)
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
        // Detached: the leases not in use go back to the fleet now.
        if health.is_shared() || self.conn.connected() {
            self.release_unused().await;
        }
        self.forget_leases();
    }

    /// Leases are Redis's to expire once Redis is away: none is held here. The
    /// probes running on them count against this replica's own share now.
    fn forget_leases(&mut self) {
        self.held.clear();
        self.abandoned = 0;
        self.hook.free.store(0, Release);
        let in_use = self.hook.in_use.swap(0, AcqRel);
        if in_use > 0 {
            self.hook.local.fetch_add(in_use, AcqRel);
        }
    }

    fn remaining(&self, left_ms: i64) -> Duration {
        // A hostile open-until never keeps a replica open past its own longest.
        Duration::from_millis(u64::try_from(left_ms).unwrap_or(0).min(self.rules.open_max_ms))
    }

    /// Follows the fleet's phase: open for what is left of its interval;
    /// half-open once that is over (so a replica that joins then takes leases
    /// like the others); closed only by the fleet's close of the opening this
    /// replica follows. No shared state changes nothing: the breaker goes on as
    /// it is (a deleted or garbled state never closes a replica).
    fn apply_phase(&mut self, reply: &[i64]) {
        match reply {
            [1, left, rest @ ..] if *left > 0 => {
                self.opening = rest.first().copied();
                self.breaker.open_shared(self.remaining(*left));
            }
            [2, _, id, ..] => {
                self.opening = Some(*id);
                // A close of its own not yet told to the fleet: not reopened.
                let telling = !self.hook.events.lock().unwrap_or_else(|e| e.into_inner()).is_empty();
                if self.breaker.state() == State::Closed && !telling {
                    self.breaker.open_shared(Duration::ZERO);
                }
            }
            [3, _, id, ..] if self.opening == Some(*id) => {
                self.opening = None;
                self.breaker.close_shared();
            }
            _ => {}
        }
        if let [_, _, _, replicas, ..] = reply {
            self.hook.fleet.store(u32::try_from(*replicas).unwrap_or(0).min(1 << 20), Release);
        }
    }

    /// Reads the fleet's phase (sending this replica's counters) and follows it.
    async fn poll(&mut self) {
        let counts = Counts::of(&self.breaker);
        self.flush(counts).await;
    }

    async fn events(&mut self) {
        let events = std::mem::take(&mut *self.hook.events.lock().unwrap_or_else(|e| e.into_inner()));
        let rules = self.rules;
        for event in events {
            match event {
                Event::Release(succeeded) => {
                    if self.abandoned > 0 {
                        self.abandoned -= 1;
                        continue;
                    }
                    let Some((slot, _)) = self.held.pop() else { continue };
                    let args: [&dyn link::ToArg; 8] = [
                        &self.prefix,
                        &slot,
                        &self.owner,
                        &u64::from(succeeded),
                        &rules.probes,
                        &self.lease_ms,
                        &rules.open_max_ms,
                        &rules.closed_ttl_ms,
                    ];
                    if self.conn.eval::<i64>(&RELEASE_SCRIPT, &self.keys, &args).await == Some(1) {
                        self.opening = None;
                        self.breaker.close_shared();
                    }
                }
                Event::Opened => {
                    let args: [&dyn link::ToArg; 4] =
                        [&self.prefix, &rules.open_for_ms, &rules.open_max_ms, &rules.probes];
                    if let Some(reply) = self.conn.eval::<Vec<i64>>(&OPEN_SCRIPT, &self.keys, &args).await {
                        self.apply_phase(&reply);
                    }
                }
                Event::Closed => {
                    let args: [&dyn link::ToArg; 4] =
                        [&self.prefix, &rules.probes, &rules.open_max_ms, &rules.closed_ttl_ms];
                    let _ = self.conn.eval::<i64>(&CLOSE_SCRIPT, &self.keys, &args).await;
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
        if let Some(reply) = self.conn.eval::<Vec<i64>>(&ACQUIRE_SCRIPT, &self.keys, &args).await {
            match reply.as_slice() {
                [slot, ..] if *slot > 0 && (*slot as u64) <= self.rules.probes => {
                    self.held.push((*slot as u64, Instant::now()));
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
            let Some((slot, _)) = self.held.pop() else { break };
            let args: [&dyn link::ToArg; 8] = [
                &self.prefix,
                &slot,
                &self.owner,
                &0u64,
                &self.rules.probes,
                &self.lease_ms,
                &self.rules.open_max_ms,
                &self.rules.closed_ttl_ms,
            ];
            let _ = self.conn.eval::<i64>(&RELEASE_SCRIPT, &self.keys, &args).await;
        }
    }

    /// Extends the leases held, but for those whose probe has run past
    /// `hang_after`: a hung probe gives its lease up (it expires), so one
    /// replica's stuck call never holds the fleet half-open.
    async fn renew(&mut self) {
        let hang_after = self.hang_after;
        let before = self.held.len();
        self.held.retain(|(_, taken)| taken.elapsed() < hang_after);
        let hung = u32::try_from(before - self.held.len()).unwrap_or(u32::MAX);
        if hung > 0 {
            // Free leases are given back within a lease's lifetime, so these are
            // in use: their probes' reports, when they come, release nothing.
            self.abandoned = self.abandoned.saturating_add(hung);
        }
        if self.held.is_empty() {
            return;
        }
        let mut args: Vec<&dyn link::ToArg> = vec![&self.prefix, &self.owner, &self.lease_ms];
        for (slot, _) in &self.held {
            args.push(slot);
        }
        let _ = self.conn.eval::<i64>(&RENEW_SCRIPT, &self.keys, &args).await;
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
        self.conn.eval::<Vec<i64>>(&FLUSH_SCRIPT, &self.keys, &args).await
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
