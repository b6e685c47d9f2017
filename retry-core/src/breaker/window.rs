//! The sliding windows the failure and slow-call rates are measured over.

use core::sync::atomic::Ordering::Relaxed;
use core::sync::atomic::{AtomicU8, AtomicU32, AtomicU64};
use core::time::Duration;

const FAILED: u8 = 1;
const SLOW: u8 = 2;
const FILLED: u8 = 4;

/// The last `n` calls: a ring of outcomes and running totals. Every call moves
/// the cursor, so the oldest outcome leaves as the newest enters (it slides).
#[derive(Debug)]
pub(super) struct CountWindow {
    slots: Box<[AtomicU8]>,
    cursor: AtomicU64,
    calls: AtomicU32,
    failures: AtomicU32,
    slow: AtomicU32,
}

impl CountWindow {
    pub(super) fn new(n: u32) -> Self {
        let n = n.clamp(1, 65_536) as usize;
        CountWindow {
            slots: (0..n).map(|_| AtomicU8::new(0)).collect(),
            cursor: AtomicU64::new(0),
            calls: AtomicU32::new(0),
            failures: AtomicU32::new(0),
            slow: AtomicU32::new(0),
        }
    }

    /// Records one call; returns (calls, failures, slow) in the window.
    pub(super) fn record(&self, failed: bool, slow: bool) -> (u32, u32, u32) {
        let index = (self.cursor.fetch_add(1, Relaxed) % self.slots.len() as u64) as usize;
        let new = FILLED | if failed { FAILED } else { 0 } | if slow { SLOW } else { 0 };
        let old = self.slots[index].swap(new, Relaxed);
        if old & FILLED == 0 {
            self.calls.fetch_add(1, Relaxed);
        }
        let adjust = |counter: &AtomicU32, bit: u8| match (old & bit != 0, new & bit != 0) {
            (false, true) => counter.fetch_add(1, Relaxed).saturating_add(1),
            (true, false) => counter.fetch_sub(1, Relaxed).saturating_sub(1),
            _ => counter.load(Relaxed),
        };
        let failures = adjust(&self.failures, FAILED);
        let slow = adjust(&self.slow, SLOW);
        (self.calls.load(Relaxed), failures, slow)
    }

    pub(super) fn counts(&self) -> (u32, u32, u32) {
        (self.calls.load(Relaxed), self.failures.load(Relaxed), self.slow.load(Relaxed))
    }

    pub(super) fn clear(&self) {
        for slot in self.slots.iter() {
            slot.store(0, Relaxed);
        }
        self.calls.store(0, Relaxed);
        self.failures.store(0, Relaxed);
        self.slow.store(0, Relaxed);
    }
}

const BUCKETS: usize = 10;

#[derive(Debug)]
struct Bucket {
    /// Which bucket of time (since the breaker's origin) the counts belong to, + 1.
    epoch: AtomicU64,
    calls: AtomicU32,
    failures: AtomicU32,
    slow: AtomicU32,
}

/// The calls of the last `span`, in ten buckets of `span / 10`.
#[derive(Debug)]
pub(super) struct TimeWindow {
    buckets: [Bucket; BUCKETS],
}

impl TimeWindow {
    pub(super) const fn new() -> Self {
        TimeWindow {
            buckets: [const {
                Bucket {
                    epoch: AtomicU64::new(0),
                    calls: AtomicU32::new(0),
                    failures: AtomicU32::new(0),
                    slow: AtomicU32::new(0),
                }
            }; BUCKETS],
        }
    }

    fn bucket_ms(span: Duration) -> u64 {
        (u64::try_from(span.as_millis()).unwrap_or(u64::MAX) / BUCKETS as u64).max(1)
    }

    pub(super) fn record(&self, span: Duration, now_ms: u64, failed: bool, slow: bool) -> (u32, u32, u32) {
        let epoch = now_ms / Self::bucket_ms(span) + 1;
        let bucket = &self.buckets[(epoch % BUCKETS as u64) as usize];
        let seen = bucket.epoch.load(Relaxed);
        if seen != epoch && bucket.epoch.compare_exchange(seen, epoch, Relaxed, Relaxed).is_ok() {
            // This bucket's time has come round again: forget its old counts.
            bucket.calls.store(0, Relaxed);
            bucket.failures.store(0, Relaxed);
            bucket.slow.store(0, Relaxed);
        }
        bucket.calls.fetch_add(1, Relaxed);
        if failed {
            bucket.failures.fetch_add(1, Relaxed);
        }
        if slow {
            bucket.slow.fetch_add(1, Relaxed);
        }
        self.counts(span, now_ms)
    }

    pub(super) fn counts(&self, span: Duration, now_ms: u64) -> (u32, u32, u32) {
        let current = now_ms / Self::bucket_ms(span) + 1;
        let live = |b: &&Bucket| {
            let epoch = b.epoch.load(Relaxed);
            epoch != 0 && epoch + (BUCKETS as u64) > current && epoch <= current
        };
        self.buckets.iter().filter(live).fold((0, 0, 0), |(c, f, s), b| {
            (c + b.calls.load(Relaxed), f + b.failures.load(Relaxed), s + b.slow.load(Relaxed))
        })
    }

    pub(super) fn clear(&self) {
        for bucket in &self.buckets {
            bucket.epoch.store(0, Relaxed);
        }
    }
}
