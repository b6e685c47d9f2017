//! Integration tests live in `tests/`; this library holds what several of them share.

use std::cell::Cell;
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
