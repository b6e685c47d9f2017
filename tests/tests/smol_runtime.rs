//! On smol's executor, with async-io's timer (`retry::sleep::SmolSleeper`): the
//! explicit API, the attribute and hedging, in tasks smol spawns. (Without the
//! `tokio` feature, the same timer is the default sleeper.)
#![deny(warnings, clippy::all)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use retry::sleep::SmolSleeper;
use retry::{Hedging, Retrying, dsl::*, retry};

#[retry(stop = attempts(3), wait = fixed(20ms), sleep = SmolSleeper)]
async fn fetch(calls: &AtomicU32) -> Result<u32, &'static str> {
    let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
    if n < 3 { Err("busy") } else { Ok(n) }
}

#[test]
fn retries_sleep_on_smols_timer_in_smol_tasks() {
    let executor = smol::LocalExecutor::new();
    smol::block_on(executor.run(async {
        let start = Instant::now();
        let calls = AtomicU32::new(0);
        assert_eq!(fetch(&calls).await, Ok(3));
        assert!(start.elapsed() >= Duration::from_millis(40), "{:?}", start.elapsed());

        let tasks: Vec<_> = (0..4)
            .map(|_| {
                executor.spawn(async {
                    let mut calls = 0;
                    Retrying::<u32, &str>::new()
                        .stop(attempts(2))
                        .wait(fixed(Duration::from_millis(10)))
                        .sleep(SmolSleeper)
                        .call_async(async || {
                            calls += 1;
                            if calls < 2 { Err("busy") } else { Ok(calls) }
                        })
                        .await
                })
            })
            .collect();
        for task in tasks {
            assert_eq!(task.await, Ok(2));
        }
    }));
}

#[test]
fn hedges_start_on_smols_timer() {
    smol::block_on(async {
        let copies = AtomicU32::new(0);
        let outcome: Result<u32, ()> = Hedging::new(2)
            .delay(Duration::from_millis(10))
            .sleep(SmolSleeper)
            .call(|| async {
                let copy = copies.fetch_add(1, Ordering::SeqCst);
                let took = if copy == 0 { 500 } else { 5 };
                async_io_sleep(Duration::from_millis(took)).await;
                Ok(copy)
            })
            .await;
        assert_eq!(outcome, Ok(1), "the hedge, started after 10 ms, wins");
    });
}

async fn async_io_sleep(d: Duration) {
    smol::Timer::after(d).await;
}
