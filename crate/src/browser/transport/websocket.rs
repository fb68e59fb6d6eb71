//! WebSocket dials from a tab (`libp2p-websocket-websys`), failing as soon as the socket does.
//!
//! `libp2p-websocket-websys` 0.6 hands the dialer its connection before the socket opens and
//! wakes a writer only on `open`: a socket that closes first (connection refused, a certificate
//! the browser rejects, a network that drops WebSockets) wakes nothing, and the dial waits for
//! the tab's dial timeout, 5 s, before the tab tries its next address. Tabs dial WSS first, so
//! that wait would fall on every tab of such a network. [`Rechecked`] polls a dial still under
//! way again every [`RECHECK_MS`]; the library then reads the socket's state and fails.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures::future::{BoxFuture, Either};
use futures::FutureExt;
use gloo_timers::future::TimeoutFuture;
use libp2p::core::transport::{DialOpts, ListenerId, TransportError, TransportEvent};
use libp2p::core::Transport;
use libp2p::Multiaddr;
use send_wrapper::SendWrapper;

/// How often a dial under way is polled again.
const RECHECK_MS: u32 = 100;

/// `T`, whose dials are polled again every [`RECHECK_MS`] until they end.
pub(crate) struct Rechecked<T>(pub(crate) T);

impl<T> Transport for Rechecked<T>
where
    T: Transport + Unpin,
    T::Dial: Send + 'static,
    T::Output: 'static,
    T::Error: 'static,
{
    type Output = T::Output;
    type Error = T::Error;
    type ListenerUpgrade = T::ListenerUpgrade;
    type Dial = BoxFuture<'static, Result<T::Output, T::Error>>;

    fn listen_on(
        &mut self,
        id: ListenerId,
        addr: Multiaddr,
    ) -> Result<(), TransportError<Self::Error>> {
        self.0.listen_on(id, addr)
    }

    fn remove_listener(&mut self, id: ListenerId) -> bool {
        self.0.remove_listener(id)
    }

    fn dial(
        &mut self,
        addr: Multiaddr,
        opts: DialOpts,
    ) -> Result<Self::Dial, TransportError<Self::Error>> {
        let dial = self.0.dial(addr, opts)?;
        Ok(rechecked(dial).boxed())
    }

    fn poll(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<TransportEvent<Self::ListenerUpgrade, Self::Error>> {
        Pin::new(&mut self.0).poll(cx)
    }
}

/// `dial`, woken every [`RECHECK_MS`] as well as by its own wakers.
async fn rechecked<F: std::future::Future + Send>(dial: F) -> F::Output {
    let mut dial = Box::pin(dial);
    loop {
        let tick = SendWrapper::new(TimeoutFuture::new(RECHECK_MS));
        match futures::future::select(dial, tick).await {
            Either::Left((output, _)) => return output,
            Either::Right(((), pending)) => dial = pending,
        }
    }
}
