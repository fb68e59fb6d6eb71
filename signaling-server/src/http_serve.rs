//! Serving a router over HTTP/1.1 with bounds, so that slow or idle clients cannot hold the
//! server's descriptors: at most `max_connections` connections at once (more wait in the
//! listen backlog), at most `max_per_ip` from one address (more are closed at once, so one host
//! cannot take every slot; IPv6 counts per /64, and per /56 and /48 at 4 and 16 times that: see
//! [`AddressBudget`]), a request head must arrive within `header_timeout` after the connection
//! opens or the previous answer ends (slowloris, idle keep-alive), and a write that makes no
//! progress for `write_timeout` closes the connection (a client that stopped reading).
//!
//! `axum::serve` has none of these bounds; hyper's HTTP/1 connection has the head timeout,
//! `tokio-io-timeout` the write timeout, a semaphore the cap.

use crate::address_budget::AddressBudget;
use crate::ip_key::AddressKey;
use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use prometheus_client::metrics::gauge::Gauge;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio_io_timeout::TimeoutStream;
use tokio_rustls::TlsAcceptor;

/// How long connections still open at shutdown get to finish their answer.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// Pause after a failed accept (out of descriptors), so the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Bounds on one HTTP listener's connections.
#[derive(Debug, Clone, Copy)]
pub struct HttpLimits {
    /// Connections served at once.
    pub max_connections: usize,
    /// Connections served at once to one address.
    pub max_per_ip: usize,
    /// Time a client has to send a request head.
    pub header_timeout: Duration,
    /// Time a write may wait for the client to read.
    pub write_timeout: Duration,
}

/// What a listener's gauges show: connections open, addresses holding one.
#[derive(Debug, Clone, Default)]
pub struct HttpGauges {
    /// Connections open.
    pub connections: Gauge,
    /// Remote addresses holding a connection.
    pub addresses: Gauge,
}

/// A connection's slot at its address, given back when dropped.
struct AddressSlot {
    address: AddressKey,
    held: Arc<Mutex<AddressBudget>>,
    gauges: HttpGauges,
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        held.release(self.address);
        self.gauges.addresses.set(held.addresses() as i64);
        self.gauges.connections.dec();
    }
}

/// A connection's byte stream, plain or TLS.
trait Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send> Io for T {}

/// Serves `router` on `listener` within `limits` (over TLS with `tls`) until `stop` turns true,
/// then lets open connections finish for a few seconds.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: HttpLimits,
    gauges: HttpGauges,
    tls: Option<TlsAcceptor>,
    mut stop: watch::Receiver<bool>,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let per_address = Arc::new(Mutex::new(AddressBudget::new(limits.max_per_ip)));
    let graceful = GracefulShutdown::new();
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    loop {
        let accepted = tokio::select! {
            _ = stop.wait_for(|stop| *stop) => break,
            accepted = async {
                let permit = permits.clone().acquire_owned().await;
                (permit, listener.accept().await)
            } => accepted,
        };
        let (permit, stream, remote) = match accepted {
            (Ok(permit), Ok((stream, remote))) => (permit, stream, remote),
            (Err(_closed), _) => break, // never closed
            (_, Err(e)) => {
                tracing::debug!("HTTP accept failed: {e}");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        let address = AddressKey::from(remote.ip());
        let slot = {
            let mut held = per_address.lock().unwrap_or_else(PoisonError::into_inner);
            if held.try_take(address).is_err() {
                tracing::debug!(%address, "HTTP connection closed: --http-max-connections-per-ip");
                continue; // dropped: closed, and its permit given back
            }
            gauges.addresses.set(held.addresses() as i64);
            gauges.connections.inc();
            AddressSlot {
                address,
                held: per_address.clone(),
                gauges: gauges.clone(),
            }
        };
        let mut io = TimeoutStream::new(stream);
        io.set_write_timeout(Some(limits.write_timeout));
        let (builder, router, tls, watcher) = (
            builder.clone(),
            router.clone(),
            tls.clone(),
            graceful.watcher(),
        );
        tokio::spawn(async move {
            // The handshake counts against the time a client has to send its request head.
            let io: Box<dyn Io> = match tls {
                None => Box::new(io),
                Some(tls) => {
                    match tokio::time::timeout(limits.header_timeout, tls.accept(Box::pin(io)))
                        .await
                    {
                        Ok(Ok(tls)) => Box::new(tls),
                        Ok(Err(e)) => return tracing::debug!(%remote, "TLS handshake failed: {e}"),
                        Err(_) => return tracing::debug!(%remote, "TLS handshake too slow"),
                    }
                }
            };
            let connection = builder.serve_connection(
                TokioIo::new(Box::into_pin(io)),
                TowerToHyperService::new(router),
            );
            if let Err(e) = watcher.watch(connection).await {
                tracing::debug!("HTTP connection ended: {e}");
            }
            drop(slot);
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::debug!("HTTP connections still open at shutdown were dropped");
    }
}
