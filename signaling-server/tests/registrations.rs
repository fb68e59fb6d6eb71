//! The rendezvous point against hostile clients: throwaway peer ids cannot fill the
//! registration table for long (TTLs are clamped, registrations go after their tab's last
//! connection, one address holds a bounded number), REGISTER is rate limited per tab, and a tab
//! cannot ask for every registration at once (DISCOVER without a namespace).

mod common;

use common::{rendezvous_client::*, *};
use libp2p::rendezvous::{ErrorCode, Namespace};
use std::collections::HashSet;
use std::time::{Duration, Instant};

const THROWAWAY_IDS: usize = 60;
const EACH: usize = 4;
/// The protocol's longest TTL (72 hours): what an attacker asks for.
const DAYS: u64 = 72 * 60 * 60;

fn namespaces(prefix: &str, count: usize) -> Vec<Namespace> {
    (0..count)
        .map(|i| Namespace::new(format!("{prefix}/{i}")).expect("short"))
        .collect()
}

#[tokio::test]
async fn throwaway_ids_cannot_hold_the_registration_table() {
    let dir = temp_dir("exhaustion");
    let mut args = loopback_args(&dir.join("key.json"));
    // A table of 300 that 60 ids × 4 registrations would nearly fill; one address may hold 200.
    args.extend(
        [
            "--max-swarm-registrations",
            "300",
            "--max-registrations-per-ip",
            "200",
            "--registration-grace-secs",
            "2",
        ]
        .map(String::from),
    );
    let server = start_server(&args).await;
    let mut answers = Vec::new();
    let mut throwaway = Vec::new();
    for i in 0..THROWAWAY_IDS {
        let (mut client, server_id) = connected_client(&server).await;
        let mine = namespaces(&format!("junk/{i}"), EACH);
        answers.extend(register_all(&mut client, server_id, &mine, Some(DAYS)).await);
        throwaway.push(client);
    }
    let granted: Vec<u64> = answers.iter().filter_map(|a| a.ok()).collect();
    assert_eq!(granted.len(), 200, "one address holds at most 200");
    assert!(
        granted.iter().all(|&ttl| ttl == 600),
        "72 h is clamped to --max-registration-ttl: {granted:?}"
    );
    assert!(answers
        .iter()
        .all(|a| a.is_ok() || *a == Err(ErrorCode::Unavailable)));
    let per_ip = "peerfetch_refusals_total{request=\"registration\",reason=\"per-ip limit\"}";
    assert_eq!(server.metric(per_ip).await, 40.0);
    assert_eq!(server.metric("peerfetch_swarm_registrations").await, 200.0);

    // The ids leave; their registrations go after the 2 s grace period (swept every 5 s).
    drop(throwaway);
    let left = Instant::now();
    while server.metric("peerfetch_swarm_registrations").await > 0.0 {
        assert!(
            left.elapsed() < Duration::from_secs(15),
            "registrations of gone ids are dropped"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // A tab afterwards registers (for the 2 minutes tabs ask) and discovers normally.
    let (mut tab, server_id) = connected_client(&server).await;
    let swarm = Namespace::from_static("swarm/legit");
    let answers = register_all(&mut tab, server_id, std::slice::from_ref(&swarm), Some(120)).await;
    assert_eq!(answers, [Ok(120)]);
    let found = discover(&mut tab, server_id, Some(&swarm)).await;
    assert_eq!(found, Ok(HashSet::from([*tab.local_peer_id()])));
    server.stop().await;
}

#[tokio::test]
async fn registrations_outlive_a_closed_connection_for_the_grace_period() {
    let dir = temp_dir("grace");
    let mut args = loopback_args(&dir.join("key.json"));
    args.extend(["--registration-grace-secs", "30"].map(String::from));
    let server = start_server(&args).await;
    let (mut client, server_id) = connected_client(&server).await;
    let answers = register_all(&mut client, server_id, &namespaces("kept", 3), Some(120)).await;
    assert!(answers.iter().all(Result::is_ok), "{answers:?}");
    drop(client);
    // Longer than one sweep, shorter than the grace period.
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(server.metric("peerfetch_swarm_registrations").await, 3.0);
    server.stop().await;
}

#[tokio::test]
async fn register_requests_are_rate_limited_per_tab() {
    let dir = temp_dir("register-rate");
    let mut args = loopback_args(&dir.join("key.json"));
    args.extend(["--registration-rate-per-peer", "5/3600s"].map(String::from));
    let server = start_server(&args).await;
    let (mut client, server_id) = connected_client(&server).await;
    let answers = register_all(&mut client, server_id, &namespaces("rate", 8), Some(120)).await;
    let accepted = answers.iter().filter(|a| a.is_ok()).count();
    assert_eq!(accepted, 5, "{answers:?}");
    assert!(answers
        .iter()
        .all(|a| a.is_ok() || *a == Err(ErrorCode::Unavailable)));
    let rate = "peerfetch_refusals_total{request=\"registration\",reason=\"rate\"}";
    assert_eq!(server.metric(rate).await, 3.0);
    server.stop().await;
}

#[tokio::test]
async fn discover_without_a_namespace_is_refused_to_tabs() {
    let dir = temp_dir("discover-all");
    let server = start_server(&loopback_args(&dir.join("key.json"))).await;
    let (mut client, server_id) = connected_client(&server).await;
    let answers = register_all(&mut client, server_id, &namespaces("all", 3), Some(120)).await;
    assert!(answers.iter().all(Result::is_ok), "{answers:?}");
    assert_eq!(
        discover(&mut client, server_id, None).await,
        Err(ErrorCode::NotAuthorized)
    );
    let refused = "peerfetch_refusals_total{request=\"discovery\",reason=\"NotAuthorized\"}";
    assert_eq!(server.metric(refused).await, 1.0);
    let named = discover(&mut client, server_id, Some(&namespaces("all", 1)[0])).await;
    assert_eq!(named, Ok(HashSet::from([*client.local_peer_id()])));
    server.stop().await;
}

/// Regression: a peer whose identify lists the servers' Kademlia protocol was exempt from the
/// REGISTER rate and could list every registration.
#[tokio::test]
async fn a_peer_claiming_to_be_a_server_gets_no_exemption() {
    let dir = temp_dir("claims-server");
    let mut args = loopback_args(&dir.join("key.json"));
    args.extend(["--registration-rate-per-peer", "5/3600s"].map(String::from));
    let server = start_server(&args).await;
    let (mut client, server_id) = connected(
        &server,
        client_claiming_server(Duration::from_secs(15)).await,
    )
    .await;
    // The server has seen (and refused) the claim once identify has run.
    let impostor = "peerfetch_refusals_total{request=\"server\",reason=\"not in the network\"}";
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        if server.counter(impostor).await == 1.0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the claim was never seen"
        );
        tokio::time::timeout(
            Duration::from_millis(100),
            futures::StreamExt::select_next_some(&mut client),
        )
        .await
        .ok();
    }
    let answers = register_all(&mut client, server_id, &namespaces("claim", 8), Some(120)).await;
    assert_eq!(
        answers.iter().filter(|a| a.is_ok()).count(),
        5,
        "{answers:?}"
    );
    assert_eq!(
        discover(&mut client, server_id, None).await,
        Err(ErrorCode::NotAuthorized)
    );
    assert_eq!(server.metric("peerfetch_servers").await, 0.0);
    server.stop().await;
}
