//! A server process as the tests and the load generator see it: started from its binary (ready
//! once it prints its URL), then read over HTTP (`/bootstrap`, a sample of `/metrics`).

use peerfetch::bootstrap::Bootstrap;
use std::{path::Path, process::Stdio, time::Duration};
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
};

/// Starts `binary` with `args` (its stderr to `stderr`), waits until it prints its URL, and
/// returns the process and the URL (without a trailing `/`).
pub async fn spawn_server(binary: &Path, args: &[String], stderr: Stdio) -> (Child, String) {
    let mut child = Command::new(binary)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(stderr)
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", binary.display()));
    let mut lines = BufReader::new(child.stdout.take().expect("piped")).lines();
    let http = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(line) = lines.next_line().await.expect("readable stdout") {
            if let Some(url) = line.strip_prefix("peerfetch demo: ") {
                return url.trim_end_matches('/').to_owned();
            }
        }
        panic!("server exited before printing its URL");
    })
    .await
    .expect("server starts within 20 s");
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, http)
}

/// `GET /bootstrap` of the server at `http`.
pub async fn bootstrap(http: &str) -> Bootstrap {
    reqwest::get(format!("{http}/bootstrap"))
        .await
        .expect("bootstrap answers")
        .json()
        .await
        .expect("bootstrap is JSON")
}

/// The value of the sample `name` (with its labels, as written) at `GET /metrics`, and the
/// whole text (to show when it is missing).
pub async fn metric(http: &str, name: &str) -> (Option<f64>, String) {
    let text = reqwest::get(format!("{http}/metrics"))
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
