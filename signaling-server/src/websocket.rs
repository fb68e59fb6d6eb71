//! The server's WebSocket listeners: plain (`/ws`, also how it dials other servers) and over TLS
//! (`/tls/ws`, also written `/wss`, for tabs on https pages), each message at most
//! [`MAX_MESSAGE_BYTES`].
//!
//! The WebSocket library reserves (and zeroes) the length a frame's header claims before the
//! payload arrives, and libp2p lets a message be 256 MiB by default: a client that never got
//! past the handshake could make the server hold that much per connection. libp2p's framing
//! never writes more than a Noise frame (64 KiB) per message, so 1 MiB is plenty.
//!
//! libp2p-websocket can terminate TLS itself, but only with one certificate fixed for the life
//! of the transport, so a renewed certificate would need a restart. Here the TLS sits under it
//! instead: [`TlsOverTcp`] hands plain libp2p WebSocket framing TCP streams it has already
//! wrapped in TLS with the certificate in service ([`ReloadableCert`]: `--tls-cert`, read again
//! on SIGHUP; the same rustls configuration as HTTPS). The WebSocket layer sees `…/tcp/P/ws`;
//! [`SecureWebSocket`] translates its addresses to and from `…/tcp/P/tls/ws`, so the swarm,
//! `/bootstrap` and the connection limits see the address a tab dials. The server never dials
//! over it.

use crate::tls::ReloadableCert;
use futures::future::BoxFuture;
use futures::FutureExt;
use futures_rustls::{server::TlsStream, TlsAcceptor};
use libp2p::core::transport::{DialOpts, ListenerId, Transport, TransportError, TransportEvent};
use libp2p::multiaddr::{Multiaddr, Protocol};
use libp2p::{tcp, websocket};
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

/// Largest WebSocket message a client may send.
pub const MAX_MESSAGE_BYTES: usize = 1 << 20;

/// Longest a client may take over its TLS handshake before the connection is dropped.
pub const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Plain WebSocket over TCP (listening on and dialling `/ws`), messages bounded.
pub fn plain_websocket() -> websocket::Config<tcp::tokio::Transport> {
    let mut config = websocket::Config::new(tcp::tokio::Transport::new(tcp::Config::default()));
    config.set_max_data_size(MAX_MESSAGE_BYTES);
    config
}

/// Listens on `/tls/ws` addresses with WebSocket over [`TlsOverTcp`]; refuses other addresses
/// (so the plain WebSocket transport beside it takes them) and every dial.
pub struct SecureWebSocket {
    inner: websocket::Config<TlsOverTcp>,
}

impl SecureWebSocket {
    /// A transport presenting `cert`'s certificate in service on every handshake.
    pub fn new(cert: &Arc<ReloadableCert>) -> Self {
        let tls = TlsOverTcp {
            tcp: tcp::tokio::Transport::new(tcp::Config::default()),
            acceptor: TlsAcceptor::from(cert.server_config()),
        };
        let mut inner = websocket::Config::new(tls);
        inner.set_max_data_size(MAX_MESSAGE_BYTES);
        Self { inner }
    }
}

impl Transport for SecureWebSocket {
    type Output = <websocket::Config<TlsOverTcp> as Transport>::Output;
    type Error = <websocket::Config<TlsOverTcp> as Transport>::Error;
    type ListenerUpgrade = <websocket::Config<TlsOverTcp> as Transport>::ListenerUpgrade;
    type Dial = <websocket::Config<TlsOverTcp> as Transport>::Dial;

    fn listen_on(
        &mut self,
        id: ListenerId,
        addr: Multiaddr,
    ) -> Result<(), TransportError<Self::Error>> {
        match without_tls(&addr) {
            Some(plain) => self.inner.listen_on(id, plain),
            None => Err(TransportError::MultiaddrNotSupported(addr)),
        }
    }

    fn remove_listener(&mut self, id: ListenerId) -> bool {
        self.inner.remove_listener(id)
    }

    fn dial(
        &mut self,
        addr: Multiaddr,
        _: DialOpts,
    ) -> Result<Self::Dial, TransportError<Self::Error>> {
        Err(TransportError::MultiaddrNotSupported(addr))
    }

    fn poll(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<TransportEvent<Self::ListenerUpgrade, Self::Error>> {
        Pin::new(&mut self.inner).poll(cx).map(|event| match event {
            TransportEvent::NewAddress {
                listener_id,
                listen_addr,
            } => TransportEvent::NewAddress {
                listener_id,
                listen_addr: with_tls(listen_addr),
            },
            TransportEvent::AddressExpired {
                listener_id,
                listen_addr,
            } => TransportEvent::AddressExpired {
                listener_id,
                listen_addr: with_tls(listen_addr),
            },
            TransportEvent::Incoming {
                listener_id,
                upgrade,
                local_addr,
                send_back_addr,
            } => TransportEvent::Incoming {
                listener_id,
                upgrade,
                local_addr: with_tls(local_addr),
                send_back_addr: with_tls(send_back_addr),
            },
            other => other,
        })
    }
}

/// TCP whose accepted streams are TLS server sessions, each handshake bounded by
/// [`TLS_HANDSHAKE_TIMEOUT`]. Listens only.
pub struct TlsOverTcp {
    tcp: tcp::tokio::Transport,
    acceptor: TlsAcceptor,
}

impl Transport for TlsOverTcp {
    type Output = TlsStream<tcp::tokio::TcpStream>;
    type Error = io::Error;
    type ListenerUpgrade = BoxFuture<'static, io::Result<Self::Output>>;
    type Dial = BoxFuture<'static, io::Result<Self::Output>>;

    fn listen_on(
        &mut self,
        id: ListenerId,
        addr: Multiaddr,
    ) -> Result<(), TransportError<Self::Error>> {
        self.tcp.listen_on(id, addr)
    }

    fn remove_listener(&mut self, id: ListenerId) -> bool {
        self.tcp.remove_listener(id)
    }

    fn dial(
        &mut self,
        addr: Multiaddr,
        _: DialOpts,
    ) -> Result<Self::Dial, TransportError<Self::Error>> {
        Err(TransportError::MultiaddrNotSupported(addr))
    }

    fn poll(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<TransportEvent<Self::ListenerUpgrade, Self::Error>> {
        let acceptor = self.acceptor.clone();
        Pin::new(&mut self.tcp).poll(cx).map(|event| {
            event.map_upgrade(move |tcp| {
                async move {
                    let tcp = tcp.await?;
                    tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(tcp))
                        .await
                        .map_err(|_| {
                            io::Error::new(io::ErrorKind::TimedOut, "TLS handshake timed out")
                        })?
                }
                .boxed()
            })
        })
    }
}

/// `…/tls/ws` or `…/wss` as `…/ws` (same path); `None` for any other address.
fn without_tls(addr: &Multiaddr) -> Option<Multiaddr> {
    let mut plain = addr.clone();
    let path = match plain.pop()? {
        Protocol::Wss(path) => path,
        Protocol::Ws(path) => match plain.pop()? {
            Protocol::Tls => path,
            _ => return None,
        },
        _ => return None,
    };
    Some(plain.with(Protocol::Ws(path)))
}

/// `…/ws` as `…/tls/ws`; any other address unchanged.
fn with_tls(addr: Multiaddr) -> Multiaddr {
    let mut secure = addr.clone();
    match secure.pop() {
        Some(Protocol::Ws(path)) => secure.with(Protocol::Tls).with(Protocol::Ws(path)),
        _ => addr,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> Multiaddr {
        s.parse().expect("test address parses")
    }

    #[test]
    fn only_tls_websocket_addresses_are_listened_on_as_plain_websocket() {
        let plain = addr("/ip4/127.0.0.1/tcp/443/ws");
        assert_eq!(
            without_tls(&addr("/ip4/127.0.0.1/tcp/443/tls/ws")),
            Some(plain.clone())
        );
        assert_eq!(
            without_tls(&addr("/ip4/127.0.0.1/tcp/443/wss")),
            Some(plain.clone())
        );
        assert_eq!(without_tls(&plain), None);
        assert_eq!(without_tls(&addr("/ip4/127.0.0.1/tcp/443")), None);
        assert_eq!(without_tls(&addr("/ip4/127.0.0.1/tcp/443/tls")), None);
        assert_eq!(with_tls(plain), addr("/ip4/127.0.0.1/tcp/443/tls/ws"));
        assert_eq!(
            with_tls(addr("/ip4/127.0.0.1/tcp/443")),
            addr("/ip4/127.0.0.1/tcp/443")
        );
    }
}
