//! The sliding windows the failure and slow-call rates are measured over.

use core::sync::atomic::Ordering::Relaxed;
use core::sync::atomic::{AtomicI32, AtomicU8, AtomicU32, AtomicU64};
use core::time::Duration;

const FAILED: u8 = 1;
const SLOW: u8 = 2;
const FILLED: u8 = 4;

/// A counter on a cache line of its own.
#[derive(Debug, Default)]
#[repr(align(64))]
struct Padded<T>(T);

/// The last `n` calls: a ring of outcomes and running totals. Every call takes the
/// next slot, so the oldest outcome leaves as the newest enters (it slides).
///
/// The slot is taken from one shared cursor, so the ring holds exactly the last
/// `n` calls to take a slot, from any number of threads, and any number of
/// windows can be used from one thread: nothing about a window is kept outside
/// it. A success that replaces a success writes no slot and no total; the cursor
/// is the one shared word every call writes.
#[derive(Debug)]
pub(super) struct CountWindow {
    slots: Box<[AtomicU8]>,
    cursor: Padded<AtomicU64>,
    // Signed: a `clear` racing a `record` may take a slot's count back before
    // the record adds it; a total read below zero reads as zero.
    calls: Padded<AtomicI32>,
    failures: Padded<AtomicI32>,
    slow: Padded<AtomicI32>,
}

impl CountWindow {
    pub(super) fn new(n: u32) -> Self {
        let len = n.clamp(1, 65_536) as usize;
        CountWindow {
            slots: (0..len).map(|_| AtomicU8::new(0)).collect(),
            cursor: Padded::default(),
            calls: Padded::default(),
            failures: Padded::default(),
            slow: Padded::default(),
        }
    }

    /// Records one call; returns (calls, failures, slow) in the window.
    pub(super) fn record(&self, failed: bool, slow: bool) -> (u32, u32, u32) {
        let taken = self.cursor.0.fetch_add(1, Relaxed);
        let slot = &self.slots[(taken % self.slots.len() as u64) as usize];
        let new = FILLED | if failed { FAILED } else { 0 } | if slow { SLOW } else { 0 };
        // Same outcome as a lap ago: nothing changes, nothing is written.
        if slot.load(Relaxed) != new {
            // A swap, not a store: the totals follow exactly what each slot held.
            let old = slot.swap(new, Relaxed);
            if old & FILLED == 0 {
                self.calls.0.fetch_add(1, Relaxed);
            }
            let adjust = |counter: &AtomicI32, bit: u8| match (old & bit != 0, new & bit != 0) {
                (false, true) => drop(counter.fetch_add(1, Relaxed)),
                (true, false) => drop(counter.fetch_sub(1, Relaxed)),
                _ => {}
            };
            adjust(&self.failures.0, FAILED);
            adjust(&self.slow.0, SLOW);
        }
        self.counts()
    }

    pub(super) fn counts(&self) -> (u32, u32, u32) {
        let read = |total: &AtomicI32| u32::try_from(total.load(Relaxed)).unwrap_or(0);
        (read(&self.calls.0), read(&self.failures.0), read(&self.slow.0))
    }

    pub(super) fn clear(&self) {
        // Outcomes recorded while this runs may be cleared or kept, slot and total
        // alike: each slot is swapped out and its own counts taken back.
        for slot in self.slots.iter() {
            let old = slot.swap(0, Relaxed);
            if old & FILLED != 0 {
                self.calls.0.fetch_sub(1, Relaxed);
            }
            if old & FAILED != 0 {
                self.failures.0.fetch_sub(1, Relaxed);
            }
            if old & SLOW != 0 {
                self.slow.0.fetch_sub(1, Relaxed);
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn slot_counts(window: &CountWindow) -> (u32, u32) {
        window.slots.iter().fold((0, 0), |(calls, failures), slot| {
            let v = slot.load(Relaxed);
            (calls + u32::from(v & FILLED != 0), failures + u32::from(v & FAILED != 0))
        })
    }

    #[test]
    fn one_thread_sees_exactly_the_last_n_calls() {
        let window = CountWindow::new(100);
        for i in 0..1000 {
            window.record(i % 4 == 0, false);
        }
        assert_eq!(window.counts(), (100, 25, 0));
        for _ in 0..60 {
            window.record(true, false);
        }
        assert_eq!(window.counts(), (100, 60 + 10, 0), "60 new failures, 10 of the 40 older calls");
    }

    #[test]
    fn windows_used_in_turn_from_one_thread_each_see_their_own_calls() {
        let windows: Vec<_> = (0..9).map(|_| CountWindow::new(100)).collect();
        for round in 0..250 {
            for (i, window) in windows.iter().enumerate() {
                window.record(i % 2 == 0, false);
            }
            let expected = (round + 1).min(100);
            assert_eq!(windows[0].counts(), (expected, expected, 0));
            assert_eq!(windows[1].counts(), (expected, 0, 0));
        }
    }

    #[test]
    fn totals_match_the_slots_under_concurrency() {
        let window = std::sync::Arc::new(CountWindow::new(100));
        let handles: Vec<_> = (0..4u64)
            .map(|t| {
                let window = window.clone();
                std::thread::spawn(move || {
                    for i in 0..50_000u64 {
                        window.record((i * 7 + t) % 5 < 2, false);
                        if i % 10_000 == 0 && t == 0 {
                            window.clear();
                        }
                    }
                })
            })
            .collect();
        for handle in handles {
            handle.join().unwrap();
        }
        let (calls, failures, _) = window.counts();
        assert_eq!((calls, failures), slot_counts(&window));
        assert_eq!(calls, 100);
    }
}
