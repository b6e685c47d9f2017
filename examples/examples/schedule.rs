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
use plotters::style::text_anchor::{HPos, Pos, VPos};
use retry::dsl::*;
use retry::wait::Wait;

/// Makes a fresh policy (one per call: decorrelated jitter keeps state).
type MakePolicy = Box<dyn Fn() -> Box<dyn Wait>>;

/// The policies compared: 10 ms initial delay, capped at 2 s (as written in the
/// attribute, for the plots' titles).
fn policies() -> Vec<(&'static str, RGBColor, MakePolicy)> {
    vec![
        ("expo(10ms, max = 2s)", RGBColor(200, 40, 40), Box::new(|| Box::new(expo(0.01).max(2)))),
        (
            "random_expo(10ms, max = 2s)",
            RGBColor(30, 110, 200),
            Box::new(|| Box::new(random_expo(0.01).max(2))),
        ),
        (
            "equal_jitter(10ms, max = 2s)",
            RGBColor(30, 140, 60),
            Box::new(|| Box::new(equal_jitter(0.01).max(2))),
        ),
        (
            "decorrelated(10ms, max = 2s)",
            RGBColor(140, 60, 170),
            Box::new(|| Box::new(decorrelated(0.01).max(2))),
        ),
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

/// One panel per policy (bands drawn over each other hide each other): the mean
/// delay as a line, the least-to-most range as a band, retries numbered 1 to 10.
fn plot_schedule(path: &PathBuf) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::new(path, (1000, 720)).into_drawing_area();
    root.fill(&WHITE)?;
    let root = root.titled(
        "Delay before retry n: the mean of 2,000 calls (line) and its range, least to most (band)",
        ("sans-serif", 20),
    )?;
    for ((name, color, make), panel) in policies().into_iter().zip(root.split_evenly((2, 2))) {
        let bands = bands(&*make);
        let mut chart = ChartBuilder::on(&panel)
            .caption(name, ("sans-serif", 17))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(56)
            .build_cartesian_2d(1f64..10f64, 0f64..2100f64)?;
        chart
            .configure_mesh()
            .x_labels(10)
            .x_label_formatter(&|n| format!("{}", n.round() as u32))
            .y_labels(8)
            .y_label_formatter(&|ms| format!("{ms:.0}"))
            .x_desc("retry n")
            .y_desc("delay (ms)")
            .light_line_style(WHITE)
            .draw()?;
        let upper = bands.iter().enumerate().map(|(i, b)| (i as f64 + 1.0, b.2));
        let lower = bands.iter().enumerate().rev().map(|(i, b)| (i as f64 + 1.0, b.1));
        chart.draw_series(std::iter::once(Polygon::new(
            upper.chain(lower).collect::<Vec<_>>(),
            color.mix(0.25),
        )))?;
        chart.draw_series(LineSeries::new(
            bands.iter().enumerate().map(|(i, b)| (i as f64 + 1.0, b.0)),
            color.stroke_width(3),
        ))?;
    }
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

/// One bar per policy: the calls made until every client succeeded or gave up;
/// the policy under its bar, the figures above it, and in red how many gave up.
fn plot_contention(
    path: &PathBuf,
    results: &[(&str, RGBColor, u64, Duration, usize)],
) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::new(path, (1000, 520)).into_drawing_area();
    root.fill(&WHITE)?;
    let most = results.iter().map(|r| r.2).max().unwrap_or(1) as f64 * 1.2;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "100 clients write one resource at once (a 1 ms write; writes that overlap both fail), \
             each retrying up to 30 attempts",
            ("sans-serif", 17),
        )
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..results.len() as f64, 0f64..most)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .y_label_formatter(&|calls| format!("{calls:.0}"))
        .y_desc("calls until every client is done")
        .light_line_style(WHITE)
        .draw()?;
    let centered = |text: &str, x: f64, y: f64, style: TextStyle<'static>| {
        Text::new(text.to_string(), (x, y), style.pos(Pos::new(HPos::Center, VPos::Bottom)))
    };
    for (i, (name, color, calls, took, gave_up)) in results.iter().enumerate() {
        let x = i as f64 + 0.5;
        chart.draw_series(std::iter::once(Rectangle::new(
            [(x - 0.35, 0.0), (x + 0.35, *calls as f64)],
            color.filled(),
        )))?;
        let top = *calls as f64 + most * 0.02;
        let figures = format!("{calls} calls, {:.2} s", took.as_secs_f64());
        chart.draw_series(std::iter::once(centered(&figures, x, top, ("sans-serif", 14).into())))?;
        if *gave_up > 0 {
            let failed = format!("{gave_up} of 100 clients gave up");
            let style = TextStyle::from(("sans-serif", 14)).color(&RGBColor(200, 0, 0));
            chart.draw_series(std::iter::once(centered(&failed, x, top + most * 0.06, style)))?;
        }
        // Under the axis, in the label area: the policy's name.
        let (px, py) = chart.backend_coord(&(x, 0.0));
        let label = TextStyle::from(("sans-serif", 14)).pos(Pos::new(HPos::Center, VPos::Top));
        root.draw(&Text::new(name.to_string(), (px, py + 10), label))?;
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
        results.push((name, color, calls, took, gave_up));
    }
    let contention = dir.join("contention.svg");
    plot_contention(&contention, &results)?;
    println!("\nwrote {}", contention.display());
    let (no_jitter, full_jitter) = (results[0].2, results[1].2);
    assert!(full_jitter * 2 < no_jitter, "full jitter needs far fewer calls than no jitter");
    Ok(())
}
