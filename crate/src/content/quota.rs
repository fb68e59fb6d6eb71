//! [`Quota`]: the bytes a tab may store and those it holds, sans-IO. A write reserves its bytes
//! before it starts, so writes running at once cannot all pass the check (a 3 MiB quota once
//! held 4 MiB that way); a write that fails gives them back.

/// Storing would pass the quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("storage quota full: {used} of {limit} bytes used, {needed} more needed")]
pub struct QuotaFull {
    /// Bytes held or reserved.
    pub used: u64,
    /// The quota.
    pub limit: u64,
    /// Bytes the write needed.
    pub needed: u64,
}

/// A storage quota and what counts against it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    limit: u64,
    used: u64,
}

impl Quota {
    /// Nothing held yet, at most `limit` bytes.
    pub fn new(limit: u64) -> Self {
        Self { limit, used: 0 }
    }

    /// Bytes held or reserved.
    pub fn used(&self) -> u64 {
        self.used
    }

    /// The quota.
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Counts `bytes` found held (when a store opens); they may pass the limit.
    pub fn found(&mut self, bytes: u64) {
        self.used = self.used.saturating_add(bytes);
    }

    /// Reserves `bytes` for a write, or says the quota is full.
    pub fn reserve(&mut self, bytes: u64) -> Result<(), QuotaFull> {
        match self.used.checked_add(bytes) {
            Some(after) if after <= self.limit => {
                self.used = after;
                Ok(())
            }
            _ => Err(self.full(bytes)),
        }
    }

    /// Gives back `bytes` (a write that failed, or content removed).
    pub fn release(&mut self, bytes: u64) {
        self.used = self.used.saturating_sub(bytes);
    }

    /// The error for a write of `needed` bytes that did not fit.
    pub fn full(&self, needed: u64) -> QuotaFull {
        QuotaFull {
            used: self.used,
            limit: self.limit,
            needed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Quota, QuotaFull};

    #[test]
    fn writes_at_once_cannot_pass_the_quota_together() {
        let mut quota = Quota::new(3);
        assert!(quota.reserve(1).is_ok());
        assert!(quota.reserve(1).is_ok());
        assert!(quota.reserve(1).is_ok());
        assert_eq!(
            quota.reserve(1),
            Err(QuotaFull {
                used: 3,
                limit: 3,
                needed: 1
            })
        );
        quota.release(1);
        assert!(quota.reserve(1).is_ok());
    }

    #[test]
    fn nothing_overflows() {
        let mut quota = Quota::new(u64::MAX);
        quota.found(u64::MAX - 1);
        assert!(quota.reserve(2).is_err());
        quota.release(u64::MAX);
        assert_eq!(quota.used(), 0);
        quota.found(u64::MAX);
        quota.found(5);
        assert_eq!(quota.used(), u64::MAX);
    }
}
