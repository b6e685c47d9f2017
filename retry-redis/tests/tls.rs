//! A shared breaker over TLS (`rediss://`), against a `redis-server` with a
//! certificate of a CA made here. Needs the `tls` feature:
//! `cargo test -p retry-redis --features tls --test tls`.

mod common;

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use common::{Redis, wait_for};
use retry_core::CircuitBreaker;
use retry_core::breaker::State;
use retry_redis::RedisStore;

/// A CA and a server certificate for 127.0.0.1, in `dir`.
fn certificates(dir: &std::path::Path) -> bool {
    let run = |args: &[&str]| {
        Command::new("openssl").args(args).current_dir(dir).output().is_ok_and(|o| o.status.success())
    };
    std::fs::write(dir.join("san.cnf"), "subjectAltName=IP:127.0.0.1\n").expect("written");
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-days",
        "1",
        "-subj",
        "/CN=test-ca",
    ]) && run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]) && run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.crt",
        "-days",
        "1",
        "-extfile",
        "san.cnf",
    ])
}

#[test]
fn a_breaker_shared_over_tls() {
    let dir = std::env::temp_dir().join(format!("retry-redis-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temp dir");
    if !certificates(&dir) {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "openssl is needed for the TLS test");
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "\n!!! openssl could not make certificates: the TLS test DID NOT RUN\n"
        );
        return;
    }
    let tls_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let path = |f: &str| dir.join(f).to_string_lossy().into_owned();
    let Some(_redis) = Redis::start_with(&[
        "--tls-port",
        &tls_port.to_string(),
        "--tls-cert-file",
        &path("server.crt"),
        "--tls-key-file",
        &path("server.key"),
        "--tls-ca-cert-file",
        &path("ca.crt"),
        "--tls-auth-clients",
        "no",
    ]) else {
        return;
    };
    let root_cert = Some(std::fs::read(dir.join("ca.crt")).expect("the CA"));
    let client = redis::Client::build_with_tls(
        format!("rediss://127.0.0.1:{tls_port}/"),
        redis::TlsCertificates { client_tls: None, root_cert },
    )
    .expect("a TLS client");
    let store = RedisStore::new(client);
    let replicas: Vec<_> = (0..2)
        .map(|_| {
            let breaker = Arc::new(CircuitBreaker::new().with_consecutive_failures(3));
            let link = store.share_breaker("tls", breaker.clone()).expect("shared");
            (breaker, link)
        })
        .collect();
    assert!(wait_for(Duration::from_secs(5), || replicas.iter().all(|(_, l)| l.stats().shared)).is_some());
    std::thread::sleep(Duration::from_millis(200));
    for _ in 0..3 {
        let _ = replicas[0].0.call(|| Err::<(), _>("down"));
    }
    let open = wait_for(Duration::from_secs(2), || replicas.iter().all(|(b, _)| b.state() == State::Open));
    assert!(open.is_some(), "an opening travels over TLS");
    let _ = std::fs::remove_dir_all(&dir);
}
