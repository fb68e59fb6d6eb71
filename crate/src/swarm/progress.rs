//! [`ProgressMeter`]: when a download reports progress and at what rate bytes arrive, smoothed.

use std::time::Duration;

/// Least time between two reports unless one is forced.
pub const REPORT_EVERY: Duration = Duration::from_millis(200);

/// Weight of the newest sample in the smoothed rate.
const NEW_SAMPLE_WEIGHT: f64 = 0.4;

/// One progress report.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    /// Verified bytes held.
    pub bytes: u64,
    /// The resource's length.
    pub total: u64,
    /// Smoothed arrival rate.
    pub bytes_per_second: f64,
    /// Peers asked for pieces right now.
    pub peers: usize,
}

/// Paces reports and smooths the rate between them.
#[derive(Debug, Default)]
pub struct ProgressMeter {
    last: Option<(Duration, u64)>,
    rate: f64,
}

impl ProgressMeter {
    /// The report due at `now` with `bytes` held, if [`REPORT_EVERY`] passed since the last
    /// one (or `force`).
    pub fn report(
        &mut self,
        now: Duration,
        bytes: u64,
        total: u64,
        peers: usize,
        force: bool,
    ) -> Option<Progress> {
        if let Some((at, before)) = self.last {
            let elapsed = now.saturating_sub(at);
            if elapsed < REPORT_EVERY && !force {
                return None;
            }
            let sample = bytes.saturating_sub(before) as f64 / elapsed.as_secs_f64().max(1e-3);
            self.rate = if self.rate == 0.0 {
                sample
            } else {
                (1.0 - NEW_SAMPLE_WEIGHT) * self.rate + NEW_SAMPLE_WEIGHT * sample
            };
        }
        self.last = Some((now, bytes));
        Some(Progress {
            bytes,
            total,
            bytes_per_second: self.rate.round(),
            peers,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn reports_at_most_every_interval_unless_forced() {
        let mut meter = ProgressMeter::default();
        assert!(meter.report(Duration::ZERO, 0, 100, 1, false).is_some());
        assert!(meter.report(100 * MS, 10, 100, 1, false).is_none());
        assert!(meter.report(150 * MS, 10, 100, 1, true).is_some());
        assert!(meter.report(300 * MS, 20, 100, 1, false).is_none());
        assert!(meter.report(350 * MS, 20, 100, 1, false).is_some());
    }

    #[test]
    fn the_rate_follows_arrivals_smoothly() {
        let mut meter = ProgressMeter::default();
        meter.report(Duration::ZERO, 0, 10_000, 2, false);
        let first = meter.report(1000 * MS, 1000, 10_000, 2, false).unwrap();
        assert_eq!(first.bytes_per_second, 1000.0);
        let second = meter.report(2000 * MS, 4000, 10_000, 2, false).unwrap();
        assert_eq!(second.bytes_per_second, 0.6 * 1000.0 + 0.4 * 3000.0);
        assert_eq!(
            (second.bytes, second.total, second.peers),
            (4000, 10_000, 2)
        );
    }
}
