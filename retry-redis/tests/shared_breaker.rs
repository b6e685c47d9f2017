//! Shared breakers on a real `redis-server` (see `common`): several instances in
//! one process, and replicas in separate processes (this binary re-run).

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::{Redis, wait_for};
use retry_core::CircuitBreaker;
use retry_core::breaker::{State, Window};
use retry_redis::{BreakerLink, RedisStore};

type Replica = (Arc<CircuitBreaker>, BreakerLink);

fn store(url: &str) -> RedisStore {
    RedisStore::open(url).expect("a valid URL").with_lease_ttl(Duration::from_secs(1))
}

fn fleet(redis: &Redis, name: &str, n: usize, make: impl Fn() -> CircuitBreaker) -> Vec<Replica> {
    let store = store(&redis.url());
    let replicas: Vec<Replica> = (0..n)
        .map(|_| {
            let breaker = Arc::new(make());
            let link = store.share_breaker(name, breaker.clone()).expect("shared");
            (breaker, link)
        })
        .collect();
    wait_shared(&replicas);
    replicas
}

fn wait_shared(replicas: &[Replica]) {
    let shared = wait_for(Duration::from_secs(5), || replicas.iter().all(|(_, link)| link.stats().shared));
    assert!(
        shared.is_some(),
        "every link joins the shared state: {:?}",
        replicas.iter().map(|r| &r.1).collect::<Vec<_>>()
    );
    // The pub/sub listeners subscribe on their own connections: give them a moment.
    std::thread::sleep(Duration::from_millis(200));
}

fn fail(breaker: &CircuitBreaker, times: usize) {
    for _ in 0..times {
        let _ = breaker.call(|| Err::<(), _>("down"));
    }
}

fn all_open(replicas: &[Replica]) -> bool {
    replicas.iter().all(|(breaker, _)| breaker.state() == State::Open)
}

#[test]
fn one_replica_opens_and_every_replica_sees_it_for_the_same_interval() {
    let Some(redis) = Redis::start() else { return };
    let open_for = Duration::from_secs(3);
    let replicas = fleet(&redis, "payments", 4, || {
        CircuitBreaker::new().with_consecutive_failures(5).with_open_for(open_for)
    });
    fail(&replicas[0].0, 5);
    assert_eq!(replicas[0].0.state(), State::Open);
    let took = wait_for(Duration::from_secs(2), || all_open(&replicas)).expect("every replica opens");
    assert!(took < Duration::from_millis(500), "seen open after {took:?}");
    // One interval for the fleet: nobody admits a call before it ends, all do after.
    for (breaker, _) in &replicas {
        assert!(!breaker.may_admit_after(open_for - Duration::from_millis(700)));
        assert!(breaker.may_admit_after(open_for + Duration::from_millis(300)));
    }
}

#[test]
fn a_replica_that_joins_an_open_fleet_is_open_for_what_is_left() {
    let Some(redis) = Redis::start() else { return };
    let open_for = Duration::from_secs(3);
    let make = || CircuitBreaker::new().with_consecutive_failures(3).with_open_for(open_for);
    let first = fleet(&redis, "late", 1, make);
    fail(&first[0].0, 3);
    std::thread::sleep(Duration::from_secs(1));
    // A breaker used for the first time now: the fleet's interval began before it.
    let late = fleet(&redis, "late", 1, make);
    let (breaker, _) = &late[0];
    assert!(wait_for(Duration::from_secs(1), || breaker.state() == State::Open).is_some());
    assert!(!breaker.may_admit_after(Duration::from_millis(1200)));
    assert!(breaker.may_admit_after(Duration::from_millis(2200)), "open for what is left of the fleet's 3 s");
}

#[test]
fn the_fleets_failure_rate_opens_it_where_no_replica_alone_would() {
    let Some(redis) = Redis::start() else { return };
    let replicas = fleet(&redis, "search", 4, || {
        CircuitBreaker::new()
            .with_consecutive_failures(0)
            .with_failure_rate(0.5, Window::Time(Duration::from_secs(5)))
            .with_minimum_calls(40)
            .with_open_for(Duration::from_secs(3))
    });
    // 15 calls each, half failing: no replica reaches 40 calls, the fleet does.
    for (breaker, _) in &replicas {
        for i in 0..15 {
            let _ = breaker.call(|| if i % 2 == 0 { Err("down") } else { Ok(()) });
        }
        assert_eq!(breaker.state(), State::Closed);
    }
    assert!(
        wait_for(Duration::from_secs(3), || all_open(&replicas)).is_some(),
        "the fleet's rate opens every replica"
    );
}

#[test]
fn half_open_admits_exactly_the_probes_across_the_fleet() {
    let Some(redis) = Redis::start() else { return };
    let probes = 2;
    let replicas = fleet(&redis, "ledger", 4, || {
        CircuitBreaker::new()
            .with_consecutive_failures(3)
            .with_open_for(Duration::from_millis(400))
            .with_half_open_probes(probes)
    });
    fail(&replicas[0].0, 3);
    assert!(wait_for(Duration::from_secs(2), || all_open(&replicas)).is_some());
    let admitted = AtomicU64::new(0);
    let deadline = Instant::now() + Duration::from_millis(2500);
    std::thread::scope(|scope| {
        for (breaker, _) in &replicas {
            for _ in 0..64 {
                let (breaker, admitted) = (&**breaker, &admitted);
                scope.spawn(move || {
                    let mut held = Vec::new();
                    while Instant::now() < deadline {
                        if let Ok(permit) = breaker.try_acquire() {
                            admitted.fetch_add(1, Ordering::Relaxed);
                            held.push(permit);
                        }
                        std::thread::sleep(Duration::from_millis(2));
                    }
                    drop(held);
                });
            }
        }
    });
    assert_eq!(admitted.load(Ordering::Relaxed), u64::from(probes), "probes admitted across 4 × 64 callers");
}

#[test]
fn a_lease_no_caller_takes_goes_back_to_the_fleet() {
    let Some(redis) = Redis::start() else { return };
    let replicas = fleet(&redis, "quiet", 2, || {
        CircuitBreaker::new().with_consecutive_failures(3).with_open_for(Duration::from_millis(300))
    });
    fail(&replicas[0].0, 3);
    assert!(wait_for(Duration::from_secs(2), || all_open(&replicas)).is_some());
    // Replica 0 asks once in half-open (rejected: no lease yet), then goes quiet
    // holding the lease it was given.
    std::thread::sleep(Duration::from_millis(400));
    assert!(replicas[0].0.try_acquire().is_err());
    std::thread::sleep(Duration::from_millis(100));
    // Replica 1 gets the probe once the quiet replica's lease (1 s) goes back.
    let probed =
        wait_for(Duration::from_secs(4), || replicas[1].0.try_acquire().map(std::mem::forget).is_ok());
    let took = probed.expect("the lease goes back");
    assert!(took >= Duration::from_millis(500), "the quiet replica held it first ({took:?})");
}

#[test]
fn probe_successes_close_the_whole_fleet() {
    let Some(redis) = Redis::start() else { return };
    let replicas = fleet(&redis, "inventory", 3, || {
        CircuitBreaker::new().with_consecutive_failures(3).with_open_for(Duration::from_millis(300))
    });
    fail(&replicas[0].0, 3);
    assert!(wait_for(Duration::from_secs(2), || all_open(&replicas)).is_some());
    // Replica 2 probes until one is admitted; its success closes every replica.
    let probed = wait_for(Duration::from_secs(3), || replicas[2].0.call(|| Ok::<_, ()>(())).is_ok());
    assert!(probed.is_some(), "a probe is admitted once the interval ends");
    let closed =
        wait_for(Duration::from_secs(2), || replicas.iter().all(|(b, _)| b.state() == State::Closed));
    assert!(closed.is_some(), "{:?}", replicas.iter().map(|r| r.0.state()).collect::<Vec<_>>());
}

#[test]
fn different_settings_never_share_state() {
    let Some(redis) = Redis::start() else { return };
    let store = store(&redis.url());
    let a = Arc::new(CircuitBreaker::new().with_consecutive_failures(3));
    let b = Arc::new(CircuitBreaker::new().with_consecutive_failures(4));
    let link_a = store.share_breaker("orders", a.clone()).expect("shared");
    let link_b = store.share_breaker("orders", b.clone()).expect("shared");
    assert_ne!(link_a.key_prefix(), link_b.key_prefix());
    assert!(wait_for(Duration::from_secs(5), || link_a.stats().shared && link_b.stats().shared).is_some());
    fail(&a, 3);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!((a.state(), b.state()), (State::Open, State::Closed));
    assert!(matches!(store.share_breaker("orders", a.clone()), Err(retry_redis::ShareError::AlreadyShared)));
}

/// Calls on `breaker` in a loop until `stop`; the longest call.
fn hammer(breaker: Arc<CircuitBreaker>, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<Duration> {
    std::thread::spawn(move || {
        let mut longest = Duration::ZERO;
        while !stop.load(Ordering::Relaxed) {
            let start = Instant::now();
            let _ = breaker.call(|| Ok::<_, ()>(()));
            longest = longest.max(start.elapsed());
            std::thread::sleep(Duration::from_micros(200));
        }
        longest
    })
}

#[test]
fn redis_killed_then_restarted_local_meanwhile_and_shared_again() {
    let Some(mut redis) = Redis::start() else { return };
    let make = || CircuitBreaker::new().with_consecutive_failures(5).with_open_for(Duration::from_secs(30));
    let replicas = fleet(&redis, "mail", 2, make);
    let stop = Arc::new(AtomicBool::new(false));
    let caller = hammer(replicas[1].0.clone(), stop.clone());
    redis.kill();
    let fell_back = wait_for(Duration::from_secs(3), || replicas.iter().all(|(_, l)| !l.stats().shared));
    assert!(fell_back.is_some(), "both links fall back");
    // Local behaviour: replica 0 opens on its own failures (not "closed"), and
    // replica 1, hearing nothing, stays closed.
    fail(&replicas[0].0, 5);
    assert_eq!(replicas[0].0.state(), State::Open);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(replicas[1].0.state(), State::Closed);
    redis.restart();
    assert!(
        wait_for(Duration::from_secs(5), || replicas.iter().all(|(_, l)| l.stats().shared)).is_some(),
        "both links rejoin"
    );
    stop.store(true, Ordering::Relaxed);
    let longest = caller.join().expect("the caller");
    assert!(longest < Duration::from_millis(50), "a call took {longest:?} while Redis was away");
    // Said once per fall, however many commands failed meanwhile.
    assert!(
        replicas.iter().all(|(_, l)| l.stats().fallbacks == 1),
        "{:?}",
        replicas.iter().map(|r| r.1.stats()).collect::<Vec<_>>()
    );
    // Shared again: an opening propagates.
    replicas[0].0.reset();
    std::thread::sleep(Duration::from_millis(500));
    fail(&replicas[0].0, 5);
    assert!(wait_for(Duration::from_secs(2), || all_open(&replicas)).is_some(), "shared state resumes");
}

#[test]
fn redis_stalled_falls_back_and_rejoins() {
    let Some(redis) = Redis::start() else { return };
    let make = || CircuitBreaker::new().with_consecutive_failures(5).with_open_for(Duration::from_secs(30));
    let replicas = fleet(&redis, "search", 2, make);
    let stop = Arc::new(AtomicBool::new(false));
    let caller = hammer(replicas[1].0.clone(), stop.clone());
    let mut conn = redis.conn();
    let stall = std::thread::spawn(move || redis::cmd("DEBUG").arg("SLEEP").arg(2).query::<()>(&mut conn));
    let fell_back = wait_for(Duration::from_millis(1500), || replicas.iter().all(|(_, l)| !l.stats().shared));
    assert!(fell_back.is_some(), "both links fall back while Redis sleeps");
    fail(&replicas[0].0, 5);
    assert_eq!(replicas[0].0.state(), State::Open);
    stall.join().expect("the stall").expect("DEBUG SLEEP");
    assert!(
        wait_for(Duration::from_secs(5), || replicas.iter().all(|(_, l)| l.stats().shared)).is_some(),
        "both links rejoin"
    );
    stop.store(true, Ordering::Relaxed);
    let longest = caller.join().expect("the caller");
    assert!(longest < Duration::from_millis(50), "a call took {longest:?} while Redis stalled");
    assert_eq!(replicas[1].0.state(), State::Closed, "no shared state while it stalled");
}

#[test]
fn garbage_in_the_keys_reads_as_no_shared_state() {
    let Some(redis) = Redis::start() else { return };
    let make = || CircuitBreaker::new().with_consecutive_failures(5).with_open_for(Duration::from_secs(3));
    let replicas = fleet(&redis, "hostile", 2, make);
    let prefix = replicas[0].1.key_prefix().to_owned();
    let mut conn = redis.conn();
    let now_ms =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64;
    let set = |conn: &mut redis::Connection, key: &str, value: &str| {
        redis::cmd("SET").arg(format!("{prefix}{key}")).arg(value).query::<()>(conn).unwrap()
    };
    // Opened for ten years, numbers past any range, wrong types, leases for ever.
    set(&mut conn, "state", &format!("o:{}", now_ms + 10 * 365 * 86_400_000));
    for _ in 0..20 {
        let _ = replicas[0].0.call(|| Ok::<_, ()>(()));
    }
    std::thread::sleep(Duration::from_millis(400));
    assert!(
        replicas.iter().all(|(b, _)| b.state() == State::Closed),
        "a ten-year opening is no shared state"
    );
    set(&mut conn, "state", "o:99999999999999999999999999");
    set(&mut conn, "streak", "NaN");
    set(&mut conn, "trips", "-inf");
    set(&mut conn, "p:1", "not a lease");
    redis::cmd("HSET").arg(format!("{prefix}ok")).arg("x").arg("y").query::<()>(&mut conn).unwrap();
    set(&mut conn, "rs", "\u{0}\u{ff}garbage");
    set(&mut conn, "r:someone", "not a hash");
    for payload in ["o:99999999999999", "o:-5", "c", "\u{ff}\u{fe}", &"x".repeat(100_000)] {
        redis::cmd("PUBLISH").arg(format!("{prefix}ch")).arg(payload).query::<()>(&mut conn).unwrap();
    }
    std::thread::sleep(Duration::from_millis(500));
    assert!(replicas.iter().all(|(b, _)| b.state() == State::Closed), "no push or key opened it");
    redis::cmd("DEL").arg(format!("{prefix}state")).query::<()>(&mut conn).unwrap();
    redis::cmd("LPUSH").arg(format!("{prefix}state")).arg("a list").query::<()>(&mut conn).unwrap();
    // Still working: an opening propagates, over the garbage.
    fail(&replicas[0].0, 5);
    assert!(wait_for(Duration::from_secs(2), || all_open(&replicas)).is_some(), "sharing survives garbage");
    assert!(replicas.iter().all(|(_, l)| l.stats().shared));
}

#[test]
fn a_password_protected_server() {
    let Some(redis) = Redis::start_with(&["--requirepass", "s3cret-pw"]) else { return };
    let replicas = fleet(&redis, "auth", 2, || CircuitBreaker::new().with_consecutive_failures(3));
    fail(&replicas[0].0, 3);
    assert!(wait_for(Duration::from_secs(2), || all_open(&replicas)).is_some());
    // A wrong password: never shared, and the breaker works alone.
    let url = format!("redis://:wrong@127.0.0.1:{}/", redis.port);
    let alone = Arc::new(CircuitBreaker::new().with_consecutive_failures(3));
    let link = store(&url).share_breaker("auth", alone.clone()).expect("a link");
    std::thread::sleep(Duration::from_millis(800));
    assert!(!link.stats().shared);
    assert_eq!(alone.state(), State::Closed, "not opened by a fleet it cannot reach");
    fail(&alone, 3);
    assert_eq!(alone.state(), State::Open, "its own failures open it");
    assert!(!format!("{:?}", store(&url)).contains("wrong"), "Debug never shows the password");

    // An ACL user allowed only the `retry` namespace's keys and channels.
    let mut admin = redis.conn();
    redis::cmd("ACL")
        .arg(&["SETUSER", "breakers", "on", ">user-pw", "~retry:*", "&retry:*", "+@all", "-@dangerous"])
        .query::<()>(&mut admin)
        .expect("ACL SETUSER");
    let url = format!("redis://breakers:user-pw@127.0.0.1:{}/", redis.port);
    let user = Arc::new(CircuitBreaker::new().with_consecutive_failures(3));
    let link = store(&url).share_breaker("acl", user.clone()).expect("a link");
    assert!(wait_for(Duration::from_secs(5), || link.stats().shared).is_some(), "an ACL user shares");
    assert!(link.key_prefix().starts_with("retry:{acl}:"));
}

#[test]
fn without_pushes_polling_carries_the_opening() {
    let Some(redis) = Redis::start() else { return };
    // A user with no channel rights: no pub/sub, only polls.
    let mut admin = redis.conn();
    redis::cmd("ACL")
        .arg(&["SETUSER", "nopush", "on", ">pw", "~*", "resetchannels", "+@all"])
        .query::<()>(&mut admin)
        .expect("ACL SETUSER");
    let store = store(&format!("redis://nopush:pw@127.0.0.1:{}/", redis.port));
    let replicas: Vec<Replica> = (0..3)
        .map(|_| {
            let breaker = Arc::new(CircuitBreaker::new().with_consecutive_failures(3));
            let link = store.share_breaker("polled", breaker.clone()).expect("shared");
            (breaker, link)
        })
        .collect();
    wait_shared(&replicas);
    fail(&replicas[0].0, 3);
    let took = wait_for(Duration::from_secs(3), || all_open(&replicas)).expect("polls see the opening");
    assert!(took < Duration::from_millis(600), "seen after {took:?} (a poll is 250 ms)");
    assert!(replicas.iter().all(|(_, link)| link.stats().pushes == 0 && link.stats().shared));
}

#[test]
fn every_key_expires() {
    let Some(redis) = Redis::start() else { return };
    {
        let replicas = fleet(&redis, "expiring", 3, || {
            CircuitBreaker::new()
                .with_consecutive_failures(3)
                .with_failure_rate(0.9, Window::Time(Duration::from_secs(1)))
                .with_open_for(Duration::from_millis(200))
        });
        for (breaker, _) in &replicas {
            for _ in 0..20 {
                let _ = breaker.call(|| Ok::<_, ()>(()));
            }
        }
        std::thread::sleep(Duration::from_millis(400));
        fail(&replicas[0].0, 3);
        assert!(wait_for(Duration::from_secs(2), || all_open(&replicas)).is_some());
        // A probe is leased and left running when the links drop.
        let held = wait_for(Duration::from_secs(3), || {
            let permit = replicas[1].0.try_acquire();
            permit.map(std::mem::forget).is_ok()
        });
        assert!(held.is_some());
        // And a budget's bucket (a 1 s ttl), with deposits beyond the lease.
        let budget = Arc::new(retry_core::RetryBudget::new().with_ttl(Duration::from_secs(1)));
        let _budget_link = store(&redis.url()).share_budget("expiring", budget.clone()).expect("shared");
        let budget_keys = || redis.keys().iter().any(|k| k.contains(":q:"));
        let sent = wait_for(Duration::from_secs(5), || {
            budget.deposit();
            budget_keys()
        });
        assert!(sent.is_some(), "deposits reach the fleet's bucket");
        assert!(!redis.keys().is_empty());
    }
    let gone = wait_for(Duration::from_secs(8), || redis.keys().is_empty());
    assert!(gone.is_some(), "left behind: {:?}", redis.keys());
}

/// A replica in a process of its own: this test binary run again with
/// `RETRY_REDIS_CHILD` set (as `watch` or `probe`); a no-op otherwise.
#[test]
fn child_replica() {
    let Ok(role) = std::env::var("RETRY_REDIS_CHILD") else { return };
    let url = std::env::var("RETRY_REDIS_URL").expect("RETRY_REDIS_URL");
    let breaker: &'static CircuitBreaker = Box::leak(Box::new(child_breaker()));
    let link = store(&url).share_breaker("processes", breaker).expect("shared");
    assert!(wait_for(Duration::from_secs(5), || link.stats().shared).is_some());
    std::thread::sleep(Duration::from_millis(200));
    println!("ready");
    let limit = Duration::from_secs(20);
    match role.as_str() {
        "watch" => {
            assert!(wait_for(limit, || breaker.state() == State::Open).is_some());
            println!("open");
        }
        "probe" => {
            assert!(wait_for(limit, || breaker.try_acquire().map(std::mem::forget).is_ok()).is_some());
            println!("probing");
            std::thread::sleep(limit);
        }
        other => panic!("unknown role {other}"),
    }
}

fn child_breaker() -> CircuitBreaker {
    CircuitBreaker::new().with_consecutive_failures(3).with_open_for(Duration::from_millis(300))
}

struct Child {
    process: std::process::Child,
    lines: std::sync::mpsc::Receiver<(String, Instant)>,
}

impl Child {
    fn start(role: &str, url: &str) -> Child {
        let mut process = Command::new(std::env::current_exe().expect("this test binary"))
            .args(["--exact", "child_replica", "--nocapture", "--test-threads", "1"])
            .env("RETRY_REDIS_CHILD", role)
            .env("RETRY_REDIS_URL", url)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the child starts");
        let stdout = process.stdout.take().expect("its stdout");
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send((line, Instant::now()));
            }
        });
        Child { process, lines }
    }

    /// Waits for the line `want`; when it came.
    fn expect(&self, want: &str) -> Instant {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok((line, at)) if line.trim().ends_with(want) => return at,
                Ok(_) => {}
                Err(_) => panic!("the child never said {want:?}"),
            }
        }
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

#[test]
fn three_processes_see_one_opening() {
    let Some(redis) = Redis::start() else { return };
    let children: Vec<Child> = (0..3).map(|_| Child::start("watch", &redis.url())).collect();
    for child in &children {
        child.expect("ready");
    }
    let breaker = Arc::new(child_breaker());
    let link = store(&redis.url()).share_breaker("processes", breaker.clone()).expect("shared");
    assert!(wait_for(Duration::from_secs(5), || link.stats().shared).is_some());
    let opened = Instant::now();
    fail(&breaker, 3);
    for child in &children {
        let seen = child.expect("open").saturating_duration_since(opened);
        assert!(seen < Duration::from_millis(500), "a process saw it open after {seen:?}");
    }
}

#[test]
fn a_killed_replicas_probe_lease_expires_and_probing_continues() {
    let Some(redis) = Redis::start() else { return };
    let mut child = Child::start("probe", &redis.url());
    child.expect("ready");
    let breaker = Arc::new(child_breaker());
    let link = store(&redis.url()).share_breaker("processes", breaker.clone()).expect("shared");
    assert!(wait_for(Duration::from_secs(5), || link.stats().shared).is_some());
    fail(&breaker, 3);
    child.expect("probing");
    // The only lease is the child's: nobody here probes while it lives.
    std::thread::sleep(Duration::from_millis(500));
    assert!(breaker.try_acquire().is_err());
    child.process.kill().expect("killed");
    let killed = Instant::now();
    let _ = child.process.wait();
    let admitted = wait_for(Duration::from_secs(5), || breaker.try_acquire().map(std::mem::forget).is_ok());
    let after = admitted.expect("a probe once the dead replica's lease expired");
    assert!(after <= Duration::from_millis(1500), "admitted {:?} after the kill", killed.elapsed());
}
