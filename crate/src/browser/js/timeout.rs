//! Bounding a future's run time with a browser timer.

use futures::{future::Either, FutureExt};
use gloo_timers::future::TimeoutFuture;
use std::{future::Future, pin::pin, time::Duration};

/// The future did not finish in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Elapsed;

/// Runs `future` for at most `limit`.
pub(crate) async fn with_timeout<T>(
    limit: Duration,
    future: impl Future<Output = T>,
) -> Result<T, Elapsed> {
    let millis = u32::try_from(limit.as_millis()).unwrap_or(u32::MAX);
    let future = pin!(future.fuse());
    match futures::future::select(future, TimeoutFuture::new(millis)).await {
        Either::Left((output, _)) => Ok(output),
        Either::Right(((), _)) => Err(Elapsed),
    }
}
