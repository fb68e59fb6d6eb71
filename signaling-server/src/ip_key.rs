//! [`AddressKey`]: what a per-address bound counts by. Peer ids cost nothing to make, addresses
//! do; but a host given IPv6 gets a whole /64, so IPv6 addresses count by their /64 prefix.

use libp2p::{multiaddr::Protocol, Multiaddr};
use std::net::{IpAddr, Ipv6Addr};

/// An IPv4 address, or the /64 prefix of an IPv6 one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AddressKey(IpAddr);

impl AddressKey {
    /// The key of the IP address a multiaddr starts with, if it does.
    pub fn of_multiaddr(addr: &Multiaddr) -> Option<Self> {
        match addr.iter().next()? {
            Protocol::Ip4(ip) => Some(IpAddr::V4(ip).into()),
            Protocol::Ip6(ip) => Some(IpAddr::V6(ip).into()),
            _ => None,
        }
    }
}

impl AddressKey {
    /// The prefix of this IPv6 /64 that is `len` bits long (`len` at most 64), as the bits of
    /// an address; `None` for IPv4.
    pub fn ipv6_prefix(&self, len: u32) -> Option<u128> {
        match self.0 {
            IpAddr::V4(_) => None,
            IpAddr::V6(ip) => {
                let len = len.min(64);
                Some(ip.to_bits() & !(u128::MAX >> len))
            }
        }
    }
}

impl From<IpAddr> for AddressKey {
    fn from(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(_) => Self(ip),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self(IpAddr::V4(v4)),
                None => Self(IpAddr::V6(Ipv6Addr::from_bits(
                    v6.to_bits() & !u128::from(u64::MAX),
                ))),
            },
        }
    }
}

impl std::fmt::Display for AddressKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            IpAddr::V4(ip) => write!(f, "{ip}"),
            IpAddr::V6(ip) => write!(f, "{ip}/64"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(text: &str) -> AddressKey {
        text.parse::<IpAddr>().expect("an address").into()
    }

    #[test]
    fn ipv6_counts_per_64_and_ipv4_per_address() {
        assert_eq!(key("2001:db8:1:2::1"), key("2001:db8:1:2:ffff::9"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_eq!(key("2001:db8:1:2::1").to_string(), "2001:db8:1:2::/64");
        assert_ne!(key("10.0.0.1"), key("10.0.0.2"));
        assert_eq!(key("::ffff:10.0.0.1"), key("10.0.0.1"));
        assert_eq!(
            AddressKey::of_multiaddr(&"/ip4/1.2.3.4/udp/9/webrtc-direct".parse().unwrap()),
            Some(key("1.2.3.4"))
        );
        assert_eq!(
            AddressKey::of_multiaddr(&"/dns4/example.org/tcp/1".parse().unwrap()),
            None
        );
    }
}
