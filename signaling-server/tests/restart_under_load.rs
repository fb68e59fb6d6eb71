//! A server restarted while 200 clients hold reservations and registrations: every client comes
//! back (reconnects with backoff and jitter, reserves, registers) without hammering it, the
//! server keeps its peer id and certhash, and relayed connections and discovery work again.

#[path = "../examples/load/fleet.rs"]
mod fleet;
#[path = "../examples/load/server.rs"]
mod server;
#[path = "../examples/load/transport.rs"]
#[allow(dead_code)] // the test attaches over one of the load generator's transports
mod transport;

use fleet::{attach_fleet, await_comeback, Attach, Comeback, Command};
use futures::channel::oneshot;
use server::ServerUnderLoad;
use std::time::{Duration, Instant};
use transport::{LoadTransport, TestCertificate};

const CLIENTS: usize = 200;
/// Longest wait for the next client report after the restart.
const REPORT_WITHIN: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread")]
async fn clients_come_back_after_a_restart_under_load() {
    let binary = env!("CARGO_BIN_EXE_peerfetch-server").into();
    let cert_dir = tempfile::tempdir().unwrap();
    let cert = TestCertificate::new(cert_dir.path());
    // Over WebSocket: the debug build attaches 200 clients in seconds this way.
    let server = ServerUnderLoad::start(binary, LoadTransport::WebSocket, &cert).await;
    let idle = server.rss_kib();
    let (fleet, mut reports, _) =
        attach_fleet(&server.addr, &cert.der, CLIENTS, Attach::ReserveAndRegister).await;
    assert_eq!(
        server.metric("peerfetch_swarm_registrations").await,
        CLIENTS as f64
    );
    println!(
        "{CLIENTS} clients held: server {} KiB resident ({idle} idle), {:.1} s CPU",
        server.rss_kib(),
        server.cpu_seconds()
    );

    let before = server.bootstrap().await;
    let restarted = Instant::now();
    let server = server.restart().await;
    let after = server.bootstrap().await;
    assert_eq!(
        (after.peer_id, &after.addrs),
        (before.peer_id, &before.addrs)
    );
    let Comeback {
        lost,
        attempts,
        back_at,
        longest_attach,
    } = await_comeback(&mut reports, CLIENTS, restarted, REPORT_WITHIN).await;
    assert_eq!(attempts.len(), CLIENTS, "every client came back");
    assert_eq!(lost.len(), CLIENTS, "every client saw the restart");
    assert!(
        longest_attach < Duration::from_secs(60),
        "{longest_attach:?}"
    );
    let most = attempts.iter().copied().max().unwrap_or(0);
    let spread = back_at
        .iter()
        .max()
        .unwrap()
        .saturating_sub(*back_at.iter().min().unwrap());
    println!(
        "back within {:?}; at most {most} attempts; spread {spread:?}",
        back_at.iter().max()
    );
    // Backoff: a few attempts each while the server was down, not a dial per event. With full
    // jitter a wait may be short, so the bound is a rate, not a count: the first few attempts
    // (waits of up to 2, 4 s…) and then about one per 2 s at most, however long the restart
    // took on a loaded machine. A client dialling per event would make hundreds.
    for (tries, back) in attempts.iter().zip(&back_at) {
        let allowed = 4 + (back.as_secs_f64() / 2.0).ceil() as u32;
        assert!(
            *tries <= allowed,
            "a client made {tries} attempts in {back:?} (at most {allowed})"
        );
    }
    // Jitter: the clients do not all come back in the same instant.
    assert!(spread > Duration::from_millis(100), "spread {spread:?}");
    assert_eq!(
        server.metric("peerfetch_swarm_registrations").await,
        CLIENTS as f64
    );

    // The relay and discovery serve again.
    for pair in fleet.chunks(2).take(10) {
        let (reply, answer) = oneshot::channel();
        pair[0]
            .commands
            .send(Command::Signal(pair[1].peer, reply))
            .await
            .expect("running");
        answer
            .await
            .expect("answered")
            .expect("relayed connection after the restart");
        let (reply, answer) = oneshot::channel();
        pair[1]
            .commands
            .send(Command::Discover(reply))
            .await
            .expect("running");
        answer
            .await
            .expect("answered")
            .expect("discovery after the restart");
    }
    server.stop().await;
}
