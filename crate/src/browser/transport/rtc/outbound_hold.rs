//! Holding a dialer's outbound streams until the remote has opened a stream of its own.
//!
//! Our server (libp2p-webrtc 0.10, on webrtc-rs) installs its `datachannel` handler only after
//! its side of the Noise handshake has ended. webrtc-rs acknowledges a channel announced before
//! that, then drops it: the browser sees the channel open, writes, and never hears back (a relay
//! reservation that got no answer in 10 s, now and then in CI; every time with the server's
//! handler delayed by 300 ms). The server's first stream to us (identify, opened the moment its
//! connection exists) proves its handler is in place, so a WebRTC-direct dialer opens nothing
//! before it. go-libp2p fixed the same race on its side by installing handlers first; we cannot
//! change the server's library, so the dialer waits.

use gloo_timers::future::TimeoutFuture;
use std::{
    cell::Cell,
    future::Future,
    pin::Pin,
    rc::Rc,
    task::{Context, Poll, Waker},
};

/// How long outbound streams wait for the remote's first stream before opening anyway (a
/// remote that opens none would otherwise never get ours).
const HOLD_LIMIT_MS: u32 = 3000;

/// Whether the remote has opened a stream yet; set by the peer connection's `datachannel`
/// handler, read by the connection's [`OutboundHold`].
#[derive(Default)]
pub(crate) struct RemoteOpened {
    opened: Cell<bool>,
    waker: Cell<Option<Waker>>,
}

impl RemoteOpened {
    /// The remote opened a stream: wakes the held outbound streams.
    pub(crate) fn mark(&self) {
        self.opened.set(true);
        if let Some(waker) = self.waker.take() {
            waker.wake();
        }
    }
}

/// Outbound streams wait here until the remote has opened one, or [`HOLD_LIMIT_MS`] passed.
pub(crate) struct OutboundHold {
    remote: Rc<RemoteOpened>,
    limit: TimeoutFuture,
}

impl OutboundHold {
    /// Starts holding: the limit counts from now.
    pub(crate) fn new(remote: Rc<RemoteOpened>) -> Self {
        Self {
            remote,
            limit: TimeoutFuture::new(HOLD_LIMIT_MS),
        }
    }

    /// Ready once outbound streams may open.
    pub(crate) fn poll_released(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if self.remote.opened.get() {
            return Poll::Ready(());
        }
        self.remote.waker.set(Some(cx.waker().clone()));
        if Pin::new(&mut self.limit).poll(cx).is_ready() {
            tracing::debug!(
                "the remote opened no stream within {HOLD_LIMIT_MS} ms; opening ours anyway"
            );
            return Poll::Ready(());
        }
        Poll::Pending
    }
}
