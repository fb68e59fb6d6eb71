//! The server's STUN responder, through a real server process and a real UDP socket: offered in
//! `/bootstrap`, it tells a client the address its datagrams came from, and a flood from one
//! source gets only that source's share of answers.

mod common;

use common::{loopback_args, run_to_exit, start_server, temp_dir, ServerProcess};
use peerfetch::net::ice_server::IceUrls;
use peerfetch_server::stun_rate::PER_SOURCE_BURST;
use std::net::SocketAddr;
use std::time::Duration;
use stun::message::{Getter, Message, Setter, BINDING_REQUEST, BINDING_SUCCESS};
use stun::xoraddr::XorMappedAddress;
use tokio::net::UdpSocket;

#[tokio::test]
async fn bootstrap_offers_the_servers_stun_which_answers_with_the_callers_address() {
    let dir = temp_dir("stun");
    let server = start_server(&loopback_args(&dir.join("key.json"))).await;
    let stun_addr = stun_addr(&server).await;
    assert_eq!(stun_addr.ip().to_string(), "127.0.0.1");
    assert_ne!(
        stun_addr.port(),
        3478,
        "port 0 listeners get an OS-chosen STUN port"
    );

    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let request = binding_request();
    // Garbage first: the responder drops it and goes on answering.
    socket.send_to(&[0u8; 300], stun_addr).await.unwrap();
    socket.send_to(&request.raw, stun_addr).await.unwrap();
    let mut buf = [0u8; 1500];
    let (len, from) = tokio::time::timeout(Duration::from_secs(5), socket.recv_from(&mut buf))
        .await
        .expect("an answer within 5 s")
        .unwrap();
    assert_eq!(from, stun_addr);
    let mut response = Message::new();
    response.unmarshal_binary(&buf[..len]).unwrap();
    assert_eq!(response.typ, BINDING_SUCCESS);
    assert_eq!(response.transaction_id, request.transaction_id);
    let mut mapped = XorMappedAddress::default();
    mapped.get_from(&response).unwrap();
    assert_eq!(
        SocketAddr::new(mapped.ip, mapped.port),
        socket.local_addr().unwrap()
    );
    server.stop().await;
}

#[tokio::test]
async fn stun_can_be_turned_off_and_a_taken_port_is_a_clear_error() {
    let dir = temp_dir("stun-off");
    let mut args = loopback_args(&dir.join("key.json"));
    args.extend(["--stun-listen".into(), "none".into()]);
    let server = start_server(&args).await;
    assert!(server.bootstrap().await.ice_servers.is_empty());
    server.stop().await;

    let taken = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let taken = taken.local_addr().unwrap().to_string();
    let mut args = loopback_args(&dir.join("key2.json"));
    args.extend(["--stun-listen".into(), taken.clone()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, stderr) = run_to_exit(&args).await;
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains(&format!("cannot answer STUN on {taken}")) && stderr.contains("none"),
        "{stderr}"
    );
}

/// The STUN address `server` offers in `/bootstrap`: its one ICE server, a `stun:IP:PORT` URL.
async fn stun_addr(server: &ServerProcess) -> SocketAddr {
    let bootstrap = server.bootstrap().await;
    let [ice] = &bootstrap.ice_servers[..] else {
        panic!("one ICE server offered, got {:?}", bootstrap.ice_servers)
    };
    let IceUrls::One(url) = &ice.urls else {
        panic!("one URL, got {:?}", ice.urls)
    };
    url.strip_prefix("stun:")
        .unwrap_or_else(|| panic!("a stun: URL, got {url}"))
        .parse()
        .expect("IP:PORT")
}

/// A Binding request with a fresh transaction id.
fn binding_request() -> Message {
    let mut request = Message::new();
    let setters: [Box<dyn Setter>; 1] = [Box::new(BINDING_REQUEST)];
    request.build(&setters).unwrap();
    request.new_transaction_id().unwrap();
    request
}

/// Sends `count` Binding requests from `socket` to `to` at once; returns how many were
/// answered within a second of the last.
async fn flood(socket: &UdpSocket, to: SocketAddr, count: usize) -> usize {
    for _ in 0..count {
        socket.send_to(&binding_request().raw, to).await.unwrap();
    }
    let mut answers = 0;
    let mut buf = [0u8; 1500];
    while let Ok(Ok(_)) =
        tokio::time::timeout(Duration::from_secs(1), socket.recv_from(&mut buf)).await
    {
        answers += 1;
    }
    answers
}

#[tokio::test]
async fn a_flood_from_one_source_gets_its_burst_and_another_source_is_still_answered() {
    let dir = temp_dir("stun-flood");
    let server = start_server(&loopback_args(&dir.join("key.json"))).await;
    let to = stun_addr(&server).await;
    let flooder = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let answered = flood(&flooder, to, 200).await;
    // The burst, and the few earned (10 a second) while the requests were going out.
    let burst = PER_SOURCE_BURST as usize;
    assert!(
        (burst..burst + 10).contains(&answered),
        "{answered} of 200 answered"
    );
    let other = UdpSocket::bind("127.0.0.2:0").await.unwrap();
    assert_eq!(flood(&other, to, 3).await, 3, "another source is answered");
    server.stop().await;
}
