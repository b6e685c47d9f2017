//! The sliding windows the failure and slow-call rates are measured over.

use core::sync::atomic::Ordering::Relaxed;
use core::sync::atomic::{AtomicI32, AtomicU8, AtomicU32, AtomicU64, AtomicUsize};
use core::time::Duration;

const FAILED: u8 = 1;
const SLOW: u8 = 2;
const FILLED: u8 = 4;

/// Bytes of a cache line (and slots of a block, at most).
const LINE: usize = 64;

/// Lanes of a window: threads are spread over them by their index.
const LANES: usize = 16;

/// One cache line of slots: a block of the ring.
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
/// The ring is claimed in blocks (a divisor of `n`, up to 64 slots, each block on
/// a cache line of its own) through lanes: a thread takes slots from the block
/// its lane holds (threads are spread over the lanes by an index each gets when
/// it first records), and claims the next block from the shared cursor when that
/// one is full. So a healthy breaker's calls from different threads write
/// different lines: a success replacing a success writes only the lane, and the
/// cursor moves once per block. Claims live in the window, not in the thread: any
/// number of windows work from one thread, and a window replaced in place starts
/// afresh. One thread sees exactly the last `n` calls; with several, a block
/// claimed but not yet filled still holds the outcomes of a lap before (at most a
/// block per lane).
#[derive(Debug)]
pub(super) struct CountWindow {
    lines: Box<[Line]>,
    /// Slots used of each line (`n` = lines × block).
    block: u64,
    /// Each lane's claim: the line in the high half, the next slot in the low.
    lanes: Box<[Padded<AtomicU64>]>,
    /// Blocks claimed so far.
    cursor: Padded<AtomicU64>,
    // Signed: a `clear` racing a `record` may take a slot's count back before
    // the record adds it; a total read below zero reads as zero.
    calls: Padded<AtomicI32>,
    failures: Padded<AtomicI32>,
    slow: Padded<AtomicI32>,
}

/// This thread's lane of every window.
fn lane() -> usize {
    static THREADS: AtomicUsize = AtomicUsize::new(0);
    std::thread_local! {
        static LANE: usize = THREADS.fetch_add(1, Relaxed) % LANES;
    }
    // During thread teardown the index is gone: any lane is correct.
    LANE.try_with(|lane| *lane).unwrap_or(0)
}

impl CountWindow {
    pub(super) fn new(n: u32) -> Self {
        let len = n.clamp(1, 65_536) as usize;
        // The largest divisor of `len` up to min(64, len / 8): blocks tile the ring.
        let block = (1..=(len / 8).clamp(1, LINE)).rev().find(|b| len.is_multiple_of(*b)).unwrap_or(1);
        CountWindow {
            lines: (0..len / block).map(|_| Line([const { AtomicU8::new(0) }; LINE])).collect(),
            block: block as u64,
            // Every lane starts with a full claim, so its first call claims a block.
            lanes: (0..LANES).map(|_| Padded(AtomicU64::new(block as u64))).collect(),
            cursor: Padded::default(),
            calls: Padded::default(),
            failures: Padded::default(),
            slow: Padded::default(),
        }
    }

    /// The slot of this thread's next call.
    fn next_slot(&self) -> &AtomicU8 {
        let lane = &self.lanes[lane()].0;
        let mut claim = lane.load(Relaxed);
        loop {
            let (mut line, mut next) = (claim >> 32, claim & u64::from(u32::MAX));
            if next >= self.block {
                // One division per block. (Two threads of one lane racing here
                // leave one of the two blocks unfilled for a lap.)
                line = self.cursor.0.fetch_add(1, Relaxed) % self.lines.len() as u64;
                next = 0;
            }
            match lane.compare_exchange_weak(claim, (line << 32) | (next + 1), Relaxed, Relaxed) {
                Ok(_) => return &self.lines[line as usize].0[next as usize],
                Err(current) => claim = current,
            }
        }
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
        for slot in self.lines.iter().flat_map(|line| &line.0[..self.block as usize]) {
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

    fn bucket_ns(span: Duration) -> u64 {
        (u64::try_from(span.as_nanos()).unwrap_or(u64::MAX) / BUCKETS as u64).max(1)
    }

    pub(super) fn record(&self, span: Duration, now_ns: u64, failed: bool, slow: bool) -> (u32, u32, u32) {
        let epoch = now_ns / Self::bucket_ns(span) + 1;
        let bucket = &self.buckets[(epoch % BUCKETS as u64) as usize];
        let seen = bucket.epoch.load(Relaxed);
        if seen > epoch {
            // A thread that read the clock a whole window ago: its call has left
            // the window already, and the bucket belongs to a newer time.
            return self.counts(span, now_ns);
        }
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
        self.counts(span, now_ns)
    }

    pub(super) fn counts(&self, span: Duration, now_ns: u64) -> (u32, u32, u32) {
        let current = now_ns / Self::bucket_ns(span) + 1;
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
        let slots = window.lines.iter().flat_map(|line| &line.0[..window.block as usize]);
        slots.fold((0, 0), |(calls, failures), slot| {
            let v = slot.load(Relaxed);
            (calls + u32::from(v & FILLED != 0), failures + u32::from(v & FAILED != 0))
        })
    }

    #[test]
    fn blocks_tile_the_ring() {
        for (n, block) in [(1, 1), (10, 1), (100, 10), (97, 1), (1000, 50), (65_536, 64)] {
            let window = CountWindow::new(n);
            assert_eq!(
                (window.block, window.lines.len() as u64 * window.block),
                (block, u64::from(n)),
                "n = {n}"
            );
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
