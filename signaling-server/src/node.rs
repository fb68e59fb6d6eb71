//! The server process: the libp2p swarm and the HTTP listener, bound together and run until a
//! shutdown signal.

use crate::{
    advertised::Advertised,
    behaviour::{ServerBehaviour, ServerBehaviourEvent, ServerSwarm},
    cli::Cli,
    discovery::{Discovery, Identify, Outcome},
    heap_handler::OnHeap,
    http,
    http_serve::{self, HttpLimits},
    identity_file::{Identity, IdentityFileError},
    metrics::{ServerMetrics, SharedRegistry},
    origin_bytes::SharedOriginBytes,
    relay_gate::SharedCircuitCaps,
    server_set::ServerSet,
};
use futures::StreamExt;
use libp2p::{
    core::{muxing::StreamMuxerBox, transport::ListenerId},
    kad,
    multiaddr::Protocol,
    noise, relay, request_response,
    swarm::SwarmEvent,
    yamux, Multiaddr, PeerId, SwarmBuilder, Transport as _,
};
use peerfetch::{
    net::bootstrap::Bootstrap, net::transport_kind::TransportKind, util::error_chain::error_chain,
};
use std::{collections::HashSet, future::Future, net::SocketAddr, sync::Arc, time::Duration};
use tokio::net::TcpListener;

/// How long `bind` waits for every libp2p listener to report its address.
const LISTEN_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the rendezvous point's timers (late answers, expiry) are looked at.
const DISCOVERY_TICK: Duration = Duration::from_millis(100);
/// How often `--peer` servers not connected are dialled again.
const REDIAL_PEERS: Duration = Duration::from_secs(10);
/// How often the sizes of the long-lived maps are read into the gauges.
const GAUGES_EVERY: Duration = Duration::from_secs(1);

/// Why the server could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The identity file could not be used.
    #[error(transparent)]
    Identity(#[from] IdentityFileError),
    /// A listen address names a transport the server does not offer.
    #[error("unsupported listen address {0}: use /ip4/<ip>/udp/<port>/webrtc-direct or /ip4/<ip>/tcp/<port>/ws")]
    UnsupportedListenAddr(Multiaddr),
    /// A libp2p listener could not be opened (address in use, not a local address, ...).
    #[error("cannot listen on {addr}: {reason}")]
    Listen {
        /// The address asked for.
        addr: Multiaddr,
        /// What the transport said.
        reason: String,
    },
    /// The HTTP listener could not be opened.
    #[error("cannot serve HTTP on {addr}: {source}")]
    Http {
        /// The address asked for.
        addr: SocketAddr,
        /// What the OS said.
        source: std::io::Error,
    },
    /// A `--peer` address does not end with the server's `/p2p/<peer id>`.
    #[error("--peer {0} names no peer id: give the server's address ending in /p2p/<peer id>")]
    PeerWithoutId(Multiaddr),
    /// The libp2p transports could not be built.
    #[error("cannot set up libp2p transports: {0}")]
    Transport(String),
}

/// A bound server: every listener is open, nothing is served until [`Server::run`].
pub struct Server {
    swarm: ServerSwarm,
    discovery: Discovery,
    peers: Vec<Multiaddr>,
    metrics: ServerMetrics,
    advertised: Arc<Advertised>,
    origin_bytes: SharedOriginBytes,
    circuits: SharedCircuitCaps,
    http_listener: TcpListener,
    http_router: axum::Router,
    admin_listener: TcpListener,
    admin_router: axum::Router,
    http_limits: HttpLimits,
}

impl Server {
    /// Loads (or creates) the identity, opens the libp2p listeners and the HTTP listener.
    pub async fn bind(cli: &Cli) -> Result<Self, ServerError> {
        if let Some(addr) = cli
            .peers
            .iter()
            .find(|addr| peerfetch::net::bootstrap::peer_of(addr).is_none())
        {
            return Err(ServerError::PeerWithoutId(addr.clone()));
        }
        let identity = Identity::load_or_create(&cli.key_file)?;
        let certhash = identity.certificate.fingerprint();
        let servers = network_servers(cli, identity.keypair.public().to_peer_id());
        let mut registry = prometheus_client::registry::Registry::default();
        let mut swarm = build_swarm(identity, cli, &servers, &mut registry).await?;
        let metrics = ServerMetrics::new(&mut registry);
        let registry: SharedRegistry = Arc::new(std::sync::Mutex::new(registry));
        let peer_id = *swarm.local_peer_id();
        let advertised = Arc::new(Advertised::new(
            peer_id,
            certhash,
            cli.external_addresses.clone(),
        ));
        listen_all(&mut swarm, &cli.listen, &advertised).await?;
        // The relay hands these to tabs in reservations; without any it would not serve.
        let external: Vec<Multiaddr> = advertised.bootstrap().addrs;
        for addr in external {
            swarm.add_external_address(addr);
        }
        let http_listener = bind_http(cli.http).await?;
        let admin_listener = bind_http(cli.admin_http).await?;
        let origin_bytes = SharedOriginBytes::default();
        let http_router = http::router(
            advertised.clone(),
            origin_bytes.clone(),
            &cli.www_dir,
            &cli.pkg_dir,
        );
        let admin_router = http::admin_router(registry, origin_bytes.clone());
        let discovery = Discovery::new(&cli.registrations, servers);
        let circuits = swarm.behaviour().relay.caps();
        Ok(Self {
            swarm,
            discovery,
            peers: cli.peers.clone(),
            metrics,
            advertised,
            origin_bytes,
            circuits,
            http_listener,
            http_router,
            admin_listener,
            admin_router,
            http_limits: cli.http_limits.to_limits(),
        })
    }

    /// The server's peer id.
    pub fn peer_id(&self) -> PeerId {
        *self.swarm.local_peer_id()
    }

    /// The bound HTTP address (the real port when 0 was asked for).
    pub fn http_addr(&self) -> SocketAddr {
        self.http_listener
            .local_addr()
            .expect("a bound TCP listener has a local address")
    }

    /// The bound admin HTTP address (`/metrics`, `/origin-stats`).
    pub fn admin_addr(&self) -> SocketAddr {
        self.admin_listener
            .local_addr()
            .expect("a bound TCP listener has a local address")
    }

    /// What `GET /bootstrap` serves.
    pub fn bootstrap(&self) -> Bootstrap {
        self.advertised.bootstrap()
    }

    /// Serves libp2p and HTTP until `shutdown` completes, then closes both.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<(), ServerError> {
        let Self {
            mut swarm,
            mut discovery,
            peers,
            mut metrics,
            advertised,
            origin_bytes,
            circuits,
            http_listener,
            http_router,
            admin_listener,
            admin_router,
            http_limits,
        } = self;
        let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
        let serve = |listener, router, gauges| {
            tokio::spawn(http_serve::serve(
                listener,
                router,
                http_limits,
                gauges,
                stop_rx.clone(),
            ))
        };
        let http = [
            serve(http_listener, http_router, metrics.http_gauges("public")),
            serve(admin_listener, admin_router, metrics.http_gauges("admin")),
        ];
        let libp2p = tokio::spawn(async move {
            let mut tick = tokio::time::interval(DISCOVERY_TICK);
            let mut redial = tokio::time::interval(REDIAL_PEERS);
            let mut gauges = tokio::time::interval(GAUGES_EVERY);
            loop {
                tokio::select! {
                    event = swarm.select_next_some() => {
                        metrics.record(&event);
                        let node = Node { swarm: &mut swarm, discovery: &mut discovery, metrics: &mut metrics };
                        node.on_swarm_event(event, &advertised);
                    }
                    _ = tick.tick() => {
                        discovery.tick(&mut swarm);
                        metrics.set_registrations(discovery.registrations(), discovery.servers());
                    }
                    _ = redial.tick() => dial_peers(&mut swarm, &peers),
                    _ = gauges.tick() => {
                        let sizes = map_sizes(&mut swarm, &discovery, &advertised, &origin_bytes, &circuits);
                        metrics.set_sizes(&sizes);
                    }
                    _ = stop_rx.wait_for(|stop| *stop) => break,
                }
            }
        });
        shutdown.await;
        tracing::info!("shutting down");
        let _ = stop_tx.send(true);
        let _ = libp2p.await;
        for served in http {
            if let Err(e) = served.await {
                tracing::warn!("HTTP server ended with an error: {e}");
            }
        }
        Ok(())
    }
}

async fn bind_http(addr: SocketAddr) -> Result<TcpListener, ServerError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| ServerError::Http { addr, source })
}

/// The other servers of the network: `--network-peer-id` and the ids of `--peer` addresses.
fn network_servers(cli: &Cli, local: PeerId) -> ServerSet {
    let of_peers = cli
        .peers
        .iter()
        .filter_map(peerfetch::net::bootstrap::peer_of);
    ServerSet::new(cli.network_peer_ids.iter().copied().chain(of_peers), local)
}

/// The size of every long-lived map the server holds, by name.
fn map_sizes(
    swarm: &mut ServerSwarm,
    discovery: &Discovery,
    advertised: &Advertised,
    origin_bytes: &SharedOriginBytes,
    circuits: &SharedCircuitCaps,
) -> Vec<(&'static str, usize)> {
    let mut sizes = discovery.sizes();
    let info = swarm.network_info();
    let counters = info.connection_counters();
    sizes.extend([
        ("peers_connected", info.num_peers()),
        (
            "connections_established",
            counters.num_established() as usize,
        ),
        ("connections_pending", counters.num_pending() as usize),
        ("servers_listed", advertised.servers_listed()),
        (
            "origin_stats_files",
            crate::origin_bytes::files(origin_bytes),
        ),
    ]);
    {
        let mut circuits = circuits
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        circuits.expire(std::time::Instant::now());
        sizes.extend([
            ("relay_circuits", circuits.open()),
            ("relay_circuit_destinations", circuits.destinations()),
            ("relay_circuit_destination_addresses", circuits.addresses()),
        ]);
    }
    let behaviour = swarm.behaviour_mut();
    let (addresses, connections) = behaviour.ip_limits.sizes();
    sizes.extend([
        ("ip_limit_addresses", addresses),
        ("ip_limit_connections", connections),
        ("ip_limit_pending", behaviour.ip_limits.pending()),
        ("kad_connections", behaviour.kad.connections()),
        (
            "kad_routing_peers",
            behaviour.kad.kbuckets().map(|b| b.num_entries()).sum(),
        ),
        (
            "kad_provided_keys",
            kad::store::RecordStore::provided(behaviour.kad.store_mut()).count(),
        ),
    ]);
    sizes
}

async fn build_swarm(
    identity: Identity,
    cli: &Cli,
    servers: &ServerSet,
    registry: &mut prometheus_client::registry::Registry,
) -> Result<ServerSwarm, ServerError> {
    let transport_err = |e: &dyn std::fmt::Display| ServerError::Transport(e.to_string());
    let Identity {
        keypair,
        certificate,
    } = identity;
    let swarm = SwarmBuilder::with_existing_identity(keypair)
        .with_tokio()
        .with_other_transport(|key| {
            libp2p_webrtc::tokio::Transport::new(key.clone(), certificate)
                .map(|(peer, conn), _| (peer, StreamMuxerBox::new(conn)))
        })
        .map_err(|e| transport_err(&e))?
        .with_dns()
        .map_err(|e| transport_err(&e))?
        .with_websocket(noise::Config::new, yamux::Config::default)
        .await
        .map_err(|e| transport_err(&e))?
        .with_bandwidth_metrics(registry)
        .with_behaviour(|key| {
            OnHeap(ServerBehaviour::new(
                key,
                &cli.relay,
                &cli.registrations,
                &cli.connections,
                servers.allowed().clone(),
            ))
        })
        .map_err(|e| transport_err(&e))?
        .with_swarm_config(|c| {
            c.with_idle_connection_timeout(Duration::from_secs(cli.idle_timeout_secs))
        })
        .build();
    Ok(swarm)
}

/// Opens each listen address and waits until each has reported its bound address.
async fn listen_all(
    swarm: &mut ServerSwarm,
    addrs: &[Multiaddr],
    advertised: &Advertised,
) -> Result<(), ServerError> {
    let mut pending: HashSet<ListenerId> = HashSet::new();
    let mut asked: Vec<(ListenerId, Multiaddr)> = Vec::new();
    for addr in addrs {
        if !matches!(
            TransportKind::of(addr),
            TransportKind::WebRtcDirect | TransportKind::WebSocket
        ) || addr.iter().any(|p| matches!(p, Protocol::P2p(_)))
        {
            return Err(ServerError::UnsupportedListenAddr(addr.clone()));
        }
        let id = swarm
            .listen_on(addr.clone())
            .map_err(|e| ServerError::Listen {
                addr: addr.clone(),
                reason: error_chain(&e),
            })?;
        pending.insert(id);
        asked.push((id, addr.clone()));
    }
    let asked_for = |id: ListenerId| {
        asked
            .iter()
            .find(|(i, _)| *i == id)
            .map(|(_, a)| a.clone())
            .expect("listener ids come from our own listen_on calls")
    };
    let wait = async {
        while !pending.is_empty() {
            match swarm.select_next_some().await {
                SwarmEvent::NewListenAddr {
                    listener_id,
                    address,
                } => {
                    pending.remove(&listener_id);
                    advertised.add_listen_addr(address);
                }
                SwarmEvent::ListenerClosed {
                    listener_id,
                    reason,
                    ..
                } => {
                    return Err(ServerError::Listen {
                        addr: asked_for(listener_id),
                        reason: match reason {
                            Ok(()) => "listener closed".to_owned(),
                            Err(e) => error_chain(&e),
                        },
                    })
                }
                SwarmEvent::ListenerError { listener_id, error } => {
                    return Err(ServerError::Listen {
                        addr: asked_for(listener_id),
                        reason: error_chain(&error),
                    })
                }
                _ => {}
            }
        }
        Ok(())
    };
    match tokio::time::timeout(LISTEN_TIMEOUT, wait).await {
        Ok(result) => result,
        Err(_) => Err(ServerError::Listen {
            addr: addrs[0].clone(),
            reason: "no address reported in time".to_owned(),
        }),
    }
}

/// Dials each `--peer` server this server is not connected to.
fn dial_peers(swarm: &mut ServerSwarm, peers: &[Multiaddr]) {
    for addr in peers {
        let Some(peer) = peerfetch::net::bootstrap::peer_of(addr) else {
            continue; // refused at bind
        };
        if swarm.is_connected(&peer) {
            continue;
        }
        swarm.behaviour_mut().kad.add_address(&peer, addr.clone());
        if let Err(e) = swarm.dial(addr.clone()) {
            tracing::info!(%addr, "cannot dial server: {}", error_chain(&e));
        }
    }
}

/// What the swarm's events act on.
struct Node<'a> {
    swarm: &'a mut ServerSwarm,
    discovery: &'a mut Discovery,
    metrics: &'a mut ServerMetrics,
}

impl Node<'_> {
    fn on_swarm_event(self, event: SwarmEvent<ServerBehaviourEvent>, advertised: &Advertised) {
        match event {
            SwarmEvent::NewListenAddr { address, .. } => {
                tracing::info!(%address, "listening");
                advertised.add_listen_addr(address);
            }
            SwarmEvent::ExpiredListenAddr { address, .. } => {
                advertised.remove_listen_addr(&address)
            }
            SwarmEvent::ConnectionEstablished {
                peer_id, endpoint, ..
            } => {
                let transport = TransportKind::of(endpoint.get_remote_address());
                tracing::debug!(%peer_id, %transport, "connection established");
                self.discovery.on_connected(peer_id);
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                cause,
                num_established,
                ..
            } => {
                tracing::debug!(%peer_id, ?cause, "connection closed");
                if self.discovery.on_disconnected(peer_id, num_established) {
                    advertised.remove_server(peer_id);
                }
            }
            SwarmEvent::Behaviour(ServerBehaviourEvent::Relay(event)) => on_relay_event(event),
            SwarmEvent::Behaviour(ServerBehaviourEvent::Rendezvous(
                request_response::Event::Message {
                    peer,
                    connection_id,
                    message:
                        request_response::Message::Request {
                            request, channel, ..
                        },
                },
            )) => {
                let outcome =
                    self.discovery
                        .on_request(self.swarm, peer, connection_id, request, channel);
                self.metrics.record_rendezvous(&outcome);
                self.metrics
                    .set_registrations(self.discovery.registrations(), self.discovery.servers());
                if outcome != Outcome::Discovering {
                    tracing::trace!(%peer, ?outcome, "rendezvous");
                }
            }
            SwarmEvent::Behaviour(ServerBehaviourEvent::Kad(event)) => {
                self.discovery.on_kad(self.swarm, event)
            }
            SwarmEvent::Behaviour(ServerBehaviourEvent::Federation(event)) => {
                self.discovery.on_federation(self.swarm, event)
            }
            SwarmEvent::Behaviour(ServerBehaviourEvent::Identify(event)) => {
                match self.discovery.on_identify(self.swarm, &event) {
                    Identify::Server(server, addrs) => advertised.add_server(server, addrs),
                    Identify::Impostor => self
                        .metrics
                        .refuse("server", "not in the network".to_owned()),
                    Identify::Other => {}
                }
            }
            SwarmEvent::IncomingConnectionError {
                error: libp2p::swarm::ListenError::Denied { cause },
                send_back_addr,
                ..
            } => {
                tracing::info!(from = %send_back_addr, "connection denied: {cause}");
            }
            SwarmEvent::IncomingConnectionError { error, .. } => {
                tracing::debug!("incoming connection failed: {}", error_chain(&error));
            }
            _ => {}
        }
    }
}

fn on_relay_event(event: relay::Event) {
    match event {
        relay::Event::ReservationReqAccepted {
            src_peer_id,
            renewed,
        } => {
            tracing::info!(peer_id = %src_peer_id, renewed, "relay reservation accepted");
        }
        relay::Event::ReservationReqDenied { src_peer_id, .. } => {
            tracing::info!(peer_id = %src_peer_id, "relay reservation denied: limit reached");
        }
        relay::Event::CircuitReqAccepted {
            src_peer_id,
            dst_peer_id,
        } => {
            // Who talks to whom is the users' business: not logged at the default level.
            tracing::debug!(src = %src_peer_id, dst = %dst_peer_id, "relay circuit opened");
        }
        relay::Event::CircuitReqDenied {
            src_peer_id,
            dst_peer_id,
            ..
        } => {
            tracing::debug!(src = %src_peer_id, dst = %dst_peer_id, "relay circuit denied");
        }
        other => tracing::debug!(?other, "relay"),
    }
}
