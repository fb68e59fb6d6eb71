//! The server under load: the release `peerfetch-server` on loopback, listening on the fleet's
//! transport, with bounds raised for one
//! source address (every client shares 127.0.0.1), on fixed ports so that a restart comes back
//! at the same addresses; its memory and CPU read from `/proc`.

#[path = "../../tests/common/server_probe.rs"]
mod server_probe;

use crate::transport::{LoadTransport, TestCertificate};
use libp2p::Multiaddr;
use peerfetch::net::bootstrap::Bootstrap;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;
use tokio::process::Child;

fn proc_file(pid: u32, name: &str) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/{name}")).expect("/proc readable")
}

/// Resident memory of process `pid`, KiB.
pub fn rss_kib(pid: u32) -> u64 {
    proc_file(pid, "status")
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .expect("VmRSS")
}

/// A running server process.
pub struct ServerUnderLoad {
    child: Child,
    binary: PathBuf,
    args: Vec<String>,
    urls: server_probe::ServerUrls,
    transport: LoadTransport,
    /// Its address of the fleet's transport, with `/p2p/<id>`.
    pub addr: Multiaddr,
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("bound").port()
}

impl ServerUnderLoad {
    /// Starts the server binary at `binary` with a fresh identity, listening on `transport`
    /// (WSS presenting `cert`).
    pub async fn start(binary: PathBuf, transport: LoadTransport, cert: &TestCertificate) -> Self {
        let dir = std::env::temp_dir().join(format!("peerfetch-load-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        // A TCP port free now serves for UDP too on loopback in practice; a clash fails the start.
        let (http, port) = (free_port(), free_port());
        let args: Vec<String> = [
            "--http".to_owned(),
            format!("127.0.0.1:{http}"),
            "--admin-http".to_owned(),
            "127.0.0.1:0".to_owned(),
            "--listen".to_owned(),
            transport.listen_addr(port).to_string(),
            "--tls-cert".to_owned(),
            cert.cert_file.display().to_string(),
            "--tls-key".to_owned(),
            cert.key_file.display().to_string(),
            "--key-file".to_owned(),
            dir.join("key.json").display().to_string(),
            // Fixed ports (a restart must find the same ones) would put STUN on 3478, which
            // the machine may use already; native clients need none.
            "--stun-listen".to_owned(),
            "none".to_owned(),
            "--log-level".to_owned(),
            "warn".to_owned(),
        ]
        .into_iter()
        .chain(
            [
                ("--max-connections", "20000"),
                ("--max-pending-connections", "1024"),
                ("--max-pending-connections-per-ip", "1024"),
                ("--max-connections-per-ip", "20000"),
                ("--max-registrations-per-ip", "100000"),
                ("--max-reservations", "20000"),
                ("--max-circuits", "20000"),
                ("--reservation-rate-per-ip", "100000/1s"),
                ("--circuit-rate-per-ip", "100000/1s"),
            ]
            .into_iter()
            .flat_map(|(flag, value)| [flag.to_owned(), value.to_owned()]),
        )
        .collect();
        Self::spawn(binary, transport, args).await
    }

    async fn spawn(binary: PathBuf, transport: LoadTransport, args: Vec<String>) -> Self {
        let (child, urls) = server_probe::spawn_server(&binary, &args, Stdio::inherit()).await;
        let mut server = Self {
            child,
            binary,
            args,
            urls,
            transport,
            addr: Multiaddr::empty(),
        };
        server.addr = server
            .bootstrap()
            .await
            .addrs
            .into_iter()
            .find(|a| transport.matches(a))
            .expect("an address of the fleet's transport");
        server
    }

    /// `GET /bootstrap`.
    pub async fn bootstrap(&self) -> Bootstrap {
        server_probe::bootstrap(&self.urls.http).await
    }

    /// A sample at the admin `GET /metrics` (NaN when missing).
    pub async fn metric(&self, name: &str) -> f64 {
        server_probe::metric(&self.urls.admin, name)
            .await
            .0
            .unwrap_or(f64::NAN)
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id().expect("running")
    }

    /// Resident memory, KiB.
    pub fn rss_kib(&self) -> u64 {
        rss_kib(self.pid())
    }

    /// CPU time used so far (user + system), seconds.
    pub fn cpu_seconds(&self) -> f64 {
        let stat = proc_file(self.pid(), "stat");
        // Fields after the command name (which ends with ')'): utime and stime are 12th and 13th.
        let fields: Vec<&str> = stat[stat.rfind(')').expect("comm") + 2..]
            .split_whitespace()
            .collect();
        let ticks: f64 =
            fields[11].parse::<f64>().expect("utime") + fields[12].parse::<f64>().expect("stime");
        ticks / 100.0
    }

    /// Stops it with SIGTERM.
    pub async fn stop(mut self) {
        let pid = self.pid();
        std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .expect("kill runs");
        let _ = tokio::time::timeout(Duration::from_secs(10), self.child.wait()).await;
    }

    /// Stops it and starts it again with the same identity and addresses.
    pub async fn restart(self) -> Self {
        let (binary, args, transport) = (self.binary.clone(), self.args.clone(), self.transport);
        self.stop().await;
        Self::spawn(binary, transport, args).await
    }
}
