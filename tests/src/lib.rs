//! Integration tests live in `tests/`; this library holds what several of them share.

use std::cell::Cell;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// A clock that counts how often it is read.
#[derive(Debug, Default)]
pub struct CountingClock(Cell<u32>);

impl CountingClock {
    /// Reads so far.
    pub fn reads(&self) -> u32 {
        self.0.get()
    }

    /// Starts counting again from zero.
    pub fn reset(&self) {
        self.0.set(0);
    }
}

impl retry::clock::Clock for &CountingClock {
    fn now(&self) -> Instant {
        self.0.set(self.0.get() + 1);
        Instant::now()
    }
}

/// Where [`capture`] writes the events.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Runs `f` with a `tracing` subscriber at `level` on this thread; returns what it
/// printed, one line per event.
pub fn capture(level: tracing::Level, f: impl FnOnce()) -> Vec<String> {
    let out = Captured::default();
    let writer = out.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_ansi(false)
        .without_time()
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::with_default(subscriber, f);
    let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
    text.lines().map(str::to_string).collect()
}
