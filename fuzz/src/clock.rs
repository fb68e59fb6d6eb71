//! Time for the stateful targets: the state machines take `now` as an argument, so a sequence
//! can jump ahead by any amount, including exactly onto a timeout.

use std::time::Duration;

use arbitrary::Arbitrary;

/// How far time jumps.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Jump {
    /// Not at all (a second input at the same instant).
    None,
    /// A few milliseconds.
    Millis(u16),
    /// A few seconds.
    Seconds(u8),
    /// Exactly the given timeout of the machine under test (its index into the timeouts the
    /// target names), so boundaries are hit and not only crossed.
    Timeout(u8),
    /// Just under such a timeout.
    JustUnder(u8),
}

/// A clock that only moves forward.
#[derive(Debug, Default)]
pub struct Clock {
    now: Duration,
}

impl Clock {
    /// The time now.
    pub fn now(&self) -> Duration {
        self.now
    }

    /// Moves on by `jump`; `timeouts` are the machine's own timeouts.
    pub fn advance(&mut self, jump: Jump, timeouts: &[Duration]) -> Duration {
        let pick = |i: u8| {
            timeouts
                .get(i as usize % timeouts.len().max(1))
                .copied()
                .unwrap_or_default()
        };
        self.now += match jump {
            Jump::None => Duration::ZERO,
            Jump::Millis(ms) => Duration::from_millis(ms.into()),
            Jump::Seconds(s) => Duration::from_secs(s.into()),
            Jump::Timeout(i) => pick(i),
            Jump::JustUnder(i) => pick(i).saturating_sub(Duration::from_millis(1)),
        };
        self.now
    }
}
