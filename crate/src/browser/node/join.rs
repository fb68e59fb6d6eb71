//! Joining: fetch `/bootstrap`, reach a server of the network over the best transport that
//! works (the one asked first, then the others it lists), reserve a relay slot. Every step is
//! bounded in time and fails with a message naming the step ([`Attach`] decides the order and
//! the messages). [`attach`] is also how a tab moves to another server when its own goes away.

use crate::browser::api::join_options::JoinOptions;
use crate::browser::js::clock::now;
use crate::browser::js::page::page_scheme;
use crate::browser::js::timeout::with_timeout;
use crate::browser::node::answers::Answers;
use crate::browser::node::behaviour::TabBehaviourEvent;
use crate::browser::node::bootstrap_request::request_bootstrap;
use crate::browser::node::ice_config::IceConfig;
use crate::browser::node::tab_node::{build_swarm, AttachTimeouts, SwarmStreams, TabNode};
use crate::browser::node::tab_state::TabState;
use crate::error::{ErrorCode, PeerError};
use crate::net::attach::{Attach, Step};
use crate::net::home::Home;
use crate::net::ice_renewal::IceRenewal;
use crate::net::membership::Membership;
use crate::net::providers::ProviderRecords;
use crate::net::relay_book::RelayBook;
use crate::util::error_chain::error_chain;
use futures::StreamExt;
use libp2p::{
    core::transport::ListenerId, multiaddr::Protocol, relay, swarm::SwarmEvent, Multiaddr, PeerId,
};
use std::{cell::RefCell, rc::Rc, time::Duration};
use web_sys::EventTarget;

/// Longest `Peer.join` waits for the ICE servers (TURN) the joined server offers: one round
/// trip on the new connection.
const FIRST_ICE_SERVERS_WAIT: Duration = Duration::from_secs(2);

/// Runs the whole join; on success the node is connected to the server and holds a reservation.
/// Returns it with its swarm streams, for the content service.
pub(crate) async fn join(
    options: &JoinOptions,
    server: &str,
) -> Result<(TabNode, SwarmStreams), PeerError> {
    let unreachable = |e: String| PeerError::new(ErrorCode::Unreachable, e);
    let internal = |e: String| PeerError::new(ErrorCode::Internal, e);
    let bootstrap = with_timeout(options.step_timeout(), request_bootstrap(server))
        .await
        .map_err(|_| format!("server unreachable: {server}/bootstrap did not answer in time"))
        .and_then(|fetched| fetched)
        .map_err(unreachable)?;
    // The tab's own iceServers replace whatever servers offer (then it never asks them).
    let base = options
        .ice_servers
        .clone()
        .unwrap_or_else(|| bootstrap.ice_servers.clone());
    let rtc = options
        .rtc_configuration(&base)
        .map_err(|e| PeerError::new(ErrorCode::InvalidOptions, e))?;
    let ice = IceConfig {
        rtc: rtc.clone(),
        initial: base,
    };
    let (swarm, control, swarm_streams) =
        build_swarm(options.ping_interval(), rtc, options.connect_timeout()).map_err(internal)?;
    let membership = Membership::new(
        *swarm.local_peer_id(),
        options.swarm(),
        options.mesh_config(),
    )
    .map_err(|e| PeerError::new(ErrorCode::InvalidOptions, e.to_string()))?;
    let mut node = TabNode {
        swarm,
        control,
        state: Rc::new(RefCell::new(TabState::new(
            bootstrap.peer_id,
            options.swarm().to_owned(),
        ))),
        events: EventTarget::new()
            .map_err(|e| internal(format!("cannot create EventTarget: {e:?}")))?,
        server_addr: None,
        direct_dials: Default::default(),
        membership,
        providers: ProviderRecords::new(options.swarm()),
        home: Home::new(bootstrap.all_servers()),
        timeouts: AttachTimeouts {
            dial: options.dial_timeout(),
            step: options.step_timeout(),
        },
        listeners: Vec::new(),
        relays: RelayBook::new(&bootstrap.all_servers(), page_scheme()),
        bootstrap_url: server.to_owned(),
        network_answers: Answers::new(),
        ice_renewal: IceRenewal::new(options.ice_servers.is_none()),
        ice,
        ice_answers: Answers::new(),
    };
    attach(&mut node, None).await.map_err(unreachable)?;
    node.take_first_ice_servers(FIRST_ICE_SERVERS_WAIT).await;
    Ok((node, swarm_streams))
}

/// Attaches the tab to the first server of its network that takes it, leaving `avoid` (the
/// server just lost) for last: connected, a relay slot reserved, and listening for WebRTC
/// connections signalled through it ([`Attach`] decides what to try next). Returns the
/// server's peer id.
pub(crate) async fn attach(node: &mut TabNode, avoid: Option<PeerId>) -> Result<PeerId, String> {
    let (mut attach, mut step) = Attach::start(node.home.attempt_order(avoid), page_scheme());
    loop {
        step = match step {
            Step::Dial { kind, addr } => {
                let dialed = dial_one(node, &addr, node.timeouts.dial).await;
                if let Err(reason) = &dialed {
                    tracing::info!(transport = %kind, %addr, "dial to server failed: {reason}");
                }
                attach.dialed(dialed)
            }
            Step::Reserve { server, addr } => {
                let reserved = reserve_and_listen(node, server, addr.clone()).await;
                attach.reserved(server, addr, reserved)
            }
            Step::Attached { server, addr } => {
                // Only now does it become the tab's server (in `stats()` and events).
                node.server_addr = Some(addr);
                node.state.borrow_mut().server = server;
                node.ice_renewal.attached(now());
                return Ok(server);
            }
            Step::Failed(reason) => return Err(reason),
        };
    }
}

/// Reserves a relay slot at `server` (connected at `server_addr`) and listens for WebRTC
/// connections through it: other tabs reach us at `<server>/p2p-circuit/webrtc/p2p/<us>`.
async fn reserve_and_listen(
    node: &mut TabNode,
    server: PeerId,
    server_addr: Multiaddr,
) -> Result<(), String> {
    let step_timeout = node.timeouts.step;
    let reservation = reserve_relay_slot(node, server, server_addr.clone(), step_timeout).await?;
    let webrtc = node
        .swarm
        .listen_on(
            server_addr
                .with(Protocol::P2pCircuit)
                .with(Protocol::WebRTC),
        )
        .map_err(|e| format!("cannot accept WebRTC connections: {e}"))?;
    node.listeners = vec![reservation, webrtc];
    Ok(())
}

async fn dial_one(node: &mut TabNode, addr: &Multiaddr, limit: Duration) -> Result<(), String> {
    let dial = libp2p::swarm::dial_opts::DialOpts::unknown_peer_id()
        .address(addr.clone())
        .build();
    let connection = dial.connection_id();
    node.swarm.dial(dial).map_err(|e| e.to_string())?;
    drive_until(node, limit, |event| match event {
        SwarmEvent::ConnectionEstablished { connection_id, .. } if *connection_id == connection => {
            Some(Ok(()))
        }
        SwarmEvent::OutgoingConnectionError {
            connection_id,
            error,
            ..
        } if *connection_id == connection => Some(Err(error.to_string())),
        _ => None,
    })
    .await
    .unwrap_or_else(|| Err(format!("no connection within {} ms", limit.as_millis())))
}

/// Listens on `<server>/p2p-circuit` and waits for the relay (`server`) to accept the
/// reservation; returns the listener.
async fn reserve_relay_slot(
    node: &mut TabNode,
    server: PeerId,
    server_addr: Multiaddr,
    limit: Duration,
) -> Result<ListenerId, String> {
    let circuit = server_addr.with(Protocol::P2pCircuit);
    let listener = node
        .swarm
        .listen_on(circuit)
        .map_err(|e| format!("relay reservation failed: {e}"))?;
    drive_until(node, limit, |event| match event {
        SwarmEvent::Behaviour(TabBehaviourEvent::Relay(
            relay::client::Event::ReservationReqAccepted { relay_peer_id, .. },
        )) if *relay_peer_id == server => Some(Ok(listener)),
        SwarmEvent::ListenerClosed {
            listener_id,
            reason,
            ..
        } if *listener_id == listener => Some(Err(match reason {
            Ok(()) => "relay reservation failed: listener closed".to_owned(),
            Err(e) => format!("relay reservation refused: {}", error_chain(e)),
        })),
        _ => None,
    })
    .await
    .unwrap_or_else(|| {
        Err(format!(
            "relay reservation failed: no answer within {} ms",
            limit.as_millis()
        ))
    })
}

/// Drives the swarm, every event also reaching the tab's observers, until `pick` answers;
/// `None` when `limit` passes first.
async fn drive_until<T>(
    node: &mut TabNode,
    limit: Duration,
    mut pick: impl FnMut(&SwarmEvent<TabBehaviourEvent>) -> Option<T>,
) -> Option<T> {
    let wait = async {
        loop {
            let event = node.swarm.select_next_some().await;
            node.handle(&event);
            if let Some(answer) = pick(&event) {
                return answer;
            }
        }
    };
    with_timeout(limit, wait).await.ok()
}
