//! Handshakes against the WebSocket listener: one host's sockets that connect and never speak
//! take at most `--max-pending-connections-per-ip` handshake slots, so a client from another
//! address still gets in; and a frame claiming a huge message makes the server reserve nothing.

mod common;

use common::*;
use peerfetch::net::transport_kind::TransportKind;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpSocket, TcpStream};

/// Half-open sockets the flooding host opens: more than the global handshake bound.
const HALF_OPEN: usize = 80;

/// Opens a TCP connection from `from` to `to` and asks for a WebSocket upgrade; returns the
/// status line of the answer ("" when the server closed the connection instead).
async fn websocket_upgrade(from: Ipv4Addr, to: SocketAddr) -> String {
    let socket = TcpSocket::new_v4().expect("a socket");
    socket
        .bind(SocketAddr::from((from, 0)))
        .expect("any 127.0.0.0/8 address is local");
    let mut stream = socket.connect(to).await.expect("connects");
    upgrade_to_websocket(&mut stream, &to.to_string()).await
}

#[tokio::test]
async fn half_open_sockets_from_one_host_do_not_lock_out_others() {
    let dir = temp_dir("half-open");
    let mut args = loopback_args(&dir.join("key.json"));
    // The global handshake bound; the per-IP one keeps its default (32).
    args.extend(["--max-pending-connections", "64"].map(String::from));
    let server = start_server(&args).await;
    let to = tcp_socket_addr(&server.addr(TransportKind::WebSocket).await);
    let started = Instant::now();
    let mut half_open = Vec::new();
    for _ in 0..HALF_OPEN {
        half_open.push(TcpStream::connect(to).await.expect("connects"));
    }
    let denied = "peerfetch_refusals_total{request=\"connection\",reason=\"per-ip pending limit\"}";
    let expected = (HALF_OPEN - 32) as f64;
    while server.counter(denied).await < expected {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "past 32 half-open sockets, 127.0.0.1 is denied"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(server.counter(denied).await, expected);
    // Well within the 10 s the half-open ones may hold their slots.
    let status = websocket_upgrade(Ipv4Addr::new(127, 0, 0, 2), to).await;
    assert!(
        started.elapsed() < Duration::from_secs(9),
        "checked while the half-open sockets still hold their slots"
    );
    assert_eq!(
        status, "HTTP/1.1 101 Switching Protocols",
        "a client from 127.0.0.2 gets its handshake"
    );
    drop(half_open);
    server.stop().await;
}

#[tokio::test]
async fn frames_claiming_huge_messages_make_the_server_reserve_nothing() {
    let dir = temp_dir("huge-frames");
    let server = start_server(&loopback_args(&dir.join("key.json"))).await;
    let to = tcp_socket_addr(&server.addr(TransportKind::WebSocket).await);
    let pid = server.child.id().unwrap();
    let before = rss_mib(pid);
    let mut held = Vec::new();
    for _ in 0..8 {
        let mut stream = TcpStream::connect(to).await.expect("connects");
        let status = upgrade_to_websocket(&mut stream, &to.to_string()).await;
        assert_eq!(status, "HTTP/1.1 101 Switching Protocols");
        // 255 MiB each: without a bound the server reserved and zeroed that much per frame.
        stream
            .write_all(&frame_header_claiming(255 << 20))
            .await
            .unwrap();
        held.push(stream);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let grown = rss_mib(pid).saturating_sub(before);
    assert!(grown < 64, "the server grew by {grown} MiB");
    drop(held);
    server.stop().await;
}
