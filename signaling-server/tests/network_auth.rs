//! Servers of a network are known by peer id (`--network-peer-id`, `--peer`), not by what they
//! claim. A peer whose identify lists the servers' Kademlia protocol, and which answers
//! rendezvous DISCOVER like a server, is still a stranger: it is not listed in `/bootstrap`,
//! not asked when a tab looks a namespace up, not exempt from the DISCOVER rate, and the
//! server does not speak Kademlia with it (its ADD_PROVIDER never reaches the server's DHT).
//! A tab meanwhile registers and discovers as always.

mod common;

use common::{rendezvous_client::*, *};
use futures::StreamExt;
use libp2p::{
    identify, kad,
    rendezvous::{self, ErrorCode, Namespace},
    swarm::SwarmEvent,
    PeerId, Swarm,
};
use peerfetch::net::transport_kind::TransportKind;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the fake server saw while it ran on its own.
#[derive(Debug, Default)]
struct Seen {
    /// DISCOVER requests the real server sent it (federation asking it).
    asked: usize,
    /// Whether the real server's identify listed the servers' DHT protocol to it.
    offered_kad: Option<bool>,
    /// What became of its ADD_PROVIDER to the real server.
    provided: Option<String>,
}

/// Notes in `seen` what `event` of the fake server tells.
fn note(seen: &Mutex<Seen>, server: PeerId, event: SwarmEvent<ClientEvent>) {
    let mut seen = seen.lock().unwrap();
    match event {
        SwarmEvent::Behaviour(ClientEvent::RendezvousPoint(
            rendezvous::server::Event::DiscoverServed { .. }
            | rendezvous::server::Event::DiscoverNotServed { .. },
        )) => seen.asked += 1,
        SwarmEvent::Behaviour(ClientEvent::Identify(identify::Event::Received {
            peer_id,
            info,
            ..
        })) if peer_id == server => {
            seen.offered_kad = Some(
                info.protocols
                    .contains(&peerfetch_server::discovery::KAD_PROTOCOL),
            );
        }
        SwarmEvent::Behaviour(ClientEvent::Kad(kad::Event::OutboundQueryProgressed {
            result: kad::QueryResult::StartProviding(result),
            ..
        })) => seen.provided = Some(format!("{result:?}")),
        _ => {}
    }
}

/// Runs `fake` until aborted, noting in `seen` what matters.
fn run_fake(
    mut fake: Swarm<Client>,
    server: PeerId,
    seen: Arc<Mutex<Seen>>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let event = fake.select_next_some().await;
            note(&seen, server, event);
        }
    })
}

#[tokio::test]
async fn a_fake_server_is_not_listed_not_asked_and_not_spoken_kademlia_with() {
    let dir = temp_dir("fake-server");
    let mut args = loopback_args(&dir.join("key.json"));
    args.extend(["--discovery-rate-per-peer", "3/3600s"].map(String::from));
    let server = start_server(&args).await;
    let ws = server.addr(TransportKind::WebSocket).await;
    let (mut fake, server_id) = connected(
        &server,
        client_claiming_server(Duration::from_secs(15)).await,
    )
    .await;

    let seen = Arc::new(Mutex::new(Seen::default()));
    // Its claim is seen, and refused.
    let impostor = "peerfetch_refusals_total{request=\"server\",reason=\"not in the network\"}";
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while server.counter(impostor).await < 1.0 || seen.lock().unwrap().offered_kad.is_none() {
        assert!(tokio::time::Instant::now() < deadline, "identify never ran");
        if let Ok(event) =
            tokio::time::timeout(Duration::from_millis(100), fake.select_next_some()).await
        {
            note(&seen, server_id, event);
        }
    }
    assert_eq!(server.metric("peerfetch_servers").await, 0.0);
    assert!(
        server.bootstrap().await.servers.is_empty(),
        "not offered to tabs"
    );

    // No exemption from the DISCOVER rate.
    let swarm = Namespace::from_static("swarm/fake");
    for _ in 0..3 {
        assert!(discover(&mut fake, server_id, Some(&swarm)).await.is_ok());
    }
    assert_eq!(
        discover(&mut fake, server_id, Some(&swarm)).await,
        Err(ErrorCode::Unavailable)
    );

    // It announces itself as a provider of the namespace in the servers' DHT.
    let kad = fake
        .behaviour_mut()
        .kad
        .as_mut()
        .expect("claims to be a server");
    kad.add_address(&server_id, ws.clone());
    kad.start_providing(kad::RecordKey::new(&swarm.to_string()))
        .expect("stored locally");
    let fake = run_fake(fake, server_id, seen.clone());

    // A tab registers and looks the namespace up: answered at once, by this server alone.
    let (mut tab, _) = connected_client(&server).await;
    let answers = register_all(&mut tab, server_id, std::slice::from_ref(&swarm), Some(120)).await;
    assert_eq!(answers, [Ok(120)]);
    for _ in 0..3 {
        let found = discover(&mut tab, server_id, Some(&swarm)).await;
        assert_eq!(found, Ok(HashSet::from([*tab.local_peer_id()])));
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while seen.lock().unwrap().provided.is_none() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "ADD_PROVIDER never ended"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let add_provider = "libp2p_kad_inbound_requests_total{request=\"AddProvider\"}";
    let add_providers = server.counter(add_provider).await;
    let (asked, offered_kad, provided) = {
        let seen = seen.lock().unwrap();
        (seen.asked, seen.offered_kad, seen.provided.clone())
    };
    assert_eq!(asked, 0, "the fake server was asked in a lookup");
    assert_eq!(offered_kad, Some(false), "Kademlia is not offered to it");
    assert_eq!(
        add_providers, 0.0,
        "its ADD_PROVIDER reached the DHT ({provided:?})"
    );
    fake.abort();
    server.stop().await;
}
