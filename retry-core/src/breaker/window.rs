//! The sliding windows the failure and slow-call rates are measured over.

use core::cell::Cell;
use core::sync::atomic::Ordering::Relaxed;
use core::sync::atomic::{AtomicU8, AtomicU32, AtomicU64};
use core::time::Duration;

const FAILED: u8 = 1;
const SLOW: u8 = 2;
const FILLED: u8 = 4;

/// Bytes of a cache line (and slots of a block, at most).
const LINE: usize = 64;

/// One cache line of slots: a block of the ring, written by one thread at a time.
#[derive(Debug)]
#[repr(align(64))]
struct Line([AtomicU8; LINE]);

/// A counter on a cache line of its own.
#[derive(Debug, Default)]
#[repr(align(64))]
struct Padded<T>(T);

/// The last `n` calls: a ring of outcomes and running totals. Every call takes the
/// next slot, so the oldest outcome leaves as the newest enters (it slides).
///
/// Threads claim the ring in blocks (a divisor of `n`, up to 64 slots, each block
/// on its own cache line) and fill their block slot by slot, so a healthy breaker's
/// calls touch no line another thread writes: a success that replaces a success
/// writes nothing shared, and the cursor moves once per block. One thread sees
/// exactly the last `n` calls; with several, a block claimed but not yet filled
/// still holds the outcomes of one lap before (at most a block per thread).
#[derive(Debug)]
pub(super) struct CountWindow {
    lines: Box<[Line]>,
    /// Slots used of each line (`n` = lines × block).
    block: usize,
    /// Blocks claimed so far.
    cursor: Padded<AtomicU64>,
    calls: Padded<AtomicU32>,
    failures: Padded<AtomicU32>,
    slow: Padded<AtomicU32>,
}

/// A thread's claim on a block of one window: slots `next..end` of line `line`.
#[derive(Clone, Copy)]
struct Claim {
    window: usize,
    line: usize,
    next: usize,
    end: usize,
}

std::thread_local! {
    /// A small direct-mapped cache of this thread's claims, by window address.
    static CLAIMS: [Cell<Claim>; 4] =
        const { [const { Cell::new(Claim { window: 0, line: 0, next: 0, end: 0 }) }; 4] };
}

impl CountWindow {
    pub(super) fn new(n: u32) -> Self {
        let len = n.clamp(1, 65_536) as usize;
        // The largest divisor of `len` up to min(64, len / 8): blocks tile the ring.
        let block = (1..=(len / 8).clamp(1, LINE)).rev().find(|b| len.is_multiple_of(*b)).unwrap_or(1);
        CountWindow {
            lines: (0..len / block).map(|_| Line([const { AtomicU8::new(0) }; LINE])).collect(),
            block,
            cursor: Padded::default(),
            calls: Padded::default(),
            failures: Padded::default(),
            slow: Padded::default(),
        }
    }

    /// A fresh block: the line of the next `block` calls (one division per block).
    fn claim(&self, key: usize) -> Claim {
        let start = self.cursor.0.fetch_add(1, Relaxed);
        let line = (start % self.lines.len() as u64) as usize;
        Claim { window: key, line, next: 0, end: self.block }
    }

    /// The slot for this thread's next call.
    fn next_slot(&self) -> &AtomicU8 {
        let key = self as *const Self as usize;
        let take = |claims: &[Cell<Claim>; 4]| {
            let cell = &claims[(key >> 6) & 3];
            let mut claim = cell.get();
            if claim.window != key || claim.next == claim.end {
                claim = self.claim(key);
            }
            let slot = (claim.line, claim.next);
            claim.next += 1;
            cell.set(claim);
            slot
        };
        // During thread teardown the cache is gone: a block for this call alone.
        let (line, offset) = CLAIMS.try_with(take).unwrap_or_else(|_| (self.claim(key).line, 0));
        &self.lines[line].0[offset]
    }

    /// Records one call; returns (calls, failures, slow) in the window.
    pub(super) fn record(&self, failed: bool, slow: bool) -> (u32, u32, u32) {
        let slot = self.next_slot();
        let new = FILLED | if failed { FAILED } else { 0 } | if slow { SLOW } else { 0 };
        // Same outcome as a lap ago: nothing changes, nothing is written.
        if slot.load(Relaxed) != new {
            // A swap, not a store: the totals follow exactly what each slot held.
            let old = slot.swap(new, Relaxed);
            if old & FILLED == 0 {
                self.calls.0.fetch_add(1, Relaxed);
            }
            let adjust = |counter: &AtomicU32, bit: u8| match (old & bit != 0, new & bit != 0) {
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
        (self.calls.0.load(Relaxed), self.failures.0.load(Relaxed), self.slow.0.load(Relaxed))
    }

    pub(super) fn clear(&self) {
        for slot in self.lines.iter().flat_map(|line| &line.0) {
            slot.store(0, Relaxed);
        }
        self.calls.0.store(0, Relaxed);
        self.failures.0.store(0, Relaxed);
        self.slow.0.store(0, Relaxed);
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
        let slots = window.lines.iter().flat_map(|line| &line.0[..window.block]);
        slots.fold((0, 0), |(calls, failures), slot| {
            let v = slot.load(Relaxed);
            (calls + u32::from(v & FILLED != 0), failures + u32::from(v & FAILED != 0))
        })
    }

    #[test]
    fn blocks_tile_the_ring() {
        for (n, block) in [(1, 1), (10, 1), (100, 10), (97, 1), (1000, 50), (65_536, 64)] {
            let window = CountWindow::new(n);
            assert_eq!((window.block, window.lines.len() * window.block), (block, n as usize), "n = {n}");
        }
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
    fn totals_match_the_slots_under_concurrency() {
        let window = std::sync::Arc::new(CountWindow::new(100));
        let handles: Vec<_> = (0..4u64)
            .map(|t| {
                let window = window.clone();
                std::thread::spawn(move || {
                    for i in 0..50_000u64 {
                        window.record((i * 7 + t) % 5 < 2, false);
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
