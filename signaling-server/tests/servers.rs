//! Several server processes as one network: joined with `--peer`, they find each other through
//! their Kademlia DHT, and a client asking one server who is in a namespace also hears of the
//! clients registered at the others, until a server goes away. Native rust-libp2p clients speak
//! the same rendezvous protocol as tabs.

mod common;

use common::{rendezvous_client::*, *};
use libp2p::{
    rendezvous::{ErrorCode, Namespace},
    PeerId, Swarm,
};
use peerfetch::net::transport_kind::TransportKind;
use std::collections::HashSet;
use std::time::{Duration, Instant};

async fn register(client: &mut Swarm<Client>, server: PeerId, namespace: &Namespace) {
    let answers = register_all(client, server, std::slice::from_ref(namespace), Some(120)).await;
    assert!(answers[0].is_ok(), "registration refused: {answers:?}");
}

/// The other servers `server`'s `/bootstrap` offers tabs.
async fn listed_servers(server: &ServerProcess) -> HashSet<PeerId> {
    server
        .bootstrap()
        .await
        .servers
        .iter()
        .map(|s| s.peer_id)
        .collect()
}

/// Waits until `server` knows `count` other servers.
async fn await_servers(server: &ServerProcess, count: f64) {
    let start = Instant::now();
    while server.metric("peerfetch_servers").await < count {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "servers did not find each other"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A server's key file, created now, and its peer id.
fn identity(name: &str) -> (std::path::PathBuf, PeerId) {
    let key = temp_dir(name).join("key.json");
    let id = server_identity(&key);
    (key, id)
}

/// Starts the server with the key `key` in the network of `network` (peer ids), dialling
/// `peers`.
async fn server_joining(
    key: &std::path::Path,
    network: &[PeerId],
    peers: &[&ServerProcess],
) -> ServerProcess {
    let mut args = loopback_args(key);
    for id in network {
        args.push("--network-peer-id".into());
        args.push(id.to_string());
    }
    for peer in peers {
        args.push("--peer".into());
        args.push(peer.addr(TransportKind::WebSocket).await.to_string());
    }
    start_server(&args).await
}

#[tokio::test]
async fn three_servers_answer_as_one_network_until_one_leaves() {
    // A chain: C dials only B, B only A; the DHT introduces C and A. Each is told the ids of
    // the network's servers (its own among them: one list serves all).
    let (key_a, id_a) = identity("fed-a");
    let (key_b, id_b) = identity("fed-b");
    let (key_c, id_c) = identity("fed-c");
    let network = [id_a, id_b, id_c];
    let a = server_joining(&key_a, &network, &[]).await;
    let b = server_joining(&key_b, &network, &[&a]).await;
    let c = server_joining(&key_c, &network, &[&b]).await;
    for server in [&a, &b, &c] {
        await_servers(server, 2.0).await;
    }
    // `/bootstrap` lists the other servers, for tabs to move to.
    let others = HashSet::from([a.bootstrap().await.peer_id, b.bootstrap().await.peer_id]);
    assert_eq!(listed_servers(&c).await, others);
    let swarm = Namespace::from_static("swarm");
    let resource = Namespace::from_static("swarm/c/0123");
    let (mut at_a, a_id) = connected_client(&a).await;
    let (mut at_b, b_id) = connected_client(&b).await;
    let (mut at_c, c_id) = connected_client(&c).await;
    register(&mut at_a, a_id, &swarm).await;
    register(&mut at_a, a_id, &resource).await;
    register(&mut at_b, b_id, &swarm).await;
    register(&mut at_c, c_id, &swarm).await;
    let everyone: HashSet<PeerId> = [&at_a, &at_b, &at_c]
        .iter()
        .map(|client| *client.local_peer_id())
        .collect();
    for (client, server) in [(&mut at_a, a_id), (&mut at_b, b_id), (&mut at_c, c_id)] {
        let found = discover(client, server, Some(&swarm)).await;
        assert_eq!(
            found,
            Ok(everyone.clone()),
            "every server lists every member"
        );
    }
    let providers = discover(&mut at_c, c_id, Some(&resource)).await;
    assert_eq!(providers, Ok(HashSet::from([*at_a.local_peer_id()])));

    // A leaves: once the answers cached from it are stale, the others answer without it, and
    // within the federation's deadline.
    a.stop().await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let asked = Instant::now();
    let found = discover(&mut at_c, c_id, Some(&swarm)).await;
    assert!(
        asked.elapsed() < Duration::from_secs(2),
        "{:?}",
        asked.elapsed()
    );
    let left: HashSet<PeerId> = [*at_b.local_peer_id(), *at_c.local_peer_id()].into();
    assert_eq!(found, Ok(left));
    // Nor is it offered to tabs any more.
    assert_eq!(listed_servers(&c).await, HashSet::from([b_id]));
    assert_eq!(c.metric("peerfetch_servers").await, 1.0);
    b.stop().await;
    c.stop().await;
}

#[tokio::test]
async fn discovery_requests_are_rate_limited_per_peer() {
    let dir = temp_dir("discovery-rate");
    let mut args = loopback_args(&dir.join("key.json"));
    args.extend(["--discovery-rate-per-peer".into(), "3/3600s".into()]);
    let server = start_server(&args).await;
    let (mut client, server_id) = connected_client(&server).await;
    let swarm = Namespace::from_static("swarm");
    for _ in 0..3 {
        assert_eq!(
            discover(&mut client, server_id, Some(&swarm)).await,
            Ok(HashSet::new())
        );
    }
    let refused = discover(&mut client, server_id, Some(&swarm)).await;
    assert_eq!(refused, Err(ErrorCode::Unavailable));
    let counted = "peerfetch_refusals_total{request=\"discovery\",reason=\"rate\"}";
    assert_eq!(server.metric(counted).await, 1.0);
    // Another peer has its own budget.
    let (mut other, _) = connected_client(&server).await;
    assert_eq!(
        discover(&mut other, server_id, Some(&swarm)).await,
        Ok(HashSet::new())
    );
    server.stop().await;
}
