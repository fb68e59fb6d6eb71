//! The time sans-IO state machines are fed in the tab: milliseconds since the page loaded.

use std::time::Duration;

/// `performance.now()` as a `Duration` (`Instant::now()` panics on wasm32).
pub(crate) fn now() -> Duration {
    let millis = web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now());
    Duration::from_secs_f64(millis / 1000.0)
}
