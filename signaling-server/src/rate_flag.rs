//! [`Rate`]: a flag value `LIMIT/SECONDSs` (or `LIMIT/MILLISms`), a token bucket of `LIMIT`
//! requests refilled by one every `SECONDS` — the shape of the relay's rate limiters.

use std::num::NonZeroU32;
use std::str::FromStr;
use std::time::Duration;

/// A burst of `limit` requests, then one more every `interval`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Requests allowed at once.
    pub limit: NonZeroU32,
    /// Time to earn one more.
    pub interval: Duration,
}

impl FromStr for Rate {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad =
            || format!("a rate is LIMIT/SECONDSs or LIMIT/MILLISms, e.g. 30/120s, not {text:?}");
        let (limit, interval) = text.split_once('/').ok_or_else(bad)?;
        let limit: NonZeroU32 = limit.parse().map_err(|_| bad())?;
        let interval = match interval.strip_suffix("ms") {
            Some(millis) => Duration::from_millis(millis.parse().map_err(|_| bad())?),
            None => {
                let seconds = interval.strip_suffix('s').ok_or_else(bad)?;
                Duration::from_secs(seconds.parse().map_err(|_| bad())?)
            }
        };
        if interval.is_zero() {
            return Err(bad());
        }
        Ok(Self { limit, interval })
    }
}

impl std::fmt::Display for Rate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.interval.subsec_nanos() == 0 {
            write!(f, "{}/{}s", self.limit, self.interval.as_secs())
        } else {
            write!(f, "{}/{}ms", self.limit, self.interval.as_millis())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints() {
        let rate: Rate = "30/120s".parse().unwrap();
        assert_eq!(rate.limit.get(), 30);
        assert_eq!(rate.interval, Duration::from_secs(120));
        assert_eq!(rate.to_string(), "30/120s");
        let fast: Rate = "2048/50ms".parse().unwrap();
        assert_eq!(fast.interval, Duration::from_millis(50));
        assert_eq!(fast.to_string(), "2048/50ms");
        for bad in [
            "30", "0/10s", "30/0s", "30/0ms", "30/10", "x/10s", "30/ys", "30/1.5s", "",
        ] {
            assert!(bad.parse::<Rate>().is_err(), "{bad}");
        }
    }
}
