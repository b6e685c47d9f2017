//! Settings shared by the criterion benches.

use std::time::Duration;

use criterion::Criterion;

/// Half a second of warm-up, two seconds of measurement, `samples` samples.
pub fn config(samples: usize) -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(samples)
}
