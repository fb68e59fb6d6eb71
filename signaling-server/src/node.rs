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
    stun_server,
    tls::{ReloadableCert, TlsError},
    turn_credentials::{TurnConfigError, TurnCredentials},
    websocket::{plain_websocket, SecureWebSocket},
};
use futures::StreamExt;
use libp2p::{
    core::{
        muxing::StreamMuxerBox,
        transport::{ListenerId, OptionalTransport},
        upgrade::Version,
    },
    kad,
    multiaddr::Protocol,
    noise, relay, request_response,
    swarm::SwarmEvent,
    yamux, Multiaddr, PeerId, SwarmBuilder, Transport as _,
};
use peerfetch::{
    net::bootstrap::{is_secure_websocket, Bootstrap},
    net::transport_kind::TransportKind,
    util::error_chain::error_chain,
};
use std::{collections::HashSet, future::Future, net::SocketAddr, sync::Arc, time::Duration};
use tokio::net::{TcpListener, UdpSocket};

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
    #[error(
        "unsupported listen address {0}: use /ip4/<ip>/udp/<port>/webrtc-direct, \
         /ip4/<ip>/tcp/<port>/ws or /ip4/<ip>/tcp/<port>/tls/ws"
    )]
    UnsupportedListenAddr(Multiaddr),
    /// A `/tls/ws` listen address without a certificate to present.
    #[error("listen address {0} needs --tls-cert and --tls-key")]
    SecureWebSocketWithoutCert(Multiaddr),
    /// A libp2p listener could not be opened (address in use, not a local address, ...).
    #[error("cannot listen on {addr}: {reason}")]
    Listen {
        /// The address asked for.
        addr: Multiaddr,
        /// What the transport said.
        reason: String,
    },
    /// The STUN socket could not be opened.
    #[error(
        "cannot answer STUN on {addr}: {source} (--stun-listen picks another address; \
         none leaves STUN to another server, e.g. coturn)"
    )]
    Stun {
        /// The address asked for.
        addr: SocketAddr,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The TLS flags or files cannot be used.
    #[error("HTTPS: {0}")]
    Tls(#[from] TlsError),
    /// A signal handler could not be installed.
    #[error("cannot listen for SIGHUP: {0}")]
    Signal(std::io::Error),
    /// The TURN flags cannot be used.
    #[error(transparent)]
    Turn(#[from] TurnConfigError),
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
    stun: Option<(UdpSocket, u16)>,
    turn: Option<TurnCredentials>,
    tls: Option<ServedCert>,
}

/// The certificate HTTPS serves, and the signal that has it read again.
struct ServedCert {
    cert: Arc<ReloadableCert>,
    #[cfg(unix)]
    reload: tokio::signal::unix::Signal,
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
        let turn = TurnCredentials::from_flags(
            &cli.turn_urls,
            cli.turn_secret_file.as_deref(),
            Duration::from_secs(cli.turn_credential_ttl_secs),
        )?;
        let tls = match ReloadableCert::from_flags(cli.tls_cert.as_deref(), cli.tls_key.as_deref())?
        {
            None => None,
            Some(cert) => Some(ServedCert {
                cert,
                // Listened for from now on: a SIGHUP after the banner reloads, never kills.
                #[cfg(unix)]
                reload: tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
                    .map_err(ServerError::Signal)?,
            }),
        };
        if let (None, Some(addr)) = (&tls, cli.listen.iter().find(|a| is_secure_websocket(a))) {
            return Err(ServerError::SecureWebSocketWithoutCert(addr.clone()));
        }
        let identity = Identity::load_or_create(&cli.key_file)?;
        let certhash = identity.certificate.fingerprint();
        let servers = network_servers(cli, identity.keypair.public().to_peer_id());
        let mut registry = prometheus_client::registry::Registry::default();
        let cert = tls.as_ref().map(|served| &served.cert);
        let mut swarm = build_swarm(identity, cli, cert, &servers, &mut registry).await?;
        let metrics = ServerMetrics::new(&mut registry);
        let registry: SharedRegistry = Arc::new(std::sync::Mutex::new(registry));
        let peer_id = *swarm.local_peer_id();
        let stun = bind_stun(cli.stun_listen.resolve(&cli.listen)).await?;
        let stun_port = stun.as_ref().map(|(_, port)| *port);
        let advertised = Arc::new(Advertised::new(
            peer_id,
            certhash,
            cli.external_addresses.clone(),
            stun_port,
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
            &cli.allow_origins,
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
            stun,
            turn,
            tls,
        })
    }

    /// The public listener's URL: `https://` with `--tls-cert`, else `http://`.
    pub fn http_url(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", self.http_addr())
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
            stun,
            turn,
            tls,
        } = self;
        let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
        let serve = |listener, router, gauges, tls| {
            tokio::spawn(http_serve::serve(
                listener,
                router,
                http_limits,
                gauges,
                tls,
                stop_rx.clone(),
            ))
        };
        if let Some((socket, _)) = stun {
            tokio::spawn(stun_server::serve(socket, stop_rx.clone()));
        }
        let public_tls = tls.as_ref().map(|served| served.cert.acceptor());
        let http = [
            serve(
                http_listener,
                http_router,
                metrics.http_gauges("public"),
                public_tls,
            ),
            serve(
                admin_listener,
                admin_router,
                metrics.http_gauges("admin"),
                None,
            ),
        ];
        if let Some(served) = tls {
            tokio::spawn(reload_on_hangup(served, stop_rx.clone()));
        }
        let libp2p = tokio::spawn(async move {
            let mut tick = tokio::time::interval(DISCOVERY_TICK);
            let mut redial = tokio::time::interval(REDIAL_PEERS);
            let mut gauges = tokio::time::interval(GAUGES_EVERY);
            loop {
                tokio::select! {
                    event = swarm.select_next_some() => {
                        metrics.record(&event);
                        let node = Node { swarm: &mut swarm, discovery: &mut discovery, metrics: &mut metrics, turn: turn.as_ref() };
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

/// Reads the certificate again on every SIGHUP until `stop` turns true.
async fn reload_on_hangup(served: ServedCert, mut stop: tokio::sync::watch::Receiver<bool>) {
    #[cfg(unix)]
    {
        let ServedCert { cert, mut reload } = served;
        let stopped = async move {
            let _ = stop.wait_for(|stop| *stop).await;
        };
        tokio::pin!(stopped);
        loop {
            tokio::select! {
                Some(()) = reload.recv() => match cert.reload() {
                    Ok(()) => tracing::info!("TLS certificate read again"),
                    Err(e) => tracing::error!("TLS certificate kept, the new one cannot be used: {e}"),
                },
                () = &mut stopped => return,
            }
        }
    }
    #[cfg(not(unix))]
    let _ = (served, stop);
}

/// The STUN socket and its port, if STUN is on.
async fn bind_stun(addr: Option<SocketAddr>) -> Result<Option<(UdpSocket, u16)>, ServerError> {
    let Some(addr) = addr else { return Ok(None) };
    let bound = async {
        let socket = UdpSocket::bind(addr).await?;
        let port = socket.local_addr()?.port();
        Ok((socket, port))
    };
    bound
        .await
        .map(Some)
        .map_err(|source| ServerError::Stun { addr, source })
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
    cert: Option<&Arc<ReloadableCert>>,
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
        .with_other_transport(|key| {
            let wss = match cert {
                Some(cert) => OptionalTransport::some(SecureWebSocket::new(cert)),
                None => OptionalTransport::none(),
            };
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(
                plain_websocket()
                    .or_transport(wss)
                    .upgrade(Version::V1Lazy)
                    .authenticate(noise::Config::new(key)?)
                    .multiplex(yamux::Config::default()),
            )
        })
        .map_err(|e| transport_err(&e))?
        .with_dns()
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
    turn: Option<&'a TurnCredentials>,
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
            SwarmEvent::Behaviour(ServerBehaviourEvent::Ice(
                request_response::Event::Message {
                    peer,
                    message: request_response::Message::Request { channel, .. },
                    ..
                },
            )) => {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap_or_default()
                    .as_secs();
                let stun = advertised.bootstrap().ice_servers;
                let offer = TurnCredentials::offer(self.turn, stun, peer, now);
                // Fails only when the tab gave up waiting; nothing to do then.
                let _ = self.swarm.behaviour_mut().ice.send_response(channel, offer);
                tracing::debug!(%peer, turn = self.turn.is_some(), "ICE servers told");
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
