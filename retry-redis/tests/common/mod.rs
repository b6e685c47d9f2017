//! A real `redis-server` on loopback, started on a free port and stopped on drop.
#![allow(dead_code)]

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `redis-server` child process.
pub struct Redis {
    child: Option<Child>,
    pub port: u16,
    extra: Vec<String>,
    password: Option<String>,
}

/// Whether `redis-server` can be run. Outside CI its absence skips the test,
/// loudly; under `CI=true` it fails it.
pub fn available() -> bool {
    let found = Command::new("redis-server").arg("--version").stdout(Stdio::null()).status().is_ok();
    if !found {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "redis-server is not on the PATH, and CI=true: these tests must run"
        );
        // Straight to the process's stderr: the test harness captures `eprintln!`
        // of a passing test, and this must be seen.
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "\n!!!!!!!!\n!!! redis-server is not on the PATH: this Redis test DID NOT RUN\n!!!!!!!!"
        );
    }
    found
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

impl Redis {
    /// Starts a server, or `None` (with a loud message) when there is none to run.
    pub fn start() -> Option<Redis> {
        Self::start_with(&[])
    }

    /// Starts a server with extra arguments (`--requirepass x`).
    pub fn start_with(extra: &[&str]) -> Option<Redis> {
        if !available() {
            return None;
        }
        let password = extra.windows(2).find(|w| w[0] == "--requirepass").map(|w| w[1].to_owned());
        let mut redis = Redis {
            child: None,
            port: free_port(),
            extra: extra.iter().map(|s| s.to_string()).collect(),
            password,
        };
        redis.restart();
        Some(redis)
    }

    /// The URL to connect with (with the password, if any).
    pub fn url(&self) -> String {
        match &self.password {
            Some(password) => format!("redis://:{password}@127.0.0.1:{}/", self.port),
            None => format!("redis://127.0.0.1:{}/", self.port),
        }
    }

    /// Starts the server again on its port (after [`kill`](Self::kill)).
    pub fn restart(&mut self) {
        let port = self.port.to_string();
        let child = Command::new("redis-server")
            .args(["--port", &port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(["--enable-debug-command", "local"])
            .args(&self.extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(mut conn) = self.client().get_connection()
                && redis::cmd("PING").query::<String>(&mut conn).is_ok()
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("redis-server did not answer on port {port}");
    }

    /// Stops the server at once (SIGKILL).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn client(&self) -> redis::Client {
        redis::Client::open(self.url()).expect("a valid URL")
    }

    /// A plain connection for the test's own commands.
    pub fn conn(&self) -> redis::Connection {
        self.client().get_connection().expect("a connection")
    }

    /// Every key (SCAN).
    pub fn keys(&self) -> Vec<String> {
        let mut conn = self.conn();
        let (mut cursor, mut all) = (0u64, Vec::new());
        loop {
            let (next, keys): (u64, Vec<String>) =
                redis::cmd("SCAN").arg(cursor).arg("COUNT").arg(1000).query(&mut conn).expect("SCAN");
            all.extend(keys);
            if next == 0 {
                return all;
            }
            cursor = next;
        }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Waits until `cond` holds, or `limit` passes; returns how long it took.
pub fn wait_for(limit: Duration, mut cond: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if cond() {
            return Some(start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    None
}
