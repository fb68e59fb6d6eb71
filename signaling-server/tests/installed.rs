//! A server without its demo files, as after `cargo install` from a checkout that is gone: it
//! still serves `/bootstrap`, says in one log line per folder which one is missing and how to
//! set it, and answers 404 at `/` and `/pkg/`.
mod common;

use common::{loopback_args, server_probe, temp_dir, ServerProcess};
use std::{path::Path, process::Stdio, time::Duration};
use tokio::io::{AsyncBufReadExt, BufReader};

#[tokio::test]
async fn missing_demo_folders_are_logged_and_answer_404() {
    let dir = temp_dir("installed");
    let mut args = loopback_args(&dir.join("key.json"));
    args.extend(
        ["--www-dir", "/nonexistent", "--pkg-dir", "/nonexistent"]
            .into_iter()
            .map(String::from),
    );
    let binary = Path::new(env!("CARGO_BIN_EXE_peerfetch-server"));
    let (mut child, urls) = server_probe::spawn_server(binary, &args, Stdio::piped()).await;
    let mut stderr = BufReader::new(child.stderr.take().expect("piped")).lines();
    let server = ServerProcess {
        child,
        http: urls.http,
        admin: urls.admin,
    };

    // Logged while binding, so before the banner the probe waited for.
    let mut www_line = None;
    let mut pkg_line = None;
    tokio::time::timeout(Duration::from_secs(10), async {
        while www_line.is_none() || pkg_line.is_none() {
            let line = stderr
                .next_line()
                .await
                .expect("readable stderr")
                .expect("the server logs both folders before it exits");
            if line.contains("demo pages off") {
                www_line = Some(line);
            } else if line.contains("wasm package off") {
                pkg_line = Some(line);
            }
        }
    })
    .await
    .expect("both folders are logged at start");
    let (www_line, pkg_line) = (www_line.unwrap(), pkg_line.unwrap());
    for expected in [
        "--www-dir /nonexistent does not exist",
        "GET / answers 404",
        "PEERFETCH_WWW_DIR",
    ] {
        assert!(www_line.contains(expected), "{expected:?} in {www_line:?}");
    }
    for expected in [
        "--pkg-dir /nonexistent does not exist",
        "GET /pkg/ answers 404",
        "PEERFETCH_PKG_DIR",
    ] {
        assert!(pkg_line.contains(expected), "{expected:?} in {pkg_line:?}");
    }
    tokio::spawn(async move { while let Ok(Some(_)) = stderr.next_line().await {} });

    // Signaling works.
    let bootstrap = server.bootstrap().await;
    assert_eq!(bootstrap.addrs.len(), 2, "both listeners advertised");

    for (path, says) in [
        ("/", "serves no demo pages"),
        ("/index.html", "serves no demo pages"),
        ("/pkg/peerfetch.js", "serves no wasm package"),
    ] {
        let response = reqwest::get(format!("{}{path}", server.http))
            .await
            .expect("answers");
        assert_eq!(response.status(), 404, "GET {path}");
        let text = response.text().await.expect("text");
        assert!(text.contains(says), "GET {path}: {text:?}");
    }
    server.stop().await;
}
