//! HTTPS on the public listener and WSS on `/tls/ws` listen addresses (`--tls-cert`,
//! `--tls-key`), through a real server process, a real TLS client and a native libp2p client:
//! the certificate is served, read again on SIGHUP, and a bad new one is refused while the old
//! one stays in service; a frame claiming a huge message makes the server reserve nothing.

mod common;

use common::{
    frame_header_claiming, loopback_args, rss_mib, run_to_exit, start_server, tcp_socket_addr,
    temp_dir, upgrade_to_websocket, ServerProcess,
};
use futures::StreamExt;
use libp2p::{
    core::upgrade::Version, multiaddr::Protocol, noise, ping, swarm::SwarmEvent, tcp, websocket,
    yamux, Multiaddr, SwarmBuilder, Transport as _,
};
use peerfetch::net::bootstrap::Bootstrap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::{
    client::TlsStream,
    rustls::{self, pki_types::CertificateDer},
};

/// A self-signed certificate for 127.0.0.1, written as `cert.pem` / `key.pem` in `dir`; returns
/// its DER.
fn write_certificate(dir: &Path) -> CertificateDer<'static> {
    let generated = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    std::fs::write(dir.join("cert.pem"), generated.cert.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), generated.key_pair.serialize_pem()).unwrap();
    generated.cert.der().clone()
}

/// A TLS session with `addr` (`host:port`) trusting only `trusted`, named as 127.0.0.1; an
/// error when the server presents another certificate.
async fn tls_session(
    addr: &str,
    trusted: &CertificateDer<'static>,
) -> std::io::Result<TlsStream<tokio::net::TcpStream>> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(trusted.clone()).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(addr).await?;
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
}

/// `GET /bootstrap` over TLS trusting only `trusted` (the handshake fails on any other
/// certificate); returns the status line and the body.
async fn get_bootstrap(url: &str, trusted: &CertificateDer<'static>) -> (String, String) {
    let addr = url.strip_prefix("https://").expect("an https URL");
    let mut tls = tls_session(addr, trusted)
        .await
        .expect("TLS handshake with the trusted certificate");
    tls.write_all(b"GET /bootstrap HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut response = Vec::new();
    let _ = tls.read_to_end(&mut response).await;
    let response = String::from_utf8_lossy(&response).into_owned();
    let status = response.lines().next().unwrap_or_default().to_owned();
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    (status, body)
}

fn hang_up(pid: u32) {
    std::process::Command::new("kill")
        .args(["-HUP", &pid.to_string()])
        .status()
        .expect("kill runs");
}

/// The loopback arguments with `cert.pem` and `key.pem` of `dir` for TLS.
fn tls_args(dir: &Path) -> Vec<String> {
    let mut args = loopback_args(&dir.join("key.json"));
    for (flag, file) in [("--tls-cert", "cert.pem"), ("--tls-key", "key.pem")] {
        args.extend([flag.to_owned(), dir.join(file).display().to_string()]);
    }
    args
}

/// Dials `addr` over WSS with a native libp2p client trusting only `trusted`, and waits until
/// the connection is up (Noise checked the server's peer id) for at most 10 s.
async fn connect_over_wss(addr: Multiaddr, trusted: &CertificateDer<'static>) {
    let mut tls = websocket::tls::Config::builder();
    tls.add_trust(&websocket::tls::Certificate::new(trusted.to_vec()))
        .unwrap();
    let tls = tls.finish();
    let mut swarm = SwarmBuilder::with_new_identity()
        .with_tokio()
        .with_other_transport(|key| {
            let mut ws = websocket::Config::new(tcp::tokio::Transport::new(tcp::Config::default()));
            ws.set_tls_config(tls);
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(
                ws.upgrade(Version::V1Lazy)
                    .authenticate(noise::Config::new(key)?)
                    .multiplex(yamux::Config::default()),
            )
        })
        .unwrap()
        .with_behaviour(|_| ping::Behaviour::default())
        .unwrap()
        .build();
    swarm.dial(addr.clone()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match swarm.select_next_some().await {
                SwarmEvent::ConnectionEstablished { .. } => return,
                SwarmEvent::OutgoingConnectionError { error, .. } => {
                    panic!("cannot connect over WSS to {addr}: {error}")
                }
                _ => {}
            }
        }
    })
    .await
    .expect("connected over WSS within 10 s");
}

/// Waits until a TLS handshake with `addr` trusting only `expected` succeeds (after a SIGHUP),
/// at most 5 s.
async fn until_presented(addr: &str, expected: &CertificateDer<'static>) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        // Trusting only the new certificate: the handshake fails while the old one is served.
        let handshake = tokio::time::timeout(Duration::from_secs(2), tls_session(addr, expected));
        if let Ok(Ok(_)) = handshake.await {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the new certificate on {addr} within 5 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn https_serves_the_certificate_and_reads_it_again_on_sighup() {
    let dir = temp_dir("tls");
    let first = write_certificate(&dir);
    let server = start_server(&tls_args(&dir)).await;
    assert!(server.http.starts_with("https://"), "{}", server.http);
    let (status, _) = get_bootstrap(&server.http, &first).await;
    assert_eq!(status, "HTTP/1.1 200 OK");

    let second = write_certificate(&dir);
    hang_up(server.child.id().unwrap());
    until_presented(server.http.trim_start_matches("https://"), &second).await;
    let (status, _) = get_bootstrap(&server.http, &second).await;
    assert_eq!(status, "HTTP/1.1 200 OK", "the server keeps serving");

    // A broken pair (a key of another certificate) is refused; the one in service stays.
    let other = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    std::fs::write(dir.join("key.pem"), other.key_pair.serialize_pem()).unwrap();
    hang_up(server.child.id().unwrap());
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (status, _) = get_bootstrap(&server.http, &second).await;
    assert_eq!(
        status, "HTTP/1.1 200 OK",
        "the certificate in service is kept"
    );
    server.stop().await;
}

#[tokio::test]
async fn wss_speaks_libp2p_with_the_certificate_in_service_and_reads_it_again_on_sighup() {
    let dir = temp_dir("wss");
    let first = write_certificate(&dir);
    let mut args = tls_args(&dir);
    args.extend([
        "--listen".to_owned(),
        "/ip4/127.0.0.1/tcp/0/tls/ws".to_owned(),
    ]);
    let server: ServerProcess = start_server(&args).await;
    let (_, body) = get_bootstrap(&server.http, &first).await;
    let bootstrap: Bootstrap = serde_json::from_str(&body).expect("the bootstrap document");
    let is_wss = |a: &Multiaddr| a.iter().any(|p| p == Protocol::Tls);
    let wss = bootstrap
        .addrs
        .iter()
        .find(|a| is_wss(a))
        .unwrap_or_else(|| panic!("a /tls/ws address in {:?}", bootstrap.addrs))
        .clone();
    assert!(
        bootstrap
            .addrs
            .iter()
            .any(|a| !is_wss(a) && a.iter().any(|p| matches!(p, Protocol::Ws(_)))),
        "plain WebSocket still listed: {:?}",
        bootstrap.addrs
    );
    connect_over_wss(wss.clone(), &first).await;

    let second = write_certificate(&dir);
    hang_up(server.child.id().unwrap());
    until_presented(&tcp_socket_addr(&wss).to_string(), &second).await;
    connect_over_wss(wss.clone(), &second).await;

    // Frames claiming 255 MiB messages: the server reserves nothing for them.
    let pid = server.child.id().unwrap();
    let before = rss_mib(pid);
    let mut held = Vec::new();
    for _ in 0..8 {
        let mut tls = tls_session(&tcp_socket_addr(&wss).to_string(), &second)
            .await
            .unwrap();
        let status = upgrade_to_websocket(&mut tls, "127.0.0.1").await;
        assert_eq!(status, "HTTP/1.1 101 Switching Protocols");
        tls.write_all(&frame_header_claiming(255 << 20))
            .await
            .unwrap();
        tls.flush().await.unwrap();
        held.push(tls);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let grown = rss_mib(pid).saturating_sub(before);
    assert!(grown < 64, "the server grew by {grown} MiB");
    drop(held);
    server.stop().await;
}

#[tokio::test]
async fn tls_flags_that_cannot_work_stop_the_start_with_a_reason() {
    let dir = temp_dir("tls-flags");
    let cert = dir.join("cert.pem").display().to_string();
    std::fs::write(&cert, "not a certificate").unwrap();
    let (code, stderr) = run_to_exit(&["--tls-cert", &cert]).await;
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("--tls-cert and --tls-key go together"),
        "{stderr}"
    );
    let (code, stderr) = run_to_exit(&["--tls-cert", &cert, "--tls-key", &cert]).await;
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("holds no certificate"), "{stderr}");
    let (code, stderr) = run_to_exit(&["--listen", "/ip4/127.0.0.1/tcp/0/tls/ws"]).await;
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("needs --tls-cert and --tls-key"),
        "{stderr}"
    );
}
