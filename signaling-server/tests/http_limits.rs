//! The HTTP listener against slow and greedy clients: a request head must come within
//! `--http-header-timeout-secs`, a client that stops reading is cut off after
//! `--http-write-timeout-secs`, and at most `--http-max-connections` are served at once.

mod common;

use common::*;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Opens a connection to the public listener and sends half a request head, never the rest.
async fn slowloris(server: &ServerProcess) -> TcpStream {
    let addr = server.http.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).await.expect("connects");
    stream
        .write_all(b"GET /bootstrap HTTP/1.1\r\nHost: peerfetch\r\n")
        .await
        .expect("sent");
    stream
}

/// Reads until the server closes `stream`, for at most `limit`; returns the bytes read and
/// whether it closed within the limit.
async fn until_closed(stream: &mut TcpStream, limit: Duration) -> (usize, bool) {
    let mut read = 0;
    let mut buf = vec![0u8; 64 * 1024];
    let closed = tokio::time::timeout(limit, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => read += n,
            }
        }
    })
    .await
    .is_ok();
    (read, closed)
}

fn args(dir: &std::path::Path, extra: &[&str]) -> Vec<String> {
    let mut args = loopback_args(&dir.join("key.json"));
    args.extend(extra.iter().map(|a| a.to_string()));
    args
}

#[tokio::test]
async fn slowloris_clients_are_cut_off_while_others_are_served() {
    let dir = temp_dir("slowloris");
    let server = start_server(&args(&dir, &["--http-header-timeout-secs", "2"])).await;
    let started = Instant::now();
    let mut stalled = Vec::new();
    for _ in 0..40 {
        stalled.push(slowloris(&server).await);
    }
    let doc = tokio::time::timeout(Duration::from_secs(5), server.bootstrap())
        .await
        .expect("/bootstrap answers while 40 clients stall");
    assert!(!doc.addrs.is_empty());
    for stream in &mut stalled {
        let (_, closed) = until_closed(stream, Duration::from_secs(10)).await;
        assert!(closed, "a stalled client is cut off");
    }
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(1500) && elapsed < Duration::from_secs(8),
        "cut off after about the 2 s timeout, not at once: {elapsed:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn connections_past_the_cap_wait_for_a_free_slot() {
    let dir = temp_dir("http-cap");
    let server = start_server(&args(
        &dir,
        &[
            "--http-max-connections",
            "4",
            "--http-header-timeout-secs",
            "2",
        ],
    ))
    .await;
    let mut stalled = Vec::new();
    for _ in 0..4 {
        stalled.push(slowloris(&server).await);
    }
    // Let the server take the four before the fifth comes.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    tokio::time::timeout(Duration::from_secs(10), server.bootstrap())
        .await
        .expect("/bootstrap answers once a slot is free");
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(1000),
        "the fifth connection waited for a stalled one to be cut off: {waited:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_client_that_stops_reading_is_cut_off() {
    let dir = temp_dir("slow-reader");
    let www = dir.join("www");
    std::fs::create_dir_all(&www).unwrap();
    const SIZE: u64 = 64 << 20;
    // Sparse: no 64 MiB written to disk.
    std::fs::File::create(www.join("big.bin"))
        .unwrap()
        .set_len(SIZE)
        .unwrap();
    let www_arg = www.display().to_string();
    let server = start_server(&args(
        &dir,
        &["--www-dir", &www_arg, "--http-write-timeout-secs", "1"],
    ))
    .await;
    let addr = server.http.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).await.expect("connects");
    stream
        .write_all(b"GET /big.bin HTTP/1.1\r\nHost: peerfetch\r\n\r\n")
        .await
        .expect("sent");
    // Read nothing for longer than the write timeout: the socket buffers fill, the server's
    // write stalls.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let (read, closed) = until_closed(&mut stream, Duration::from_secs(20)).await;
    assert!(closed, "the connection ends");
    assert!(
        (read as u64) < SIZE,
        "cut off before the whole file: {read} bytes"
    );
    let doc = server.bootstrap().await;
    assert!(!doc.addrs.is_empty(), "others are still served");
    server.stop().await;
}

/// Opens a connection from `from` (any 127.0.0.0/8 address is local) to the public listener.
async fn connect_from(from: std::net::Ipv4Addr, server: &ServerProcess) -> TcpStream {
    let to: std::net::SocketAddr = server
        .http
        .trim_start_matches("http://")
        .parse()
        .expect("an address");
    let socket = tokio::net::TcpSocket::new_v4().expect("a socket");
    socket
        .bind(std::net::SocketAddr::from((from, 0)))
        .expect("bind");
    socket.connect(to).await.expect("connects")
}

#[tokio::test]
async fn one_host_cannot_take_every_connection_slot() {
    let dir = temp_dir("http-per-ip");
    let server = start_server(&args(
        &dir,
        &[
            "--http-max-connections-per-ip",
            "4",
            "--http-header-timeout-secs",
            "10",
        ],
    ))
    .await;
    let flooder = std::net::Ipv4Addr::new(127, 0, 0, 1);
    let mut stalled = Vec::new();
    for _ in 0..4 {
        let mut stream = connect_from(flooder, &server).await;
        stream
            .write_all(b"GET /bootstrap HTTP/1.1\r\n")
            .await
            .expect("sent");
        stalled.push(stream);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    // The fifth from the same host is closed at once, not after the 10 s header timeout.
    let mut fifth = connect_from(flooder, &server).await;
    let (_, closed) = until_closed(&mut fifth, Duration::from_secs(3)).await;
    assert!(
        closed,
        "past 4, a connection from 127.0.0.1 is closed at once"
    );
    // Another host is served at once.
    let mut other = connect_from(std::net::Ipv4Addr::new(127, 0, 0, 2), &server).await;
    other
        .write_all(b"GET /bootstrap HTTP/1.1\r\nHost: peerfetch\r\nConnection: close\r\n\r\n")
        .await
        .expect("sent");
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), other.read_to_end(&mut answer))
        .await
        .expect("answered at once")
        .expect("read");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let addresses = "peerfetch_map_entries{map=\"http_public_addresses\"}";
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        server.metric(addresses).await,
        1.0,
        "the flooder's four remain"
    );
    drop(stalled);
    server.stop().await;
}
