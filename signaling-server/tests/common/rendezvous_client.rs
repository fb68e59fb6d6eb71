//! A native client speaking the rendezvous protocol to a server, as a tab does.

use super::{client, until, Client, ClientEvent, ServerProcess};
use libp2p::{
    rendezvous::{self, ErrorCode, Namespace, Ttl},
    swarm::SwarmEvent,
    PeerId, Swarm,
};
use peerfetch::net::transport_kind::TransportKind;
use std::collections::HashSet;
use std::time::Duration;

const STEP: Duration = Duration::from_secs(15);

/// A client connected to `server` over WebSocket, and the server's peer id.
pub async fn connected_client(server: &ServerProcess) -> (Swarm<Client>, PeerId) {
    connected(server, client(Duration::from_secs(15)).await).await
}

/// `client`, connected to `server` over WebSocket, and the server's peer id.
pub async fn connected(
    server: &ServerProcess,
    mut client: Swarm<Client>,
) -> (Swarm<Client>, PeerId) {
    let addr = server.addr(TransportKind::WebSocket).await;
    let server_id = server.bootstrap().await.peer_id;
    client.dial(addr).expect("dial starts");
    until(&mut client, STEP, |event| match event {
        SwarmEvent::ConnectionEstablished { .. } => Some(()),
        SwarmEvent::OutgoingConnectionError { error, .. } => panic!("cannot connect: {error}"),
        _ => None,
    })
    .await;
    (client, server_id)
}

/// Registers `client` under each of `namespaces` at `server` asking for `ttl`; returns each
/// answer (the TTL granted or the refusal), in the order they came.
pub async fn register_all(
    client: &mut Swarm<Client>,
    server: PeerId,
    namespaces: &[Namespace],
    ttl: Option<Ttl>,
) -> Vec<Result<Ttl, ErrorCode>> {
    // A registration carries the addresses to reach us at (a tab's are relayed ones).
    client.add_external_address("/ip4/127.0.0.1/tcp/1/ws".parse().expect("valid"));
    for namespace in namespaces {
        client
            .behaviour_mut()
            .rendezvous
            .register(namespace.clone(), server, ttl)
            .expect("register starts");
    }
    let mut answers = Vec::new();
    if namespaces.is_empty() {
        return answers;
    }
    until(client, STEP, |event| {
        match event {
            SwarmEvent::Behaviour(ClientEvent::Rendezvous(
                rendezvous::client::Event::Registered { ttl, .. },
            )) => answers.push(Ok(ttl)),
            SwarmEvent::Behaviour(ClientEvent::Rendezvous(
                rendezvous::client::Event::RegisterFailed { error, .. },
            )) => answers.push(Err(error)),
            _ => {}
        }
        (answers.len() == namespaces.len()).then_some(())
    })
    .await;
    answers
}

/// Asks `server` who is registered under `namespace` (under any, when `None`).
pub async fn discover(
    client: &mut Swarm<Client>,
    server: PeerId,
    namespace: Option<&Namespace>,
) -> Result<HashSet<PeerId>, ErrorCode> {
    client
        .behaviour_mut()
        .rendezvous
        .discover(namespace.cloned(), None, None, server);
    until(client, STEP, |event| match event {
        SwarmEvent::Behaviour(ClientEvent::Rendezvous(rendezvous::client::Event::Discovered {
            registrations,
            ..
        })) => Some(Ok(registrations
            .iter()
            .map(|r| r.record.peer_id())
            .collect())),
        SwarmEvent::Behaviour(ClientEvent::Rendezvous(
            rendezvous::client::Event::DiscoverFailed { error, .. },
        )) => Some(Err(error)),
        _ => None,
    })
    .await
}
