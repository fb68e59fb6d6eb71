//! [`Backoff`]: how long to wait before trying again after failures in a row. The first delay
//! doubles per failure up to a cap; with jitter, each delay is shortened by a random fraction
//! (the randomness is passed in) so that many tabs failing together do not retry together.
//!
//! One policy for every retry in the tab: dials to mesh candidates, providers that could not be
//! reached, and moving to another server.

use std::time::Duration;

/// Failures in a row and the delay they earn.
#[derive(Debug, Clone, PartialEq)]
pub struct Backoff {
    first: Duration,
    max: Duration,
    jitter: f64,
    failures: u32,
}

impl Backoff {
    /// Waits `first` after one failure, twice that after two, and so on up to `max`.
    pub const fn new(first: Duration, max: Duration) -> Self {
        Self {
            first,
            max,
            jitter: 0.0,
            failures: 0,
        }
    }

    /// Shortens each delay by up to `fraction` of it (clamped to 0..=1), at random.
    pub fn with_jitter(mut self, fraction: f64) -> Self {
        self.jitter = fraction.clamp(0.0, 1.0);
        self
    }

    /// Counts a failure and returns how long to wait before the next attempt. `random` is a
    /// number in `0..1` (out-of-range values are clamped); it only matters with jitter.
    pub fn fail(&mut self, random: f64) -> Duration {
        self.failures = self.failures.saturating_add(1);
        let doublings = self.failures.saturating_sub(1).min(20);
        let delay = self.first.saturating_mul(1 << doublings).min(self.max);
        delay.mul_f64(1.0 - self.jitter * random.clamp(0.0, 1.0))
    }

    /// An attempt worked: the next failure waits `first` again.
    pub fn reset(&mut self) {
        self.failures = 0;
    }

    /// Failures since the last success.
    pub fn failures(&self) -> u32 {
        self.failures
    }
}

#[cfg(test)]
mod tests {
    use super::Backoff;
    use std::time::Duration;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn doubles_up_to_the_cap_and_starts_over_after_a_success() {
        let mut backoff = Backoff::new(2 * S, 30 * S);
        let delays: Vec<_> = (0..6).map(|_| backoff.fail(0.5)).collect();
        assert_eq!(delays, [2 * S, 4 * S, 8 * S, 16 * S, 30 * S, 30 * S]);
        assert_eq!(backoff.failures(), 6);
        backoff.reset();
        assert_eq!(backoff.fail(0.0), 2 * S);
    }

    #[test]
    fn jitter_shortens_by_at_most_its_fraction() {
        let mut backoff = Backoff::new(4 * S, 60 * S).with_jitter(0.5);
        assert_eq!(backoff.fail(0.0), 4 * S);
        assert_eq!(backoff.fail(1.0), 4 * S);
        assert_eq!(backoff.fail(0.5), 12 * S);
        // Out-of-range randomness cannot lengthen or zero the delay.
        assert_eq!(backoff.fail(7.0), 16 * S);
        assert_eq!(backoff.fail(-3.0), 60 * S);
    }

    #[test]
    fn endless_failures_neither_overflow_nor_pass_the_cap() {
        let mut backoff = Backoff::new(S, 60 * S);
        for _ in 0..100_000 {
            assert!(backoff.fail(0.3) <= 60 * S);
        }
    }
}
