//! How a browser-to-browser link runs, from the candidate types of its selected ICE pair:
//! between host addresses, through a NAT's public address (learnt from a STUN server, or seen
//! by the peer), or through a TURN relay. `connections()` reports it as `path`.

use serde::Serialize;

/// The path of a direct link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IcePath {
    /// Host address to host address (same network, or no NAT between).
    Host,
    /// At least one end reached at its NAT's public address (server- or peer-reflexive).
    Stun,
    /// Through a TURN relay.
    Turn,
}

impl IcePath {
    /// The path of a pair whose candidates have these `candidateType`s (`host`, `srflx`,
    /// `prflx`, `relay`); `None` when a type is unknown. A remote peer-reflexive candidate is
    /// also what a host candidate hidden behind an mDNS name looks like once checks reach it,
    /// so it counts as a NAT's address only when `remote_ip_is_reflexive`: its IP is one the
    /// peer also offered as server-reflexive.
    pub fn of(local: &str, remote: &str, remote_ip_is_reflexive: bool) -> Option<Self> {
        let path = |kind: &str, prflx: Self| match kind {
            "host" => Some(Self::Host),
            "srflx" => Some(Self::Stun),
            "prflx" => Some(prflx),
            "relay" => Some(Self::Turn),
            _ => None,
        };
        let remote_prflx = if remote_ip_is_reflexive {
            Self::Stun
        } else {
            Self::Host
        };
        let (local, remote) = (path(local, Self::Stun)?, path(remote, remote_prflx)?);
        Some(local.max_by_reach(remote))
    }

    /// The one that goes further out of the way.
    fn max_by_reach(self, other: Self) -> Self {
        let reach = |path: Self| match path {
            Self::Host => 0,
            Self::Stun => 1,
            Self::Turn => 2,
        };
        if reach(other) > reach(self) {
            other
        } else {
            self
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_path_is_the_furthest_end() {
        assert_eq!(IcePath::of("host", "host", false), Some(IcePath::Host));
        assert_eq!(IcePath::of("host", "srflx", false), Some(IcePath::Stun));
        assert_eq!(IcePath::of("prflx", "host", false), Some(IcePath::Stun));
        assert_eq!(IcePath::of("srflx", "relay", false), Some(IcePath::Turn));
        assert_eq!(IcePath::of("host", "mdns", false), None);
    }

    #[test]
    fn a_remote_peer_reflexive_candidate_is_a_nat_only_at_a_reflexive_ip() {
        assert_eq!(IcePath::of("host", "prflx", false), Some(IcePath::Host));
        assert_eq!(IcePath::of("host", "prflx", true), Some(IcePath::Stun));
    }
}
