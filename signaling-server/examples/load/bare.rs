//! The baseline measured in the same run: the smallest rust-libp2p server a tab could attach to
//! over the fleet's transport (libp2p-webrtc's WebRTC-direct, or WebSocket with the library's
//! own TLS, Noise and yamux; ping only, default swarm), run as a child process of the load
//! generator (`load --bare-server TRANSPORT CERT_DIR`). What it costs per client is the floor set
//! by the libraries before any of `peerfetch-server`'s protocols (relay, rendezvous, identify,
//! metrics, DHT).

use crate::transport::LoadTransport;
use futures::StreamExt;
use libp2p::{
    core::{muxing::StreamMuxerBox, upgrade::Version},
    noise, ping, tcp, websocket, yamux, Multiaddr, SwarmBuilder, Transport as _,
};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio_rustls::rustls::pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer};

/// The flag that makes the load generator run as the baseline server.
pub const FLAG: &str = "--bare-server";

/// Runs the baseline server on a free loopback port of `transport` (WSS presenting the
/// certificate in `cert_dir`); prints its address (with `/p2p/<id>`) as the first line on
/// standard output, then serves until killed.
pub async fn serve(transport: LoadTransport, cert_dir: &Path) {
    let mut swarm = SwarmBuilder::with_new_identity()
        .with_tokio()
        .with_other_transport(
            |key| -> Result<_, Box<dyn std::error::Error + Send + Sync>> {
                let webrtc = libp2p_webrtc::tokio::Transport::new(
                    key.clone(),
                    libp2p_webrtc::tokio::Certificate::generate(&mut rand::rng())?,
                )
                .map(|(peer, conn), _| (peer, StreamMuxerBox::new(conn)));
                let cert = CertificateDer::from_pem_file(cert_dir.join("cert.pem"))?;
                let key_der = PrivateKeyDer::from_pem_file(cert_dir.join("key.pem"))?;
                let tls = websocket::tls::Config::new(
                    websocket::tls::PrivateKey::new(key_der.secret_der().to_vec()),
                    [websocket::tls::Certificate::new(cert.to_vec())],
                )?;
                let mut ws =
                    websocket::Config::new(tcp::tokio::Transport::new(tcp::Config::default()));
                ws.set_tls_config(tls);
                let ws = ws
                    .upgrade(Version::V1Lazy)
                    .authenticate(noise::Config::new(key)?)
                    .multiplex(yamux::Config::default())
                    .map(|(peer, muxer), _| (peer, StreamMuxerBox::new(muxer)));
                Ok(webrtc.or_transport(ws).map(|either, _| either.into_inner()))
            },
        )
        .expect("transports")
        .with_behaviour(|_| ping::Behaviour::default())
        .expect("behaviour")
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(3600)))
        .build();
    let peer = *swarm.local_peer_id();
    swarm
        .listen_on(transport.listen_addr(0))
        .expect("listening");
    loop {
        if let libp2p::swarm::SwarmEvent::NewListenAddr { address, .. } =
            swarm.select_next_some().await
        {
            println!("{}", address.with_p2p(peer).expect("no /p2p yet"));
        }
    }
}

/// The baseline server process.
pub struct BareServer {
    child: Child,
    /// Its address, with `/p2p/<id>`.
    pub addr: Multiaddr,
}

impl BareServer {
    /// Starts this executable as the baseline server on `transport` (WSS with the certificate
    /// in `cert_dir`).
    pub async fn start(transport: LoadTransport, cert_dir: &Path) -> Self {
        let mut child = Command::new(std::env::current_exe().expect("own path"))
            .args([FLAG, transport.name()])
            .arg(cert_dir)
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("baseline server starts");
        let mut lines = BufReader::new(child.stdout.take().expect("piped")).lines();
        let line = tokio::time::timeout(Duration::from_secs(10), lines.next_line())
            .await
            .expect("baseline server prints its address in time")
            .expect("readable")
            .expect("an address line");
        Self {
            addr: line.parse().expect("a multiaddr"),
            child,
        }
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id().expect("running")
    }

    /// Kills it.
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}
