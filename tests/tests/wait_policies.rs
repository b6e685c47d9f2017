//! Exact delay sequences of every wait policy, bounds of the random ones, and no panic
//! or overflow for any input.

use std::time::Duration;

use proptest::prelude::*;
use retry::dsl::*;
use retry::testing;
use retry::wait::{Chain, Wait};

fn secs(w: &mut impl Wait, attempts: u32) -> Vec<f64> {
    (1..=attempts).map(|n| w.delay(n).as_secs_f64()).collect()
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn fixed_and_none() {
    assert_eq!(secs(&mut fixed(2), 3), [2.0, 2.0, 2.0]);
    assert_eq!(secs(&mut fixed(ms(250)), 2), [0.25, 0.25]);
    assert_eq!(secs(&mut none(), 3), [0.0, 0.0, 0.0]);
    assert_eq!(secs(&mut Duration::from_secs(3), 2), [3.0, 3.0]);
}

#[test]
fn expo_sequences() {
    assert_eq!(secs(&mut expo(1).max(10), 6), [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]);
    assert_eq!(secs(&mut expo(1).base(3.0), 4), [1.0, 3.0, 9.0, 27.0]);
    assert_eq!(secs(&mut expo(ms(100)).min(ms(300)).max(1), 5), [0.3, 0.3, 0.4, 0.8, 1.0]);
    assert_eq!(secs(&mut expo(0.5), 3), [0.5, 1.0, 2.0]);
}

#[test]
fn fibonacci_linear_chain_sum() {
    assert_eq!(secs(&mut fibonacci(1), 8), [1.0, 1.0, 2.0, 3.0, 5.0, 8.0, 13.0, 21.0]);
    assert_eq!(secs(&mut fibonacci(1).max(4), 6), [1.0, 1.0, 2.0, 3.0, 4.0, 4.0]);
    assert_eq!(secs(&mut linear(1).step(2).max(4), 4), [1.0, 3.0, 4.0, 4.0]);
    assert_eq!(secs(&mut linear(1), 3), [1.0, 2.0, 3.0], "step defaults to start");
    assert_eq!(secs(&mut chain((fixed(1), fixed(2), fixed(5))), 5), [1.0, 2.0, 5.0, 5.0, 5.0]);
    assert_eq!(secs(&mut chain((fixed(1), expo(1))), 4), [1.0, 2.0, 4.0, 8.0], "each asked with n");
    assert_eq!(secs(&mut (fixed(1) + expo(1)), 3), [2.0, 3.0, 5.0]);
    assert_eq!(secs(&mut (fixed(1) + fixed(2) + none()), 2), [3.0, 3.0]);
}

#[test]
fn jittered_sequences_are_reproducible_when_seeded() {
    fn draw<W: Wait + Clone>(w: &W) -> Vec<Duration> {
        let _seeded = testing::seed_jitter(42);
        let mut w = w.clone();
        (1..=20).map(|n| w.delay(n)).collect()
    }
    let policies: [&dyn Fn() -> Vec<Duration>; 5] = [
        &|| draw(&random_expo(1).max(60)),
        &|| draw(&equal_jitter(1).max(60)),
        &|| draw(&expo_jitter(1).max(60)),
        &|| draw(&decorrelated(1).max(60)),
        &|| draw(&random(1, 5)),
    ];
    for (i, policy) in policies.iter().enumerate() {
        let (a, b) = (policy(), policy());
        assert_eq!(a, b, "policy #{i} is reproducible under a seed");
        assert!(a.windows(2).any(|w| w[0] != w[1]), "policy #{i} does vary");
    }
    // Without a seed, draws differ (with overwhelming probability).
    let mut w = random(0, 1000);
    let unseeded: Vec<_> = (1..=10).map(|n| w.delay(n)).collect();
    assert!(unseeded.windows(2).any(|p| p[0] != p[1]));
}

#[test]
fn validation_rejects_nonsense() {
    use retry::stop::Stop;
    let reasons = [
        attempts(0).validate(),
        elapsed(-1).validate(),
        expo(1).min(5).max(1).validate(),
        expo(1).base(0.0).validate(),
        expo(f64::NAN).validate(),
        random_expo(1).base(f64::INFINITY).validate(),
        random(5, 1).validate(),
        decorrelated(10).max(1).validate(),
        fixed(-0.5).validate(),
        linear(1).step(-2).validate(),
        expo_jitter(1).jitter(f64::NAN).validate(),
        chain((fixed(1), fixed(-1))).validate(),
    ];
    for (i, r) in reasons.iter().enumerate() {
        assert!(r.is_err(), "case #{i} should be rejected");
    }
    assert_eq!(
        expo(1).min(5).max(1).validate().unwrap_err().to_string(),
        "invalid `expo` policy: min is greater than max"
    );
    assert!(expo(1).max(10).min(1).validate().is_ok());
    assert!(attempts(1).validate().is_ok());
}

/// Every policy, boxed for the property tests below.
fn all_policies(a: Duration, b: Duration, base: f64) -> Vec<Box<dyn Wait>> {
    vec![
        Box::new(fixed(a)),
        Box::new(none()),
        Box::new(expo(a).max(b).base(base)),
        Box::new(expo(a).min(a.min(b)).max(b)),
        Box::new(random_expo(a).max(b).base(base)),
        Box::new(equal_jitter(a).max(b)),
        Box::new(expo_jitter(a).max(b).base(base).jitter(b)),
        Box::new(decorrelated(a).max(b)),
        Box::new(fibonacci(a).max(b)),
        Box::new(linear(a).step(b).max(b)),
        Box::new(random(a.min(b), a.max(b))),
        Box::new(chain((fixed(a), expo(a).max(b)))),
        Box::new(fixed(a) + expo(b)),
        Box::new(expo(Duration::MAX)),
        Box::new(fibonacci(Duration::MAX)),
        Box::new(linear(Duration::MAX)),
    ]
}

fn any_duration() -> impl Strategy<Value = Duration> {
    prop_oneof![
        (0u64..10_000).prop_map(Duration::from_millis),
        any::<u64>().prop_map(Duration::from_nanos),
        any::<u64>().prop_map(Duration::from_secs),
        Just(Duration::MAX),
        Just(Duration::ZERO),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn no_policy_panics_for_any_input(
        a in any_duration(),
        b in any_duration(),
        base in prop_oneof![Just(1.0), Just(2.0), 1.0f64..1e6, Just(f64::NAN), Just(0.0), Just(-3.0)],
        n in prop_oneof![1u32..100, any::<u32>(), Just(u32::MAX), Just(0)],
    ) {
        for mut policy in all_policies(a, b, base) {
            let _ = policy.delay(n);
            let _ = policy.delay(n.saturating_add(1));
            let _ = policy.validate();
        }
    }

    #[test]
    fn random_expo_stays_in_its_envelope(initial_ms in 0u64..10_000, max_ms in 0u64..100_000, n in 1u32..64) {
        let d = random_expo(ms(initial_ms)).max(ms(max_ms)).delay(n);
        let envelope = ms(initial_ms).saturating_mul(2u32.saturating_pow(n - 1)).min(ms(max_ms));
        prop_assert!(d <= envelope, "{d:?} > {envelope:?}");
    }

    #[test]
    fn random_expo_with_min_stays_between_min_and_its_envelope(
        initial_ms in 0u64..10_000, min_ms in 0u64..5_000, extra_ms in 0u64..100_000, n in 1u32..64,
    ) {
        let (min, max) = (ms(min_ms), ms(min_ms + extra_ms));
        let d = random_expo(ms(initial_ms)).max(max).min(min).delay(n);
        let envelope = ms(initial_ms).saturating_mul(2u32.saturating_pow(n - 1)).min(max).max(min);
        prop_assert!(d >= min && d <= envelope, "{d:?} outside [{min:?}, {envelope:?}]");
    }

    #[test]
    fn expo_jitter_with_min_stays_between_min_and_max(
        initial_ms in 0u64..1000, jitter_ms in 0u64..1000, min_ms in 0u64..5_000, extra_ms in 0u64..100_000, n in 1u32..20,
    ) {
        let (min, max) = (ms(min_ms), ms(min_ms + extra_ms));
        let d = expo_jitter(ms(initial_ms)).jitter(ms(jitter_ms)).max(max).min(min).delay(n);
        let g = ms(initial_ms) * 2u32.pow(n - 1);
        prop_assert!(d >= min && d <= max, "{d:?} outside [{min:?}, {max:?}]");
        prop_assert!(d >= g.min(max).max(min) && d <= (g + ms(jitter_ms)).min(max).max(min));
    }

    #[test]
    fn equal_jitter_stays_in_upper_half(initial_ms in 0u64..10_000, max_ms in 0u64..100_000, n in 1u32..64) {
        let d = equal_jitter(ms(initial_ms)).max(ms(max_ms)).delay(n);
        let v = ms(initial_ms).saturating_mul(2u32.saturating_pow(n - 1)).min(ms(max_ms));
        prop_assert!(d >= v / 2 && d <= v, "{d:?} outside [{:?}, {v:?}]", v / 2);
    }

    #[test]
    fn expo_jitter_adds_at_most_jitter(initial_ms in 0u64..1000, jitter_ms in 0u64..1000, max_ms in 0u64..1_000_000, n in 1u32..20) {
        let d = expo_jitter(ms(initial_ms)).max(ms(max_ms)).jitter(ms(jitter_ms)).delay(n);
        let g = ms(initial_ms) * 2u32.pow(n - 1);
        prop_assert!(d <= ms(max_ms));
        prop_assert!(d >= g.min(ms(max_ms)) && d <= (g + ms(jitter_ms)).min(ms(max_ms)));
    }

    #[test]
    fn decorrelated_stays_between_base_and_three_times_previous(base_ms in 1u64..1000, max_ms in 1000u64..100_000) {
        let mut w = decorrelated(ms(base_ms)).max(ms(max_ms));
        let mut previous = ms(base_ms);
        for n in 1..30 {
            let d = w.delay(n);
            prop_assert!(d >= ms(base_ms).min(ms(max_ms)) && d <= (previous * 3).min(ms(max_ms)));
            previous = d;
        }
    }

    #[test]
    fn random_stays_in_range(lo in 0u64..10_000, span in 0u64..10_000) {
        let d = random(ms(lo), ms(lo + span)).delay(1);
        prop_assert!(d >= ms(lo) && d <= ms(lo + span));
    }

    #[test]
    fn expo_is_monotonic_and_capped(initial_ms in 1u64..10_000, max_ms in 1u64..1_000_000) {
        let mut w = expo(ms(initial_ms)).max(ms(max_ms));
        let seq: Vec<_> = (1..80).map(|n| w.delay(n)).collect();
        prop_assert!(seq.windows(2).all(|p| p[0] <= p[1]));
        prop_assert!(seq.iter().all(|d| *d <= ms(max_ms)));
        prop_assert_eq!(w.delay(u32::MAX), ms(max_ms));
    }
}

#[test]
fn huge_attempt_numbers_saturate_at_max() {
    let max = Duration::from_secs(10);
    assert_eq!(expo(1).max(max).delay(u32::MAX), max);
    assert_eq!(fibonacci(1).max(max).delay(u32::MAX), max);
    assert_eq!(linear(1).max(max).delay(u32::MAX), max);
    assert!(random_expo(1).max(max).delay(u32::MAX) <= max);
    assert_eq!(expo_jitter(1).max(max).delay(u32::MAX), max);
    let _: Chain<_> = chain((fixed(1),));
    assert_eq!(chain((fixed(1),)).delay(u32::MAX), Duration::from_secs(1));
}

#[test]
fn a_min_above_max_is_rejected() {
    let one_s = Duration::from_secs(1);
    assert_eq!(
        random_expo(1).max(one_s).min(2).validate().unwrap_err().to_string(),
        "invalid `random_expo` policy: min is greater than max"
    );
    assert_eq!(
        expo_jitter(1).max(one_s).min(2).validate().unwrap_err().to_string(),
        "invalid `expo_jitter` policy: min is greater than max"
    );
}

#[retry::retry(stop = attempts(4), wait = random_expo(1ms, max = 1s, min = 50ms))]
fn with_a_floor() -> Result<(), ()> {
    Err(())
}

#[test]
fn the_attribute_takes_min_on_jittered_waits() {
    let sleeps = retry::testing::record_sleeps();
    let _ = with_a_floor();
    assert_eq!(sleeps.sleeps().len(), 3);
    assert!(sleeps.sleeps().iter().all(|d| *d >= Duration::from_millis(50)), "{:?}", sleeps.sleeps());
}
