//! The server's STUN responder (RFC 8489 Binding) on a UDP socket of its own. A tab behind a NAT
//! asks it which address its packets leave with; that server-reflexive candidate is what lets
//! two tabs in different homes link directly. The server offers it to tabs in `/bootstrap`.
//!
//! Stateless: every well-formed Binding request gets one success answer carrying
//! XOR-MAPPED-ADDRESS, everything else is dropped without a word. The answer is 32 bytes (44
//! for IPv6) against a request of at least 20, so the socket amplifies little. The message codec is
//! webrtc-rs's `stun` crate (already in the build under `libp2p-webrtc`).

use crate::stun_rate::StunRates;
use libp2p::{multiaddr::Protocol, Multiaddr};
use peerfetch::net::transport_kind::TransportKind;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::time::Duration;
use stun::message::{Message, Setter, BINDING_REQUEST, BINDING_SUCCESS};
use stun::xoraddr::XorMappedAddress;
use tokio::net::UdpSocket;

/// The usual STUN port, which `--stun-listen auto` takes when the WebRTC-direct port is fixed.
pub const STUN_PORT: u16 = 3478;
/// Largest datagram read; a Binding request from a browser is a few dozen bytes.
const MAX_DATAGRAM: usize = 1500;

/// Where `--stun-listen` puts the responder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StunListen {
    /// On the host of a WebRTC-direct listen address (see [`StunListen::resolve`]): port
    /// [`STUN_PORT`], or a port the
    /// OS picks when that listener's port is also left to the OS (0), so servers on OS-chosen
    /// ports (tests) run side by side.
    Auto,
    /// No STUN (e.g. coturn serves it on this host).
    Off,
    /// On this address.
    At(SocketAddr),
}

/// A `--stun-listen` value that is neither `auto`, `none` nor `IP:PORT`.
#[derive(Debug, thiserror::Error)]
#[error("{0:?} is not a STUN listen address: give IP:PORT, \"auto\" or \"none\"")]
pub struct BadStunListen(String);

impl FromStr for StunListen {
    type Err = BadStunListen;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "auto" => Ok(Self::Auto),
            "none" => Ok(Self::Off),
            addr => addr
                .parse()
                .map(Self::At)
                .map_err(|_| BadStunListen(text.to_owned())),
        }
    }
}

impl StunListen {
    /// The address to bind, given the libp2p listen addresses; `None` when there is none
    /// (turned off, or `auto` without a WebRTC-direct listener). `auto` takes the host of a
    /// WebRTC-direct listener, by the preference [`stun_url`] tells tabs by (an unspecified
    /// address, which answers on every interface, before all), so that without
    /// `--external-address` tabs are told where it listens.
    pub fn resolve(self, listen: &[Multiaddr]) -> Option<SocketAddr> {
        match self {
            Self::Off => None,
            Self::At(addr) => Some(addr),
            Self::Auto => listen
                .iter()
                .filter(|addr| TransportKind::of(addr) == TransportKind::WebRtcDirect)
                .filter_map(ip_and_udp_port)
                .min_by_key(|(ip, _)| (!ip.is_unspecified(), reach(*ip)))
                .map(|(ip, port)| SocketAddr::new(ip, if port == 0 { 0 } else { STUN_PORT })),
        }
    }
}

/// The `stun:` URL tabs are given: the host of an advertised WebRTC-direct address (one tabs
/// already reach over UDP), on the responder's `port`. A name or public address is preferred
/// to a private one, and a private one to loopback: a `0.0.0.0` listener reports every
/// interface, loopback often first, and a STUN server on loopback helps no tab behind a NAT.
pub fn stun_url(advertised: &[Multiaddr], port: u16) -> Option<String> {
    advertised
        .iter()
        .filter(|addr| TransportKind::of(addr) == TransportKind::WebRtcDirect)
        .filter_map(|addr| match addr.iter().next()? {
            Protocol::Ip4(ip) => Some((reach(IpAddr::V4(ip)), format!("stun:{ip}:{port}"))),
            Protocol::Ip6(ip) => Some((reach(IpAddr::V6(ip)), format!("stun:[{ip}]:{port}"))),
            Protocol::Dns(host) | Protocol::Dns4(host) | Protocol::Dns6(host) => {
                Some((Reach::Public, format!("stun:{host}:{port}")))
            }
            _ => None,
        })
        .min_by_key(|(reach, _)| *reach)
        .map(|(_, url)| url)
}

/// Who can reach an address, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Reach {
    Public,
    Private,
    ThisHost,
}

fn reach(ip: IpAddr) -> Reach {
    match ip.to_canonical() {
        ip if ip.is_loopback() || ip.is_unspecified() => Reach::ThisHost,
        IpAddr::V4(v4) if v4.is_private() || v4.is_link_local() => Reach::Private,
        // fc00::/7 (unique local) and fe80::/10 (link local).
        IpAddr::V6(v6)
            if v6.segments()[0] & 0xfe00 == 0xfc00 || v6.segments()[0] & 0xffc0 == 0xfe80 =>
        {
            Reach::Private
        }
        _ => Reach::Public,
    }
}

fn ip_and_udp_port(addr: &Multiaddr) -> Option<(IpAddr, u16)> {
    let mut parts = addr.iter();
    let ip = match parts.next()? {
        Protocol::Ip4(ip) => IpAddr::V4(ip),
        Protocol::Ip6(ip) => IpAddr::V6(ip),
        _ => return None,
    };
    match parts.next()? {
        Protocol::Udp(port) => Some((ip, port)),
        _ => None,
    }
}

/// The answer to a datagram from `from`: a Binding success response naming `from`, when the
/// datagram is a well-formed Binding request; `None` for anything else.
pub fn answer(datagram: &[u8], from: SocketAddr) -> Option<Vec<u8>> {
    if !stun::message::is_message(datagram) {
        return None;
    }
    let mut request = Message::new();
    request.unmarshal_binary(datagram).ok()?;
    if request.typ != BINDING_REQUEST {
        return None;
    }
    // On a dual-stack socket an IPv4 client arrives as ::ffff:a.b.c.d; it must learn a.b.c.d.
    let mapped = XorMappedAddress {
        ip: from.ip().to_canonical(),
        port: from.port(),
    };
    let setters: [Box<dyn Setter>; 3] = [
        Box::new(request.transaction_id),
        Box::new(BINDING_SUCCESS),
        Box::new(mapped),
    ];
    let mut response = Message::new();
    response.build(&setters).ok()?;
    Some(response.raw)
}

/// Answers Binding requests on `socket`, within [`StunRates`], until `stop` turns true.
pub async fn serve(socket: UdpSocket, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut buf = vec![0; MAX_DATAGRAM];
    let started = tokio::time::Instant::now();
    let mut rates = StunRates::new(Duration::ZERO);
    let stopped = async move {
        let _ = stop.wait_for(|stop| *stop).await;
    };
    tokio::pin!(stopped);
    loop {
        tokio::select! {
            received = socket.recv_from(&mut buf) => match received {
                Ok((len, from)) => {
                    let reply = answer(&buf[..len], from)
                        .filter(|_| rates.allow(from.ip(), started.elapsed()));
                    if let Some(reply) = reply {
                        if let Err(e) = socket.send_to(&reply, from).await {
                            tracing::debug!(%from, "STUN answer not sent: {e}");
                        }
                    }
                }
                // An ICMP error from an earlier answer's destination, reported on this socket.
                Err(e) => tracing::debug!("STUN socket: {e}"),
            },
            () = &mut stopped => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stun::message::Getter;

    fn binding_request() -> Message {
        let mut request = Message::new();
        let setters: [Box<dyn Setter>; 1] = [Box::new(BINDING_REQUEST)];
        request.build(&setters).unwrap();
        request.new_transaction_id().unwrap();
        request
    }

    #[test]
    fn a_binding_request_is_answered_with_the_address_it_came_from() {
        let request = binding_request();
        let from: SocketAddr = "203.0.113.7:40123".parse().unwrap();
        assert_eq!(
            mapped_in(&answer(&request.raw, from).expect("an answer"), &request),
            from
        );
        let dual_stack: SocketAddr = "[::ffff:203.0.113.7]:40123".parse().unwrap();
        let reply = answer(&request.raw, dual_stack).expect("an answer");
        assert_eq!(mapped_in(&reply, &request), from, "IPv4 as IPv4");
    }

    fn mapped_in(reply: &[u8], request: &Message) -> SocketAddr {
        let mut response = Message::new();
        response.unmarshal_binary(reply).unwrap();
        assert_eq!(response.typ, BINDING_SUCCESS);
        assert_eq!(response.transaction_id, request.transaction_id);
        let mut mapped = XorMappedAddress::default();
        mapped.get_from(&response).unwrap();
        SocketAddr::new(mapped.ip, mapped.port)
    }

    #[test]
    fn anything_but_a_binding_request_gets_no_answer() {
        let from: SocketAddr = "[2001:db8::1]:5000".parse().unwrap();
        assert_eq!(answer(b"", from), None);
        assert_eq!(answer(&[0xff; 64], from), None);
        let mut success = binding_request();
        let setters: [Box<dyn Setter>; 1] = [Box::new(BINDING_SUCCESS)];
        success.build(&setters).unwrap();
        assert_eq!(answer(&success.raw, from), None);
        let mut truncated = binding_request().raw;
        truncated[3] = 8; // claims 8 bytes of attributes it does not carry
        assert_eq!(answer(&truncated, from), None);
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config {
            failure_persistence: None,
            ..proptest::test_runner::Config::default()
        })]

        /// Whatever arrives, the responder answers or stays silent; it never panics, and what
        /// it answers is a Binding success for that transaction naming the sender.
        #[test]
        fn arbitrary_datagrams_never_panic(
            datagram in proptest::collection::vec(proptest::num::u8::ANY, 0..600),
            header_of_a_request in proptest::bool::ANY,
        ) {
            let mut datagram = datagram;
            if header_of_a_request && datagram.len() >= 20 {
                // A well-formed header over arbitrary attributes reaches the attribute parser.
                let request = binding_request();
                datagram[..20].copy_from_slice(&request.raw[..20]);
                let len = u16::try_from(datagram.len() - 20).unwrap();
                datagram[2..4].copy_from_slice(&len.to_be_bytes());
            }
            let from: SocketAddr = "198.51.100.7:4242".parse().unwrap();
            if let Some(reply) = answer(&datagram, from) {
                // Answered, so the datagram was a Binding request: the answer echoes its
                // transaction and names the sender.
                let mut request = Message::new();
                request.unmarshal_binary(&datagram).unwrap();
                proptest::prop_assert_eq!(mapped_in(&reply, &request), from);
            }
        }
    }

    #[test]
    fn auto_follows_a_webrtc_direct_listener() {
        let listen: Vec<Multiaddr> = vec![
            "/ip4/10.0.0.1/tcp/9091/ws".parse().unwrap(),
            "/ip4/10.0.0.2/udp/9090/webrtc-direct".parse().unwrap(),
        ];
        assert_eq!(
            StunListen::Auto.resolve(&listen),
            Some("10.0.0.2:3478".parse().unwrap())
        );
        let any_port: Vec<Multiaddr> = vec!["/ip4/10.0.0.2/udp/0/webrtc-direct".parse().unwrap()];
        assert_eq!(
            StunListen::Auto.resolve(&any_port),
            Some("10.0.0.2:0".parse().unwrap())
        );
        assert_eq!(StunListen::Auto.resolve(&listen[..1]), None);
        assert_eq!(StunListen::Off.resolve(&listen), None);
        // The host tabs are told: not loopback when another is there; all of them if one is.
        let rtc =
            |host: &str| -> Multiaddr { format!("{host}/udp/9090/webrtc-direct").parse().unwrap() };
        let (loopback, lan) = (rtc("/ip4/127.0.0.1"), rtc("/ip4/192.168.1.5"));
        assert_eq!(
            StunListen::Auto.resolve(&[loopback.clone(), lan.clone()]),
            Some("192.168.1.5:3478".parse().unwrap())
        );
        assert_eq!(
            stun_url(&[loopback.clone(), lan.clone()], 3478).as_deref(),
            Some("stun:192.168.1.5:3478")
        );
        assert_eq!(
            StunListen::Auto.resolve(&[lan, rtc("/ip4/0.0.0.0"), loopback]),
            Some("0.0.0.0:3478".parse().unwrap())
        );
        assert_eq!("none".parse::<StunListen>().unwrap(), StunListen::Off);
        assert!("udp:3478".parse::<StunListen>().is_err());
    }

    #[test]
    fn tabs_are_told_the_host_of_the_advertised_webrtc_direct_address() {
        let advertised: Vec<Multiaddr> = vec![
            "/dns4/example.org/tcp/443/wss".parse().unwrap(),
            "/ip6/2001:db8::5/udp/9090/webrtc-direct".parse().unwrap(),
        ];
        assert_eq!(
            stun_url(&advertised, 3478).as_deref(),
            Some("stun:[2001:db8::5]:3478")
        );
        assert_eq!(stun_url(&advertised[..1], 3478), None);
    }

    #[test]
    fn a_public_host_is_preferred_to_a_private_one_and_loopback_comes_last() {
        let rtc =
            |host: &str| -> Multiaddr { format!("{host}/udp/9090/webrtc-direct").parse().unwrap() };
        let loopback = rtc("/ip4/127.0.0.1");
        let private = rtc("/ip4/172.17.0.2");
        let public = rtc("/ip4/203.0.113.7");
        let ula = rtc("/ip6/fd00::2");
        let url = |addrs: &[Multiaddr]| stun_url(addrs, 3478).unwrap();
        assert_eq!(
            url(&[loopback.clone(), private.clone(), public]),
            "stun:203.0.113.7:3478"
        );
        assert_eq!(url(&[loopback.clone(), ula]), "stun:[fd00::2]:3478");
        assert_eq!(url(&[loopback.clone(), private]), "stun:172.17.0.2:3478");
        assert_eq!(url(&[loopback]), "stun:127.0.0.1:3478");
    }
}
