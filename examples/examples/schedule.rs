//! The wait policies, drawn: the delay before each retry for exponential backoff
//! and its jittered forms (a line for the mean, a band from the least to the most
//! over 2,000 draws), and the contention simulation: 100 clients write to one
//! resource at once, a write collides with any other in flight (both fail, as in
//! optimistic concurrency), and each client retries by the policy. Without jitter
//! the clients retry in lockstep and keep colliding; with full jitter they spread
//! out and finish with far fewer calls. Writes `schedule.svg` and `contention.svg`.
//!
//! Run with `cargo run -p examples --example schedule`.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::path::PathBuf;
use std::time::Duration;

use plotters::prelude::*;
use retry::dsl::*;
use retry::wait::Wait;

/// Makes a fresh policy (one per call: decorrelated jitter keeps state).
type MakePolicy = Box<dyn Fn() -> Box<dyn Wait>>;

/// The policies compared: 10 ms initial delay, capped at 2 s.
fn policies() -> Vec<(&'static str, RGBColor, MakePolicy)> {
    vec![
        ("expo (no jitter)", RGBColor(200, 40, 40), Box::new(|| Box::new(expo(0.01).max(2)))),
        (
            "full jitter (random_expo)",
            RGBColor(30, 120, 200),
            Box::new(|| Box::new(random_expo(0.01).max(2))),
        ),
        ("equal jitter", RGBColor(40, 160, 60), Box::new(|| Box::new(equal_jitter(0.01).max(2)))),
        ("decorrelated", RGBColor(150, 60, 180), Box::new(|| Box::new(decorrelated(0.01).max(2)))),
    ]
}

fn out_dir() -> PathBuf {
    let dir =
        PathBuf::from(std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into())).join("plots");
    std::fs::create_dir_all(&dir).expect("create the output directory");
    dir
}

/// Mean, least and most delay (ms) before retry `n` = 1..=ATTEMPTS, over many calls.
fn bands(make: &dyn Fn() -> Box<dyn Wait>) -> Vec<(f64, f64, f64)> {
    const ATTEMPTS: u32 = 10;
    const DRAWS: usize = 2000;
    let mut sums = vec![(0.0, f64::MAX, 0.0f64); ATTEMPTS as usize];
    for _ in 0..DRAWS {
        let mut policy = make();
        for n in 1..=ATTEMPTS {
            let ms = policy.delay(n).as_secs_f64() * 1e3;
            let s = &mut sums[n as usize - 1];
            *s = (s.0 + ms / DRAWS as f64, s.1.min(ms), s.2.max(ms));
        }
    }
    sums
}

fn plot_schedule(path: &PathBuf) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::new(path, (900, 560)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption("Delay before retry n (ms): mean, and the band from least to most", ("sans-serif", 20))
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(1f64..10f64, 0f64..2100f64)?;
    chart.configure_mesh().x_desc("retry n").y_desc("delay (ms)").draw()?;
    for (name, color, make) in policies() {
        let bands = bands(&*make);
        let upper = bands.iter().enumerate().map(|(i, b)| (i as f64 + 1.0, b.2));
        let lower = bands.iter().enumerate().rev().map(|(i, b)| (i as f64 + 1.0, b.1));
        chart.draw_series(std::iter::once(Polygon::new(
            upper.chain(lower).collect::<Vec<_>>(),
            color.mix(0.15),
        )))?;
        chart
            .draw_series(LineSeries::new(
                bands.iter().enumerate().map(|(i, b)| (i as f64 + 1.0, b.0)),
                color.stroke_width(2),
            ))?
            .label(name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
    }
    chart.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).draw()?;
    root.present()?;
    Ok(())
}

/// One run of the contention simulation: (total calls, completion time, clients
/// that gave up). Calls take 1 ms plus up to 0.2 ms of network noise (seeded), so
/// lockstep clients drift apart only slowly; a client gives up after 30 attempts.
fn contend(make: &dyn Fn() -> Box<dyn Wait>, clients: usize) -> (u64, Duration, usize) {
    const CALL: Duration = Duration::from_millis(1);
    const GIVE_UP: u32 = 30;
    let mut noise = 0x2545_F491_4F6C_DD1Du64;
    let mut jitter = move || {
        noise ^= noise << 13;
        noise ^= noise >> 7;
        noise ^= noise << 17;
        Duration::from_micros(noise % 200)
    };
    // (start time, client, attempt number)
    let mut queue: BinaryHeap<Reverse<(Duration, usize, u32)>> =
        (0..clients).map(|c| Reverse((jitter(), c, 1))).collect();
    let mut policies: Vec<Box<dyn Wait>> = (0..clients).map(|_| make()).collect();
    let (mut calls, mut last, mut gave_up) = (0u64, Duration::ZERO, 0usize);
    let mut busy_until = Duration::ZERO;
    while let Some(Reverse((start, client, n))) = queue.pop() {
        // Every call starting while this one runs collides with it.
        let mut batch = vec![(client, n)];
        while let Some(Reverse((next, _, _))) = queue.peek() {
            if *next >= start + CALL {
                break;
            }
            let Reverse((_, c, m)) = queue.pop().unwrap();
            batch.push((c, m));
        }
        calls += batch.len() as u64;
        last = start + CALL;
        if batch.len() == 1 && start >= busy_until {
            busy_until = start + CALL;
            continue;
        }
        for (c, m) in batch {
            if m >= GIVE_UP {
                gave_up += 1;
                continue;
            }
            let delay = policies[c].delay(m);
            queue.push(Reverse((start + CALL + delay + jitter(), c, m + 1)));
        }
    }
    (calls, last, gave_up)
}

fn plot_contention(
    path: &PathBuf,
    results: &[(&str, RGBColor, u64, Duration)],
) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::new(path, (900, 480)).into_drawing_area();
    root.fill(&WHITE)?;
    let most = results.iter().map(|r| r.2).max().unwrap_or(1) as f64 * 1.15;
    let mut chart = ChartBuilder::on(&root)
        .caption("100 clients, one resource: total calls until all succeed", ("sans-serif", 20))
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..results.len() as f64, 0f64..most)?;
    chart.configure_mesh().disable_x_mesh().x_labels(0).y_desc("calls").draw()?;
    for (i, (name, color, calls, took)) in results.iter().enumerate() {
        let x = i as f64;
        chart.draw_series(std::iter::once(Rectangle::new(
            [(x + 0.15, 0.0), (x + 0.85, *calls as f64)],
            color.filled(),
        )))?;
        chart.draw_series(std::iter::once(Text::new(
            format!("{name}: {calls} calls, {:.2} s", took.as_secs_f64()),
            (x + 0.1, *calls as f64 + most * 0.03),
            ("sans-serif", 13),
        )))?;
    }
    root.present()?;
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let _seed = retry::testing::seed_jitter(7);
    let dir = out_dir();
    let schedule = dir.join("schedule.svg");
    plot_schedule(&schedule)?;
    println!("wrote {}", schedule.display());

    println!("\n| policy | total calls (100 clients) | completion time | gave up |\n|---|---:|---:|---:|");
    let mut results = Vec::new();
    for (name, color, make) in policies() {
        let (calls, took, gave_up) = contend(&*make, 100);
        println!("| {name} | {calls} | {:.3} s | {gave_up} |", took.as_secs_f64());
        results.push((name, color, calls, took));
    }
    let contention = dir.join("contention.svg");
    plot_contention(&contention, &results)?;
    println!("\nwrote {}", contention.display());
    let (no_jitter, full_jitter) = (results[0].2, results[1].2);
    assert!(full_jitter * 2 < no_jitter, "full jitter needs far fewer calls than no jitter");
    Ok(())
}
