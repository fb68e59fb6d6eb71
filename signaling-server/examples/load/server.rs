//! The server under load: the release `peerfetch-server` on loopback with bounds raised for one
//! source address (every client shares 127.0.0.1), on fixed ports so that a restart comes back
//! at the same addresses; its memory and CPU read from `/proc`.

use libp2p::Multiaddr;
use peerfetch::{bootstrap::Bootstrap, transport_kind::TransportKind};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// A running server process.
pub struct ServerUnderLoad {
    child: Child,
    binary: PathBuf,
    args: Vec<String>,
    http: String,
    /// Its WebSocket address, with `/p2p/<id>`.
    pub ws: Multiaddr,
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("bound").port()
}

impl ServerUnderLoad {
    /// Starts the server binary at `binary` with a fresh identity.
    pub async fn start(binary: PathBuf) -> Self {
        let dir = std::env::temp_dir().join(format!("peerfetch-load-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let (http, ws, udp) = (free_port(), free_port(), free_port());
        let args: Vec<String> = [
            "--http".to_owned(),
            format!("127.0.0.1:{http}"),
            "--listen".to_owned(),
            format!("/ip4/127.0.0.1/tcp/{ws}/ws"),
            "--listen".to_owned(),
            format!("/ip4/127.0.0.1/udp/{udp}/webrtc-direct"),
            "--key-file".to_owned(),
            dir.join("key.json").display().to_string(),
            "--log-level".to_owned(),
            "warn".to_owned(),
        ]
        .into_iter()
        .chain(
            [
                ("--max-connections", "20000"),
                ("--max-pending-connections", "1024"),
                ("--max-connections-per-ip", "20000"),
                ("--max-reservations", "20000"),
                ("--max-circuits", "20000"),
                ("--reservation-rate-per-ip", "100000/1s"),
                ("--circuit-rate-per-ip", "100000/1s"),
            ]
            .into_iter()
            .flat_map(|(flag, value)| [flag.to_owned(), value.to_owned()]),
        )
        .collect();
        Self::spawn(binary, args).await
    }

    async fn spawn(binary: PathBuf, args: Vec<String>) -> Self {
        let mut child = Command::new(&binary)
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", binary.display()));
        let mut lines = BufReader::new(child.stdout.take().expect("piped")).lines();
        let http = tokio::time::timeout(Duration::from_secs(20), async {
            while let Some(line) = lines.next_line().await.expect("readable") {
                if let Some(url) = line.strip_prefix("peerfetch demo: ") {
                    return url.trim_end_matches('/').to_owned();
                }
            }
            panic!("server exited before printing its URL");
        })
        .await
        .expect("server starts within 20 s");
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let mut server = Self {
            child,
            binary,
            args,
            http,
            ws: Multiaddr::empty(),
        };
        server.ws = server
            .bootstrap()
            .await
            .addrs
            .into_iter()
            .find(|a| TransportKind::of(a) == TransportKind::WebSocket)
            .expect("a WebSocket address");
        server
    }

    /// `GET /bootstrap`.
    pub async fn bootstrap(&self) -> Bootstrap {
        reqwest::get(format!("{}/bootstrap", self.http))
            .await
            .expect("bootstrap answers")
            .json()
            .await
            .expect("bootstrap is JSON")
    }

    /// A sample at `GET /metrics`.
    pub async fn metric(&self, name: &str) -> f64 {
        let text = reqwest::get(format!("{}/metrics", self.http))
            .await
            .expect("metrics answer")
            .text()
            .await
            .expect("text");
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or(f64::NAN)
    }

    fn proc_file(&self, name: &str) -> String {
        let pid = self.child.id().expect("running");
        std::fs::read_to_string(format!("/proc/{pid}/{name}")).expect("/proc readable")
    }

    /// Resident memory, KiB.
    pub fn rss_kib(&self) -> u64 {
        self.proc_file("status")
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .expect("VmRSS")
    }

    /// CPU time used so far (user + system), seconds.
    pub fn cpu_seconds(&self) -> f64 {
        let stat = self.proc_file("stat");
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
        let pid = self.child.id().expect("running");
        std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .expect("kill runs");
        let _ = tokio::time::timeout(Duration::from_secs(10), self.child.wait()).await;
    }

    /// Stops it and starts it again with the same identity and addresses.
    pub async fn restart(self) -> Self {
        let (binary, args) = (self.binary.clone(), self.args.clone());
        self.stop().await;
        Self::spawn(binary, args).await
    }
}
