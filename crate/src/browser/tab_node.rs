//! The tab's libp2p swarm and how its events update [`TabState`] and reach the page.

use super::{
    behaviour::{TabBehaviour, TabBehaviourEvent},
    events::dispatch,
    tab_state::TabState,
    webrtc_direct::WebRtcDirectTransport,
};
use crate::transport_kind::TransportKind;
use futures::{channel::mpsc, StreamExt};
use libp2p::{
    core::{muxing::StreamMuxerBox, upgrade::Version},
    noise, ping, relay,
    swarm::SwarmEvent,
    websocket_websys, yamux, Swarm, SwarmBuilder, Transport as _,
};
use serde_json::json;
use std::{cell::RefCell, rc::Rc, time::Duration};
use web_sys::EventTarget;

/// Connections with nothing open on them are closed after this long.
const IDLE_CONNECTION_TIMEOUT: Duration = Duration::from_secs(60);

/// What the JS API asks of the running swarm task.
pub(crate) enum Command {
    Close,
}

/// A swarm plus the state and event target it reports to.
pub(crate) struct TabNode {
    pub(crate) swarm: Swarm<TabBehaviour>,
    pub(crate) state: Rc<RefCell<TabState>>,
    pub(crate) events: EventTarget,
}

/// Builds a swarm with a fresh identity, WebRTC-direct and WebSocket transports, and the relay
/// client.
pub(crate) fn build_swarm(ping_interval: Duration) -> Result<Swarm<TabBehaviour>, String> {
    let swarm = SwarmBuilder::with_new_identity()
        .with_wasm_bindgen()
        .with_other_transport(|key| {
            WebRtcDirectTransport::new(key)
                .map(|(peer, connection), _| (peer, StreamMuxerBox::new(connection)))
        })
        .map_err(|e| e.to_string())?
        .with_other_transport(|key| {
            Ok(websocket_websys::Transport::default()
                .upgrade(Version::V1Lazy)
                .authenticate(noise::Config::new(key)?)
                .multiplex(yamux::Config::default())
                .map(|(peer, muxer), _| (peer, StreamMuxerBox::new(muxer))))
        })
        .map_err(|e| e.to_string())?
        .with_relay_client(noise::Config::new, yamux::Config::default)
        .map_err(|e| e.to_string())?
        .with_behaviour(|key, relay| TabBehaviour::new(key, relay, ping_interval))
        .map_err(|e| e.to_string())?
        .with_swarm_config(|c| c.with_idle_connection_timeout(IDLE_CONNECTION_TIMEOUT))
        .build();
    Ok(swarm)
}

impl TabNode {
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
                let transport = TransportKind::of(endpoint.get_remote_address());
                let info = state.opened(*connection_id, *peer_id, transport, endpoint.is_dialer());
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
                Ok(rtt) if *peer == state.server => {
                    state.server_rtt.record(*rtt);
                    drop(state);
                    let detail =
                        json!({ "peer": peer.to_string(), "rttMs": rtt.as_secs_f64() * 1000.0 });
                    dispatch(&self.events, "ping", &detail);
                }
                Ok(_) => {}
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
        loop {
            futures::select! {
                event = self.swarm.select_next_some() => self.observe(&event),
                command = commands.next() => match command {
                    Some(Command::Close) | None => break,
                },
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
