//! TURN credentials for tabs, by the TURN REST API scheme that coturn's `use-auth-secret` checks:
//! user name `<expiry unix time>:<peer id>`, password base64(HMAC-SHA1(secret, user name)).
//!
//! The secret stays on the server (coturn holds the same one). Credentials travel over the tab's
//! authenticated libp2p connection (`/peerfetch/ice/1`) rather than in `/bootstrap`: the peer
//! id in the user name is the one the tab's Noise handshake proved (coturn's logs then name the
//! tab), only a peer that completed a connection within the server's limits gets any, and the
//! tab asks again on the same connection before they expire.

use libp2p::PeerId;
use peerfetch::net::ice_server::{IceOffer, IceServer, IceUrls};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Why the TURN flags cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TurnConfigError {
    /// `--turn-url` without `--turn-secret-file`, or the other way round.
    #[error("--turn-url and --turn-secret-file go together: give both, or neither")]
    Incomplete,
    /// A URL that browsers would refuse (`RTCPeerConnection` throws on it).
    #[error("--turn-url {url:?}: {reason} (give turn:host[:port][?transport=udp|tcp] or turns:…)")]
    BadUrl {
        /// The URL given.
        url: String,
        /// What is wrong with it.
        reason: TurnUrlProblem,
    },
    /// The secret file cannot be read.
    #[error("cannot read --turn-secret-file {path}: {source}")]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The secret file holds nothing.
    #[error("--turn-secret-file {0} is empty")]
    Empty(PathBuf),
}

/// The TURN servers and the secret credentials are minted with.
#[derive(Clone)]
pub struct TurnCredentials {
    urls: Vec<String>,
    secret: Vec<u8>,
    ttl: Duration,
}

impl std::fmt::Debug for TurnCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TurnCredentials")
            .field("urls", &self.urls)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl TurnCredentials {
    /// From the flags: `None` when TURN is not configured. The secret is the file's content,
    /// without surrounding whitespace.
    pub fn from_flags(
        urls: &[String],
        secret_file: Option<&Path>,
        ttl: Duration,
    ) -> Result<Option<Self>, TurnConfigError> {
        let path = match (urls.is_empty(), secret_file) {
            (true, None) => return Ok(None),
            (false, Some(path)) => path,
            _ => return Err(TurnConfigError::Incomplete),
        };
        for url in urls {
            check_turn_url(url).map_err(|reason| TurnConfigError::BadUrl {
                url: url.clone(),
                reason,
            })?;
        }
        let secret = std::fs::read(path).map_err(|source| TurnConfigError::Unreadable {
            path: path.to_owned(),
            source,
        })?;
        let secret = secret.trim_ascii().to_vec();
        if secret.is_empty() {
            return Err(TurnConfigError::Empty(path.to_owned()));
        }
        Ok(Some(Self {
            urls: urls.to_vec(),
            secret,
            ttl,
        }))
    }

    /// The ICE servers a tab `peer` is told on `/peerfetch/ice/1` at `now_unix` (seconds since
    /// the epoch): `stun` (the server's own), and with TURN configured, its URLs with
    /// credentials for `peer` valid for the TTL. Without TURN the answer is good for an hour.
    pub fn offer(
        turn: Option<&Self>,
        stun: Vec<IceServer>,
        peer: PeerId,
        now_unix: u64,
    ) -> IceOffer {
        let mut ice_servers = stun;
        let valid_for = match turn {
            Some(turn) => {
                ice_servers.push(turn.mint(peer, now_unix));
                turn.ttl
            }
            None => Duration::from_secs(3600),
        };
        IceOffer {
            ice_servers,
            valid_for_secs: valid_for.as_secs(),
        }
    }

    /// Credentials for `peer`, valid from `now_unix` (seconds since the epoch) for the TTL.
    fn mint(&self, peer: PeerId, now_unix: u64) -> IceServer {
        use base64::Engine;
        use hmac::Mac;
        let username = format!("{}:{peer}", now_unix.saturating_add(self.ttl.as_secs()));
        let mut mac =
            hmac::Hmac::<sha1::Sha1>::new_from_slice(&self.secret).expect("HMAC takes any key");
        mac.update(username.as_bytes());
        let credential =
            base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
        IceServer {
            urls: IceUrls::Many(self.urls.clone()),
            username: Some(username),
            credential: Some(credential),
        }
    }
}

/// What makes a `--turn-url` one browsers would refuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TurnUrlProblem {
    /// Another scheme than `turn:` or `turns:`.
    #[error("not a turn: or turns: URL")]
    Scheme,
    /// A query other than `?transport=udp` or `?transport=tcp`.
    #[error("?{0} is not ?transport=udp or ?transport=tcp")]
    Transport(String),
    /// User information (`user@`) or a path: credentials come from the server, not the URL.
    #[error("no user@ or path belongs in a TURN URL (the server mints the credentials)")]
    Extra,
    /// No host, or one that is neither a name nor an address (IPv6 goes in brackets).
    #[error("host {0:?} is not a name or an address (IPv6 goes in [brackets])")]
    Host(String),
    /// A port that is not a number from 1 to 65535.
    #[error("port {0:?} is not 1-65535")]
    Port(String),
}

/// Checks `url` against RFC 7065 (`turn:` or `turns:`, a host, an optional port, an optional
/// `?transport=udp|tcp`) as a browser would before taking it.
fn check_turn_url(url: &str) -> Result<(), TurnUrlProblem> {
    let rest = url
        .strip_prefix("turn:")
        .or_else(|| url.strip_prefix("turns:"))
        .ok_or(TurnUrlProblem::Scheme)?;
    let (authority, query) = match rest.split_once('?') {
        Some((authority, query)) => (authority, Some(query)),
        None => (rest, None),
    };
    match query {
        None | Some("transport=udp" | "transport=tcp") => {}
        Some(query) => return Err(TurnUrlProblem::Transport(query.to_owned())),
    }
    if authority.contains(['/', '@']) {
        return Err(TurnUrlProblem::Extra);
    }
    // The host is an IPv6 literal in brackets, or runs up to the port's colon.
    let (host, port) = match authority.rfind(':') {
        Some(colon) if !authority[colon..].contains(']') => {
            (&authority[..colon], Some(&authority[colon + 1..]))
        }
        _ => (authority, None),
    };
    if host.is_empty() || url::Host::parse(host).is_err() {
        return Err(TurnUrlProblem::Host(host.to_owned()));
    }
    if let Some(port) = port {
        let digits = !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit());
        if !digits || !matches!(port.parse::<u16>(), Ok(1..)) {
            return Err(TurnUrlProblem::Port(port.to_owned()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn turn_urls_are_checked_as_browsers_check_them() {
        for good in [
            "turn:203.0.113.1",
            "turn:turn.example:3478",
            "turn:turn.example:3478?transport=tcp",
            "turns:turn.example:5349?transport=tcp",
            "turn:[2001:db8::1]:3478",
            "turn:[2001:db8::1]",
        ] {
            assert_eq!(check_turn_url(good), Ok(()), "{good}");
        }
        use TurnUrlProblem::*;
        for (bad, problem) in [
            ("stun:turn.example", Scheme),
            ("turn:", Host(String::new())),
            ("turn::3478", Host(String::new())),
            ("turn:turn.example:0", Port("0".into())),
            ("turn:turn.example:99999", Port("99999".into())),
            ("turn:turn.example:+80", Port("+80".into())),
            ("turn:turn.example:port", Port("port".into())),
            ("turn://turn.example", Extra),
            ("turn:user@turn.example", Extra),
            (
                "turn:turn.example?transport=sctp",
                Transport("transport=sctp".into()),
            ),
            ("turn:[2001:db8::1", Host("[2001:db8:".into())),
            ("turn:bad host", Host("bad host".into())),
        ] {
            assert_eq!(check_turn_url(bad), Err(problem), "{bad}");
        }
    }

    fn secret_file(content: &str) -> tempfile::NamedTempFile {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), content).unwrap();
        file
    }

    #[test]
    fn the_password_is_the_base64_hmac_sha1_of_the_user_name() {
        let file = secret_file("north\n");
        let urls = vec!["turn:203.0.113.1:3479".to_owned()];
        let turn = TurnCredentials::from_flags(&urls, Some(file.path()), Duration::from_secs(3600))
            .unwrap()
            .unwrap();
        let peer: PeerId = "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA"
            .parse()
            .unwrap();
        let stun = IceServer::stun("stun:203.0.113.1:3478".into());
        let offer = TurnCredentials::offer(Some(&turn), vec![stun.clone()], peer, 1_700_000_000);
        assert_eq!(offer.valid_for_secs, 3600);
        let [first, server] = &offer.ice_servers[..] else {
            panic!("STUN and TURN")
        };
        assert_eq!(first, &stun);
        let username = server.username.as_deref().unwrap();
        assert_eq!(username, format!("1700003600:{peer}"));
        // The same computation with OpenSSL:
        // printf %s "$username" | openssl dgst -sha1 -hmac north -binary | base64
        assert_eq!(
            server.credential.as_deref(),
            Some("ichTP3YxIgv2caXwQ/LM80+C8M0=")
        );
        assert_eq!(server.urls, IceUrls::Many(urls));
    }

    #[test]
    fn flags_that_cannot_work_are_refused() {
        let file = secret_file(" \n");
        let turn = |urls: &[&str], path: Option<&Path>| {
            let urls: Vec<String> = urls.iter().map(|u| u.to_string()).collect();
            TurnCredentials::from_flags(&urls, path, Duration::from_secs(60))
        };
        assert!(matches!(turn(&[], None), Ok(None)));
        assert!(matches!(
            turn(&["turn:a:1"], None),
            Err(TurnConfigError::Incomplete)
        ));
        assert!(matches!(
            turn(&[], Some(file.path())),
            Err(TurnConfigError::Incomplete)
        ));
        assert!(matches!(
            turn(&["stun:a:1"], Some(file.path())),
            Err(TurnConfigError::BadUrl { .. })
        ));
        assert!(matches!(
            turn(&["turns:a:5349"], Some(file.path())),
            Err(TurnConfigError::Empty(_))
        ));
        assert!(matches!(
            turn(&["turn:a:1"], Some(Path::new("/nonexistent/secret"))),
            Err(TurnConfigError::Unreadable { .. })
        ));
    }
}
