//! Shared breakers and budgets on a Redis Cluster of three masters on loopback
//! (`redis-server --cluster-enabled yes`, joined with `redis-cli --cluster create`).

mod common;

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use common::{Redis, wait_for};
use retry_core::breaker::State;
use retry_core::{CircuitBreaker, RetryBudget};
use retry_redis::RedisStore;

/// Three masters holding every slot (and the directory of their `nodes.conf`),
/// or `None` when there is no cluster to run.
fn cluster() -> Option<(Vec<Redis>, std::path::PathBuf)> {
    if Command::new("redis-cli").arg("--version").stdout(Stdio::null()).status().is_err() {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "redis-cli is not on the PATH, and CI=true");
        use std::io::Write;
        let _ =
            writeln!(std::io::stderr(), "\n!!! redis-cli is not on the PATH: this cluster test DID NOT RUN");
        return None;
    }
    let dir = std::env::temp_dir().join(format!("retry-redis-cluster-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a directory for nodes.conf");
    let nodes: Vec<Redis> = (0..3)
        .map(|i| {
            let conf = dir.join(format!("nodes-{i}.conf"));
            let _ = std::fs::remove_file(&conf);
            let conf = conf.to_str().expect("a UTF-8 path").to_owned();
            Redis::start_with(&["--cluster-enabled", "yes", "--cluster-config-file", &conf])
        })
        .collect::<Option<_>>()?;
    let addresses: Vec<String> = nodes.iter().map(|n| format!("127.0.0.1:{}", n.port)).collect();
    let created = Command::new("redis-cli")
        .args(["--cluster", "create"])
        .args(&addresses)
        .args(["--cluster-replicas", "0", "--cluster-yes"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("redis-cli runs");
    assert!(created.success(), "redis-cli --cluster create");
    let ready = wait_for(Duration::from_secs(10), || {
        nodes.iter().all(|node| {
            let info: String = redis::cmd("CLUSTER").arg("INFO").query(&mut node.conn()).unwrap_or_default();
            info.contains("cluster_state:ok")
        })
    });
    assert!(ready.is_some(), "the cluster is up");
    Some((nodes, dir))
}

#[test]
fn breakers_and_budgets_share_over_a_cluster() {
    let Some((nodes, dir)) = cluster() else { return };
    let urls: Vec<String> = nodes.iter().map(|n| n.url()).collect();
    let urls: Vec<&str> = urls.iter().map(String::as_str).collect();
    let store = RedisStore::open_cluster(&urls).expect("valid URLs").with_lease_ttl(Duration::from_secs(1));
    // Names whose slots fall on different masters, and the empty name.
    for name in ["a", "b", "c", "payments", ""] {
        let make =
            || CircuitBreaker::new().with_consecutive_failures(3).with_open_for(Duration::from_millis(300));
        let replicas: Vec<_> = (0..2)
            .map(|_| {
                let breaker = Arc::new(make());
                let link = store.share_breaker(name, breaker.clone()).expect("shared");
                (breaker, link)
            })
            .collect();
        let shared =
            wait_for(Duration::from_secs(5), || replicas.iter().all(|(_, link)| link.stats().shared));
        assert!(shared.is_some(), "{name:?}: {:?}", replicas.iter().map(|r| r.1.stats()).collect::<Vec<_>>());
        std::thread::sleep(Duration::from_millis(200));
        for _ in 0..3 {
            let _ = replicas[0].0.call(|| Err::<(), _>("down"));
        }
        let open =
            wait_for(Duration::from_secs(2), || replicas.iter().all(|(b, _)| b.state() == State::Open));
        assert!(open.is_some(), "{name:?}: the opening reaches the other replica");
        let probed = wait_for(Duration::from_secs(3), || replicas[1].0.call(|| Ok::<_, ()>(())).is_ok());
        assert!(probed.is_some(), "{name:?}: a probe leased");
        let closed =
            wait_for(Duration::from_secs(2), || replicas.iter().all(|(b, _)| b.state() == State::Closed));
        assert!(closed.is_some(), "{name:?}: the fleet closes");
        assert!(replicas.iter().all(|(_, link)| link.stats().fallbacks == 0 && link.stats().shared));
    }
    let budgets: Vec<_> = (0..2)
        .map(|_| {
            let budget = Arc::new(RetryBudget::new().with_min_per_sec(0));
            let link = store.share_budget("payments", budget.clone()).expect("shared");
            (budget, link)
        })
        .collect();
    assert!(wait_for(Duration::from_secs(5), || budgets.iter().all(|(_, l)| l.stats().shared)).is_some());
    for _ in 0..1000 {
        budgets[0].0.deposit();
    }
    let mut retries = 0;
    let _ = wait_for(Duration::from_secs(3), || {
        while budgets[1].0.try_withdraw() {
            retries += 1;
        }
        retries >= 180
    });
    assert!(retries >= 180, "{retries} retries on the other replica's deposits");
    assert!(budgets.iter().all(|(_, link)| link.stats().fallbacks == 0));
    drop(nodes);
    let _ = std::fs::remove_dir_all(dir);
}
