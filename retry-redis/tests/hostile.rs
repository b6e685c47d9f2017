//! Shared breakers and budgets against hostile keys and pushes, a stalled or
//! flooded Redis, bad settings, and links dropped and made again (a real
//! `redis-server`, see `common`).

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::{Redis, wait_for};
use retry_core::breaker::State;
use retry_core::{CircuitBreaker, RetryBudget};
use retry_redis::{BreakerLink, RedisStore, ShareError};

type Replica = (Arc<CircuitBreaker>, BreakerLink);

fn store(url: &str) -> RedisStore {
    RedisStore::open(url).expect("a valid URL").with_lease_ttl(Duration::from_secs(1))
}

fn fleet_on(store: &RedisStore, name: &str, n: usize, make: impl Fn() -> CircuitBreaker) -> Vec<Replica> {
    let replicas: Vec<Replica> = (0..n)
        .map(|_| {
            let breaker = Arc::new(make());
            let link = store.share_breaker(name, breaker.clone()).expect("shared");
            (breaker, link)
        })
        .collect();
    let shared = wait_for(Duration::from_secs(5), || replicas.iter().all(|(_, link)| link.stats().shared));
    assert!(shared.is_some(), "every link joins the shared state");
    // The pub/sub listeners subscribe on their own connections: give them a moment.
    std::thread::sleep(Duration::from_millis(200));
    replicas
}

fn fleet(redis: &Redis, name: &str, n: usize, make: impl Fn() -> CircuitBreaker) -> Vec<Replica> {
    fleet_on(&store(&redis.url()), name, n, make)
}

fn fail(breaker: &CircuitBreaker, times: usize) {
    for _ in 0..times {
        let _ = breaker.call(|| Err::<(), _>("down"));
    }
}

fn all_open(replicas: &[Replica]) -> bool {
    replicas.iter().all(|(breaker, _)| breaker.state() == State::Open)
}

fn set(redis: &Redis, args: &[&str]) {
    let mut conn = redis.conn();
    let mut cmd = redis::cmd(args[0]);
    for arg in &args[1..] {
        cmd.arg(*arg);
    }
    cmd.query::<redis::Value>(&mut conn).expect("the command");
}

#[test]
fn a_forged_close_or_a_lost_state_never_closes_an_open_breaker() {
    let Some(redis) = Redis::start() else { return };
    for tamper in ["del", "garbage", "none"] {
        let replicas = fleet(&redis, &format!("forged-{tamper}"), 1, || {
            CircuitBreaker::new().with_consecutive_failures(3).with_open_for(Duration::from_secs(30))
        });
        let (breaker, link) = &replicas[0];
        fail(breaker, 3);
        std::thread::sleep(Duration::from_millis(300));
        let state = format!("{}state", link.key_prefix());
        match tamper {
            "del" => set(&redis, &["DEL", &state]),
            "garbage" => set(&redis, &["SET", &state, "garbage"]),
            _ => {}
        }
        // Polls see no state (or garbage): the breaker goes on as it is.
        std::thread::sleep(Duration::from_millis(600));
        assert_eq!(breaker.state(), State::Open, "{tamper}: no shared state closed it");
        // A forged close, pushed: only a hint, and the state read back is no close.
        set(&redis, &["PUBLISH", &format!("{}ch", link.key_prefix()), "c"]);
        std::thread::sleep(Duration::from_millis(400));
        assert!(link.stats().pushes >= 1, "{tamper}: the push arrived");
        assert_eq!(breaker.state(), State::Open, "{tamper}: a forged push closed it");
        assert!(breaker.call(|| Ok::<_, ()>(())).is_err());
    }
}

#[test]
fn a_hostile_lease_key_does_not_hold_the_fleet_half_open() {
    let Some(redis) = Redis::start() else { return };
    let replicas = fleet(&redis, "leaseblock", 1, || {
        CircuitBreaker::new().with_consecutive_failures(1).with_open_for(Duration::from_millis(300))
    });
    let (breaker, link) = &replicas[0];
    fail(breaker, 1);
    std::thread::sleep(Duration::from_millis(100));
    // Held for an hour: no lease of 1 s looks like that.
    set(&redis, &["SET", &format!("{}p:1", link.key_prefix()), "x", "PX", "3600000"]);
    let probed = wait_for(Duration::from_secs(3), || breaker.call(|| Ok::<_, ()>(())).is_ok());
    assert!(probed.is_some(), "a probe is admitted over the hostile lease: {:?}", link.stats());
    assert_eq!(breaker.state(), State::Closed);
}

#[test]
fn a_hung_probe_gives_its_lease_up() {
    let Some(redis) = Redis::start() else { return };
    // Open 300 ms, leases of 1 s: a probe that has not reported within the
    // open duration plus two leases (2.3 s) gives its lease up.
    let replicas = fleet(&redis, "hung", 2, || {
        CircuitBreaker::new().with_consecutive_failures(1).with_open_for(Duration::from_millis(300))
    });
    fail(&replicas[0].0, 1);
    assert!(wait_for(Duration::from_secs(2), || all_open(&replicas)).is_some());
    // Replica 0 probes and never reports (its call hangs).
    let hung = wait_for(Duration::from_secs(3), || replicas[0].0.try_acquire().map(std::mem::forget).is_ok());
    let since = Instant::now();
    assert!(hung.is_some(), "replica 0 probes");
    let probed = wait_for(Duration::from_secs(8), || replicas[1].0.call(|| Ok::<_, ()>(())).is_ok());
    assert!(probed.is_some(), "the hung probe's lease is given up");
    let after = since.elapsed();
    assert!(
        after >= Duration::from_millis(1500),
        "the lease is renewed while the probe may be running ({after:?})"
    );
}

#[test]
fn the_fleets_open_backoff_doubles_once_per_opening() {
    let Some(redis) = Redis::start() else { return };
    let replicas = fleet(&redis, "backoff", 1, || {
        CircuitBreaker::new()
            .with_consecutive_failures(1)
            .with_open_backoff(Duration::from_millis(200), Duration::from_secs(60))
    });
    let breaker = &replicas[0].0;
    fail(breaker, 1);
    let mut opened = Instant::now();
    let mut intervals = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(8);
    while intervals.len() < 4 && Instant::now() < deadline {
        // A probe admitted (and failing) reopens it: the interval it was open.
        if !matches!(breaker.call(|| Err::<(), _>("down")), Err(e) if e.is_open()) {
            intervals.push(opened.elapsed());
            opened = Instant::now();
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(intervals.len(), 4, "{intervals:?}");
    for (i, interval) in intervals.iter().enumerate() {
        let expected = Duration::from_millis(200 << i);
        assert!(
            *interval >= expected.mul_f64(0.9)
                && *interval <= expected.mul_f64(1.25) + Duration::from_millis(100),
            "opening {i}: open {interval:?}, expected {expected:?} ({intervals:?})"
        );
    }
}

#[test]
fn a_replica_joining_a_half_open_fleet_takes_leases() {
    let Some(redis) = Redis::start() else { return };
    let make =
        || CircuitBreaker::new().with_consecutive_failures(5).with_open_for(Duration::from_millis(500));
    let first = fleet(&redis, "join", 1, make);
    fail(&first[0].0, 5);
    // The fleet's interval is over, and nobody probed: the fleet is half-open.
    std::thread::sleep(Duration::from_millis(700));
    let late = fleet(&redis, "join", 1, make);
    let breaker = &late[0].0;
    std::thread::sleep(Duration::from_millis(400));
    let mut admitted = 0;
    for _ in 0..200 {
        if let Ok(permit) = breaker.try_acquire() {
            admitted += 1;
            std::mem::forget(permit);
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    assert!(admitted <= 1, "{admitted} calls admitted while the fleet admits one probe");
}

#[test]
fn a_state_without_an_expiry_is_no_shared_state() {
    let Some(redis) = Redis::start() else { return };
    for (i, hostile) in ["o:1", "o:1:1"].into_iter().enumerate() {
        let replicas = fleet(&redis, &format!("no-ttl-{i}"), 2, || {
            CircuitBreaker::new().with_consecutive_failures(4).with_open_for(Duration::from_secs(10))
        });
        // An opening long over, kept for ever: the fleet would stay half-open.
        let state = format!("{}state", replicas[0].1.key_prefix());
        set(&redis, &["SET", &state, hostile]);
        std::thread::sleep(Duration::from_millis(400));
        // 3 + 3 failures: the fleet's streak (6) reaches 4.
        fail(&replicas[0].0, 3);
        fail(&replicas[1].0, 3);
        assert!(
            wait_for(Duration::from_secs(2), || all_open(&replicas)).is_some(),
            "{hostile}: the fleet opens: {:?}",
            replicas.iter().map(|r| r.0.state()).collect::<Vec<_>>()
        );
        let mut conn = redis.conn();
        let ttl: i64 = redis::cmd("PTTL").arg(&state).query(&mut conn).unwrap();
        assert!(ttl > 0, "the state has an expiry ({ttl})");
    }
}

#[test]
fn a_stalled_redis_does_not_multiply_the_probes() {
    let Some(redis) = Redis::start() else { return };
    // Leases of 2 s: a stall shorter than two leases is a stall, not an outage.
    let store = RedisStore::open(&redis.url()).expect("a valid URL").with_lease_ttl(Duration::from_secs(2));
    let probes = 3;
    let replicas = fleet_on(&store, "stall", 4, || {
        CircuitBreaker::new()
            .with_consecutive_failures(1)
            .with_open_for(Duration::from_secs(1))
            .with_half_open_probes(probes)
    });
    fail(&replicas[0].0, 1);
    assert!(wait_for(Duration::from_secs(2), || all_open(&replicas)).is_some());
    // Redis stalls before the interval ends, and every link times out.
    let url = redis.url();
    let staller = std::thread::spawn(move || {
        let mut conn = redis::Client::open(url).unwrap().get_connection().unwrap();
        let _: redis::RedisResult<()> = redis::cmd("DEBUG").arg("SLEEP").arg(2).query(&mut conn);
    });
    let in_flight = AtomicU64::new(0);
    let most = AtomicU64::new(0);
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        for (breaker, _) in &replicas {
            for _ in 0..16 {
                let (breaker, in_flight, most, stop) = (&**breaker, &in_flight, &most, &stop);
                scope.spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        let _ = breaker.call(|| {
                            let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                            most.fetch_max(now, Ordering::SeqCst);
                            std::thread::sleep(Duration::from_millis(100));
                            in_flight.fetch_sub(1, Ordering::SeqCst);
                            Err::<(), _>("still down")
                        });
                        std::thread::sleep(Duration::from_millis(1));
                    }
                });
            }
        }
        std::thread::sleep(Duration::from_millis(3000));
        stop.store(true, Ordering::Relaxed);
    });
    staller.join().unwrap();
    assert!(replicas.iter().any(|(_, link)| link.stats().fallbacks > 0), "the stall was seen");
    let most = most.load(Ordering::SeqCst);
    assert!(most <= u64::from(probes), "{most} probes at once across the fleet (limit {probes})");
}

#[test]
fn a_flood_of_pushes_costs_a_bounded_number_of_polls() {
    let Some(redis) = Redis::start() else { return };
    let replicas = fleet(&redis, "flood", 1, CircuitBreaker::new);
    let link = &replicas[0].1;
    let channel = format!("{}ch", link.key_prefix());
    let before = link.stats();
    let mut conn = redis.conn();
    let start = Instant::now();
    let payload = format!("o:{}", "9".repeat(62));
    // A flood of at least 10,000 pushes received, however long a loaded
    // machine takes to deliver it (2 s when idle).
    while link.stats().pushes - before.pushes < 10_000 && start.elapsed() < Duration::from_secs(30) {
        let mut pipe = redis::pipe();
        for _ in 0..1000 {
            pipe.cmd("PUBLISH").arg(&channel).arg(&payload).ignore();
        }
        pipe.query::<()>(&mut conn).expect("PUBLISH");
    }
    std::thread::sleep(Duration::from_millis(500));
    let after = link.stats();
    let took = start.elapsed().as_secs_f64();
    let pushes = after.pushes - before.pushes;
    let commands = after.commands - before.commands;
    assert!(pushes >= 10_000, "{pushes} pushes received");
    // At most one poll per 10 ms from pushes, and the regular polls: 160
    // commands a second (400 for the 2.5 s an idle machine takes).
    assert!(commands as f64 <= 160.0 * took, "{commands} commands for {pushes} pushes in {took:.1} s");
    assert_eq!(replicas[0].0.state(), State::Closed);
}

#[test]
fn every_script_call_names_its_keys_in_one_slot() {
    let Some(redis) = Redis::start() else { return };
    set(&redis, &["CONFIG", "SET", "slowlog-log-slower-than", "0"]);
    set(&redis, &["CONFIG", "SET", "slowlog-max-len", "100000"]);
    let replicas = fleet(&redis, "", 2, || {
        CircuitBreaker::new().with_consecutive_failures(1).with_open_for(Duration::from_millis(200))
    });
    assert!(!replicas[0].1.key_prefix().contains("{}"), "a hash tag is never empty");
    let budget = Arc::new(RetryBudget::new().with_min_per_sec(0));
    let budget_link = store(&redis.url()).share_budget("", budget.clone()).expect("shared");
    assert!(wait_for(Duration::from_secs(5), || budget_link.stats().shared).is_some());
    // Every script: flush, open, acquire, renew, release, close; the budget's sync.
    fail(&replicas[0].0, 1);
    let probed = wait_for(Duration::from_secs(3), || replicas[1].0.call(|| Ok::<_, ()>(())).is_ok());
    assert!(probed.is_some());
    for _ in 0..200 {
        budget.deposit();
    }
    std::thread::sleep(Duration::from_millis(600));
    while budget.try_withdraw() {}
    std::thread::sleep(Duration::from_millis(300));
    let mut conn = redis.conn();
    let log: Vec<(i64, i64, i64, Vec<String>)> = redis::cmd("SLOWLOG")
        .arg("GET")
        .arg(100_000)
        .query::<Vec<redis::Value>>(&mut conn)
        .expect("SLOWLOG")
        .into_iter()
        .filter_map(|entry| {
            redis::from_redis_value::<(i64, i64, i64, Vec<String>, String, String)>(entry).ok()
        })
        .map(|(a, b, c, args, _, _)| (a, b, c, args))
        .collect();
    let scripts: Vec<&Vec<String>> =
        log.iter().map(|e| &e.3).filter(|args| args[0].eq_ignore_ascii_case("evalsha")).collect();
    assert!(scripts.len() >= 7, "{} script calls", scripts.len());
    let mut tags = std::collections::BTreeSet::new();
    for args in scripts {
        let keys: usize = args[2].parse().expect("numkeys");
        assert!(keys >= 1, "a script call names no key: {args:?}");
        for key in &args[3..3 + keys] {
            let tag = &key[key.find('{').expect("a tag") + 1..key.find('}').expect("a tag")];
            assert!(!tag.is_empty(), "{key}");
            tags.insert(tag.to_owned());
            assert!(key.starts_with("retry:{%}:"), "{key}");
        }
    }
    assert_eq!(tags.len(), 1, "one slot: {tags:?}");
}

#[test]
fn bad_settings_are_an_error_before_anything_is_installed() {
    let Some(redis) = Redis::start() else { return };
    let breaker = Arc::new(CircuitBreaker::new().with_consecutive_failures(1));
    let bad = store(&redis.url()).with_poll_every(Duration::MAX);
    assert!(matches!(bad.share_breaker("p", breaker.clone()), Err(ShareError::Settings(_))));
    let budget = Arc::new(RetryBudget::new());
    assert!(matches!(
        store(&redis.url()).with_timeout(Duration::from_secs(1 << 40)).share_budget("q", budget.clone()),
        Err(ShareError::Settings(_))
    ));
    // Nothing was installed: both can be shared now, and a NUL in a name is
    // only an escaped byte.
    let link = store(&redis.url()).share_breaker("a\0b", breaker.clone()).expect("shared");
    assert!(link.key_prefix().contains("{a%00b}"));
    assert!(wait_for(Duration::from_secs(5), || link.stats().shared).is_some());
    let _budget = store(&redis.url()).share_budget("q", budget).expect("shared");
}

/// Warnings of `retry::redis`, by the `name` they are about.
static WARNINGS: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

/// Records `retry::redis` warnings in [`WARNINGS`], for the whole process.
struct Warnings;

impl tracing::Subscriber for Warnings {
    fn enabled(&self, metadata: &tracing::Metadata<'_>) -> bool {
        metadata.target() == "retry::redis" && *metadata.level() == tracing::Level::WARN
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        struct Name(String);
        impl tracing::field::Visit for Name {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                if field.name() == "name" {
                    self.0 = format!("{value:?}");
                }
            }
        }
        let mut name = Name(String::new());
        event.record(&mut name);
        WARNINGS.lock().unwrap().push(name.0);
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[test]
fn a_dropped_link_detaches_quietly_and_the_breaker_can_be_shared_again() {
    let Some(redis) = Redis::start() else { return };
    let _ = tracing::subscriber::set_global_default(Warnings);
    let make = || CircuitBreaker::new().with_consecutive_failures(3).with_open_for(Duration::from_secs(3));
    let others = fleet(&redis, "again", 1, make);
    let breaker = Arc::new(make());
    let link = store(&redis.url()).share_breaker("again", breaker.clone()).expect("shared");
    assert!(wait_for(Duration::from_secs(5), || link.stats().shared).is_some());
    // A sign the subscriber hears this binary's warnings: a link that cannot connect.
    let lost = store("redis://127.0.0.1:1/").share_breaker("unreachable", Arc::new(make())).expect("a link");
    assert!(wait_for(Duration::from_secs(3), || lost.stats().fallbacks > 0).is_some());
    drop(link);
    std::thread::sleep(Duration::from_millis(300));
    let warned = WARNINGS.lock().unwrap().clone();
    assert!(warned.iter().any(|name| name.contains("unreachable")), "{warned:?}");
    assert!(!warned.iter().any(|name| name.contains("again")), "a dropped link is no outage: {warned:?}");
    // Detached: the fleet's opening is not this breaker's any more.
    fail(&others[0].0, 3);
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(breaker.state(), State::Closed);
    // Shared again: it joins the open fleet.
    let link = store(&redis.url()).share_breaker("again", breaker.clone()).expect("shared again");
    assert!(wait_for(Duration::from_secs(2), || breaker.state() == State::Open).is_some());
    assert_eq!(link.stats().fallbacks, 0);
    assert!(matches!(
        store(&redis.url()).share_breaker("again", breaker.clone()),
        Err(ShareError::AlreadyShared)
    ));
    // A budget too.
    let budget = Arc::new(RetryBudget::new());
    drop(store(&redis.url()).share_budget("again", budget.clone()).expect("shared"));
    let link = store(&redis.url()).share_budget("again", budget).expect("shared again");
    assert!(wait_for(Duration::from_secs(5), || link.stats().shared).is_some());
}

#[test]
fn a_budget_that_falls_back_spends_only_what_the_fleet_left() {
    let Some(mut redis) = Redis::start() else { return };
    let lease = 10;
    let budget = Arc::new(RetryBudget::new().with_min_per_sec(0).with_ratio(0.2));
    let store = RedisStore::open(&redis.url()).expect("a valid URL").with_budget_lease(lease);
    let link = store.share_budget("twice", budget.clone()).expect("shared");
    assert!(wait_for(Duration::from_secs(5), || link.stats().shared).is_some());
    for _ in 0..1000 {
        budget.deposit();
    }
    std::thread::sleep(Duration::from_millis(400));
    let mut shared = 0u64;
    let _ = wait_for(Duration::from_secs(3), || {
        while budget.try_withdraw() {
            shared += 1;
        }
        shared >= 200 - u64::from(lease)
    });
    redis.kill();
    assert!(
        wait_for(Duration::from_secs(5), || {
            let _ = budget.try_withdraw().then(|| shared += 1);
            !link.stats().shared
        })
        .is_some()
    );
    let mut alone = 0u64;
    for _ in 0..1000 {
        if budget.try_withdraw() {
            alone += 1;
        }
    }
    let total = shared + alone;
    assert!(
        total <= 200 + u64::from(lease),
        "{shared} retries shared, then {alone} alone, for 1,000 deposits"
    );
}

#[test]
fn a_flapping_redis_keeps_the_budget_within_the_ratio() {
    let Some(mut redis) = Redis::start() else { return };
    let lease = 10;
    let store = RedisStore::open(&redis.url()).expect("a valid URL").with_budget_lease(lease);
    let budgets: Vec<_> = (0..2)
        .map(|_| {
            let budget = Arc::new(RetryBudget::new().with_min_per_sec(0).with_ratio(0.2));
            let link = store.share_budget("flapping", budget.clone()).expect("shared");
            (budget, link)
        })
        .collect();
    assert!(wait_for(Duration::from_secs(5), || budgets.iter().all(|(_, l)| l.stats().shared)).is_some());
    let (mut first, mut retries) = (0u64, 0u64);
    for round in 0..5 {
        for i in 0..1000 {
            // Uneven: replica 0 takes 70% of the first attempts; both retry.
            let who = usize::from(i % 10 >= 7);
            budgets[who].0.deposit();
            first += 1;
            for (budget, _) in &budgets {
                if budget.try_withdraw() {
                    retries += 1;
                }
            }
            if i % 20 == 0 {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        if round < 4 {
            redis.kill();
            std::thread::sleep(Duration::from_millis(300));
            redis.restart();
        }
    }
    let allowed = first / 5;
    let slack = 2 * u64::from(lease);
    assert!(retries <= allowed + slack, "{retries} retries for {first} first attempts (ratio 0.2 + {slack})");
    assert!(budgets.iter().any(|(_, link)| link.stats().fallbacks > 0), "Redis was away");
}
