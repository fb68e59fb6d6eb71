//! A server process as the tests and the load generator see it: started from its binary (ready
//! once it prints its URLs), then read over HTTP (`/bootstrap` on the public listener, a sample
//! of `/metrics` on the admin listener).

use peerfetch::net::bootstrap::Bootstrap;
use std::{path::Path, process::Stdio, time::Duration};
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
};

/// Where a started server answers HTTP, each URL without a trailing `/`.
#[derive(Debug, Clone)]
pub struct ServerUrls {
    /// The public listener: pages, `/pkg/`, `/bootstrap`.
    pub http: String,
    /// The admin listener: `/metrics`, `/origin-stats`.
    pub admin: String,
}

/// Starts `binary` with `args` (its stderr to `stderr`), waits until it prints its URLs, and
/// returns the process and the URLs.
pub async fn spawn_server(binary: &Path, args: &[String], stderr: Stdio) -> (Child, ServerUrls) {
    let mut child = Command::new(binary)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(stderr)
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", binary.display()));
    let mut lines = BufReader::new(child.stdout.take().expect("piped")).lines();
    let urls = tokio::time::timeout(Duration::from_secs(20), async {
        let mut http = None;
        while let Some(line) = lines.next_line().await.expect("readable stdout") {
            let url = |prefix| {
                let url: &str = line.strip_prefix(prefix)?;
                Some(url.trim_end_matches('/').to_owned())
            };
            if let Some(url) = url("peerfetch demo: ") {
                http = Some(url);
            } else if let Some(admin) = url("peerfetch admin: ") {
                let http = http.expect("the demo URL comes first");
                return ServerUrls { http, admin };
            }
        }
        panic!("server exited before printing its URLs");
    })
    .await
    .expect("server starts within 20 s");
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, urls)
}

/// `GET /bootstrap` of the server at `http` (over https, any certificate: these servers
/// present self-signed ones made for the run).
pub async fn bootstrap(http: &str) -> Bootstrap {
    reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .build()
        .expect("an HTTP client")
        .get(format!("{http}/bootstrap"))
        .send()
        .await
        .expect("bootstrap answers")
        .json()
        .await
        .expect("bootstrap is JSON")
}

/// The value of the sample `name` (with its labels, as written) at `GET /metrics` of the admin
/// listener `admin`, and the whole text (to show when it is missing).
pub async fn metric(admin: &str, name: &str) -> (Option<f64>, String) {
    let text = reqwest::get(format!("{admin}/metrics"))
        .await
        .expect("metrics answer")
        .text()
        .await
        .expect("metrics text");
    let value = text
        .lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok());
    (value, text)
}
