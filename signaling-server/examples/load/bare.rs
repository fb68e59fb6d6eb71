//! The baseline measured in the same run: the smallest rust-libp2p server a tab could attach to
//! (WebSocket + Noise + yamux, ping only, default swarm), run as a child process of the load
//! generator (`load --bare-server`). What it costs per client is the floor set by the libraries
//! before any of `peerfetch-server`'s protocols (relay, rendezvous, identify, metrics, DHT).

use futures::StreamExt;
use libp2p::{noise, ping, yamux, Multiaddr, SwarmBuilder};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The flag that makes the load generator run as the baseline server.
pub const FLAG: &str = "--bare-server";

/// Runs the baseline server on a free loopback port; prints its address (with `/p2p/<id>`) as
/// the first line on standard output, then serves until killed.
pub async fn serve() {
    let mut swarm = SwarmBuilder::with_new_identity()
        .with_tokio()
        .with_websocket(noise::Config::new, yamux::Config::default)
        .await
        .expect("websocket transport")
        .with_behaviour(|_| ping::Behaviour::default())
        .expect("behaviour")
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(600)))
        .build();
    let peer = *swarm.local_peer_id();
    swarm
        .listen_on("/ip4/127.0.0.1/tcp/0/ws".parse().expect("address"))
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
    /// Its WebSocket address, with `/p2p/<id>`.
    pub ws: Multiaddr,
}

impl BareServer {
    /// Starts this executable as the baseline server.
    pub async fn start() -> Self {
        let mut child = Command::new(std::env::current_exe().expect("own path"))
            .arg(FLAG)
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
            ws: line.parse().expect("a multiaddr"),
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
