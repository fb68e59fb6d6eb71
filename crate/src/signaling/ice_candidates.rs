//! The kinds of ICE candidate an exchange saw on each side, and what they say when no direct
//! path formed: a tab without a server-reflexive candidate had no STUN server, and two tabs
//! whose public addresses were both tried sit behind NATs that only a TURN relay crosses.

use std::fmt;

/// Which kinds of candidate one side offered (RFC 8445 candidate types).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CandidateKinds {
    host: bool,
    server_reflexive: bool,
    peer_reflexive: bool,
    relayed: bool,
}

impl CandidateKinds {
    /// Notes the type of `candidate` (`RTCIceCandidate.toJSON()` as JSON, or its `candidate`
    /// line); a text naming no type is ignored.
    pub fn note(&mut self, candidate: &str) {
        let mut words = candidate.split(|c: char| c.is_whitespace() || c == '"');
        while let Some(word) = words.next() {
            if word == "typ" {
                match words.next() {
                    Some("host") => self.host = true,
                    Some("srflx") => self.server_reflexive = true,
                    Some("prflx") => self.peer_reflexive = true,
                    Some("relay") => self.relayed = true,
                    _ => {}
                }
                return;
            }
        }
    }
}

impl fmt::Display for CandidateKinds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kinds: Vec<&str> = [
            (self.host, "host"),
            (self.server_reflexive, "srflx"),
            (self.peer_reflexive, "prflx"),
            (self.relayed, "relay"),
        ]
        .into_iter()
        .filter_map(|(seen, name)| seen.then_some(name))
        .collect();
        if kinds.is_empty() {
            f.write_str("none")
        } else {
            f.write_str(&kinds.join(", "))
        }
    }
}

/// The candidates both sides offered in an exchange that found no path, and what to do about it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SeenCandidates {
    /// Ours.
    pub local: CandidateKinds,
    /// The peer's.
    pub remote: CandidateKinds,
}

impl fmt::Display for SeenCandidates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self { local, remote } = self;
        write!(f, "candidates here: {local}; there: {remote}. ")?;
        if local.relayed || remote.relayed {
            f.write_str("Not even through the TURN relay: is it reachable from both sides?")
        } else if local.server_reflexive && remote.server_reflexive {
            f.write_str(
                "Both public addresses were tried: behind symmetric NATs only a TURN server \
                 joins the peers (a turn: URL in iceServers, or the server's --turn-url)",
            )
        } else {
            f.write_str(
                "A side without a srflx candidate had no STUN server: peers behind different \
                 NATs need one (the server offers its own unless --stun-listen none; or give \
                 iceServers), and behind symmetric NATs a TURN server",
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(candidates: &[&str]) -> CandidateKinds {
        let mut kinds = CandidateKinds::default();
        for candidate in candidates {
            kinds.note(candidate);
        }
        kinds
    }

    #[test]
    fn types_are_read_from_candidate_json() {
        let json = r#"{"candidate":"candidate:1 1 udp 1677729535 203.0.113.11 52345 typ srflx raddr 10.1.0.2 rport 52345 generation 0","sdpMid":"0","sdpMLineIndex":0}"#;
        let seen = kinds(&[
            json,
            "candidate:2 1 udp 2122260223 10.1.0.2 5000 typ host",
            "{}",
        ]);
        assert_eq!(seen.to_string(), "host, srflx");
        assert_eq!(kinds(&["typ"]).to_string(), "none");
    }

    #[test]
    fn the_advice_follows_what_each_side_offered() {
        let host = kinds(&["typ host"]);
        let public = kinds(&["typ host", "typ srflx"]);
        let no_stun = SeenCandidates {
            local: host,
            remote: public,
        };
        assert!(
            no_stun.to_string().contains("had no STUN server"),
            "{no_stun}"
        );
        let symmetric = SeenCandidates {
            local: public,
            remote: public,
        };
        assert!(
            symmetric.to_string().contains("TURN server joins"),
            "{symmetric}"
        );
        let relayed = SeenCandidates {
            local: kinds(&["typ relay"]),
            remote: public,
        };
        assert!(relayed.to_string().contains("TURN relay"), "{relayed}");
    }
}
