//! Relayed circuits against hostile clients: a circuit only carries one WebRTC signaling
//! exchange, so it lives `--max-circuit-duration-secs` (30 s by default), and many sources
//! (peer ids are free) cannot pin every circuit slot on one tab or on the tabs of one address:
//! `--max-circuits-per-destination` and `--max-circuits-per-destination-ip` bound the circuits
//! open to them at once.

mod common;

use common::*;
use futures::StreamExt;
use libp2p::{multiaddr::Protocol, relay, swarm::SwarmEvent, Multiaddr, PeerId, Swarm};
use peerfetch::net::transport_kind::TransportKind;
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

const STEP: Duration = Duration::from_secs(15);

/// A new client holding a reservation at the relay `relay` (its WebSocket address); returns it
/// and the circuit duration the relay announced.
async fn destination(relay: &Multiaddr) -> (Swarm<Client>, Option<Duration>) {
    let mut client = client(Duration::from_secs(1)).await;
    client
        .listen_on(relay.clone().with(Protocol::P2pCircuit))
        .expect("listen via relay");
    let limit = until(&mut client, STEP, |event| match event {
        SwarmEvent::Behaviour(ClientEvent::Relay(
            relay::client::Event::ReservationReqAccepted { limit, .. },
        )) => Some(limit),
        SwarmEvent::ListenerClosed { reason, .. } => panic!("reservation refused: {reason:?}"),
        _ => None,
    })
    .await;
    (client, limit.and_then(|l| l.duration()))
}

/// Drives `swarm` in the background (it answers pings, accepts circuits) until aborted.
fn drive(mut swarm: Swarm<Client>) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            swarm.select_next_some().await;
        }
    })
}

/// A new client dials `to` through the relay; returns whether the relayed connection came up,
/// and the client.
async fn circuit(relay: &Multiaddr, to: PeerId) -> (bool, Swarm<Client>) {
    let mut client = client(Duration::from_secs(1)).await;
    let addr = relay
        .clone()
        .with(Protocol::P2pCircuit)
        .with(Protocol::P2p(to));
    client.dial(addr).expect("dial starts");
    let up = until(&mut client, STEP, |event| match event {
        SwarmEvent::ConnectionEstablished { peer_id, .. } if peer_id == to => Some(true),
        SwarmEvent::OutgoingConnectionError {
            peer_id: Some(peer),
            ..
        } if peer == to => Some(false),
        _ => None,
    })
    .await;
    (up, client)
}

#[tokio::test]
async fn circuits_are_bounded_per_destination_peer_and_address() {
    let dir = temp_dir("circuit-caps");
    let mut args = loopback_args(&dir.join("key.json"));
    args.extend(
        [
            "--max-circuits-per-destination",
            "2",
            "--max-circuits-per-destination-ip",
            "3",
        ]
        .map(String::from),
    );
    let server = start_server(&args).await;
    let relay = server.addr(TransportKind::WebSocket).await;
    let (d1, _) = destination(&relay).await;
    let (d2, _) = destination(&relay).await;
    let (id1, id2) = (*d1.local_peer_id(), *d2.local_peer_id());
    let destinations = [drive(d1), drive(d2)];
    let mut outcomes = Vec::new();
    let mut sources = Vec::new();
    for to in [id1, id1, id1, id2, id2] {
        let (up, source) = circuit(&relay, to).await;
        outcomes.push(up);
        sources.push(drive(source));
    }
    assert_eq!(
        outcomes,
        [true, true, false, true, false],
        "two circuits to one tab; three to the tabs of 127.0.0.1"
    );
    let per_peer =
        "peerfetch_refusals_total{request=\"relay_circuit\",reason=\"per-destination limit\"}";
    let per_ip =
        "peerfetch_refusals_total{request=\"relay_circuit\",reason=\"per-destination-ip limit\"}";
    assert_eq!(server.counter(per_peer).await, 1.0);
    assert_eq!(server.counter(per_ip).await, 1.0);
    let circuits = "peerfetch_map_entries{map=\"relay_circuits\"}";
    tokio::time::sleep(Duration::from_millis(1100)).await; // the gauges are read every second
    assert_eq!(server.metric(circuits).await, 3.0);

    // A source leaves: its circuit ends, and its slot is given to the next.
    sources.remove(0).abort();
    let freed = Instant::now();
    loop {
        let (up, source) = circuit(&relay, id2).await;
        if up {
            sources.push(drive(source));
            break;
        }
        assert!(
            freed.elapsed() < Duration::from_secs(10),
            "the slot was never freed"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for task in sources.into_iter().chain(destinations) {
        task.abort();
    }
    server.stop().await;
}

#[tokio::test]
async fn circuits_last_30_seconds_by_default() {
    let dir = temp_dir("circuit-default");
    let server = start_server(&loopback_args(&dir.join("key.json"))).await;
    let relay = server.addr(TransportKind::WebSocket).await;
    let (_destination, duration) = destination(&relay).await;
    assert_eq!(duration, Some(Duration::from_secs(30)));
    server.stop().await;
}

#[tokio::test]
async fn a_circuit_is_closed_after_its_duration() {
    let dir = temp_dir("circuit-duration");
    let mut args = loopback_args(&dir.join("key.json"));
    args.extend(["--max-circuit-duration-secs", "2"].map(String::from));
    let server = start_server(&args).await;
    let relay = server.addr(TransportKind::WebSocket).await;
    let (d, duration) = destination(&relay).await;
    assert_eq!(duration, Some(Duration::from_secs(2)));
    let to = *d.local_peer_id();
    let destination = drive(d);
    let (up, mut source) = circuit(&relay, to).await;
    assert!(up);
    let opened = Instant::now();
    until(&mut source, STEP, |event| match event {
        SwarmEvent::ConnectionClosed { peer_id, .. } if peer_id == to => Some(()),
        _ => None,
    })
    .await;
    let lived = opened.elapsed();
    assert!(
        lived >= Duration::from_millis(1500) && lived < Duration::from_secs(6),
        "closed after about 2 s: {lived:?}"
    );
    destination.abort();
    server.stop().await;
}

#[tokio::test]
async fn a_burst_of_circuits_to_one_tab_gets_exactly_its_share() {
    let dir = temp_dir("circuit-burst");
    let mut args = loopback_args(&dir.join("key.json"));
    args.extend(["--max-circuits-per-destination", "3"].map(String::from));
    let server = start_server(&args).await;
    let relay = server.addr(TransportKind::WebSocket).await;
    let (d, _) = destination(&relay).await;
    let to = *d.local_peer_id();
    let destination = drive(d);
    // Eight sources at once: the refusals must not take the place of circuits admitted before
    // them (the relay pairs stream answers with its requests in order).
    let burst = futures::future::join_all((0..8).map(|_| circuit(&relay, to))).await;
    let up = burst.iter().filter(|(up, _)| *up).count();
    assert_eq!(up, 3, "exactly the cap gets through");
    let per_peer =
        "peerfetch_refusals_total{request=\"relay_circuit\",reason=\"per-destination limit\"}";
    assert_eq!(server.counter(per_peer).await, 5.0);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let circuits = "peerfetch_map_entries{map=\"relay_circuits\"}";
    assert_eq!(server.metric(circuits).await, 3.0);
    drop(burst);
    destination.abort();
    server.stop().await;
}
