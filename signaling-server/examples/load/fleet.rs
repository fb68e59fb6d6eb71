//! A fleet of native rust-libp2p clients behaving like tabs towards one server: each connects
//! (over WebRTC-direct, WebSocket or WSS: whatever the server address says), reserves a relay slot, registers in a swarm, then on command opens a relayed
//! connection to another client (what a tab does before a `/webrtc` signaling exchange) or asks
//! who is in the swarm. A client that loses the server reconnects with exponential backoff and
//! full jitter (a random wait up to the current backoff, so that thousands of clients losing one
//! server do not all come back in the same instant) and reserves and registers again.

use crate::transport::client_transport;
use futures::{channel::oneshot, StreamExt};
use libp2p::{
    core::transport::ListenerId, identity::Keypair, multiaddr::Protocol, noise, ping, relay,
    rendezvous, swarm::NetworkBehaviour, swarm::SwarmEvent, yamux, Multiaddr, PeerId, Swarm,
    SwarmBuilder,
};
use peerfetch::net::{prompt_ping, transport_kind::TransportKind};
use std::collections::HashSet;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// The namespace every client registers in.
pub const SWARM: &str = "load";
/// Longest first wait before reconnecting; doubled per failure up to [`MAX_BACKOFF`]; each wait
/// is a random share of it.
const FIRST_BACKOFF: Duration = Duration::from_secs(2);
const MAX_BACKOFF: Duration = Duration::from_secs(8);
/// Bound on one step (connect, reserve, register, a relayed dial, a discovery).
const STEP: Duration = Duration::from_secs(30);
/// Clients starting their attach at once.
const ATTACH_CONCURRENCY: usize = 200;
/// Reports waiting for the driver; clients wait while it is full.
const MAX_QUEUED_REPORTS: usize = 1024;
/// Longest wait for the next client to attach (failed attempts do not count).
const ATTACH_REPORT_WITHIN: Duration = Duration::from_secs(60);

/// A tab's protocols towards the server.
#[derive(NetworkBehaviour)]
pub struct LoadClient {
    relay: relay::client::Behaviour,
    ping: prompt_ping::Behaviour,
    rendezvous: rendezvous::client::Behaviour,
}

/// What a client is asked to do.
pub enum Command {
    /// Open a relayed connection to this client; answers how long it took.
    Signal(PeerId, oneshot::Sender<Result<Duration, String>>),
    /// Ask the server who is in the swarm; answers how long it took.
    Discover(oneshot::Sender<Result<Duration, String>>),
}

/// What a client reports on its own.
#[derive(Debug)]
pub enum Report {
    /// Attached (connected, reserved, registered), after this many connection attempts.
    Attached {
        /// From the start of the attempt that succeeded (or of the first one) to registered.
        took: Duration,
        /// Connection attempts it took.
        attempts: u32,
    },
    /// Lost the server.
    Lost(PeerId),
    /// An attempt to attach failed (it tries again after a backoff).
    Failed(String),
}

/// How far a client attaches.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Attach {
    /// Only connects (the baseline server has nothing more to offer).
    Connect,
    /// Connects, reserves a relay slot and registers in [`SWARM`], like a tab.
    ReserveAndRegister,
}

/// A client as the fleet sees it.
pub struct Handle {
    /// Its peer id.
    pub peer: PeerId,
    /// Where to send it commands.
    pub commands: mpsc::Sender<Command>,
}

/// Starts one client task attached (as far as `how` says) to the server at `server` (an
/// address with `/p2p/<id>`; WSS trusting the certificate `trusted`); it reports to `reports`.
pub async fn spawn_client(
    server: Multiaddr,
    trusted: &[u8],
    how: Attach,
    reports: mpsc::Sender<Report>,
) -> Handle {
    let key = Keypair::generate_ed25519();
    let client = Client {
        key: key.clone(),
        trusted: trusted.to_vec(),
        server,
    };
    let swarm = client.swarm();
    let (commands, inbox) = mpsc::channel(16);
    tokio::spawn(run(client, swarm, how, inbox, reports));
    Handle {
        peer: key.public().to_peer_id(),
        commands,
    }
}

/// What a client is: its identity, the certificate it trusts, its server.
struct Client {
    key: Keypair,
    trusted: Vec<u8>,
    server: Multiaddr,
}

impl Client {
    /// A fresh swarm of this client, with a new UDP port for a WebRTC-direct server: after a
    /// failed attempt libp2p-webrtc's server-side UDP mux keeps dropping packets from the
    /// client's address, so a retry from the same port never gets through.
    fn swarm(&self) -> Swarm<LoadClient> {
        let mut swarm = SwarmBuilder::with_existing_identity(self.key.clone())
            .with_tokio()
            .with_other_transport(|key| client_transport(key, &self.trusted))
            .expect("client transports")
            .with_relay_client(noise::Config::new, yamux::Config::default)
            .expect("relay client")
            .with_behaviour(|key, relay| LoadClient {
                relay,
                ping: prompt_ping::Behaviour::new(
                    ping::Config::new().with_interval(Duration::from_secs(15)),
                ),
                rendezvous: rendezvous::client::Behaviour::new(key.clone()),
            })
            .expect("behaviour")
            // The fleet holds its connections however long attaching all of it takes.
            .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(3600)))
            .build();
        if TransportKind::of(&self.server) == TransportKind::WebRtcDirect {
            // A native WebRTC-direct dial goes out of the client's own UDP listener.
            swarm
                .listen_on("/ip4/127.0.0.1/udp/0/webrtc-direct".parse().expect("valid"))
                .expect("a UDP listener");
        }
        swarm
    }
}

/// Attaches `clients` clients to the server at `server` (WSS trusting `trusted`), at most
/// [`ATTACH_CONCURRENCY`] at once; returns them, where they report, and how long each took.
/// Panics if one loses the server meanwhile or no report comes for [`ATTACH_REPORT_WITHIN`].
pub async fn attach_fleet(
    server: &Multiaddr,
    trusted: &[u8],
    clients: usize,
    how: Attach,
) -> (Vec<Handle>, mpsc::Receiver<Report>, Vec<Duration>) {
    let (reports_tx, mut reports) = mpsc::channel(MAX_QUEUED_REPORTS);
    let mut fleet: Vec<Handle> = Vec::with_capacity(clients);
    let mut attach_times = Vec::new();
    let mut last_failure = None;
    let mut until = tokio::time::Instant::now() + ATTACH_REPORT_WITHIN;
    while attach_times.len() < clients {
        while fleet.len() < clients && fleet.len() < attach_times.len() + ATTACH_CONCURRENCY {
            fleet.push(spawn_client(server.clone(), trusted, how, reports_tx.clone()).await);
        }
        match tokio::time::timeout_at(until, reports.recv()).await {
            Ok(Some(Report::Attached { took, .. })) => {
                attach_times.push(took);
                until = tokio::time::Instant::now() + ATTACH_REPORT_WITHIN;
            }
            Ok(Some(Report::Lost(peer))) => panic!("client {peer} lost the server while attaching"),
            Ok(Some(Report::Failed(reason))) => last_failure = Some(reason),
            Ok(None) | Err(_) => panic!(
                "attaching stalled at {} clients; the last failure: {}",
                attach_times.len(),
                last_failure.as_deref().unwrap_or("none")
            ),
        }
    }
    (fleet, reports, attach_times)
}

/// How the fleet came back after its server restarted.
#[derive(Default)]
pub struct Comeback {
    /// Clients that reported losing the server.
    pub lost: HashSet<PeerId>,
    /// Connection attempts each client that came back took.
    pub attempts: Vec<u32>,
    /// When each came back (attached again), from the restart.
    pub back_at: Vec<Duration>,
    /// The longest single successful attach among them.
    pub longest_attach: Duration,
}

/// Reads `reports` until `clients` clients are attached again, or until none loses the server
/// or comes back for `quiet` (failed attempts do not count); times are from `restarted`.
pub async fn await_comeback(
    reports: &mut mpsc::Receiver<Report>,
    clients: usize,
    restarted: Instant,
    quiet: Duration,
) -> Comeback {
    let mut comeback = Comeback::default();
    let mut until = tokio::time::Instant::now() + quiet;
    while comeback.attempts.len() < clients {
        match tokio::time::timeout_at(until, reports.recv()).await {
            Ok(Some(Report::Lost(peer))) => {
                comeback.lost.insert(peer);
            }
            Ok(Some(Report::Attached { attempts, took })) => {
                comeback.attempts.push(attempts);
                comeback.back_at.push(restarted.elapsed());
                comeback.longest_attach = comeback.longest_attach.max(took);
            }
            Ok(Some(Report::Failed(_))) => continue,
            Ok(None) | Err(_) => break,
        }
        until = tokio::time::Instant::now() + quiet;
    }
    comeback
}

fn server_id(server: &Multiaddr) -> PeerId {
    match server.iter().last() {
        Some(Protocol::P2p(peer)) => peer,
        _ => panic!("the server address ends with /p2p/<id>"),
    }
}

async fn run(
    client: Client,
    mut swarm: Swarm<LoadClient>,
    how: Attach,
    mut inbox: mpsc::Receiver<Command>,
    reports: mpsc::Sender<Report>,
) {
    let server = client.server.clone();
    let server_peer = server_id(&server);
    let circuit = server.clone().with(Protocol::P2pCircuit);
    swarm.add_external_address(circuit.clone());
    let mut backoff = FIRST_BACKOFF;
    let mut attempts = 0;
    let mut started = Instant::now();
    loop {
        attempts += 1;
        let listener = match attach(&mut swarm, &server, &circuit, how).await {
            Ok(listener) => {
                let took = started.elapsed();
                let _ = reports.send(Report::Attached { took, attempts }).await;
                backoff = FIRST_BACKOFF;
                attempts = 0;
                listener
            }
            Err(reason) => {
                let _ = reports.send(Report::Failed(reason)).await;
                swarm = client.swarm();
                swarm.add_external_address(circuit.clone());
                tokio::time::sleep(backoff.mul_f64(rand::random::<f64>())).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
        };
        // Attached: serve commands until the server goes away.
        loop {
            tokio::select! {
                event = swarm.select_next_some() => {
                    if let SwarmEvent::ConnectionClosed { peer_id, num_established: 0, .. } = event {
                        if peer_id == server_peer {
                            let _ = reports.send(Report::Lost(*swarm.local_peer_id())).await;
                            if let Some(listener) = listener {
                                swarm.remove_listener(listener);
                            }
                            tokio::time::sleep(backoff.mul_f64(rand::random::<f64>())).await;
                            break;
                        }
                    }
                }
                command = inbox.recv() => match command {
                    Some(Command::Signal(target, reply)) => {
                        let _ = reply.send(signal(&mut swarm, &circuit, target).await);
                    }
                    Some(Command::Discover(reply)) => {
                        let _ = reply.send(discover(&mut swarm, server_peer).await);
                    }
                    None => return,
                },
            }
        }
        started = Instant::now();
    }
}

/// Connects, then (as `how` says) reserves a relay slot and registers in [`SWARM`]; returns
/// the reservation's listener.
async fn attach(
    swarm: &mut Swarm<LoadClient>,
    server: &Multiaddr,
    circuit: &Multiaddr,
    how: Attach,
) -> Result<Option<ListenerId>, String> {
    let server_peer = server_id(server);
    if how == Attach::Connect {
        swarm.dial(server.clone()).map_err(|e| e.to_string())?;
        step(swarm, |event| match event {
            SwarmEvent::ConnectionEstablished { peer_id, .. } if peer_id == server_peer => {
                Some(Ok(()))
            }
            SwarmEvent::OutgoingConnectionError { error, .. } => Some(Err(error.to_string())),
            _ => None,
        })
        .await?;
        return Ok(None);
    }
    // Listening on the relay dials it (one connection, one reservation).
    let listener = swarm
        .listen_on(circuit.clone())
        .map_err(|e| e.to_string())?;
    let result = step(swarm, |event| match event {
        SwarmEvent::Behaviour(LoadClientEvent::Relay(
            relay::client::Event::ReservationReqAccepted { .. },
        )) => Some(Ok(())),
        SwarmEvent::OutgoingConnectionError { error, .. } => Some(Err(error.to_string())),
        SwarmEvent::ListenerClosed { reason, .. } => {
            Some(Err(format!("reservation ended: {reason:?}")))
        }
        _ => None,
    })
    .await;
    if let Err(e) = result {
        swarm.remove_listener(listener);
        return Err(e);
    }
    let namespace = rendezvous::Namespace::from_static(SWARM);
    swarm
        .behaviour_mut()
        .rendezvous
        .register(namespace, server_peer, Some(120))
        .map_err(|e| e.to_string())?;
    step(swarm, |event| match event {
        SwarmEvent::Behaviour(LoadClientEvent::Rendezvous(
            rendezvous::client::Event::Registered { .. },
        )) => Some(Ok(())),
        SwarmEvent::Behaviour(LoadClientEvent::Rendezvous(
            rendezvous::client::Event::RegisterFailed { error, .. },
        )) => Some(Err(format!("registration refused: {error:?}"))),
        _ => None,
    })
    .await?;
    Ok(Some(listener))
}

/// Opens a relayed connection to `target` through the server and closes it again.
async fn signal(
    swarm: &mut Swarm<LoadClient>,
    circuit: &Multiaddr,
    target: PeerId,
) -> Result<Duration, String> {
    let started = Instant::now();
    swarm
        .dial(circuit.clone().with(Protocol::P2p(target)))
        .map_err(|e| e.to_string())?;
    let result = step(swarm, |event| match event {
        SwarmEvent::ConnectionEstablished { peer_id, .. } if peer_id == target => Some(Ok(())),
        SwarmEvent::OutgoingConnectionError {
            peer_id: Some(peer),
            error,
            ..
        } if peer == target => Some(Err(error.to_string())),
        _ => None,
    })
    .await;
    let took = started.elapsed();
    let _ = swarm.disconnect_peer_id(target);
    result.map(|()| took)
}

/// Asks the server who is in [`SWARM`].
async fn discover(swarm: &mut Swarm<LoadClient>, server: PeerId) -> Result<Duration, String> {
    let started = Instant::now();
    let namespace = rendezvous::Namespace::from_static(SWARM);
    swarm
        .behaviour_mut()
        .rendezvous
        .discover(Some(namespace), None, Some(20), server);
    step(swarm, |event| match event {
        SwarmEvent::Behaviour(LoadClientEvent::Rendezvous(
            rendezvous::client::Event::Discovered { .. },
        )) => Some(Ok(())),
        SwarmEvent::Behaviour(LoadClientEvent::Rendezvous(
            rendezvous::client::Event::DiscoverFailed { error, .. },
        )) => Some(Err(format!("discovery refused: {error:?}"))),
        _ => None,
    })
    .await?;
    Ok(started.elapsed())
}

/// Drives the swarm until `pick` answers, for at most [`STEP`].
async fn step(
    swarm: &mut Swarm<LoadClient>,
    mut pick: impl FnMut(SwarmEvent<LoadClientEvent>) -> Option<Result<(), String>>,
) -> Result<(), String> {
    let wait = async {
        loop {
            if let Some(answer) = pick(swarm.select_next_some().await) {
                return answer;
            }
        }
    };
    tokio::time::timeout(STEP, wait)
        .await
        .map_err(|_| format!("no answer within {STEP:?}"))?
}
