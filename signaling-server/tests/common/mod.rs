//! Helpers for the native integration tests: a real `peerfetch-server` process and a native
//! rust-libp2p client.
#![allow(dead_code)] // each test binary uses a different subset

pub mod rendezvous_client;
pub mod server_probe;

use futures::StreamExt;
use libp2p::{
    core::muxing::StreamMuxerBox,
    identify, kad, noise, ping, relay, rendezvous,
    swarm::SwarmEvent,
    swarm::{behaviour::toggle::Toggle, NetworkBehaviour},
    yamux, Multiaddr, Swarm, SwarmBuilder, Transport as _,
};
use peerfetch::{net::bootstrap::Bootstrap, net::prompt_ping, net::transport_kind::TransportKind};
use std::{
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};
use tokio::process::{Child, Command};

/// A running server process, killed when dropped.
pub struct ServerProcess {
    pub child: Child,
    /// The public HTTP listener.
    pub http: String,
    /// The admin HTTP listener (`/metrics`, `/origin-stats`).
    pub admin: String,
}

/// A fresh temporary directory for one test.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("peerfetch-it-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Arguments that bind everything to loopback on free ports, with `key_file`.
pub fn loopback_args(key_file: &Path) -> Vec<String> {
    [
        "--http",
        "127.0.0.1:0",
        "--admin-http",
        "127.0.0.1:0",
        "--listen",
        "/ip4/127.0.0.1/udp/0/webrtc-direct",
        "--listen",
        "/ip4/127.0.0.1/tcp/0/ws",
        "--key-file",
    ]
    .into_iter()
    .map(String::from)
    .chain([key_file.display().to_string()])
    .collect()
}

/// Starts the server binary and waits for it to print its URL.
pub async fn start_server(args: &[String]) -> ServerProcess {
    let binary = Path::new(env!("CARGO_BIN_EXE_peerfetch-server"));
    let (child, urls) = server_probe::spawn_server(binary, args, Stdio::null()).await;
    ServerProcess {
        child,
        http: urls.http,
        admin: urls.admin,
    }
}

impl ServerProcess {
    /// `GET /bootstrap`.
    pub async fn bootstrap(&self) -> Bootstrap {
        server_probe::bootstrap(&self.http).await
    }

    /// The value of the sample `name` (with its labels, as written) at the admin `GET /metrics`.
    pub async fn metric(&self, name: &str) -> f64 {
        let (value, text) = server_probe::metric(&self.admin, name).await;
        value.unwrap_or_else(|| panic!("no {name} in:\n{text}"))
    }

    /// The value of the counter sample `name` once it reads `expected`, or after 5 s: the server
    /// counts an event once its own loop has taken it, which may be after the client saw its
    /// effect (a refusal reaches the client before the server's loop counts it).
    pub async fn counter_reaching(&self, name: &str, expected: f64) -> f64 {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            let value = self.counter(name).await;
            if value == expected || tokio::time::Instant::now() >= deadline {
                return value;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The value of the counter sample `name` at the admin `GET /metrics`: 0 until it is
    /// first counted (a labelled sample appears then).
    pub async fn counter(&self, name: &str) -> f64 {
        server_probe::metric(&self.admin, name)
            .await
            .0
            .unwrap_or(0.0)
    }

    /// The first advertised address of `kind`.
    pub async fn addr(&self, kind: TransportKind) -> Multiaddr {
        self.bootstrap()
            .await
            .addrs
            .into_iter()
            .find(|a| TransportKind::of(a) == kind)
            .expect("server advertises this transport")
    }

    /// Stops the server with SIGTERM and waits for it to exit.
    pub async fn stop(mut self) {
        let pid = self.child.id().expect("running") as i32;
        std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .expect("kill runs");
        let status = tokio::time::timeout(Duration::from_secs(10), self.child.wait())
            .await
            .expect("server exits within 10 s after SIGTERM")
            .expect("wait works");
        assert!(status.success(), "graceful shutdown exits 0, got {status}");
    }
}

/// Asks for a WebSocket upgrade on `stream` (to `host`) and reads the answer's head; returns its
/// status line ("" when the server closed the connection instead).
pub async fn upgrade_to_websocket<S>(stream: &mut S, host: &str) -> String
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let request = format!(
        "GET / HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.expect("sent");
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 4096 {
        let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut byte))
            .await
            .expect("answered or closed within 5 s")
            .unwrap_or(0);
        if read == 0 {
            break;
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head);
    head.lines().next().unwrap_or_default().to_owned()
}

/// The header of a masked binary WebSocket frame whose payload would be `len` bytes; none of
/// it follows.
pub fn frame_header_claiming(len: u64) -> Vec<u8> {
    let mut header = vec![0x82, 0x80 | 127];
    header.extend_from_slice(&len.to_be_bytes());
    header.extend_from_slice(&[1, 2, 3, 4]); // the mask
    header
}

/// The IPv4 address and TCP port of an `/ip4/…/tcp/…` address.
pub fn tcp_socket_addr(addr: &Multiaddr) -> std::net::SocketAddr {
    socket_addr(addr, |p| match p {
        libp2p::multiaddr::Protocol::Tcp(port) => Some(port),
        _ => None,
    })
}

/// The IPv4 address and UDP port of an `/ip4/…/udp/…` address.
pub fn udp_socket_addr(addr: &Multiaddr) -> std::net::SocketAddr {
    socket_addr(addr, |p| match p {
        libp2p::multiaddr::Protocol::Udp(port) => Some(port),
        _ => None,
    })
}

fn socket_addr(
    addr: &Multiaddr,
    port: impl FnMut(libp2p::multiaddr::Protocol) -> Option<u16>,
) -> std::net::SocketAddr {
    let ip = addr.iter().find_map(|p| match p {
        libp2p::multiaddr::Protocol::Ip4(ip) => Some(ip),
        _ => None,
    });
    let port = addr.iter().find_map(port);
    (ip.expect("an IPv4 address"), port.expect("a port")).into()
}

/// Resident memory of process `pid`, MiB.
pub fn rss_mib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .expect("/proc readable")
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .expect("VmRSS")
        / 1024
}

/// Runs the server binary to completion (for flag errors) and returns (exit code, stderr).
pub async fn run_to_exit(args: &[&str]) -> (i32, String) {
    let output = tokio::time::timeout(
        Duration::from_secs(20),
        Command::new(env!("CARGO_BIN_EXE_peerfetch-server"))
            .args(args)
            .output(),
    )
    .await
    .expect("exits within 20 s")
    .expect("runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The native client's protocols, the same as a tab's.
#[derive(NetworkBehaviour)]
pub struct Client {
    pub relay: relay::client::Behaviour,
    pub identify: identify::Behaviour,
    pub ping: prompt_ping::Behaviour,
    pub rendezvous: rendezvous::client::Behaviour,
    /// Only for a client that claims to be a server: speaking the servers' Kademlia protocol
    /// makes identify list it.
    pub kad: Toggle<kad::Behaviour<kad::store::MemoryStore>>,
    /// Only for a client that claims to be a server: it answers other servers' DISCOVER (its
    /// `DiscoverServed` events tell whether the server asked it).
    pub rendezvous_point: Toggle<rendezvous::server::Behaviour>,
}

/// Creates the identity file `path` (as the server would on its first start) and returns its
/// peer id, so that servers can be told each other's ids before they start.
pub fn server_identity(path: &Path) -> libp2p::PeerId {
    peerfetch_server::identity_file::Identity::load_or_create(path)
        .expect("identity file")
        .keypair
        .public()
        .to_peer_id()
}

/// A native client that can dial WebSocket and WebRTC-direct addresses.
pub async fn client(ping_interval: Duration) -> Swarm<Client> {
    client_with(ping_interval, false).await
}

/// A client whose identify claims it is a server (it speaks the servers' Kademlia protocol).
pub async fn client_claiming_server(ping_interval: Duration) -> Swarm<Client> {
    client_with(ping_interval, true).await
}

async fn client_with(ping_interval: Duration, claims_server: bool) -> Swarm<Client> {
    SwarmBuilder::with_new_identity()
        .with_tokio()
        .with_other_transport(|key| {
            libp2p_webrtc::tokio::Transport::new(
                key.clone(),
                libp2p_webrtc::tokio::Certificate::generate(&mut rand::rng()).expect("certificate"),
            )
            .map(|(peer, conn), _| (peer, StreamMuxerBox::new(conn)))
        })
        .expect("webrtc transport")
        .with_dns()
        .expect("dns")
        .with_websocket(noise::Config::new, yamux::Config::default)
        .await
        .expect("websocket transport")
        .with_relay_client(noise::Config::new, yamux::Config::default)
        .expect("relay client")
        .with_behaviour(|key, relay| Client {
            relay,
            identify: identify::Behaviour::new(identify::Config::new(
                "/peerfetch/0.1.0".into(),
                key.public(),
            )),
            ping: prompt_ping::Behaviour::new(ping::Config::new().with_interval(ping_interval)),
            rendezvous: rendezvous::client::Behaviour::new(key.clone()),
            rendezvous_point: Toggle::from(claims_server.then(|| {
                rendezvous::server::Behaviour::new(rendezvous::server::Config::default())
            })),
            kad: Toggle::from(claims_server.then(|| {
                let local = key.public().to_peer_id();
                let config = kad::Config::new(peerfetch_server::discovery::KAD_PROTOCOL);
                let store = kad::store::MemoryStore::new(local);
                let mut kad = kad::Behaviour::with_config(local, store, config);
                kad.set_mode(Some(kad::Mode::Server));
                kad
            })),
        })
        .expect("behaviour")
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(60)))
        .build()
}

/// Dials `addr` from `client`; returns whether the connection came up within `limit`.
pub async fn dial(client: &mut Swarm<Client>, addr: &Multiaddr, limit: Duration) -> bool {
    client.dial(addr.clone()).expect("dial starts");
    until(client, limit, |event| match event {
        SwarmEvent::ConnectionEstablished { .. } => Some(true),
        SwarmEvent::OutgoingConnectionError { .. } => Some(false),
        _ => None,
    })
    .await
}

/// Drives `swarm` until `pick` returns `Some`, for at most `limit`.
pub async fn until<T>(
    swarm: &mut Swarm<Client>,
    limit: Duration,
    mut pick: impl FnMut(SwarmEvent<ClientEvent>) -> Option<T>,
) -> T {
    tokio::time::timeout(limit, async {
        loop {
            if let Some(found) = pick(swarm.select_next_some().await) {
                return found;
            }
        }
    })
    .await
    .expect("expected event within the limit")
}
