//! Load generator: `cargo run --release -p peerfetch-server --example load -- [CLIENTS]
//! [SIGNALS] [RATE]` with `PEERFETCH_LOAD_TRANSPORT` = `webrtc-direct` (the default: what tabs
//! use), `ws` or `wss`. It first measures a baseline (the smallest rust-libp2p server on the
//! same transport, see `bare.rs`, holding CLIENTS connections), then starts a `peerfetch-server`
//! (the release build) on loopback, attaches CLIENTS native clients (default 5000: each
//! connects, reserves a relay slot and registers in a swarm, like a tab), then runs SIGNALS
//! relayed connections between random pairs and as many discoveries (signaling churn) at RATE
//! operations per second (default 200), then restarts the server under that load. Prints
//! clients held, reservations per second, p50/p99 latencies, the server's memory per client
//! (and the baseline's) and CPU, and how the clients came back after the restart; writes them
//! to `bench/results/load-<transport>.json`.

mod bare;
mod fleet;
mod server;
mod transport;

use bare::BareServer;
use fleet::{attach_fleet, await_comeback, Attach, Command, Handle};
use futures::channel::oneshot;
use serde_json::json;
use server::ServerUnderLoad;
use std::time::{Duration, Instant};
use transport::{LoadTransport, TestCertificate};

/// How long the clients get to come back after the restart.
const RECOVERY_LIMIT: Duration = Duration::from_secs(120);

#[tokio::main]
async fn main() {
    let flag: Vec<String> = std::env::args().skip(1).take(3).collect();
    if flag.first().map(String::as_str) == Some(bare::FLAG) {
        let transport = LoadTransport::from_name(&flag[1]);
        bare::serve(transport, std::path::Path::new(&flag[2])).await;
        return;
    }
    let transport = LoadTransport::from_env();
    let cert_dir = tempfile::tempdir().expect("a folder for the certificate");
    let cert = TestCertificate::new(cert_dir.path());
    let mut args = std::env::args().skip(1);
    let clients: usize = args
        .next()
        .map_or(5000, |a| a.parse().expect("CLIENTS is a number"));
    let signals: usize = args
        .next()
        .map_or(2000, |a| a.parse().expect("SIGNALS is a number"));
    let rate: f64 = args
        .next()
        .map_or(200.0, |a| a.parse().expect("RATE is a number"));
    let binary = std::env::var_os("PEERFETCH_SERVER_BIN").map_or_else(
        || {
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../target/release/peerfetch-server"
            )
            .into()
        },
        std::path::PathBuf::from,
    );
    println!("transport: {}", transport.name());
    let baseline_kib = baseline_kib_per_client(transport, &cert, clients).await;
    println!("baseline (bare rust-libp2p server): {baseline_kib:.1} KiB per client");

    let server = ServerUnderLoad::start(binary, transport, &cert).await;
    let idle_rss = server.rss_kib();
    println!("server up, {idle_rss} KiB resident; attaching {clients} clients");
    let started = Instant::now();
    let cpu_before = server.cpu_seconds();
    let (fleet, mut reports, attach_times) =
        attach_fleet(&server.addr, &cert.der, clients, Attach::ReserveAndRegister).await;
    let attach_secs = started.elapsed().as_secs_f64();
    let attach_cpu = server.cpu_seconds() - cpu_before;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let held_rss = server.rss_kib();
    let per_client_kib = (held_rss.saturating_sub(idle_rss)) as f64 / clients as f64;
    let held = server.metric("peerfetch_swarm_registrations").await;
    println!(
        "{clients} clients attached in {attach_secs:.1} s ({:.0} reservations/s); server {held_rss} KiB resident, {per_client_kib:.1} KiB per client; {held} registrations held",
        clients as f64 / attach_secs
    );

    let churn_started = Instant::now();
    let cpu_before = server.cpu_seconds();
    let (signal_times, discover_times, failures) = churn(&fleet, signals, rate).await;
    let churn_secs = churn_started.elapsed().as_secs_f64();
    let churn_cpu = server.cpu_seconds() - cpu_before;
    println!(
        "churn at {rate} per second: {signals} relayed connections p50 {:.1} ms p99 {:.1} ms; {signals} discoveries p50 {:.1} ms p99 {:.1} ms; {failures} failed; server CPU {:.0} % of one core",
        ms(percentile(&signal_times, 0.5)),
        ms(percentile(&signal_times, 0.99)),
        ms(percentile(&discover_times, 0.5)),
        ms(percentile(&discover_times, 0.99)),
        100.0 * churn_cpu / churn_secs
    );

    let identity_before = server.bootstrap().await;
    let restarted = Instant::now();
    let server = server.restart().await;
    let identity_after = server.bootstrap().await;
    let comeback = await_comeback(&mut reports, clients, restarted, RECOVERY_LIMIT).await;
    let (lost, back, back_times) = (
        comeback.lost.len(),
        comeback.attempts.len(),
        &comeback.back_at,
    );
    let mean_attempts =
        comeback.attempts.iter().map(|&a| f64::from(a)).sum::<f64>() / back.max(1) as f64;
    let max_attempts = comeback.attempts.iter().copied().max().unwrap_or(0);
    let same_identity = identity_before.peer_id == identity_after.peer_id
        && identity_before.addrs == identity_after.addrs;
    println!(
        "restart: {lost} clients saw it, {back}/{clients} back (reserved and registered) within {:.1} s (half by {:.1} s), {mean_attempts:.2} attempts each on average, {max_attempts} at most; same peer id and certhash: {same_identity}",
        back_times.iter().max().copied().unwrap_or_default().as_secs_f64(),
        percentile(back_times, 0.5).as_secs_f64(),
    );

    let results = json!({
        "transport": transport.name(),
        "clients": clients,
        "attach": {
            "seconds": attach_secs,
            "reservations_per_second": clients as f64 / attach_secs,
            "p50_ms": ms(percentile(&attach_times, 0.5)),
            "p99_ms": ms(percentile(&attach_times, 0.99)),
            "server_cpu_seconds": attach_cpu,
        },
        "server_memory": {
            "idle_kib": idle_rss,
            "held_kib": held_rss,
            "per_client_kib": per_client_kib,
            "baseline_per_client_kib": baseline_kib,
        },
        "registrations_held": held,
        "churn": {
            "operations_per_second": rate,
            "relayed_connections": signals,
            "relayed_connect_p50_ms": ms(percentile(&signal_times, 0.5)),
            "relayed_connect_p99_ms": ms(percentile(&signal_times, 0.99)),
            "discoveries": signals,
            "discover_p50_ms": ms(percentile(&discover_times, 0.5)),
            "discover_p99_ms": ms(percentile(&discover_times, 0.99)),
            "failures": failures,
            "server_cpu_percent_of_one_core": 100.0 * churn_cpu / churn_secs,
        },
        "restart": {
            "clients_back": back,
            "seconds_until_all_back": back_times.iter().max().copied().unwrap_or_default().as_secs_f64(),
            "seconds_until_half_back": percentile(back_times, 0.5).as_secs_f64(),
            "mean_attempts": mean_attempts,
            "max_attempts": max_attempts,
            "same_peer_id_and_certhash": same_identity,
        },
    });
    server.stop().await;
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../bench/results");
    std::fs::create_dir_all(dir).expect("results folder");
    let path = format!("{dir}/load-{}.json", transport.name());
    std::fs::write(&path, serde_json::to_string_pretty(&results).expect("json"))
        .expect("results written");
    println!("written to {path}");
}

/// Server memory per client of the baseline server (`bare.rs`) on `transport` holding
/// `clients` connections, KiB.
async fn baseline_kib_per_client(
    transport: LoadTransport,
    cert: &TestCertificate,
    clients: usize,
) -> f64 {
    let cert_dir = cert.cert_file.parent().expect("in a folder");
    let bare = BareServer::start(transport, cert_dir).await;
    let idle = server::rss_kib(bare.pid());
    let (fleet, _reports, _) = attach_fleet(&bare.addr, &cert.der, clients, Attach::Connect).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let held = server::rss_kib(bare.pid());
    drop(fleet);
    bare.stop().await;
    held.saturating_sub(idle) as f64 / clients as f64
}

/// Runs `count` relayed connections between random pairs and `count` discoveries, alternating,
/// started at `rate` per second whatever is still in flight (an open loop: a slow answer does
/// not slow the offered load); returns their times from when each was due, and the number that
/// failed.
async fn churn(fleet: &[Handle], count: usize, rate: f64) -> (Vec<Duration>, Vec<Duration>, usize) {
    let mut pending = futures::stream::FuturesUnordered::new();
    let (mut signals, mut discoveries, mut failures) = (Vec::new(), Vec::new(), 0);
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut issued = 0;
    while issued < 2 * count || !pending.is_empty() {
        tokio::select! {
            due = ticker.tick(), if issued < 2 * count => {
                let from = &fleet[rand::random_range(0..fleet.len())];
                let (reply, answer) = oneshot::channel();
                let is_signal = issued % 2 == 0;
                let command = if is_signal {
                    let mut to = rand::random_range(0..fleet.len());
                    if fleet[to].peer == from.peer {
                        to = (to + 1) % fleet.len();
                    }
                    Command::Signal(fleet[to].peer, reply)
                } else {
                    Command::Discover(reply)
                };
                let commands = from.commands.clone();
                pending.push(async move {
                    commands.send(command).await.expect("client running");
                    let answer = answer.await;
                    (is_signal, answer.map(|a| a.map(|_| due.elapsed())))
                });
                issued += 1;
            }
            Some((is_signal, answer)) = futures::StreamExt::next(&mut pending) => {
                match answer {
                    Ok(Ok(took)) if is_signal => signals.push(took),
                    Ok(Ok(took)) => discoveries.push(took),
                    _ => failures += 1,
                }
            }
        }
    }
    (signals, discoveries, failures)
}

fn percentile(values: &[Duration], q: f64) -> Duration {
    let mut sorted = values.to_vec();
    sorted.sort();
    sorted
        .get(((sorted.len() as f64 * q) as usize).min(sorted.len().saturating_sub(1)))
        .copied()
        .unwrap_or_default()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
