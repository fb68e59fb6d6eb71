//! Round-trip-time statistics over a bounded window of ping samples.

use std::collections::VecDeque;
use std::time::Duration;

/// How many recent samples the percentiles are computed over.
pub const WINDOW: usize = 1024;

/// Ping RTT samples: the last [`WINDOW`] are kept for percentiles, the count is total.
#[derive(Debug, Default, Clone)]
pub struct RttStats {
    recent: VecDeque<Duration>,
    count: u64,
}

/// A summary of [`RttStats`], in milliseconds, ready to hand to JS.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct RttSummary {
    /// Pings measured since the start.
    pub count: u64,
    /// The most recent RTT.
    pub last_ms: f64,
    /// Median of the window.
    pub p50_ms: f64,
    /// 99th percentile of the window (nearest rank).
    pub p99_ms: f64,
    /// Largest RTT in the window.
    pub max_ms: f64,
}

impl RttStats {
    /// Records one measured round trip.
    pub fn record(&mut self, rtt: Duration) {
        if self.recent.len() == WINDOW {
            self.recent.pop_front();
        }
        self.recent.push_back(rtt);
        self.count += 1;
    }

    /// The summary, or `None` before the first sample.
    pub fn summary(&self) -> Option<RttSummary> {
        let last = *self.recent.back()?;
        let mut sorted: Vec<Duration> = self.recent.iter().copied().collect();
        sorted.sort_unstable();
        let rank = |p: f64| {
            let index = ((p * sorted.len() as f64).ceil() as usize).saturating_sub(1);
            ms(sorted[index.min(sorted.len() - 1)])
        };
        Some(RttSummary {
            count: self.count,
            last_ms: ms(last),
            p50_ms: rank(0.50),
            p99_ms: rank(0.99),
            max_ms: ms(sorted[sorted.len() - 1]),
        })
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_has_no_summary() {
        assert_eq!(RttStats::default().summary(), None);
    }

    #[test]
    fn percentiles_use_nearest_rank() {
        let mut stats = RttStats::default();
        for ms in 1..=100 {
            stats.record(Duration::from_millis(ms));
        }
        let s = stats.summary().expect("has samples");
        assert_eq!(s.count, 100);
        assert_eq!(s.last_ms, 100.0);
        assert_eq!(s.p50_ms, 50.0);
        assert_eq!(s.p99_ms, 99.0);
        assert_eq!(s.max_ms, 100.0);
    }

    #[test]
    fn one_stall_in_a_hundred_shows_in_max_not_p99() {
        let mut stats = RttStats::default();
        for _ in 0..99 {
            stats.record(Duration::from_millis(1));
        }
        stats.record(Duration::from_secs(10));
        let s = stats.summary().expect("has samples");
        assert_eq!(s.p99_ms, 1.0);
        assert_eq!(s.max_ms, 10_000.0);
    }

    #[test]
    fn window_is_bounded_but_count_is_total() {
        let mut stats = RttStats::default();
        for _ in 0..(WINDOW + 10) {
            stats.record(Duration::from_millis(5));
        }
        assert_eq!(stats.recent.len(), WINDOW);
        assert_eq!(
            stats.summary().expect("has samples").count,
            (WINDOW + 10) as u64
        );
    }
}
