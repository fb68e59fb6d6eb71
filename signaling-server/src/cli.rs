//! Command-line flags of `peerfetch-server`; each can also come from a `PEERFETCH_*` variable.

use crate::{
    circuit_caps::DestinationLimits, http_serve::HttpLimits, ip_limits::IpLimits, rate_flag::Rate,
    registry::RegistryLimits, stun_server::StunListen,
};
use clap::{Args, Parser, Subcommand};
use libp2p::{Multiaddr, PeerId};
use std::{net::SocketAddr, path::PathBuf, time::Duration};

/// peerfetch signaling and relay server: browser tabs reach it over libp2p WebRTC-direct or
/// WebSocket, reserve a circuit relay v2 slot on it, and load the demo pages from its HTTP port.
#[derive(Debug, Clone, Parser)]
#[command(name = "peerfetch-server", version, about, long_about = None)]
pub struct Cli {
    /// libp2p listen address; repeat for several. A `/udp/<port>/webrtc-direct` address takes
    /// WebRTC-direct (browser to server), a `/tcp/<port>/ws` address takes WebSocket, and a
    /// `/tcp/<port>/tls/ws` address WebSocket over TLS (with `--tls-cert`).
    #[arg(
        long = "listen",
        env = "PEERFETCH_LISTEN",
        value_delimiter = ',',
        default_values = ["/ip4/127.0.0.1/udp/9090/webrtc-direct", "/ip4/127.0.0.1/tcp/9091/ws"]
    )]
    pub listen: Vec<Multiaddr>,

    /// Address to advertise to browsers in `/bootstrap` and in relay reservations instead of the
    /// listen addresses (e.g. the public IP behind a NAT); repeat for several. WebRTC-direct
    /// addresses get this server's `/certhash/` appended when they lack one.
    #[arg(
        long = "external-address",
        env = "PEERFETCH_EXTERNAL_ADDRESS",
        value_delimiter = ','
    )]
    pub external_addresses: Vec<Multiaddr>,

    /// Another peerfetch server to join (`<address>/p2p/<peer id>`, its WebSocket address);
    /// repeat for several. Servers joined this way form one network: a Kademlia DHT among
    /// them tells each where the others hold registrations, so tabs on different servers
    /// find each other. Dialled again every 10 s while not connected.
    #[arg(long = "peer", env = "PEERFETCH_PEERS", value_delimiter = ',')]
    pub peers: Vec<Multiaddr>,

    /// Peer id of a server of this network; repeat for several. Only these servers (and those
    /// of `--peer` addresses) are listed to tabs in `/bootstrap`, asked in federated lookups,
    /// exempt from request rates, and spoken Kademlia with: a peer claiming to be a server is
    /// not believed. Every server of a network needs the ids of the others (its own may be
    /// listed too, so one list serves all).
    #[arg(
        long = "network-peer-id",
        env = "PEERFETCH_NETWORK_PEER_IDS",
        value_delimiter = ',',
        value_name = "PEER_ID"
    )]
    pub network_peer_ids: Vec<PeerId>,

    /// HTTP address serving the demo pages, `/pkg/` (the wasm build) and `/bootstrap`.
    #[arg(long, env = "PEERFETCH_HTTP", default_value = "127.0.0.1:8080")]
    pub http: SocketAddr,

    /// PEM certificate chain for HTTPS on `--http` and WSS on `/tls/ws` listen addresses (with
    /// `--tls-key`); read again on SIGHUP.
    #[arg(long, env = "PEERFETCH_TLS_CERT", value_name = "FILE")]
    pub tls_cert: Option<PathBuf>,

    /// PEM private key of `--tls-cert`; read again on SIGHUP.
    #[arg(long, env = "PEERFETCH_TLS_KEY", value_name = "FILE")]
    pub tls_key: Option<PathBuf>,

    /// Origin whose pages may read the public listener (`/bootstrap`, `/pkg/`) from scripts: a
    /// site adopting peerfetch, e.g. `https://site.example`; repeat for several. `*` (the
    /// default) lets any origin.
    #[arg(
        long = "allow-origin",
        env = "PEERFETCH_ALLOW_ORIGINS",
        value_delimiter = ',',
        default_values = ["*"],
        value_parser = parse_origin,
        value_name = "ORIGIN"
    )]
    pub allow_origins: Vec<String>,

    /// HTTP address serving `/metrics` and `/origin-stats` to operators (no CORS): keep it on
    /// loopback or a private network.
    #[arg(long, env = "PEERFETCH_ADMIN_HTTP", default_value = "127.0.0.1:9092")]
    pub admin_http: SocketAddr,

    /// UDP address answering STUN Binding requests, offered to tabs in `/bootstrap` so tabs
    /// behind NATs can link directly. `auto`: port 3478 on the host of a WebRTC-direct listen
    /// address (unspecified first, then public, private, loopback; a port the OS picks if that
    /// listener's port is 0); `none`: no STUN (e.g. coturn serves it); or `IP:PORT`.
    #[arg(
        long,
        env = "PEERFETCH_STUN_LISTEN",
        default_value = "auto",
        value_name = "ADDR"
    )]
    pub stun_listen: StunListen,

    /// TURN server offered to tabs, with credentials minted per tab (`turn:host:3478`,
    /// `turns:host:5349`, e.g. coturn with `use-auth-secret`); repeat for several URLs of it.
    /// Needs `--turn-secret-file`.
    #[arg(
        long = "turn-url",
        env = "PEERFETCH_TURN_URLS",
        value_delimiter = ',',
        value_name = "URL"
    )]
    pub turn_urls: Vec<String>,

    /// File holding the secret shared with the TURN server (coturn's `static-auth-secret`).
    #[arg(long, env = "PEERFETCH_TURN_SECRET_FILE", value_name = "FILE")]
    pub turn_secret_file: Option<PathBuf>,

    /// Seconds minted TURN credentials stay valid (60 to 604800, a week); tabs ask again
    /// before.
    #[arg(
        long,
        env = "PEERFETCH_TURN_CREDENTIAL_TTL_SECS",
        default_value_t = 3600,
        value_parser = clap::value_parser!(u64).range(60..=604_800)
    )]
    pub turn_credential_ttl_secs: u64,

    /// File holding the server's identity key and WebRTC certificate; created on first run so the
    /// peer id and certhash survive restarts.
    #[arg(
        long,
        env = "PEERFETCH_KEY_FILE",
        default_value = "peerfetch-server.key.json"
    )]
    pub key_file: PathBuf,

    /// Folder of demo pages served at `/` (the repository's `www/`). The default is the
    /// checkout the binary was built from; when the folder does not exist, a line is logged and
    /// `/` answers 404 (signaling works all the same).
    #[arg(long, env = "PEERFETCH_WWW_DIR", default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../www"))]
    pub www_dir: PathBuf,

    /// Folder of the wasm-bindgen build served at `/pkg/` (`scripts/build-wasm.sh` makes it).
    /// The default is in the checkout the binary was built from; when the folder does not
    /// exist, a line is logged and `/pkg/` answers 404.
    #[arg(long, env = "PEERFETCH_PKG_DIR", default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../target/pkg"))]
    pub pkg_dir: PathBuf,

    /// Log filter, a level (`info`) or `tracing` directives (`info,libp2p_relay=debug`).
    #[arg(
        long,
        env = "PEERFETCH_LOG",
        default_value = "info,libp2p_webrtc_utils=warn,dtls=error"
    )]
    pub log_level: String,

    /// Log lines as `text` (for people) or `json` (one object per line, for log collectors).
    #[arg(long, env = "PEERFETCH_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Bounds on each HTTP listener's connections.
    #[command(flatten)]
    pub http_limits: HttpConnectionLimits,

    /// Circuit relay v2 limits.
    #[command(flatten)]
    pub relay: RelayLimits,

    /// Registrations held at once, over all swarms.
    #[command(flatten)]
    pub registrations: RegistrationLimits,

    /// Connections held at once.
    #[command(flatten)]
    pub connections: ConnectionLimits,

    /// Seconds a connection with no open stream and no reservation is kept.
    #[arg(long, env = "PEERFETCH_IDLE_TIMEOUT_SECS", default_value_t = 60)]
    pub idle_timeout_secs: u64,

    /// A task other than serving.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// How log lines are written to stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line: time, level, target, message and fields.
    Json,
}

/// What `peerfetch-server` can do besides serving.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Write the manifest of a folder of site assets (URL path → BLAKE3 content id, length and
    /// type), the trust root against which tabs verify what peers send them.
    Manifest(ManifestArgs),
    /// Print the peer id of the key in `--key-file` (created if missing): what the other
    /// servers of a network take with `--network-peer-id`.
    Id,
}

/// `peerfetch-server manifest DIR [--base PATH] [--out FILE]`.
#[derive(Debug, Clone, Args)]
pub struct ManifestArgs {
    /// Folder of the site's assets; hidden files are left out.
    pub dir: PathBuf,
    /// URL path at which the site serves DIR.
    #[arg(long, default_value = "/")]
    pub base: String,
    /// Where to write the manifest [default: DIR/peerfetch-manifest.json].
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Bounds on the connections of each HTTP listener (the public one and the admin one), so
/// that slow or idle clients cannot hold the server's descriptors.
#[derive(Debug, Clone, Args)]
pub struct HttpConnectionLimits {
    /// HTTP connections served at once, per listener; more wait in the listen backlog.
    #[arg(
        long = "http-max-connections",
        env = "PEERFETCH_HTTP_MAX_CONNECTIONS",
        default_value_t = 1024,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub max_connections: u32,

    /// HTTP connections served at once to one remote IP address (IPv6: one /64; the /56 and /48
    /// around it hold 4 and 16 times this), per listener; more are closed at once, so that one
    /// host cannot take every slot.
    #[arg(
        long = "http-max-connections-per-ip",
        env = "PEERFETCH_HTTP_MAX_CONNECTIONS_PER_IP",
        default_value_t = 64,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub max_connections_per_ip: u32,

    /// Seconds a client has to send a request's head, from the connection's start or the end
    /// of the previous answer; then the connection is closed.
    #[arg(
        long = "http-header-timeout-secs",
        env = "PEERFETCH_HTTP_HEADER_TIMEOUT_SECS",
        default_value_t = 10,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub header_timeout_secs: u64,

    /// Seconds a write may wait for the client to read; then the connection is closed.
    #[arg(
        long = "http-write-timeout-secs",
        env = "PEERFETCH_HTTP_WRITE_TIMEOUT_SECS",
        default_value_t = 30,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub write_timeout_secs: u64,
}

impl HttpConnectionLimits {
    /// These bounds as the HTTP server takes them.
    pub fn to_limits(&self) -> HttpLimits {
        HttpLimits {
            max_connections: self.max_connections as usize,
            max_per_ip: self.max_connections_per_ip as usize,
            header_timeout: Duration::from_secs(self.header_timeout_secs),
            write_timeout: Duration::from_secs(self.write_timeout_secs),
        }
    }
}

/// Bounds on inbound connections; past one, a new connection is denied before it is used (and
/// counted in `peerfetch_refusals_total{request="connection"}`).
#[derive(Debug, Clone, Args)]
pub struct ConnectionLimits {
    /// Established inbound connections, over all peers.
    #[arg(
        long = "max-connections",
        env = "PEERFETCH_MAX_CONNECTIONS",
        default_value_t = 10_000
    )]
    pub max_established: u32,

    /// Inbound connections still in their handshake.
    #[arg(
        long = "max-pending-connections",
        env = "PEERFETCH_MAX_PENDING_CONNECTIONS",
        default_value_t = 256
    )]
    pub max_pending: u32,

    /// Inbound connections still in their handshake from one remote IP address (IPv6: one /64;
    /// the /56 and /48 around it hold 4 and 16 times this): far below
    /// `--max-pending-connections`, so that one host's half-open sockets cannot take every
    /// handshake slot.
    #[arg(
        long = "max-pending-connections-per-ip",
        env = "PEERFETCH_MAX_PENDING_CONNECTIONS_PER_IP",
        default_value_t = 32
    )]
    pub max_pending_per_ip: u32,

    /// Established connections per peer id.
    #[arg(
        long = "max-connections-per-peer",
        env = "PEERFETCH_MAX_CONNECTIONS_PER_PEER",
        default_value_t = 8
    )]
    pub max_per_peer: u32,

    /// Connections (pending and established) per remote IP address (IPv6: one /64; the /56 and
    /// /48 around it hold 4 and 16 times this): peer ids cost nothing to make, addresses do.
    /// Tabs behind one NAT share one.
    #[arg(
        long = "max-connections-per-ip",
        env = "PEERFETCH_MAX_CONNECTIONS_PER_IP",
        default_value_t = 256
    )]
    pub max_per_ip: u32,
}

impl ConnectionLimits {
    /// The per-IP bounds.
    pub fn per_ip(&self) -> IpLimits {
        IpLimits {
            connections: self.max_per_ip,
            pending: self.max_pending_per_ip,
        }
    }

    /// The `libp2p-connection-limits` configuration of these bounds (all but the per-IP ones).
    pub fn to_config(&self) -> libp2p::connection_limits::ConnectionLimits {
        libp2p::connection_limits::ConnectionLimits::default()
            .with_max_established_incoming(Some(self.max_established))
            .with_max_pending_incoming(Some(self.max_pending))
            .with_max_established_per_peer(Some(self.max_per_peer))
    }
}

/// Shortest registration TTL accepted: tabs register for 2 minutes and renew every minute, so a
/// closed tab leaves the swarm quickly (the protocol's default minimum is 2 hours).
pub const MIN_REGISTRATION_TTL_SECS: u64 = 60;

/// Bounds on the registrations (rendezvous) the server holds: a tab registers once for its swarm
/// and once per resource it provides; past a bound, the registration is refused.
#[derive(Debug, Clone, Args)]
pub struct RegistrationLimits {
    /// Registrations held at once, over all swarms and tabs.
    #[arg(
        long = "max-swarm-registrations",
        env = "PEERFETCH_MAX_SWARM_REGISTRATIONS",
        default_value_t = 100_000
    )]
    pub total: usize,

    /// Registrations one tab may hold at once (its swarm, and each resource it provides: a
    /// site's assets, shared files).
    #[arg(
        long = "max-registrations-per-peer",
        env = "PEERFETCH_MAX_REGISTRATIONS_PER_PEER",
        default_value_t = 1024
    )]
    pub per_peer: usize,

    /// Registrations the tabs of one IP address (an IPv6 /64; the /56 and /48 around it hold 4
    /// and 16 times this) may hold at once: peer ids cost nothing to make, addresses do. Tabs
    /// behind one NAT share it.
    #[arg(
        long = "max-registrations-per-ip",
        env = "PEERFETCH_MAX_REGISTRATIONS_PER_IP",
        default_value_t = 4096
    )]
    pub per_ip: usize,

    /// Longest registration TTL granted, in seconds; a tab asking for more is granted this
    /// (tabs register for 2 minutes and renew every minute).
    #[arg(
        long = "max-registration-ttl",
        env = "PEERFETCH_MAX_REGISTRATION_TTL",
        value_name = "SECS",
        default_value_t = 600,
        value_parser = clap::value_parser!(u64).range(MIN_REGISTRATION_TTL_SECS..=72 * 60 * 60)
    )]
    pub max_ttl_secs: u64,

    /// Seconds a tab's registrations outlive its last connection (a reconnecting tab keeps
    /// them).
    #[arg(
        long = "registration-grace-secs",
        env = "PEERFETCH_REGISTRATION_GRACE_SECS",
        value_name = "SECS",
        default_value_t = 30
    )]
    pub grace_secs: u64,

    /// Registration requests (new or renewed) one tab may make: a burst, then one per
    /// interval. Past it, REGISTER is answered `E_UNAVAILABLE`. The default burst covers four
    /// full rounds of `--max-registrations-per-peer` (a tab that moves to this server
    /// registers everything at once, then renews everything each minute, and may move back and
    /// forth); the refill, 40 a second, is twice a full tab's renewals.
    #[arg(
        long = "registration-rate-per-peer",
        env = "PEERFETCH_REGISTRATION_RATE_PER_PEER",
        default_value = "4096/25ms"
    )]
    pub registration_rate_per_peer: Rate,

    /// Discovery requests one tab may make (its swarm's members, the providers of each
    /// resource): a burst, then one per interval. Past it, DISCOVER is answered `E_UNAVAILABLE`.
    #[arg(
        long = "discovery-rate-per-peer",
        env = "PEERFETCH_DISCOVERY_RATE_PER_PEER",
        default_value = "100/1s"
    )]
    pub discovery_rate_per_peer: Rate,
}

/// Bounds on the circuit relay v2 service; past one, the relay answers with the protocol's
/// `RESOURCE_LIMIT_EXCEEDED` status.
#[derive(Debug, Clone, Args)]
pub struct RelayLimits {
    /// Reservations held at once, over all peers.
    #[arg(long, env = "PEERFETCH_MAX_RESERVATIONS", default_value_t = 4096)]
    pub max_reservations: usize,

    /// Reservations one peer may hold at once (one per connection).
    #[arg(long, env = "PEERFETCH_MAX_RESERVATIONS_PER_PEER", default_value_t = 4)]
    pub max_reservations_per_peer: usize,

    /// Seconds a reservation lasts before the peer must renew it.
    #[arg(
        long,
        env = "PEERFETCH_RESERVATION_DURATION_SECS",
        default_value_t = 3600
    )]
    pub reservation_duration_secs: u64,

    /// Relayed circuits open at once, over all peers.
    #[arg(long, env = "PEERFETCH_MAX_CIRCUITS", default_value_t = 1024)]
    pub max_circuits: usize,

    /// Relayed circuits open at once from one peer (counting those to it).
    #[arg(long, env = "PEERFETCH_MAX_CIRCUITS_PER_PEER", default_value_t = 16)]
    pub max_circuits_per_peer: usize,

    /// Relayed circuits open at once to one destination peer (from any number of sources).
    #[arg(
        long,
        env = "PEERFETCH_MAX_CIRCUITS_PER_DESTINATION",
        default_value_t = 8,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub max_circuits_per_destination: u32,

    /// Relayed circuits open at once to the peers of one destination IP address (IPv6: one /64;
    /// the /56 and /48 around it hold 4 and 16 times this). Tabs behind one NAT share it.
    #[arg(
        long,
        env = "PEERFETCH_MAX_CIRCUITS_PER_DESTINATION_IP",
        default_value_t = 64,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub max_circuits_per_destination_ip: u32,

    /// Seconds a relayed circuit may stay open. A circuit only carries the WebRTC signaling of
    /// one browser-to-browser link (under a second), and tabs close it once the direct link is
    /// up.
    #[arg(
        long,
        env = "PEERFETCH_MAX_CIRCUIT_DURATION_SECS",
        default_value_t = 30,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub max_circuit_duration_secs: u64,

    /// Bytes a relayed circuit may carry in each direction before it is closed.
    #[arg(long, env = "PEERFETCH_MAX_CIRCUIT_BYTES", default_value_t = 1 << 17)]
    pub max_circuit_bytes: u64,

    /// Reservation requests one peer may make: a burst, then one per interval.
    #[arg(
        long,
        env = "PEERFETCH_RESERVATION_RATE_PER_PEER",
        default_value = "30/120s"
    )]
    pub reservation_rate_per_peer: Rate,

    /// Reservation requests from one IP address: a burst, then one per interval.
    #[arg(
        long,
        env = "PEERFETCH_RESERVATION_RATE_PER_IP",
        default_value = "60/60s"
    )]
    pub reservation_rate_per_ip: Rate,

    /// Circuits one peer may open (each carries one signaling exchange for a direct
    /// browser-to-browser connection): a burst, then one per interval.
    #[arg(
        long,
        env = "PEERFETCH_CIRCUIT_RATE_PER_PEER",
        default_value = "30/120s"
    )]
    pub circuit_rate_per_peer: Rate,

    /// Circuits opened from one IP address: a burst, then one per interval.
    #[arg(long, env = "PEERFETCH_CIRCUIT_RATE_PER_IP", default_value = "60/60s")]
    pub circuit_rate_per_ip: Rate,
}

impl RegistrationLimits {
    /// The registry's bounds.
    pub fn to_registry_limits(&self) -> RegistryLimits {
        RegistryLimits {
            total: self.total,
            per_peer: self.per_peer,
            per_address: self.per_ip,
            min_ttl: MIN_REGISTRATION_TTL_SECS,
            max_ttl: self.max_ttl_secs,
            grace: Duration::from_secs(self.grace_secs),
        }
    }
}

/// A circuit whose end the relay never reported is forgotten this long after its longest life
/// (the relay gives a circuit request 60 s to be answered).
const CIRCUIT_FORGET_SLACK: Duration = Duration::from_secs(60);

impl RelayLimits {
    /// The bounds on circuits per destination.
    pub fn per_destination(&self) -> DestinationLimits {
        DestinationLimits {
            per_peer: self.max_circuits_per_destination as usize,
            per_address: self.max_circuits_per_destination_ip as usize,
            forget_after: Duration::from_secs(self.max_circuit_duration_secs)
                + CIRCUIT_FORGET_SLACK,
        }
    }

    /// The relay server configuration these limits describe.
    pub fn to_config(&self) -> libp2p::relay::Config {
        libp2p::relay::Config {
            max_reservations: self.max_reservations,
            max_reservations_per_peer: self.max_reservations_per_peer,
            reservation_duration: Duration::from_secs(self.reservation_duration_secs),
            reservation_rate_limiters: Vec::new(),
            max_circuits: self.max_circuits,
            max_circuits_per_peer: self.max_circuits_per_peer,
            max_circuit_duration: Duration::from_secs(self.max_circuit_duration_secs),
            max_circuit_bytes: self.max_circuit_bytes,
            circuit_src_rate_limiters: Vec::new(),
        }
        .reservation_rate_per_peer(
            self.reservation_rate_per_peer.limit,
            self.reservation_rate_per_peer.interval,
        )
        .reservation_rate_per_ip(
            self.reservation_rate_per_ip.limit,
            self.reservation_rate_per_ip.interval,
        )
        .circuit_src_per_peer(
            self.circuit_rate_per_peer.limit,
            self.circuit_rate_per_peer.interval,
        )
        .circuit_src_per_ip(
            self.circuit_rate_per_ip.limit,
            self.circuit_rate_per_ip.interval,
        )
    }
}

/// An `--allow-origin` value: `*`, or `http(s)://host[:port]` without a path.
fn parse_origin(text: &str) -> Result<String, String> {
    if text == "*" {
        return Ok(text.to_owned());
    }
    let bad = || {
        format!("{text:?} is not an origin: give scheme://host[:port] (e.g. https://site.example), or *")
    };
    let url = url::Url::parse(text).map_err(|_| bad())?;
    let bare = url.path() == "/" && url.query().is_none() && url.fragment().is_none();
    let credentials = !url.username().is_empty() || url.password().is_some();
    if !matches!(url.scheme(), "http" | "https") || !bare || credentials {
        return Err(bad());
    }
    // As browsers write it in `Origin`: host in lower case (punycode), no default port.
    Ok(url.origin().ascii_serialization())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_kept_as_browsers_send_them_and_anything_else_is_refused() {
        let parsed = |text| parse_origin(text);
        assert_eq!(parsed("*").unwrap(), "*");
        assert_eq!(
            parsed("https://Site.Example:443").unwrap(),
            "https://site.example"
        );
        assert_eq!(
            parsed("http://site.example:8080/").unwrap(),
            "http://site.example:8080"
        );
        assert_eq!(
            parsed("https://bücher.example").unwrap(),
            "https://xn--bcher-kva.example"
        );
        for bad in [
            "site.example",
            "https://site.example/app",
            "https://site.example?x=1",
            "https://user@site.example",
            "https://:secret@site.example",
            "ftp://site.example",
            "",
        ] {
            assert!(parsed(bad).is_err(), "{bad:?} is refused");
        }
    }

    #[test]
    fn defaults_listen_on_loopback_webrtc_direct_and_websocket() {
        let cli = Cli::try_parse_from(["peerfetch-server"]).expect("defaults parse");
        let listen: Vec<String> = cli.listen.iter().map(ToString::to_string).collect();
        assert_eq!(
            listen,
            [
                "/ip4/127.0.0.1/udp/9090/webrtc-direct",
                "/ip4/127.0.0.1/tcp/9091/ws"
            ]
        );
        assert_eq!(cli.http.to_string(), "127.0.0.1:8080");
        assert_eq!(cli.admin_http.to_string(), "127.0.0.1:9092");
        assert_eq!(cli.relay.to_config().max_circuit_bytes, 131_072);
    }

    #[test]
    fn manifest_is_a_subcommand() {
        let cli =
            Cli::try_parse_from(["peerfetch-server", "manifest", "www/cdn", "--base", "/cdn"])
                .expect("parses");
        let Some(Command::Manifest(args)) = cli.command else {
            panic!("not the manifest command: {:?}", cli.command);
        };
        assert_eq!(args.dir, PathBuf::from("www/cdn"));
        assert_eq!(args.base, "/cdn");
        assert_eq!(args.out, None);
    }

    #[test]
    fn bad_multiaddr_is_a_clear_error() {
        let err = Cli::try_parse_from(["peerfetch-server", "--listen", "not-an-address"])
            .expect_err("rejects a bad address");
        assert!(err.to_string().contains("--listen"), "{err}");
    }
}
