//! Differential tests: the circuit breaker and the retry budget against plain,
//! obviously-correct models of their documented semantics, driven by the same
//! random operations. Several instances are used in turn from one thread, some are
//! replaced in place, the clock jumps by anything from a nanosecond to centuries,
//! and permits are reported late, out of order, or dropped.
//!
//! Each test runs a million operations over eight seeds; `RETRY_MODEL_OPS` sets
//! another total, and `RETRY_MODEL_SEED` another first seed (to explore further).
#![deny(warnings, clippy::all)]

use std::collections::VecDeque;
use std::time::Duration;

use retry::RetryBudget;
use retry::breaker::{BreakerStats, CircuitBreaker, Permit, State, Window};
use retry::testing::ManualClock;

/// A small seeded generator (splitmix64): the same seed, the same operations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (n > 0).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    /// A jump of the clock: mostly small, sometimes hours, now and then years.
    fn jump(&mut self) -> Duration {
        match self.below(100) {
            0..=19 => Duration::from_nanos(1 + self.below(1_000)),
            20..=59 => Duration::from_micros(self.below(200_000)),
            60..=89 => Duration::from_millis(self.below(20_000)),
            90..=97 => Duration::from_secs(self.below(40_000)),
            _ => Duration::from_secs(self.below(200 * 365 * 86_400)),
        }
    }
}

const SEEDS: u64 = 8;

/// The seeds to run, and the operations of each.
fn seeds() -> (std::ops::Range<u64>, usize) {
    let var = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    let first = var("RETRY_MODEL_SEED").unwrap_or(1);
    let total = var("RETRY_MODEL_OPS").unwrap_or(1_000_000);
    (first..first + SEEDS, (total / SEEDS) as usize)
}

/// A breaker's settings, as the builder takes them.
#[derive(Clone, Copy, Debug)]
struct Config {
    consecutive: u32,
    rate: f64,
    window: Option<Window>,
    slow: Option<(Duration, f64)>,
    minimum_calls: u32,
    open_for: Duration,
    open_max: Duration,
    probes: u32,
}

impl Config {
    fn random(rng: &mut Rng) -> Config {
        let window = match rng.below(3) {
            0 => None,
            1 => Some(Window::Calls(1 + rng.below(150) as u32)),
            _ if rng.chance(20) => Some(Window::Time(Duration::from_nanos(1 + rng.below(100_000)))),
            _ => Some(Window::Time(Duration::from_millis(1 + rng.below(20_000)))),
        };
        let rate = [0.0, 0.25, 0.5, 0.9, 1.0, 1.5][rng.below(6) as usize];
        let slow = rng
            .chance(40)
            .then(|| (Duration::from_micros(rng.below(150_000)), [0.3, 0.5, 1.0][rng.below(3) as usize]));
        let open_for = Duration::from_millis(rng.below(5_000));
        let open_max = match rng.below(3) {
            0 => open_for,
            1 => open_for * (1 + rng.below(20) as u32),
            _ => Duration::MAX,
        };
        Config {
            consecutive: rng.below(6) as u32,
            rate,
            window,
            slow,
            minimum_calls: rng.below(30) as u32,
            open_for,
            open_max,
            probes: 1 + rng.below(4) as u32,
        }
    }

    fn build(&self, clock: &ManualClock) -> CircuitBreaker<ManualClock> {
        let mut breaker =
            CircuitBreaker::with_clock(clock.clone()).with_consecutive_failures(self.consecutive);
        if let Some(window) = self.window {
            breaker = breaker.with_failure_rate(self.rate, window);
        }
        if let Some((threshold, rate)) = self.slow {
            breaker = breaker.with_slow_calls(threshold, rate);
        }
        breaker
            .with_minimum_calls(self.minimum_calls)
            .with_open_backoff(self.open_for, self.open_max)
            .with_half_open_probes(self.probes)
    }
}

/// What the model knows of a permit.
#[derive(Clone, Copy, Debug)]
struct Ticket {
    generation: u64,
    probe: bool,
    counted: bool,
    started_ns: u64,
}

/// The breaker as its documentation describes it, with plain fields.
#[derive(Debug)]
struct BreakerModel {
    config: Config,
    origin_ns: u64,
    state: State,
    generation: u64,
    consecutive: u32,
    trips: u32,
    opened_at_ms: u64,
    in_flight: u32,
    probe_successes: u32,
    /// (failed, slow) of the last calls, newest last.
    calls: VecDeque<(bool, bool)>,
    /// (bucket, failed, slow) of the timed calls.
    timed: Vec<(u64, bool, bool)>,
    rejected: u64,
    opened: u64,
}

impl BreakerModel {
    /// A model of a breaker made and reset (which starts its clock) at `now_ns`.
    fn new(config: Config, now_ns: u64) -> BreakerModel {
        BreakerModel {
            config,
            origin_ns: now_ns,
            state: State::Closed,
            generation: 1,
            consecutive: 0,
            trips: 0,
            opened_at_ms: 0,
            in_flight: 0,
            probe_successes: 0,
            calls: VecDeque::new(),
            timed: Vec::new(),
            rejected: 0,
            opened: 0,
        }
    }

    fn ms(&self, now_ns: u64) -> u64 {
        (now_ns - self.origin_ns) / 1_000_000
    }

    fn rate(&self) -> f64 {
        if self.config.rate > 0.0 && self.config.rate <= 1.0 { self.config.rate } else { 0.0 }
    }

    fn slow_rule(&self) -> Option<(Duration, f64)> {
        self.config.slow.filter(|(_, rate)| *rate > 0.0 && *rate <= 1.0)
    }

    fn probes(&self) -> u32 {
        self.config.probes.clamp(1, 1023)
    }

    /// Doubling on each opening after the first, up to the maximum.
    fn open_duration_ms(&self) -> u64 {
        let max = self.config.open_max.max(self.config.open_for);
        let mut duration = self.config.open_for;
        for _ in 1..self.trips {
            if duration >= max {
                break;
            }
            duration = duration.saturating_mul(2);
        }
        duration.min(max).as_millis() as u64
    }

    /// The time window's bucket: tenths of its span, in nanoseconds.
    fn bucket(&self, span: Duration, now_ns: u64) -> u64 {
        (now_ns - self.origin_ns) / (span.as_nanos() as u64 / 10).max(1) + 1
    }

    /// The calls the window needs before its rates count: a count window's size
    /// at most.
    fn minimum_calls(&self) -> u32 {
        match self.config.window {
            Some(Window::Calls(n)) => self.config.minimum_calls.clamp(1, n),
            _ => self.config.minimum_calls.max(1),
        }
    }

    fn window(&self, now_ns: u64) -> (u32, u32, u32) {
        let count = |it: &mut dyn Iterator<Item = (bool, bool)>| {
            it.fold((0, 0, 0), |(c, f, s), (failed, slow)| {
                (c + 1, f + u32::from(failed), s + u32::from(slow))
            })
        };
        match self.config.window {
            None => (0, 0, 0),
            Some(Window::Calls(_)) => count(&mut self.calls.iter().copied()),
            Some(Window::Time(span)) => {
                let now = self.bucket(span, now_ns);
                let live = self.timed.iter().filter(|(b, _, _)| *b + 10 > now && *b <= now);
                count(&mut live.map(|(_, failed, slow)| (*failed, *slow)))
            }
        }
    }

    fn clear(&mut self) {
        self.consecutive = 0;
        self.calls.clear();
        self.timed.clear();
    }

    /// A new period in state `to` (counted as an opening if it is one and the
    /// state was another).
    fn transition(&mut self, to: State) {
        if to != self.state && matches!(to, State::Open | State::ForcedOpen) {
            self.opened += 1;
        }
        self.state = to;
        self.generation += 1;
        self.in_flight = 0;
        self.probe_successes = 0;
    }

    fn open(&mut self, now_ns: u64) {
        self.transition(State::Open);
        self.opened_at_ms = self.ms(now_ns);
        self.trips += 1;
        self.clear();
    }

    fn acquire(&mut self, now_ns: u64) -> Option<Ticket> {
        let ticket = |model: &Self, probe| Ticket {
            generation: model.generation,
            probe,
            counted: model.state != State::ForcedClosed,
            started_ns: now_ns,
        };
        if self.state == State::Open
            && self.ms(now_ns).saturating_sub(self.opened_at_ms) >= self.open_duration_ms()
        {
            self.transition(State::HalfOpen);
        }
        match self.state {
            State::Closed | State::ForcedClosed => Some(ticket(self, false)),
            State::HalfOpen if self.in_flight < self.probes() => {
                self.in_flight += 1;
                Some(ticket(self, true))
            }
            _ => {
                self.rejected += 1;
                None
            }
        }
    }

    fn report(&mut self, ticket: Ticket, failed: bool, now_ns: u64) {
        let current = ticket.generation == self.generation;
        if !ticket.counted || !current {
            return;
        }
        if ticket.probe {
            if failed {
                self.open(now_ns);
            } else {
                self.probe_successes += 1;
                self.in_flight = self.in_flight.saturating_sub(1);
                if self.probe_successes >= self.probes() {
                    self.transition(State::Closed);
                    self.trips = 0;
                    self.clear();
                }
            }
            return;
        }
        if failed {
            self.consecutive += 1;
            if self.config.consecutive > 0 && self.consecutive >= self.config.consecutive {
                return self.open(now_ns);
            }
        } else {
            self.consecutive = 0;
        }
        let slow = self
            .slow_rule()
            .is_some_and(|(threshold, _)| now_ns - ticket.started_ns >= threshold.as_nanos() as u64);
        match self.config.window {
            None => return,
            Some(Window::Calls(n)) => {
                self.calls.push_back((failed, slow));
                if self.calls.len() > n.clamp(1, 65_536) as usize {
                    self.calls.pop_front();
                }
            }
            Some(Window::Time(span)) => {
                let bucket = self.bucket(span, now_ns);
                self.timed.retain(|(b, _, _)| *b + 10 > bucket);
                self.timed.push((bucket, failed, slow));
            }
        }
        let (calls, failures, slows) = self.window(now_ns);
        if calls < self.minimum_calls() {
            return;
        }
        let reached = |count: u32, rate: f64| rate > 0.0 && f64::from(count) >= rate * f64::from(calls);
        if reached(failures, self.rate()) || reached(slows, self.slow_rule().map_or(0.0, |(_, rate)| rate)) {
            self.open(now_ns);
        }
    }

    fn dropped(&mut self, ticket: Ticket) {
        if ticket.probe && ticket.generation == self.generation && self.state == State::HalfOpen {
            self.in_flight = self.in_flight.saturating_sub(1);
        }
    }

    fn reset(&mut self) {
        self.clear();
        self.trips = 0;
        self.transition(State::Closed);
    }

    fn check(&self, stats: &BreakerStats, now_ns: u64, context: &dyn Fn() -> String) {
        let (calls, failures, slows) = self.window(now_ns);
        let rate = |n: u32| if calls == 0 { 0.0 } else { f64::from(n) / f64::from(calls) };
        let expected = BreakerStats {
            state: self.state,
            consecutive_failures: self.consecutive,
            window_calls: calls,
            failure_rate: rate(failures),
            slow_call_rate: rate(slows),
            rejected: self.rejected,
            opened: self.opened,
        };
        assert_eq!(*stats, expected, "{}", context());
    }
}

const INSTANCES: usize = 4;

/// Runs `ops` random operations; returns how many checks found each state, and how
/// many reports came from an earlier generation (so the run is known to reach them).
fn breaker_run(seed: u64, ops: usize) -> ([u64; 5], u64) {
    let mut seen = [0u64; 5];
    let mut stale = 0;
    let mut rng = Rng(seed);
    let clock = ManualClock::new();
    let now = |clock: &ManualClock| clock.elapsed().as_nanos() as u64;
    // Boxed, so a replacement lands at the same address.
    let mut breakers: Vec<Box<CircuitBreaker<ManualClock>>> = Vec::new();
    let mut models = Vec::new();
    for _ in 0..INSTANCES {
        let config = Config::random(&mut rng);
        let breaker = Box::new(config.build(&clock));
        breaker.reset();
        breakers.push(breaker);
        models.push(BreakerModel::new(config, now(&clock)));
    }
    let mut done = 0;
    let mut history: VecDeque<String> = VecDeque::new();
    while done < ops {
        let mut replace = None;
        {
            let mut permits: Vec<(usize, Permit<'_, ManualClock>, Ticket)> = Vec::new();
            while done < ops {
                done += 1;
                let i = rng.below(INSTANCES as u64) as usize;
                let (breaker, model) = (&breakers[i], &mut models[i]);
                let t = now(&clock);
                let op = match rng.below(100) {
                    0..=24 => {
                        let admitted = breaker.try_acquire().ok();
                        let expected = model.acquire(t);
                        assert_eq!(
                            admitted.is_some(),
                            expected.is_some(),
                            "seed {seed} op {done}: {history:#?}"
                        );
                        if let (Some(permit), Some(ticket)) = (admitted, expected) {
                            permits.push((i, permit, ticket));
                        }
                        format!("acquire #{i}")
                    }
                    25..=54 if !permits.is_empty() => {
                        let (j, permit, ticket) =
                            permits.swap_remove(rng.below(permits.len() as u64) as usize);
                        let failed = rng.chance(50);
                        stale += u64::from(ticket.generation != models[j].generation);
                        if failed {
                            permit.failure()
                        } else {
                            permit.success()
                        }
                        models[j].report(ticket, failed, t);
                        format!("report #{j} failed={failed} {ticket:?}")
                    }
                    55..=59 if !permits.is_empty() => {
                        let (j, permit, ticket) =
                            permits.swap_remove(rng.below(permits.len() as u64) as usize);
                        drop(permit);
                        models[j].dropped(ticket);
                        format!("drop #{j} {ticket:?}")
                    }
                    60..=79 => {
                        let failed = rng.chance(60);
                        let outcome = breaker.call(|| if failed { Err(()) } else { Ok(()) });
                        match model.acquire(t) {
                            Some(ticket) => model.report(ticket, failed, t),
                            None => assert!(outcome.is_err_and(|e| e.is_open()), "seed {seed} op {done}"),
                        }
                        format!("call #{i} failed={failed}")
                    }
                    80..=93 => {
                        let by = rng.jump();
                        clock.advance(by);
                        format!("advance {by:?}")
                    }
                    94 => {
                        breaker.force_open();
                        model.transition(State::ForcedOpen);
                        format!("force_open #{i}")
                    }
                    95 => {
                        breaker.force_closed();
                        model.transition(State::ForcedClosed);
                        format!("force_closed #{i}")
                    }
                    96 | 97 => {
                        breaker.reset();
                        model.reset();
                        format!("reset #{i}")
                    }
                    98 => {
                        replace = Some(i);
                        format!("replace #{i}")
                    }
                    _ => "nothing".to_string(),
                };
                history.push_back(op);
                if history.len() > 12 {
                    history.pop_front();
                }
                let t = now(&clock);
                for (k, (breaker, model)) in breakers.iter().zip(&models).enumerate() {
                    seen[model.state as usize] += 1;
                    model.check(&breaker.stats(), t, &|| {
                        format!("seed {seed} op {done} breaker #{k} {:?}: {history:#?}", model.config)
                    });
                }
                if replace.is_some() {
                    break;
                }
            }
            // A breaker is replaced only when nothing borrows it: every permit goes.
            for (j, permit, ticket) in permits {
                drop(permit);
                models[j].dropped(ticket);
            }
        }
        if let Some(i) = replace {
            let config = Config::random(&mut rng);
            *breakers[i] = config.build(&clock);
            breakers[i].reset();
            models[i] = BreakerModel::new(config, now(&clock));
        }
    }
    (seen, stale)
}

#[test]
fn the_breaker_matches_its_model() {
    let (seeds, ops) = seeds();
    let (mut seen, mut stale) = ([0; 5], 0);
    for seed in seeds {
        let (states, late) = breaker_run(seed, ops);
        seen.iter_mut().zip(states).for_each(|(total, n)| *total += n);
        stale += late;
    }
    // Every state is reached, and outcomes are reported from earlier generations.
    assert!(seen.iter().all(|&n| n > 0) && stale > 0, "{seen:?} {stale}");
}

/// The budget as documented: deposits and withdrawals live `ttl`, in ten slots.
#[derive(Debug)]
struct BudgetModel {
    origin_ns: u64,
    slot_ms: u64,
    reserve: i64,
    deposit: i64,
    /// (epoch, units) of every deposit and withdrawal still live.
    entries: Vec<(u64, i64)>,
    deposits: u64,
    withdrawals: u64,
    exhausted: u64,
}

impl BudgetModel {
    fn new(ttl_ms: u64, min_per_sec: u64, ratio: f64, now_ns: u64) -> BudgetModel {
        BudgetModel {
            origin_ns: now_ns,
            slot_ms: ttl_ms / 10,
            reserve: (min_per_sec * ttl_ms / 1000) as i64 * 1000,
            deposit: (ratio * 1000.0) as i64,
            entries: Vec::new(),
            deposits: 0,
            withdrawals: 0,
            exhausted: 0,
        }
    }

    fn epoch(&self, now_ns: u64) -> u64 {
        (now_ns - self.origin_ns) / 1_000_000 / self.slot_ms
    }

    fn balance(&mut self, now_ns: u64) -> i64 {
        let epoch = self.epoch(now_ns);
        self.entries.retain(|(e, _)| e + 10 > epoch);
        self.entries.iter().map(|(_, units)| units).sum::<i64>() + self.reserve
    }

    fn deposit(&mut self, now_ns: u64) {
        self.deposits += 1;
        if self.deposit != 0 {
            let epoch = self.epoch(now_ns);
            self.entries.push((epoch, self.deposit));
        }
    }

    fn withdraw(&mut self, now_ns: u64) -> bool {
        if self.balance(now_ns) >= 1000 {
            let epoch = self.epoch(now_ns);
            self.entries.push((epoch, -1000));
            self.withdrawals += 1;
            true
        } else {
            self.exhausted += 1;
            false
        }
    }

    fn available(&mut self, now_ns: u64) -> u64 {
        u64::try_from(self.balance(now_ns) / 1000).unwrap_or(0)
    }
}

fn random_budget(rng: &mut Rng, clock: &ManualClock) -> (RetryBudget<ManualClock>, BudgetModel) {
    let ttl_ms = [1_000, 3_000, 10_000, 60_000][rng.below(4) as usize];
    let min_per_sec = rng.below(20);
    let ratio = [0.0, 0.1, 0.2, 0.5, 1.0, 3.0][rng.below(6) as usize];
    let budget = RetryBudget::with_clock(clock.clone())
        .with_ttl(Duration::from_millis(ttl_ms))
        .with_min_per_sec(min_per_sec as u32)
        .with_ratio(ratio);
    // Its first reading of the clock is its origin.
    budget.available();
    let model = BudgetModel::new(ttl_ms, min_per_sec, ratio, clock.elapsed().as_nanos() as u64);
    (budget, model)
}

fn budget_run(seed: u64, ops: usize) {
    let mut rng = Rng(seed);
    let clock = ManualClock::new();
    let mut budgets: Vec<_> = (0..3).map(|_| random_budget(&mut rng, &clock)).collect();
    let mut history: VecDeque<String> = VecDeque::new();
    for done in 0..ops {
        let i = rng.below(budgets.len() as u64) as usize;
        let t = clock.elapsed().as_nanos() as u64;
        let (budget, model) = &mut budgets[i];
        let op = match rng.below(100) {
            0..=49 => {
                budget.deposit();
                model.deposit(t);
                format!("deposit #{i}")
            }
            50..=84 => {
                let taken = budget.try_withdraw();
                assert_eq!(taken, model.withdraw(t), "seed {seed} op {done} #{i}: {history:#?}");
                format!("withdraw #{i}")
            }
            85..=97 => {
                // Budget slots are at least 100 ms: jumps of a slot or two, and far more.
                let by = if rng.chance(50) { Duration::from_millis(rng.below(3_000)) } else { rng.jump() };
                clock.advance(by);
                format!("advance {by:?}")
            }
            98 => {
                budgets[i] = random_budget(&mut rng, &clock);
                format!("replace #{i}")
            }
            _ => "nothing".to_string(),
        };
        history.push_back(op);
        if history.len() > 12 {
            history.pop_front();
        }
        let t = clock.elapsed().as_nanos() as u64;
        for (k, (budget, model)) in budgets.iter_mut().enumerate() {
            let stats = budget.stats();
            let expected = (model.available(t), model.deposits, model.withdrawals, model.exhausted);
            assert_eq!(
                (stats.available, stats.deposits, stats.withdrawals, stats.exhausted),
                expected,
                "seed {seed} op {done} budget #{k}: {history:#?}"
            );
        }
    }
}

#[test]
fn the_budget_matches_its_model() {
    let (seeds, ops) = seeds();
    for seed in seeds {
        budget_run(seed, ops);
    }
}
