//! [`TokenBucket`]: caps a byte rate, sans-IO. Used to cap a tab's upload (a user's choice, and
//! the benchmark's capped seeders).

use std::time::Duration;

/// A byte budget refilled at a fixed rate, holding at most one second's worth.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    rate: f64,
    tokens: f64,
    last: Duration,
}

impl TokenBucket {
    /// A bucket allowing `bytes_per_second` on average, starting full.
    pub fn new(bytes_per_second: u64, now: Duration) -> Self {
        Self {
            rate: bytes_per_second.max(1) as f64,
            tokens: bytes_per_second.max(1) as f64,
            last: now,
        }
    }

    /// Takes `bytes` from the budget and returns how long to wait before sending them (zero
    /// when the budget covers them). Later reservations queue behind earlier ones.
    pub fn reserve(&mut self, bytes: u64, now: Duration) -> Duration {
        let elapsed = now.saturating_sub(self.last).as_secs_f64();
        self.last = self.last.max(now);
        self.tokens = (self.tokens + elapsed * self.rate).min(self.rate);
        self.tokens -= bytes as f64;
        if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-self.tokens / self.rate)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_the_average_rate_after_the_first_second() {
        let mut bucket = TokenBucket::new(1000, Duration::ZERO);
        assert_eq!(bucket.reserve(1000, Duration::ZERO), Duration::ZERO);
        assert_eq!(
            bucket.reserve(500, Duration::ZERO),
            Duration::from_millis(500)
        );
        // Reservations queue: the next 500 bytes wait for the first 500 too.
        assert_eq!(bucket.reserve(500, Duration::ZERO), Duration::from_secs(1));
        // Two seconds on, the debt is paid and the budget is full no more than one second.
        assert_eq!(bucket.reserve(0, Duration::from_secs(2)), Duration::ZERO);
        assert_eq!(
            bucket.reserve(1000, Duration::from_secs(10)),
            Duration::ZERO
        );
        assert!(bucket.reserve(1, Duration::from_secs(10)) > Duration::ZERO);
    }
}
