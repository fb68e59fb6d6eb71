//! [`TokenBucket`]: caps a rate, sans-IO. Used to cap a tab's upload (a user's choice, and
//! the benchmark's capped seeders) and the server's requests per peer.

use std::time::Duration;

/// A budget refilled at a fixed rate, holding at most one burst (by default one second's worth).
#[derive(Debug, Clone)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Duration,
}

impl TokenBucket {
    /// A bucket allowing `bytes_per_second` on average, starting full.
    pub fn new(bytes_per_second: u64, now: Duration) -> Self {
        let rate = bytes_per_second.max(1) as f64;
        Self {
            rate,
            burst: rate,
            tokens: rate,
            last: now,
        }
    }

    /// A bucket of `burst` tokens, one more earned every `interval`, starting full.
    pub fn with_burst(burst: u32, interval: Duration, now: Duration) -> Self {
        let burst = f64::from(burst.max(1));
        Self {
            rate: 1.0 / interval.as_secs_f64().max(1e-9),
            burst,
            tokens: burst,
            last: now,
        }
    }

    /// Takes one token if the budget holds one; `false` (and nothing taken) otherwise.
    pub fn try_take(&mut self, now: Duration) -> bool {
        self.refill(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Whether the budget holds a token at `now` (taking nothing).
    pub fn has_token(&mut self, now: Duration) -> bool {
        self.refill(now);
        self.tokens >= 1.0
    }

    fn refill(&mut self, now: Duration) {
        let elapsed = now.saturating_sub(self.last).as_secs_f64();
        self.last = self.last.max(now);
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
    }

    /// Takes `bytes` from the budget and returns how long to wait before sending them (zero
    /// when the budget covers them). Later reservations queue behind earlier ones.
    pub fn reserve(&mut self, bytes: u64, now: Duration) -> Duration {
        self.refill(now);
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
    fn a_burst_then_one_per_interval() {
        let second = Duration::from_secs(1);
        let mut bucket = TokenBucket::with_burst(3, 2 * second, Duration::ZERO);
        assert!((0..3).all(|_| bucket.try_take(Duration::ZERO)));
        assert!(!bucket.try_take(second));
        assert!(bucket.try_take(2 * second));
        assert!(!bucket.try_take(2 * second));
        // Idle for long, the budget holds one burst, no more.
        assert!((0..3).all(|_| bucket.try_take(100 * second)));
        assert!(!bucket.try_take(100 * second));
    }

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
