//! The tab's libp2p swarm and how its events update [`TabState`] and reach the page.

use crate::browser::js::events::dispatch;
use crate::browser::node::answers::Answers;
use crate::browser::node::behaviour::{TabBehaviour, TabBehaviourEvent};
use crate::browser::node::command::{Command, DialWaiter, ProvidersReply};
use crate::browser::node::ice_config::{IceAnswer, IceConfig};
use crate::browser::node::tab_state::TabState;
use crate::browser::transport::webrtc::WebRtcTransport;
use crate::browser::transport::webrtc_direct::WebRtcDirectTransport;
use crate::browser::transport::websocket::Rechecked;
use crate::net::bootstrap::Bootstrap;
use crate::net::direct_dial::DirectDials;
use crate::net::direct_streams::{self, IncomingStreams};
use crate::net::home::Home;
use crate::net::ice_renewal::IceRenewal;
use crate::net::membership::Membership;
use crate::net::neighbour_links;
use crate::net::providers::ProviderRecords;
use crate::net::relay_book::RelayBook;
use crate::net::transport_kind::TransportKind;
use futures::{channel::mpsc, StreamExt};
use libp2p::core::transport::ListenerId;
use libp2p::{
    core::{muxing::StreamMuxerBox, upgrade::Version, ConnectedPoint},
    noise, ping, relay,
    swarm::{StreamProtocol, SwarmEvent},
    websocket_websys, yamux, Multiaddr, Swarm, SwarmBuilder, Transport as _,
};
use libp2p_stream::Control;
use serde_json::json;
use std::{cell::RefCell, rc::Rc, time::Duration};
use web_sys::{EventTarget, RtcConfiguration};

/// Connections with nothing open on them are closed after this long.
const IDLE_CONNECTION_TIMEOUT: Duration = Duration::from_secs(60);

/// A swarm plus the state and event target it reports to.
pub(crate) struct TabNode {
    pub(crate) swarm: Swarm<TabBehaviour>,
    pub(crate) control: Control,
    pub(crate) state: Rc<RefCell<TabState>>,
    pub(crate) events: EventTarget,
    /// The address the server was reached at, once joined.
    pub(crate) server_addr: Option<Multiaddr>,
    pub(crate) direct_dials: DirectDials<DialWaiter>,
    /// Which server relays to tabs attached elsewhere.
    pub(crate) relays: RelayBook,
    /// The server the page joined through, asked for the network's servers again.
    pub(crate) bootstrap_url: String,
    /// Its answers: the bootstrap document asked for again.
    pub(crate) network_answers: Answers<Bootstrap>,
    pub(crate) membership: Membership,
    pub(crate) providers: ProviderRecords<ProvidersReply>,
    /// The home server and the others to move to.
    pub(crate) home: Home,
    /// Bounds on attaching to a server.
    pub(crate) timeouts: AttachTimeouts,
    /// The listeners (relay reservation, WebRTC) held at the home server.
    pub(crate) listeners: Vec<ListenerId>,
    /// When to ask the home server for the ICE servers it offers.
    pub(crate) ice_renewal: IceRenewal,
    /// The configuration of new browser-to-browser peer connections.
    pub(crate) ice: IceConfig,
    /// The home server's answers about its ICE servers.
    pub(crate) ice_answers: Answers<IceAnswer>,
}

/// Swarm streams (`/peerfetch/swarm/1`): opened and accepted on direct links only, since they
/// carry resources and a relay must not.
pub(crate) struct SwarmStreams {
    pub(crate) control: direct_streams::Control,
    pub(crate) incoming: IncomingStreams,
}

/// Whether a connection is a direct browser-to-browser link.
fn is_direct(endpoint: &ConnectedPoint) -> bool {
    TransportKind::of_endpoint(endpoint) == TransportKind::WebRtc
}

/// Bounds on attaching to a server.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AttachTimeouts {
    /// Reaching one server over one transport.
    pub(crate) dial: Duration,
    /// Each later step (the relay reservation).
    pub(crate) step: Duration,
}

/// Builds a swarm with a fresh identity, the WebRTC-direct, browser-to-browser WebRTC and
/// WebSocket transports, and the relay client. Returns it with the control of its streams and
/// its swarm streams.
pub(crate) fn build_swarm(
    ping_interval: Duration,
    rtc_config: RtcConfiguration,
    connect_timeout: Duration,
) -> Result<(Swarm<TabBehaviour>, Control, SwarmStreams), String> {
    let keypair = libp2p::identity::Keypair::generate_ed25519();
    let (relay_transport, relay) = relay::client::new(keypair.public().to_peer_id());
    let streams = libp2p_stream::Behaviour::new();
    let control = streams.new_control();
    let signaling = control.clone();
    let swarm_protocol = StreamProtocol::new(crate::wire::protocols::SWARM);
    let (swarm_streams, swarm_control, incoming) =
        direct_streams::Behaviour::new(swarm_protocol, is_direct);
    let swarm = SwarmBuilder::with_existing_identity(keypair)
        .with_wasm_bindgen()
        // `/p2p-circuit/webrtc` addresses must reach our WebRTC transport before the relay
        // transport, which would take them for plain circuits: both sit in one `OrTransport`,
        // WebRTC first (the builder's `with_relay_client` would put the relay first).
        .with_other_transport(move |key| {
            let webrtc = WebRtcTransport::new(signaling, rtc_config, connect_timeout)
                .map(|(peer, connection), _| (peer, StreamMuxerBox::new(connection)));
            let relayed = relay_transport
                .upgrade(Version::V1Lazy)
                .authenticate(noise::Config::new(key)?)
                .multiplex(yamux::Config::default())
                .map(|(peer, muxer), _| (peer, StreamMuxerBox::new(muxer)));
            Ok(webrtc
                .or_transport(relayed)
                .map(|either, _| either.into_inner()))
        })
        .map_err(|e| e.to_string())?
        .with_other_transport(|key| {
            WebRtcDirectTransport::new(key)
                .map(|(peer, connection), _| (peer, StreamMuxerBox::new(connection)))
        })
        .map_err(|e| e.to_string())?
        .with_other_transport(|key| {
            let websocket = websocket_websys::Transport::default()
                .upgrade(Version::V1Lazy)
                .authenticate(noise::Config::new(key)?)
                .multiplex(yamux::Config::default())
                .map(|(peer, muxer), _| (peer, StreamMuxerBox::new(muxer)));
            Ok(Rechecked(websocket))
        })
        .map_err(|e| e.to_string())?
        .with_behaviour(|key| {
            let neighbours = neighbour_links::Behaviour::new(is_direct);
            TabBehaviour::new(
                key,
                relay,
                streams,
                swarm_streams,
                neighbours,
                ping_interval,
            )
        })
        .map_err(|e| e.to_string())?
        .with_swarm_config(|c| c.with_idle_connection_timeout(IDLE_CONNECTION_TIMEOUT))
        // The swarm's own dial timeout (10 s by default) must not cut a WebRTC negotiation
        // short: ours ends first, with an error that says which step failed.
        .with_connection_timeout(connect_timeout + Duration::from_secs(5))
        .build();
    let swarm_streams = SwarmStreams {
        control: swarm_control,
        incoming,
    };
    Ok((swarm, control, swarm_streams))
}

impl TabNode {
    /// Feeds `event` to every part of the tab that follows the swarm.
    pub(crate) fn handle(&mut self, event: &SwarmEvent<TabBehaviourEvent>) {
        self.observe(event);
        self.learn_relays(event);
        self.advance_direct_dials(event);
        self.observe_membership(event);
        self.observe_providers(event);
    }

    /// Records `event` in the state and tells the page about it.
    pub(crate) fn observe(&self, event: &SwarmEvent<TabBehaviourEvent>) {
        let mut state = self.state.borrow_mut();
        match event {
            SwarmEvent::ConnectionEstablished {
                peer_id,
                connection_id,
                endpoint,
                ..
            } => {
                let transport = TransportKind::of_endpoint(endpoint);
                let path = (transport == TransportKind::WebRtc)
                    .then(|| crate::browser::transport::rtc::path_to(peer_id))
                    .flatten();
                let info = state.opened(
                    *connection_id,
                    *peer_id,
                    transport,
                    endpoint.is_dialer(),
                    path,
                );
                tracing::info!(peer = %peer_id, %transport, "connection established");
                drop(state);
                dispatch(&self.events, "connection", &info);
            }
            SwarmEvent::ConnectionClosed {
                connection_id,
                cause,
                ..
            } => {
                if let Some(info) = state.closed_connection(*connection_id) {
                    tracing::info!(peer = %info.peer, ?cause, "connection closed");
                    drop(state);
                    dispatch(&self.events, "disconnection", &info);
                }
            }
            SwarmEvent::Behaviour(TabBehaviourEvent::Ping(ping::Event {
                peer, result, ..
            })) => match result {
                Ok(rtt) => {
                    // `stats()` summarises the server link; events report every peer.
                    if *peer == state.server {
                        state.server_rtt.record(*rtt);
                    }
                    drop(state);
                    let detail =
                        json!({ "peer": peer.to_string(), "rttMs": rtt.as_secs_f64() * 1000.0 });
                    dispatch(&self.events, "ping", &detail);
                }
                Err(e) => {
                    state.ping_failures += 1;
                    tracing::debug!(%peer, "ping failed: {e}");
                }
            },
            SwarmEvent::Behaviour(TabBehaviourEvent::Relay(
                relay::client::Event::ReservationReqAccepted { relay_peer_id, .. },
            )) => {
                state.reservation = true;
                drop(state);
                dispatch(
                    &self.events,
                    "reservation",
                    &json!({ "relay": relay_peer_id.to_string() }),
                );
            }
            SwarmEvent::ListenerClosed { .. } => state.reservation = false,
            _ => {}
        }
    }

    /// Runs the swarm until a [`Command::Close`] arrives or the `Peer` is dropped.
    pub(crate) async fn run(mut self, mut commands: mpsc::Receiver<Command>) {
        let mut ticks = gloo_timers::future::IntervalStream::new(1000).fuse();
        self.drive_membership();
        self.ask_ice_servers_if_due(crate::browser::js::clock::now());
        loop {
            // Wakes when the next duplicate link's grace is over (never, if there is none).
            let duplicates_due = self.direct_dials.next_duplicate_due().map(|at| {
                let wait = at.saturating_sub(crate::browser::js::clock::now());
                u32::try_from(wait.as_millis()).unwrap_or(u32::MAX)
            });
            let duplicates_due = futures::FutureExt::fuse(async move {
                match duplicates_due {
                    Some(ms) => gloo_timers::future::TimeoutFuture::new(ms).await,
                    None => futures::future::pending().await,
                }
            });
            futures::pin_mut!(duplicates_due);
            futures::select! {
                event = self.swarm.select_next_some() => self.handle(&event),
                () = duplicates_due => self.close_duplicates(),
                answer = self.ice_answers.received.next() => if let Some(answer) = answer {
                    self.on_ice_answer(crate::browser::js::clock::now(), answer);
                },
                document = self.network_answers.received.next() => if let Some(document) = document {
                    self.on_network(document);
                },
                command = commands.next() => match command {
                    Some(Command::Connect(peer, reply)) => {
                        self.connect(peer, DialWaiter::Page(reply));
                    }
                    Some(Command::Provide(id)) => self.provide(&id),
                    Some(Command::Unprovide(id)) => self.unprovide(&id),
                    Some(Command::FindProviders(id, reply)) => self.find_providers(&id, reply),
                    Some(Command::Close) | None => break,
                },
                _ = ticks.next() => {
                    self.keep_home().await;
                    self.drive_membership();
                    self.renew_provider_records();
                    self.ask_ice_servers_if_due(crate::browser::js::clock::now());
                }
            }
        }
        let connected: Vec<_> = self.swarm.connected_peers().copied().collect();
        for peer in connected {
            let _ = self.swarm.disconnect_peer_id(peer);
        }
        let mut state = self.state.borrow_mut();
        state.closed = true;
        state.reservation = false;
        state.connections.clear();
        drop(state);
        dispatch(&self.events, "close", &json!({}));
        tracing::info!("peer closed");
    }
}
