//! A WebRTC-direct client can connect from a port whose first attempt failed. A STUN binding
//! request that no connection follows (a client whose ICE gave up during a burst of handshakes,
//! or a spoofed datagram naming the client's address) used to make the server's UDP mux ignore
//! that address for good (vendor/README.md).

mod common;

use common::*;
use peerfetch::net::transport_kind::TransportKind;
use std::net::UdpSocket;
use std::time::{Duration, Instant};
use stun::attributes::ATTR_USERNAME;
use stun::message::{Message, Setter, BINDING_REQUEST};
use stun::textattrs::Username;

/// How long the client keeps trying (a new attempt is reported at once; upstream's mux never
/// reported the address again).
const TRYING_FOR: Duration = Duration::from_secs(40);

/// A binding request as an ICE agent whose username fragment is `ufrag` sends it.
fn binding_request(ufrag: &str) -> Vec<u8> {
    let mut request = Message::new();
    let username = Username::new(ATTR_USERNAME, format!("server:{ufrag}"));
    let setters: [Box<dyn Setter>; 2] = [Box::new(BINDING_REQUEST), Box::new(username)];
    request.build(&setters).expect("a binding request");
    request.new_transaction_id().expect("a transaction id");
    request.raw
}

#[tokio::test]
async fn a_client_connects_from_a_port_whose_first_attempt_failed() {
    let dir = temp_dir("webrtc-direct-retry");
    let server = start_server(&loopback_args(&dir.join("key.json"))).await;
    let server_addr = server.addr(TransportKind::WebRtcDirect).await;
    let udp = udp_socket_addr(&server_addr);

    // A first attempt from a port: one binding request, then nothing (the port closes).
    let port = {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("a UDP socket");
        let request = binding_request("libp2p+webrtc+v1/abandoned");
        socket.send_to(&request, udp).expect("sent");
        socket.local_addr().expect("bound").port()
    };

    // A client on that same port dials until it is connected.
    let mut client = client(Duration::from_secs(15)).await;
    client
        .listen_on(
            format!("/ip4/127.0.0.1/udp/{port}/webrtc-direct")
                .parse()
                .expect("valid"),
        )
        .expect("client UDP listener on the same port");
    let started = Instant::now();
    let mut attempts = 0;
    let connected = loop {
        if started.elapsed() > TRYING_FOR {
            break false;
        }
        attempts += 1;
        if dial(&mut client, &server_addr, TRYING_FOR).await {
            break true;
        }
    };
    println!(
        "connected: {connected} after {attempts} attempts in {:?}",
        started.elapsed()
    );
    assert!(
        connected,
        "no connection from port {port} in {TRYING_FOR:?} ({attempts} attempts)"
    );
    server.stop().await;
}
